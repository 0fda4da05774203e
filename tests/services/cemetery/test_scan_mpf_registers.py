"""The scanned plan (upload checked by content, shapes placed in the image's pixels), the « Mort pour la France »
mention (on the sheet, in the registers, its list, and the reprise for abandonment refused within fifty years of the
burial: R2223-22 CGCT), the registers built by a Celery task, and the compact plan the page draws."""
from __future__ import annotations

import datetime as dt
import io
import json

from sqlalchemy import func, select


def _png(width=400, height=300) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (240, 236, 220)).save(buf, "PNG")
    return buf.getvalue()


def _upload(client, cemetery_id: int, body: bytes, name: str):
    page = f"/s/cemetery/cimetieres/{cemetery_id}/plan-scanne"
    token = client.csrf(page)
    return client.http.post(f"{page}/image", data={"csrf_token": token, "file": (io.BytesIO(body), name)},
                            content_type="multipart/form-data", follow_redirects=True)


def _audit_count(app, action: str) -> int:
    from portal.extensions import db
    from portal.models import AuditEvent

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def _unpack(arr, q):
    pts, x, y = [], 0, 0
    for i in range(0, len(arr) - 1, 2):
        x += arr[i]
        y += arr[i + 1]
        pts.append([x / q, y / q])
    return pts


# Scanned plan ------------------------------------------------------------------------------------------------------

def test_a_bad_scan_is_refused_in_french_and_nothing_is_stored(app, cemetery_world, login_as):
    w = cemetery_world["a"]
    sec = login_as("secretary_a")
    fake = _upload(sec, w.cemetery, b"%PDF-1.4 not an image at all", "plan.png").get_data(as_text=True)
    assert "ne correspond pas à son extension" in fake
    pdf = _upload(sec, w.cemetery, b"%PDF-1.4\n", "plan.pdf").get_data(as_text=True)
    assert "Ce type de fichier n" in pdf
    broken = _upload(sec, w.cemetery, _png()[:60], "plan.png").get_data(as_text=True)
    assert "endommagée" in broken
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cemetery.models import Cemetery

    with app.app_context(), territory_scope(None):
        assert db.session.get(Cemetery, w.cemetery).plan_image_key is None
    assert _audit_count(app, "cemetery.plan_image_uploaded") == 0


def test_the_secretary_places_an_emplacement_on_the_scan_in_pixels(app, cemetery_world, login_as):
    w = cemetery_world["a"]
    sec = login_as("secretary_a")
    page = _upload(sec, w.cemetery, _png(400, 300), "plan-cimetiere.PNG").get_data(as_text=True)
    assert "400 × 300" in page and 'id="scan-map"' in page
    image = sec.get(f"/s/cemetery/cimetieres/{w.cemetery}/plan-scanne/image")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data == _png(400, 300)
    assert sec.get(f"/s/cemetery/cimetieres/{w.cemetery}/plan-scanne/image",
                   headers={"If-None-Match": image.headers["ETag"]}).status_code == 304

    url = f"/s/cemetery/cimetieres/{w.cemetery}/plan-scanne/placer"
    shape = {"type": "Polygon", "coordinates": [[[10, 20], [50, 20], [50, 60.25], [10, 60.25], [10, 20]]]}
    outside = {"type": "Polygon", "coordinates": [[[10, 20], [900, 20], [900, 60], [10, 20]]]}
    refused = sec.post(url, {"target": f"plot:{w.plot}", "geometry": json.dumps(outside)},
                       csrf_from=f"/s/cemetery/cimetieres/{w.cemetery}/plan-scanne", follow_redirects=True)
    assert "intérieur du plan scanné" in refused.get_data(as_text=True)
    foreign = sec.post(url, {"target": f"plot:{cemetery_world['b'].plot}", "geometry": json.dumps(shape)},
                       csrf_from=f"/s/cemetery/cimetieres/{w.cemetery}/plan-scanne", follow_redirects=True)
    assert "Choisissez ce que" in foreign.get_data(as_text=True)
    ok = sec.post(url, {"target": f"plot:{w.plot}", "geometry": json.dumps(shape)},
                  csrf_from=f"/s/cemetery/cimetieres/{w.cemetery}/plan-scanne")
    assert ok.status_code == 302
    assert sec.post(url, {"target": f"alley:{w.alley}", "geometry": json.dumps(
        {"type": "Polygon", "coordinates": [[[5, 5], [300, 5], [300, 80], [5, 80]]]})},
        csrf_from=f"/s/cemetery/cimetieres/{w.cemetery}/plan-scanne").status_code == 302
    assert _audit_count(app, "cemetery.placed_on_image") == 2

    plan = sec.get(f"/s/cemetery/plan.json?cemetery_id={w.cemetery}&image=1").get_json()
    assert plan["q"] == 10
    [plot] = plan["plots"]
    assert plot[0] == w.plot and plan["states"][plot[1]] == "occupied"
    assert _unpack(plot[3:], plan["q"]) == [[10, 20], [50, 20], [50, 60.2], [10, 60.2]] or \
        _unpack(plot[3:], plan["q"]) == [[10, 20], [50, 20], [50, 60.3], [10, 60.3]]
    assert [o[0] for o in plan["outlines"]] == ["alley"]
    assert _unpack(plan["outlines"][0][3], 10)[1] == [300, 5]
    # the geographic plan is another thing: there the emplacement keeps its WGS84 shape
    geo = sec.get(f"/s/cemetery/plan.json?cemetery_id={w.cemetery}").get_json()
    mine = next(p for p in geo["plots"] if p[0] == w.plot)
    assert _unpack(mine[3:], geo["q"])[0] == [4.68, 48.25]
    # another commune's secretary sees neither the scan nor the placements
    other = login_as("mayor_b")
    assert other.get(f"/s/cemetery/cimetieres/{w.cemetery}/plan-scanne/image").status_code == 404
    assert other.get(f"/s/cemetery/plan.json?cemetery_id={w.cemetery}&image=1").status_code == 404


def test_a_scan_of_another_size_clears_the_placements(app, cemetery_world, login_as):
    w = cemetery_world["a"]
    sec = login_as("secretary_a")
    _upload(sec, w.cemetery, _png(400, 300), "plan.png")
    sec.post(f"/s/cemetery/cimetieres/{w.cemetery}/plan-scanne/placer", {"target": f"plot:{w.plot}", "geometry": json.dumps(
        {"type": "Polygon", "coordinates": [[[1, 1], [9, 1], [9, 9], [1, 1]]]})},
        csrf_from=f"/s/cemetery/cimetieres/{w.cemetery}/plan-scanne")
    assert len(sec.get(f"/s/cemetery/plan.json?cemetery_id={w.cemetery}&image=1").get_json()["plots"]) == 1
    _upload(sec, w.cemetery, _png(800, 600), "plan-2.png")
    assert sec.get(f"/s/cemetery/plan.json?cemetery_id={w.cemetery}&image=1").get_json()["plots"] == []


# Compact plan ------------------------------------------------------------------------------------------------------

def test_the_compact_plan_matches_the_geojson_and_answers_304_and_gzip(app, cemetery_world, login_as):
    sec = login_as("secretary_a")
    geo = sec.get("/s/cemetery/plan.geojson").get_json()
    compact = sec.get("/s/cemetery/plan.json")
    plan = compact.get_json()
    by_id = {f["properties"]["id"]: f for f in geo["features"] if f["properties"]["layer"] == "plot"}
    assert sorted(p[0] for p in plan["plots"]) == sorted(by_id)
    for p in plan["plots"]:
        f = by_id[p[0]]
        assert plan["states"][p[1]] == f["properties"]["s"]
        expected = [[round(x, 7), round(y, 7)] for x, y in f["geometry"]["coordinates"][0][:-1]]
        assert [[round(x, 7), round(y, 7)] for x, y in _unpack(p[3:], plan["q"])] == expected
    etag = compact.headers["ETag"]
    assert sec.get("/s/cemetery/plan.json", headers={"If-None-Match": etag}).status_code == 304
    zipped = sec.get("/s/cemetery/plan.json", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers.get("Content-Encoding") == "gzip"
    import gzip

    assert json.loads(gzip.decompress(zipped.data)) == plan
    bubble = sec.get(f"/s/cemetery/emplacements/{cemetery_world['a'].plot}/bulle.json").get_json()
    assert bubble["n"] == "A · 1" and bubble["p"] == "1/2"


# Mort pour la France -----------------------------------------------------------------------------------------------

def _old_concession_with_burial(app, insee, *, death: dt.date, burial: dt.date | None, mpf: bool):
    """Emplacement 2 of the commune: a perpetual concession of 1950 and one deceased (buried on ``burial``)."""
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cemetery import operations
    from services.cemetery.models import Deceased, Operation, Plot

    with app.test_request_context(), territory_scope({insee}):
        plot = db.session.scalar(select(Plot).where(Plot.number == "2"))
        operations.create_concession(plot, kind="perpetual", starts_on=dt.date(1950, 3, 1), price=0,
                                     people=[{"role": "holder", "last_name": "ANCIEN", "first_names": "Jules"}])
        d = Deceased(plot=plot, last_name="Soldat", first_names="Marcel", death_date=death, mpf=mpf,
                     commune_insee=insee)
        db.session.add(d)
        if burial:
            db.session.add(Operation(kind="inhumation", plot=plot, deceased=d, on=burial, commune_insee=insee))
        db.session.commit()
        return plot.id, d.id


def test_the_reprise_of_a_grave_of_a_mort_pour_la_france_is_refused_within_fifty_years(app, cemetery_world,
                                                                                     login_as):
    w = cemetery_world["a"]
    today = dt.date.today()
    buried = dt.date(today.year - 49, 6, 1)
    plot_id, deceased_id = _old_concession_with_burial(app, w.insee, death=dt.date(today.year - 49, 5, 20),
                                                       burial=buried, mpf=True)
    sec = login_as("secretary_a")
    sheet = sec.get(f"/s/cemetery/emplacements/{plot_id}").get_data(as_text=True)
    assert "Mort pour la France" in sheet and "R2223-22" in sheet
    refused = sec.post(f"/s/cemetery/emplacements/{plot_id}/reprises", {"kind": "abandonment"},
                       csrf_from=f"/s/cemetery/emplacements/{plot_id}", follow_redirects=True).get_data(as_text=True)
    until = buried.replace(year=buried.year + 50).strftime("%d/%m/%Y")
    assert "Mort pour la France" in refused and until in refused and "R2223-22" in refused
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cemetery.models import Plot, Reprise

    with app.app_context(), territory_scope(None):
        assert db.session.scalar(select(func.count()).select_from(Reprise).where(Reprise.plot_id == plot_id)) == 0
        assert db.session.get(Plot, plot_id).in_reprise is False
    # the list of the graves of morts pour la France, and the registers
    listing = sec.get("/s/cemetery/morts-pour-la-france").get_data(as_text=True)
    assert "SOLDAT Marcel" in listing and until in listing
    csv = sec.get("/s/cemetery/registres/operations.csv").get_data(as_text=True)
    assert any("SOLDAT Marcel" in line and line.rstrip().endswith("oui") for line in csv.splitlines())
    concessions = sec.get("/s/cemetery/registres/concessions.csv").get_data(as_text=True)
    assert any("ANCIEN Jules" in line and line.rstrip().endswith("oui") for line in concessions.splitlines())
    # withdrawing the mention (an error of entry) lets the procedure start: the refusal came from it alone
    assert sec.post(f"/s/cemetery/defunts/{deceased_id}/mort-pour-la-france", {"mpf_source": ""},
                    csrf_from=f"/s/cemetery/emplacements/{plot_id}").status_code == 302
    assert _audit_count(app, "cemetery.mpf_changed") == 1
    opened = sec.post(f"/s/cemetery/emplacements/{plot_id}/reprises", {"kind": "abandonment"},
                      csrf_from=f"/s/cemetery/emplacements/{plot_id}")
    assert "/reprises/" in opened.headers["Location"]


def test_fifty_years_after_the_burial_the_grave_may_be_taken_back(app, cemetery_world, login_as, system):
    from portal.extensions import db
    from services.cemetery import operations, rules
    from services.cemetery.models import Plot

    w = cemetery_world["a"]
    today = dt.date.today()
    plot_id, _ = _old_concession_with_burial(app, w.insee, death=dt.date(1960, 1, 2), burial=dt.date(1960, 1, 9),
                                             mpf=True)
    plot = db.session.get(Plot, plot_id)
    assert operations.reprise_check(plot, "abandonment", today)[0] == []
    assert operations.reprise_check(plot, "abandonment", dt.date(2010, 1, 8))[0]  # the day before the fifty years
    assert rules.mpf_protection([("X", dt.date(1960, 1, 9))], dt.date(2010, 1, 9)) == []
    assert rules.mpf_protection([("X", None)], today)  # the burial date unknown: protected


def test_the_mention_is_recorded_with_the_burial_and_its_date_is_checked(app, cemetery_world, login_as):
    w = cemetery_world["a"]
    sec = login_as("secretary_a")
    url = f"/s/cemetery/emplacements/{w.plot}/operations"
    sec.post(url, {"kind": "inhumation", "on": "2026-01-05", "last_name": "Brave", "mpf": "1"},
             csrf_from=f"/s/cemetery/emplacements/{w.plot}")
    assert "BRAVE" in sec.get("/s/cemetery/morts-pour-la-france").get_data(as_text=True)
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cemetery.models import Deceased

    with app.app_context(), territory_scope(None):
        d = db.session.scalar(select(Deceased).where(Deceased.last_name == "Brave"))
    bad = sec.post(f"/s/cemetery/defunts/{d.id}/mort-pour-la-france", {"mpf": "1", "mpf_on": "31/02/2020"},
                   csrf_from=f"/s/cemetery/emplacements/{w.plot}", follow_redirects=True).get_data(as_text=True)
    assert "date de la mention" in bad
    sec.post(f"/s/cemetery/defunts/{d.id}/mort-pour-la-france",
             {"mpf": "1", "mpf_on": "2026-02-01", "mpf_source": "Fiche ONACVG"},
             csrf_from=f"/s/cemetery/emplacements/{w.plot}")
    sheet = sec.get(f"/s/cemetery/emplacements/{w.plot}").get_data(as_text=True)
    assert "01/02/2026" in sheet and "Fiche ONACVG" in sheet
    assert login_as("elected_a").post(f"/s/cemetery/defunts/{d.id}/mort-pour-la-france", {"mpf": ""},
                                      csrf_from="/s/cemetery/").status_code == 403


# Registers by a task -----------------------------------------------------------------------------------------------

def test_a_register_is_queued_then_built_by_the_task_and_downloaded(app, cemetery_world, login_as):
    sec = login_as("secretary_a")
    assert "Préparer le PDF" in sec.get("/s/cemetery/registres").get_data(as_text=True)
    for kind in ("concessions", "operations", "ossuary"):
        resp = sec.post(f"/s/cemetery/registres/{kind}/preparer", {}, csrf_from="/s/cemetery/registres")
        assert resp.status_code == 302 and "/registres/travaux/" in resp.headers["Location"]
        page = sec.get(resp.headers["Location"]).get_data(as_text=True)  # the task ran in-process (eager)
        assert 'data-status="done"' in page and "Télécharger le PDF" in page
        pdf = sec.get(resp.headers["Location"] + "/fichier")
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
        assert "attachment" in pdf.headers["Content-Disposition"]
    assert _audit_count(app, "cemetery.register_requested") == 3
    assert _audit_count(app, "cemetery.register_built") == 3
    assert _audit_count(app, "cemetery.register_downloaded") == 3
    # the old direct route is gone: nothing builds a register in the request any more
    assert sec.get("/s/cemetery/registres/concessions.pdf").status_code == 404
    other = login_as("mayor_b")
    assert other.get(resp.headers["Location"]).status_code == 404
    assert other.get(resp.headers["Location"] + "/fichier").status_code == 404


def test_the_task_path_queued_running_done_and_a_changed_file_is_refused(app, cemetery_world, world):
    """The task on a job written as the request writes it (queued, not yet handed off), then run again (idempotent);
    a job whose worker died (``running``) is run again; a file changed on disk is not served."""
    from pypdf import PdfReader

    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cemetery import registers
    from services.cemetery.models import RegisterJob

    w = cemetery_world["a"]
    with app.app_context(), territory_scope(None):
        queued = RegisterJob(commune_insee=w.insee, kind="concessions", status="queued")
        died = RegisterJob(commune_insee=w.insee, kind="operations", status="running", attempts=1)
        db.session.add_all([queued, died])
        db.session.commit()
        ids = queued.id, died.id
    from services.cemetery.tasks import build_register  # the Celery task, called as the worker calls it

    assert build_register(ids[0]) == "done"
    assert build_register(ids[0]) == "done"  # already done: left alone
    assert build_register(ids[1]) == "done"
    assert build_register(999999) == "missing"
    with app.app_context(), territory_scope(None):
        job = db.session.get(RegisterJob, ids[0])
        assert job.attempts == 1 and job.lines >= 1 and job.finished_at is not None
        data = registers.STORE.read(job.file_key, job.sha256, job.size)
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
        assert "AILLEVILLE Jeanne" in text and "JAUCOURT-SECRET" not in text.upper()
        assert db.session.get(RegisterJob, ids[1]).attempts == 2
        registers.STORE.path_of(job.file_key).write_bytes(b"%PDF-changed")
    from tests.conftest import PortalClient

    sec_client = PortalClient(app)
    sec_client.login(world.users["secretary_a"].email)
    assert sec_client.get(f"/s/cemetery/registres/travaux/{ids[0]}/fichier").status_code == 404


def test_a_failed_build_marks_the_job_failed_and_the_page_says_so(app, cemetery_world, login_as):
    """WeasyPrint failing (here: the output folder is a file, so storing fails) leaves the job ``failed``."""
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cemetery.models import RegisterJob

    w = cemetery_world["a"]
    blocker = app.instance_path + "/not-a-folder"
    open(blocker, "w").close()
    app.config["CEMETERY_REGISTER_DIR"] = blocker
    try:
        with app.app_context(), territory_scope(None):
            job = RegisterJob(commune_insee=w.insee, kind="ossuary", status="queued")
            db.session.add(job)
            db.session.commit()
            job_id = job.id
        from services.cemetery.tasks import build_register

        assert build_register(job_id) == "failed"
    finally:
        app.config.pop("CEMETERY_REGISTER_DIR", None)
    page = login_as("secretary_a").get(f"/s/cemetery/registres/travaux/{job_id}").get_data(as_text=True)
    assert 'data-status="failed"' in page and "pas pu être préparé" in page


def test_the_register_of_operations_prints_each_line_from_one_statement(app, cemetery_world):
    """The register of operations reads its columns in one statement: the emplacement, the deceased (birth name,
    « Mort pour la France »), the destination emplacement or the place out of the cemetery; only the territory's."""
    from flask import g
    from sqlalchemy import event

    from portal.extensions import db
    from portal.models import Collectivity
    from portal.tenancy import territory_scope
    from services.cemetery import documents
    from services.cemetery.models import Deceased, Operation

    a, b = cemetery_world["a"], cemetery_world["b"]
    with app.test_request_context(), territory_scope({a.insee}):
        d = Deceased(plot_id=None, last_name="Soldat", first_names="Émile", birth_name="Brave", mpf=True,
                     death_date=dt.date(1999, 1, 2), commune_insee=a.insee)
        db.session.add(d)
        db.session.flush()
        db.session.add_all([
            Operation(kind="exhumation", plot_id=a.plot, deceased_id=d.id, destination_plot_id=a.ossuary,
                      on=dt.date(2020, 6, 1), funeral_operator="PF Martin", authorisation_number="EX-7",
                      commune_insee=a.insee),
            Operation(kind="exhumation", plot_id=a.common, deceased_id=None, destination="Crématorium de Troyes",
                      on=dt.date(2021, 6, 1), commune_insee=a.insee)])
        db.session.commit()
    with app.test_request_context(), territory_scope({a.insee}):
        g.collectivity = db.session.scalar(select(Collectivity).where(Collectivity.insee == a.insee))
        seen = []
        listener = lambda conn, cursor, statement, *args: seen.append(statement)  # noqa: E731
        engine = db.session.get_bind()
        event.listen(engine, "before_cursor_execute", listener)
        try:
            lines = documents.operation_rows()
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert len([s for s in seen if "cemetery_operation" in s]) == 1
        html = documents.register_html("operations").replace("\u00a0", " ")
    assert [(x.on, x.deceased, x.mpf, x.place, x.destination) for x in lines] == [
        (dt.date(2010, 5, 3), "AILLEVILLE Louis", False, "Ancien · A · 1", ""),
        (dt.date(2020, 6, 1), "SOLDAT Émile née BRAVE", True, "Ancien · A · 1", "Ancien · A · Ossuaire"),
        (dt.date(2021, 6, 1), "", False, "Ancien · A · 3", "Crématorium de Troyes")]
    assert ("<td>01/06/2020</td><td>Exhumation</td><td>SOLDAT Émile née BRAVE — Mort pour la France</td>"
            "<td>Ancien · A · 1</td><td>Ancien · A · Ossuaire</td><td>PF Martin</td><td>EX-7</td>") in html
    assert "Crématorium de Troyes" in html and html.count("<tr>") == 4
    assert b.insee != a.insee and "JAUCOURT" not in html  # commune B's operations are not in A's register
