"""Documents (PDF, .docx, .odt opened and read), the DCE zip, the public page, Q&A, Atom, award + DECP + OCDS."""
import datetime as dt
import io
import json
import zipfile

import jsonschema
from pypdf import PdfReader


from tests.helpers.clock import legal_today, legal_wall

from .conftest import calendar, fill, new_tender, real_pdf

DATA = __import__("pathlib").Path(__import__("services.tenders.rules", fromlist=["DATA"]).DATA)


def pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def docx_text(data: bytes) -> str:
    from docx import Document

    d = Document(io.BytesIO(data))
    parts = [p.text for p in d.paragraphs]
    for table in d.tables:
        parts += [c.text for row in table.rows for c in row.cells]
    return "\n".join(parts)


def odt_text(data: bytes) -> str:
    from odf import teletype
    from odf.opendocument import load
    from odf.text import H, P

    doc = load(io.BytesIO(data))
    return "\n".join(teletype.extractText(e) for kind in (H, P) for e in doc.getElementsByType(kind))


def test_documents_in_three_formats(app, published):
    mayor, tid = published
    for doc, expected in (("rc", "Règlement de la consultation"), ("aapc", "Avis d'appel public"),
                          ("ae-1", "Acte d'engagement"), ("ccap", "Cahier des clauses administratives")):
        texts = {}
        for fmt, reader in (("pdf", pdf_text), ("docx", docx_text), ("odt", odt_text)):
            resp = mayor.get(f"/s/tenders/{tid}/documents/{doc}.{fmt}")
            assert resp.status_code == 200, (doc, fmt)
            texts[fmt] = reader(resp.data)
            assert expected in texts[fmt], (doc, fmt, texts[fmt][:300])
            assert "Réfection de la toiture" in texts[fmt], (doc, fmt)
    rc = mayor.get(f"/s/tenders/{tid}/documents/rc.docx")
    text = docx_text(rc.data)
    assert "Prix" in text and "60 %" in text and "Procédure adaptée" in text
    assert mayor.get(f"/s/tenders/{tid}/documents/nope.pdf").status_code == 404
    assert mayor.get(f"/s/tenders/{tid}/documents/rc.exe").status_code == 404


PLAN = real_pdf("plan du toit")


def test_attachments_and_dce_zip(app, published, tenders_world, login_as):
    sec = login_as("secretary_a")
    tid = new_tender(sec)
    fill(sec, tid, amount="150000", step4=calendar() | {"media": ["portal", "buyer_profile", "jal"]})
    token = sec.csrf(f"/s/tenders/{tid}/etape/6")
    resp = sec.http.post(f"/s/tenders/{tid}/pieces", data={"csrf_token": token,
                                                          "file": (io.BytesIO(PLAN), "Plan toit.pdf")},
                         content_type="multipart/form-data")
    assert resp.status_code == 302
    bad = sec.http.post(f"/s/tenders/{tid}/pieces", data={"csrf_token": token,
                                                         "file": (io.BytesIO(b"MZ"), "virus.exe")},
                        content_type="multipart/form-data", follow_redirects=True)
    assert "accept" in bad.get_data(as_text=True).lower()
    z = zipfile.ZipFile(io.BytesIO(sec.get(f"/s/tenders/{tid}/dce.zip").data))
    names = z.namelist()
    assert any(n.endswith("-RC.pdf") for n in names) and any(n.endswith("-AE-lot1.odt") for n in names)
    plan = [n for n in names if n.startswith("pieces-jointes/")]
    assert plan and z.read(plan[0]) == PLAN


def wait_for_mail(smtp, to, timeout=10.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mine = [m for m in smtp.messages if to in m.to]
        if mine:
            return mine[-1]
        time.sleep(0.05)
    raise AssertionError(f"no e-mail to {to}: {[(m.to, m.subject) for m in smtp.messages]}")


def test_public_page_filters_qa_and_feed(app, published, client, tenders_world, smtp):
    mayor, tid = published
    page = client.get("/p/tenders/").get_data(as_text=True)
    assert "Réfection de la toiture" in page and "data-deadline" in page
    assert "Réfection" not in client.get("/p/tenders/?nature=services").get_data(as_text=True)
    assert "Réfection" in client.get(f"/p/tenders/?acheteur={tenders_world.a}").get_data(as_text=True)
    assert "Réfection" not in client.get(f"/p/tenders/?acheteur={tenders_world.b}").get_data(as_text=True)
    assert "Réfection" not in client.get(
        f"/p/tenders/?avant={legal_today().isoformat()}").get_data(as_text=True)
    assert client.get("/p/tenders/?avant=pas-une-date").status_code == 200
    served = client.get(f"/p/tenders/{tid}/dce.zip").data
    z = zipfile.ZipFile(io.BytesIO(served))
    assert z.namelist()
    from portal.extensions import db
    from services.tenders.models import Tender

    with app.app_context():  # built once at publication, then served as is
        assert db.session.get(Tender, tid).dce_zip == served
    # a company asks; bad input first
    token = client.csrf(f"/p/tenders/{tid}")
    resp = client.http.post(f"/p/tenders/{tid}/questions", data={"csrf_token": token, "email": "pas-un-mail",
                                                                "question": ""})
    assert resp.status_code == 422
    resp = client.http.post(f"/p/tenders/{tid}/questions", data={
        "csrf_token": token, "email": "devis@couvreur.test.example.org",
        "question": "Les tuiles doivent-elles être en terre cuite ? Couvreurs Martin, 06 12 34 56 78, "
                    "martin@couvreur.test.example.org"})
    assert resp.status_code == 302
    assert "terre cuite" not in client.get(f"/p/tenders/{tid}").get_data(as_text=True)  # not answered yet
    to_buyer = wait_for_mail(smtp, "mairie@ailleville.test.example.org")
    assert "terre cuite" in to_buyer.text and "devis@couvreur" not in to_buyer.text
    assert "/recapitulatif" in to_buyer.text and to_buyer.subject.startswith("Nouvelle question")
    assert "Une entreprise a posé une question" in to_buyer.text
    summary = mayor.get(f"/s/tenders/{tid}/recapitulatif").get_data(as_text=True)
    assert "terre cuite" in summary and "devis@couvreur" not in summary
    from portal.extensions import db
    from services.tenders.models import TenderQuestion

    with app.app_context():
        qid = db.session.query(TenderQuestion.id).filter_by(tender_id=tid).scalar()
    assert "Couvreurs Martin, […], […]" in summary  # pre-filled public text, contact details masked
    mayor.post(f"/s/tenders/{tid}/questions/{qid}/reponse", {"answer": "Oui, tuiles plates en terre cuite.",
                                                             "public_question": "Les tuiles doivent-elles être "
                                                                                "en terre cuite ?"},
               csrf_from=f"/s/tenders/{tid}/recapitulatif")
    to_company = wait_for_mail(smtp, "devis@couvreur.test.example.org")
    assert "tuiles plates en terre cuite" in to_company.text and f"/p/tenders/{tid}" in to_company.text
    public = client.get(f"/p/tenders/{tid}").get_data(as_text=True)
    assert "tuiles plates en terre cuite" in public and "devis@couvreur" not in public
    assert "Couvreurs Martin" not in public and "06 12" not in public
    feed = client.get("/p/tenders/flux.atom")
    assert feed.mimetype == "application/atom+xml" and "Réfection de la toiture" in feed.get_data(as_text=True)


def test_consultation_closes_at_deadline(app, published, client):
    from portal.extensions import db
    from services.tenders.models import Tender
    from services.tenders.operations import close_expired

    mayor, tid = published
    with app.app_context():
        db.session.get(Tender, tid).reception_deadline = legal_wall() - dt.timedelta(minutes=1)
        db.session.commit()
    assert "Réfection" not in client.get("/p/tenders/").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Tender, tid).status == "closed"
        assert close_expired() == 0
    page = client.get(f"/p/tenders/{tid}").get_data(as_text=True)
    assert "Ask a question" not in page and "Poser une question" not in page


def test_award_decp_and_ocds_valid(app, published, client, tenders_world, login_as):
    from .ocds_check import valid_release

    mayor, tid = published
    sec = login_as("secretary_a")
    assert sec.post(f"/s/tenders/{tid}/attribution", {}, csrf_from="/s/tenders/").status_code == 403
    bad = mayor.post(f"/s/tenders/{tid}/attribution", {"holder_name": "", "holder_siret": "123",
                                                        "amount_ht": "-3", "notified_on": "2999-01-01",
                                                        "offers_received": "0"}, csrf_from="/s/tenders/")
    assert bad.status_code == 422
    ok = mayor.post(f"/s/tenders/{tid}/attribution", {
        "holder_name": "Couverture Auboise SARL", "holder_siret": "123 456 789 00012", "amount_ht": "112 500",
        "notified_on": legal_today().isoformat(), "offers_received": "3", "price_form": "Forfaitaire"},
        csrf_from="/s/tenders/")
    assert ok.status_code == 302
    decp = json.loads(mayor.get(f"/s/tenders/{tid}/decp.json").data)
    schema = json.loads((DATA / "schema_decp_v2.0.3.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(decp)
    m = decp["marches"]["marche"][0]
    assert m["montant"] == 112500 and m["titulaires"][0]["titulaire"]["id"] == "12345678900012"
    assert m["procedure"] == "Procédure adaptée" and m["codeCPV"] == "45261000"
    ocds = valid_release(json.loads(mayor.get(f"/s/tenders/{tid}/ocds.json").data))
    assert ocds["awards"][0]["value"]["amount"] == 112500
    public = json.loads(client.get(f"/p/tenders/acheteurs/{tenders_world.a}/decp.json").data)
    assert public == decp
    # the schema really checks: a wrong SIRET is refused
    broken = json.loads(json.dumps(decp))
    broken["marches"]["marche"][0]["acheteur"]["id"] = "123"
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_cli_and_task_close_expired(app, published):
    from portal.extensions import db
    from services.tenders.models import Tender
    from services.tenders.tasks import close_expired_task

    mayor, tid = published
    with app.app_context():
        db.session.get(Tender, tid).reception_deadline = legal_wall() - dt.timedelta(seconds=1)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["tenders", "close-expired"])
    assert result.exit_code == 0 and "1 consultation" in result.output
    with app.app_context():
        assert db.session.get(Tender, tid).status == "closed"
        assert close_expired_task.apply().get() == 0
    # the worker's beat runs the task on its own every five minutes, nobody needs to open a page
    from portal.tasks import celery_app

    entry = celery_app.conf.beat_schedule["tenders-close-expired"]
    assert entry["task"] == close_expired_task.name and entry["schedule"] == dt.timedelta(minutes=5)


def test_award_per_lot_gives_one_decp_record_per_lot(app, tenders_world, login_as, client):
    from .ocds_check import valid_release

    from .conftest import ROOF

    mayor = login_as("mayor_a")
    tid = new_tender(mayor)
    data = {k: dict(v) for k, v in ROOF.items()}
    data[1] |= {"lots": "Couverture\nZinguerie", "single_lot_reason": ""}
    mayor.post(f"/s/tenders/{tid}/etape/1", data[1] | {"action": "next"}, csrf_from="/s/tenders/")
    assert mayor.post(f"/s/tenders/{tid}/etape/2", {"lot_1": "90000", "lot_2": "30000", "action": "next"},
                      csrf_from="/s/tenders/").status_code == 302
    for step in (3, 4, 5, 6):
        payload = (calendar() | {"media": ["portal", "buyer_profile", "boamp"]}) if step == 4 else data.get(step, {})
        assert mayor.post(f"/s/tenders/{tid}/etape/{step}", payload | {"action": "next"},
                          csrf_from="/s/tenders/").status_code == 302, step
    assert mayor.post(f"/s/tenders/{tid}/publier", {"confirm": "1"}, csrf_from="/s/tenders/").status_code == 302
    today = legal_today().isoformat()
    base = {"notified_on": today, "offers_received": "2", "price_form": "Forfaitaire"}
    mayor.post(f"/s/tenders/{tid}/attribution", base | {"lot": "1", "holder_name": "Couverture Auboise",
                                                        "holder_siret": "12345678900012", "amount_ht": "88000"},
               csrf_from="/s/tenders/")
    from portal.extensions import db
    from services.tenders.models import Tender

    with app.app_context():
        assert db.session.get(Tender, tid).status == "published"  # lot 2 not awarded yet
    assert mayor.post(f"/s/tenders/{tid}/attribution", base | {"lot": "7", "holder_name": "X",
                                                               "holder_siret": "12345678900012", "amount_ht": "1"},
                      csrf_from="/s/tenders/").status_code == 422
    mayor.post(f"/s/tenders/{tid}/attribution", base | {"lot": "2", "holder_name": "Zinc de l'Aube",
                                                        "holder_siret": "98765432100019", "amount_ht": "29500"},
               csrf_from="/s/tenders/")
    with app.app_context():
        assert db.session.get(Tender, tid).status == "awarded"
    decp = json.loads(client.get(f"/p/tenders/acheteurs/{tenders_world.a}/decp.json").data)
    records = decp["marches"]["marche"]
    assert [m["id"][-3:] for m in records] == ["-L1", "-L2"]
    assert sorted(m["montant"] for m in records) == [29500, 88000]
    assert all(len(m["id"]) <= 16 for m in records)
    ocds = valid_release(json.loads(mayor.get(f"/s/tenders/{tid}/ocds.json").data))
    assert len(ocds["awards"]) == 2 and len(ocds["tender"]["lots"]) == 2
    assert sorted(a["relatedLots"][0] for a in ocds["awards"]) == ["1", "2"]


def test_demo_command_is_idempotent_and_publishes_a_valid_consultation(app, tenders_world, client):
    runner = app.test_cli_runner()
    assert "2 demo consultation(s)" in runner.invoke(args=["tenders", "demo"]).output
    assert "0 demo consultation(s)" in runner.invoke(args=["tenders", "demo"]).output
    assert "Déneigement des voies communales" in client.get("/p/tenders/").get_data(as_text=True)
    assert "Réfection" not in client.get("/p/tenders/").get_data(as_text=True)  # the draft stays private
    from portal.extensions import db
    from services.tenders import wizard
    from services.tenders.models import Tender

    with app.test_request_context():
        t = db.session.query(Tender).filter_by(reference="DEMO-NEIGE").one()
        assert wizard.problems(t) == {}  # the demo consultation passes the publication checks


def test_deadline_can_only_be_extended(app, published, tenders_world, login_as):
    from portal.extensions import db
    from services.tenders.models import Tender

    mayor, tid = published
    with app.app_context():
        old = db.session.get(Tender, tid).reception_deadline
    shorter = (old - dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    mayor.post(f"/s/tenders/{tid}/prolonger", {"reception_deadline": shorter}, csrf_from="/s/tenders/")
    mayor.post(f"/s/tenders/{tid}/prolonger", {"reception_deadline": "demain"}, csrf_from="/s/tenders/")
    with app.app_context():
        assert db.session.get(Tender, tid).reception_deadline == old
    sec = login_as("secretary_a")
    later = (old + dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    assert sec.post(f"/s/tenders/{tid}/prolonger", {"reception_deadline": later},
                    csrf_from="/s/tenders/").status_code == 403
    assert mayor.post(f"/s/tenders/{tid}/prolonger", {"reception_deadline": later},
                      csrf_from="/s/tenders/").status_code == 302
    with app.app_context():
        t = db.session.get(Tender, tid)
        assert t.reception_deadline == old + dt.timedelta(days=7)
        assert t.opening_date > t.reception_deadline.date() - dt.timedelta(days=1)
        rc = zipfile.ZipFile(io.BytesIO(t.dce_zip))
        name = next(n for n in rc.namelist() if n.endswith("-RC.pdf"))
        assert t.reception_deadline.strftime("%d/%m/%Y") in pdf_text(rc.read(name))


def test_robot_questions_are_dropped(app, published, client):
    from portal.extensions import db
    from services.tenders.models import TenderQuestion

    mayor, tid = published
    token = client.csrf(f"/p/tenders/{tid}")
    resp = client.http.post(f"/p/tenders/{tid}/questions", data={"csrf_token": token, "email": "bot@spam.example.org",
                                                                "question": "Buy now", "website": "http://spam"})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.query(TenderQuestion).count() == 0


def test_epci_consultation_documents_and_decp(app, tenders_world, login_as, client):
    """An EPCI buys too: its documents name it as an EPCI and its DECP places the contract in the department."""
    epci = login_as("epci_user")
    tid = new_tender(epci)
    fill(epci, tid, amount="120000", step4=calendar() | {"media": ["portal", "buyer_profile", "jal"]})
    # the EPCI user is a secretary: publication needs the grant its president gives on the member page
    from portal.extensions import db
    from portal.models import Membership

    with app.app_context():
        m = db.session.query(Membership).filter_by(user_id=tenders_world.users["epci_user"].id).one()
        m.extra_permissions = ["tenders.publish"]
        db.session.commit()
    assert epci.post(f"/s/tenders/{tid}/publier", {"confirm": "1"}, csrf_from="/s/tenders/").status_code == 302
    rc = docx_text(epci.get(f"/s/tenders/{tid}/documents/rc.docx").data)
    assert "Établissement public de coopération intercommunale" in rc
    epci.post(f"/s/tenders/{tid}/attribution", {"lot": "1", "holder_name": "Toitures du Barséquanais",
                                               "holder_siret": "12345678900012", "amount_ht": "118000",
                                               "notified_on": legal_today().isoformat(), "offers_received": "4"},
              csrf_from="/s/tenders/")
    decp = json.loads(client.get(f"/p/tenders/acheteurs/{tenders_world.epci}/decp.json").data)
    m = decp["marches"]["marche"][0]
    assert m["lieuExecution"] == {"code": "10", "typeCode": "Code département"}
    # the member commune's public DECP list does not include the EPCI's contract
    assert json.loads(client.get(f"/p/tenders/acheteurs/{tenders_world.a}/decp.json").data)["marches"]["marche"] == []
