"""The department's import page (/admin/s/cadastre/): plans (real EDIGEO sheets of Luxiol, synthetic vintages of
Ailleville), owners and addresses, the report or the French errors, history, permission, CSRF, size limit, audit,
the Celery path, and other departments' jobs.

Luxiol (25354) and Mont-Bonvillers (54084) are not Aube communes: the department that imports them in these tests is
the Doubs or the Meurthe-et-Moselle, created here with an administrator of its own.
"""
from __future__ import annotations

import gzip
import html
import io
import json

import pytest
from sqlalchemy import func, select

from tests.helpers.cross_territory import check_routes

from .conftest import BAN_54084, EDIGEO, square_parcels

ADMIN = "/admin/s/cadastre/"


@pytest.fixture
def department_admin(app, extra_communes, password_hash, sign_in):
    """``department_admin("25")`` → a signed-in client of the administrator of that department."""
    from portal.extensions import db
    from portal.models import Collectivity, Membership, User, fold

    made = []

    def _make(code: str):
        with app.app_context():
            dept = Collectivity(kind="department", name=f"Département test {code}", search_name=fold(f"dept {code}"),
                                department_code=code, siren=f"22{code}00000"[:9])
            user = User(email=f"admin@dept{code}.test.example.org", full_name=f"Admin {code}", status="active",
                        password_hash=password_hash)
            db.session.add_all([dept, user, Membership(user=user, collectivity=dept, role="dept_admin")])
            db.session.commit()
            made.append(dept.id)
        return sign_in(f"admin@dept{code}.test.example.org")

    yield _make
    with app.app_context():
        from sqlalchemy import delete

        from portal.models import AuditEvent

        db.session.execute(delete(AuditEvent).where(AuditEvent.collectivity_id.in_(made)))
        db.session.execute(delete(Membership).where(Membership.collectivity_id.in_(made)))
        db.session.execute(delete(Collectivity).where(Collectivity.id.in_(made)))
        db.session.commit()


def _text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def _post_files(client, url, data, files):
    data = dict(data)
    data["csrf_token"] = client.csrf(ADMIN)
    data["files"] = [(io.BytesIO(raw), name) for name, raw in files]
    return client.http.post(url, data=data, content_type="multipart/form-data")


def _count(app, model, **where):
    from portal.extensions import db
    from portal.tenancy import territory_scope

    with app.app_context(), territory_scope(None):
        stmt = select(func.count()).select_from(model)
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == v)
        return db.session.scalar(stmt)


def _audit(app, action):
    from portal.extensions import db
    from portal.models import AuditEvent

    with app.app_context():
        return [(e.actor, e.details) for e in
                db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]


def test_department_imports_real_edigeo_sheets_of_luxiol(app, department_admin):
    from services.cadastre.models import Parcel, Vintage

    admin = department_admin("25")
    page = admin.get(ADMIN)
    assert page.status_code == 200
    body = _text(page)
    assert "Imports du cadastre" in body and 'name="csrf_token"' in body and "Luxiol (25354)" in body
    resp = _post_files(admin, ADMIN + "plans", {"commune": "Luxiol (25354)", "vintage": ""},
                       [(p.name, p.read_bytes()) for p in EDIGEO])
    assert resp.status_code == 302, _text(resp)[:3000]
    report = _text(admin.get(resp.headers["Location"]))
    # the parcels' count in its cell: the bare digits « 511 » could be in a token or a timestamp of the page
    assert "Import terminé" in report and "<dd>511</dd>" in report and "2018-06" in report
    assert "premier millésime de cette commune" in report
    assert _count(app, Parcel, commune_insee="25354", current=True) == 511
    history = _text(admin.get(ADMIN + "?commune=25354"))
    assert "Luxiol (25354)" in history and "2018-06" in history and "actuel" in history
    # Audited under the administrator's name (not "system"), and the uploaded files are gone.
    assert [a for a, _ in _audit(app, "cadastre.import")] == ["admin@dept25.test.example.org"]
    assert _audit(app, "cadastre.import.requested")[0][1]["commune"] == "25354"
    from services.cadastre.jobs import upload_root

    with app.app_context():
        assert not any(upload_root().glob("*/*")) if upload_root().exists() else True
    # The same vintage again: refused, in French, nothing changed.
    again = _post_files(admin, ADMIN + "plans", {"commune": "25354"}, [(p.name, p.read_bytes()) for p in EDIGEO])
    failed = _text(admin.get(again.headers["Location"]))
    assert "refusé" in failed and "le millésime 2018-06 de la commune 25354 est déjà importé" in failed
    assert _count(app, Vintage, commune_insee="25354") == 1


def test_new_vintage_report_and_bad_files(app, world, login_as, tmp_path):
    """The Aube's administrator imports two vintages of (synthetic) Ailleville parcels, then broken files."""
    from services.cadastre.models import Parcel, Vintage

    admin = login_as("dept_admin")
    insee = world.insee_a
    first = square_parcels(insee, 4.6733, 48.2592, n=3)
    resp = _post_files(admin, ADMIN + "plans", {"commune": "Ailleville", "vintage": "2024-01"},
                       [(f"cadastre-{insee}-parcelles.json", json.dumps(first).encode())])
    assert "Import terminé" in _text(admin.get(resp.headers["Location"]))
    second = square_parcels(insee, 4.6733, 48.2592, n=3)
    feats = second["features"]
    feats[0]["geometry"]["coordinates"][0][1][0] += 0.0003  # parcel 1 reshaped
    feats[0]["geometry"]["coordinates"][0][2][0] += 0.0003
    feats[2]["properties"]["id"] = feats[2]["id"] = f"{insee}000ZZ0009"  # parcel 3 renumbered 9
    feats[2]["properties"]["numero"] = "0009"
    del feats[1]  # parcel 2 removed
    feats[0]["geometry"]["coordinates"][0][0][0] += 0  # (keep the ring closed)
    resp = _post_files(admin, ADMIN + "plans", {"commune": insee, "vintage": "2025-01"},
                       [(f"cadastre-{insee}-parcelles.json.gz", gzip.compress(json.dumps(second).encode()))])
    report = _text(admin.get(resp.headers["Location"]))
    assert "Par rapport au millésime 2024-01" in report
    assert "0 ajoutée(s), 1 supprimée(s), 1 redessinée(s), 1 renumérotée(s)" in report, report[-3000:]
    assert f"{insee}000ZZ0003 → {insee}000ZZ0009" in report
    assert _count(app, Vintage, commune_insee=insee) == 2 and _count(app, Parcel, commune_insee=insee, current=True) == 2
    # Broken files: each refused with a French message, the database exactly as before.
    raw = gzip.compress(json.dumps(second).encode())
    for name, data, expected in (
        (f"cadastre-{insee}-parcelles.json.gz", raw[: len(raw) // 2], "le fichier gzip est endommagé ou tronqué"),
        (f"cadastre-{insee}-parcelles.json", b'{"type": "Feature"}', "n'est pas une FeatureCollection GeoJSON"),
        (f"cadastre-{insee}-parcelles.json", b"", "le fichier est vide"),
    ):
        resp = _post_files(admin, ADMIN + "plans", {"commune": insee, "vintage": "2026-01"}, [(name, data)])
        assert resp.status_code == 302, (name, _text(resp)[:2000])
        body = _text(admin.get(resp.headers["Location"]))
        assert "Rien n'a été modifié" in body and expected in body, (expected, body[-3000:])
    assert _count(app, Vintage, commune_insee=insee) == 2 and _count(app, Parcel, commune_insee=insee) == 5
    assert len(_audit(app, "cadastre.import.failed")) == 3


def test_form_errors_permission_csrf_and_size(app, world, login_as, department_admin):
    admin = login_as("dept_admin")
    plan = [("cadastre-25354-parcelles.json", b"{}")]
    # A commune of another department, an unknown file type, no file: the form says so (French), nothing queued.
    body = _text(_post_files(admin, ADMIN + "plans", {"commune": "25354"}, plan))
    assert "Ce n'est pas une commune du département." in body
    body = _text(_post_files(admin, ADMIN + "plans", {"commune": "10002"}, [("plan.docx", b"x")]))
    assert "Type de fichier non accepté\u00a0: plan.docx" in body
    body = _text(_post_files(admin, ADMIN + "plans", {"commune": "10002"}, []))
    assert "Choisissez le ou les fichiers à importer." in body
    body = _text(_post_files(admin, ADMIN + "plans", {"commune": "10002", "vintage": "24-01"}, plan))
    assert "Écrivez le millésime sous la forme AAAA-MM." in body
    from services.cadastre.models import ImportJob

    assert _count(app, ImportJob) == 0
    # CSRF.
    resp = admin.http.post(ADMIN + "plans", data={"commune": "10002", "files": [(io.BytesIO(b"{}"), "a.json")]},
                           content_type="multipart/form-data")
    assert resp.status_code == 400
    # Upload size: the portal's limit (MAX_UPLOAD_MB) answers 413 with a French page.
    old = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 2000
    try:
        resp = _post_files(admin, ADMIN + "plans", {"commune": "10002"}, [("cadastre-10002-parcelles.json", b"x" * 5000)])
        assert resp.status_code == 413 and "Fichier trop volumineux" in _text(resp)
    finally:
        app.config["MAX_CONTENT_LENGTH"] = old
    # The department's agent reads the history but has no form and cannot import; commune users have no access.
    agent = login_as("dept_agent")
    page = agent.get(ADMIN)
    assert page.status_code == 200 and "Importer le plan" not in _text(page)
    assert _post_files(agent, ADMIN + "plans", {"commune": "10002"}, plan).status_code == 403
    for role in ("mayor_a", "secretary_a", "epci_user"):
        assert login_as(role).get(ADMIN).status_code == 403


def test_owners_and_addresses_from_the_page(app, department_admin, run_import):
    from services.cadastre.models import Address, Owner

    run_import(EDIGEO, commune="25354")
    admin = department_admin("25")
    csv = ("parcelle;compte;droit;type;nom_usage;nom_naissance;prenoms;date_naissance;denomination;siren;adresse\n"
           "25354000AB0001;+00012;propriétaire;physique;FICTIFNOM;;Jean;01/02/1960;;;\n"
           "25354000AB0050;+00300;propriétaire;morale;;;;;GFA FICTIF;732829320;\n").encode()
    resp = _post_files(admin, ADMIN + "fichiers", {"commune": "25354", "kind": "owners"}, [("proprietaires.csv", csv)])
    body = _text(admin.get(resp.headers["Location"]))
    assert "Import terminé" in body and "Comptes de propriété" in body
    assert "FICTIFNOM" not in body  # the department administers; it does not read owners
    assert _count(app, Owner, commune_insee="25354") == 2
    bad = csv + b"25354000AB0002;+1;propri\xc3\xa9taire;physique;;;Jean;31/02/1990;;;\n"
    resp = _post_files(admin, ADMIN + "fichiers", {"commune": "25354", "kind": "owners"}, [("p.csv", bad)])
    body = _text(admin.get(resp.headers["Location"]))
    assert "ligne 4\u00a0: une personne physique doit avoir un nom_naissance ou un nom_usage" in body
    assert "date_naissance '31/02/1990' n'est pas au format JJ/MM/AAAA" in body
    assert _count(app, Owner, commune_insee="25354") == 2
    assert [a for a, _ in _audit(app, "cadastre.owners.import")] == ["admin@dept25.test.example.org"]
    # Addresses of Mont-Bonvillers (real BAN file) by the Meurthe-et-Moselle.
    admin54 = department_admin("54")
    resp = _post_files(admin54, ADMIN + "fichiers", {"commune": "Mont-Bonvillers", "kind": "addresses"},
                       [(BAN_54084.name, BAN_54084.read_bytes())])
    body = _text(admin54.get(resp.headers["Location"]))
    assert "Import terminé" in body
    n = _count(app, Address, commune_insee="54084")
    assert n == len(BAN_54084.read_text(encoding="utf-8").strip().splitlines()) - 1 and n > 10
    # The other department's admin cannot see this job (404), nor import for Luxiol.
    assert admin.get(resp.headers["Location"]).status_code == 404


def test_large_import_goes_through_the_celery_task(app, world, login_as):
    from services.cadastre.models import ImportJob, Parcel

    admin = login_as("dept_admin")
    app.config["CADASTRE_IMPORT_INLINE_MB"] = 0
    try:
        doc = square_parcels(world.insee_b, 4.6640, 48.2630, n=4)
        resp = _post_files(admin, ADMIN + "plans", {"commune": world.insee_b, "vintage": "2024-03"},
                           [(f"cadastre-{world.insee_b}-parcelles.json", json.dumps(doc).encode())])
    finally:
        app.config.pop("CADASTRE_IMPORT_INLINE_MB")
    assert "Import terminé" in _text(admin.get(resp.headers["Location"]))
    assert _count(app, Parcel, commune_insee=world.insee_b) == 4
    assert _count(app, ImportJob, status="done") == 1
    # Run again (a redelivered message): the finished job is left alone.
    from services.cadastre import jobs
    from portal.extensions import db
    from portal.tenancy import territory_scope

    with app.app_context(), territory_scope(None):
        job_id = db.session.scalar(select(ImportJob.id))
        assert jobs.run(job_id) == "done"
    assert _count(app, Parcel, commune_insee=world.insee_b) == 4


def test_department_routes_against_another_departments_job(app, world, login_as, department_admin):
    admin25 = department_admin("25")
    resp = _post_files(admin25, ADMIN + "plans", {"commune": "25354"}, [(p.name, p.read_bytes()) for p in EDIGEO[:1]])
    job_url = resp.headers["Location"]
    job_id = int(job_url.rstrip("/").rsplit("/", 1)[1])
    assert "Luxiol" in _text(admin25.get(job_url))
    for role in ("dept_admin", "dept_agent", "mayor_a", "epci_user"):
        report = check_routes(login_as(role), app, {"job_id": job_id}, ["Luxiol", "edigeo-25354"],
                              prefixes=("/admin/s/cadastre",))
        report.assert_clean()


def test_owners_or_addresses_csv_in_an_undecodable_encoding_get_a_clear_message(app, department_admin, run_import):
    """A file saved in an encoding the portal does not read (here MS-DOS cp850, whose « ü » is a byte Windows-1252
    leaves undefined) is refused with a French message naming the encodings accepted, not « erreur inattendue »;
    nothing is written. A UTF-16 file with its BOM (Excel's « Texte Unicode ») is read."""
    from services.cadastre.addresses import import_addresses
    from services.cadastre.importer import ImportFailed
    from services.cadastre.models import Address, Owner

    run_import(EDIGEO, commune="25354")
    admin = department_admin("25")
    header = "parcelle;compte;droit;type;nom_usage;nom_naissance;prenoms;date_naissance;denomination;siren;adresse\n"
    row = "25354000AB0001;+00012;propriétaire;physique;MÜLLER;;Jürgen;01/02/1960;;;\n"
    resp = _post_files(admin, ADMIN + "fichiers", {"commune": "25354", "kind": "owners"},
                       [("proprietaires.csv", (header + row).encode("cp850"))])
    body = _text(admin.get(resp.headers["Location"]))
    assert "erreur inattendue" not in body.lower()
    assert "ni en UTF-8, ni en UTF-16 (avec BOM), ni en Windows-1252" in body, body[-3000:]
    assert _count(app, Owner, commune_insee="25354") == 0
    resp = _post_files(admin, ADMIN + "fichiers", {"commune": "25354", "kind": "owners"},
                       [("proprietaires.csv", (header + row).encode("utf-16"))])
    assert "Import terminé" in _text(admin.get(resp.headers["Location"]))
    assert _count(app, Owner, commune_insee="25354") == 1
    with app.app_context(), pytest.raises(ImportFailed, match="neither UTF-8, UTF-16 .with its BOM. nor Windows-1252"):
        import_addresses(BAN_54084.read_text(encoding="utf-8").replace("Mont", "Münt").encode("cp850"))
    assert _count(app, Address) == 0
