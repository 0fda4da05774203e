"""Publication and open data: the SCDL « Délibérations » CSV of a commune is valid against its Table Schema
(frictionless), individual acts stay out of it; the JSON API deposits with the same named rules as the page; the
department's page shows accounts, certificate expiry and counts."""
from __future__ import annotations

import datetime as dt
import io
import json

from frictionless import Resource, Schema

from services.actes.publication import SCHEMA

from tests.helpers.clock import legal_today

from .conftest import deposit_values, make_act
from .fixtures import make_pdf


def _schema() -> Schema:
    return Schema.from_descriptor(json.loads(SCHEMA.read_text(encoding="utf-8")))


def _acknowledge(app, act_id, unique_id):
    from portal.extensions import db
    from portal.models import utcnow
    from portal.tenancy import territory_scope
    from services.actes.models import Act

    with app.app_context(), territory_scope(None):
        act = db.session.get(Act, act_id)
        act.status, act.unique_id, act.received_on, act.tdt_transaction_id = ("acknowledged", unique_id,
                                                                               legal_today(), "77")
        act.published_at = utcnow() if act.publication_kind != "individual" else None
        db.session.commit()


def test_scdl_csv_is_valid_against_its_table_schema(app, actes_world, login_as, tmp_path):
    first = make_act(app, actes_world.a, number="2026_001", subject="Tarifs de la salle des fêtes, « =1+1 »")
    second = make_act(app, actes_world.a, number="2026_002", subject="Budget primitif", matiere="7.1")
    make_act(app, actes_world.a, number="2026_003", subject="Arrêté de nomination", nature=3, matiere="4.1",
             publication="individual")
    for act_id in (first, second):
        _acknowledge(app, act_id, f"010-211000013-{legal_today():%Y%m%d}-X-DE")
    resp = login_as("mayor_b").get(f"/p/actes/{actes_world.insee_a}/deliberations.csv")
    assert resp.status_code == 200
    path = tmp_path / "deliberations.csv"
    path.write_bytes(resp.get_data())
    report = Resource("deliberations.csv", basepath=str(tmp_path), schema=_schema()).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    text = resp.get_data(as_text=True)
    assert text.splitlines()[0].startswith("COLL_NOM,COLL_SIRET,DELIB_ID,DELIB_DATE")
    assert "21100001300015" in text and "PREF010" in text and "finances locales / decisions budgetaires" in text
    assert "nomination" not in text and len(text.splitlines()) == 3


def test_the_schema_check_can_fail(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("COLL_NOM,COLL_SIRET,DELIB_ID,DELIB_DATE,DELIB_MATIERE_CODE,DELIB_MATIERE_NOM,DELIB_OBJET\n"
                    "Ailleville,211000013,1,2026-01-01,7.1,finances,Objet\n")
    assert not Resource("bad.csv", basepath=str(tmp_path), schema=_schema()).validate().valid


def test_api_deposit_gives_the_same_named_rules(app, actes_world, login_as):
    client = login_as("mayor_a")
    headers = {"X-CSRFToken": client.csrf("/profil")}
    data = deposit_values(number="_bad", decision_date="2999-01-01")
    data["act"] = (io.BytesIO(b"not a pdf"), "acte.pdf")
    resp = client.http.post("/api/v1/actes/acts", data=data, content_type="multipart/form-data", headers=headers)
    assert resp.status_code == 422
    rules = {p["rule"] for p in resp.get_json()["problems"]}
    assert rules == {"number_format", "decision_date", "act_pdf"}
    data = deposit_values(number="API_1")
    data["act"] = (io.BytesIO(make_pdf(None)), "acte.pdf")
    resp = client.http.post("/api/v1/actes/acts", data=data, content_type="multipart/form-data", headers=headers)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "draft" and [w["rule"] for w in body["warnings"]] == ["scan_without_text"]
    assert client.get(f"/api/v1/actes/acts/{body['id']}").get_json()["number"] == "API_1"


def test_only_send_holders_send(app, actes_world, login_as, tdt):
    act_id = make_act(app, actes_world.a)
    secretary = login_as("secretary_a")
    assert secretary.post(f"/s/actes/{act_id}/envoyer", {}, csrf_from=f"/s/actes/{act_id}").status_code == 403
    assert secretary.http.post(f"/api/v1/actes/acts/{act_id}/send",
                               headers={"X-CSRFToken": secretary.csrf("/profil")}).status_code == 403
    assert not tdt.transactions


def test_department_page_shows_certificates_and_counts(app, actes_world, login_as):
    make_act(app, actes_world.a)
    page = login_as("dept_admin").get("/admin/s/actes/").get_data(as_text=True)
    expiry = (legal_today() + dt.timedelta(days=20)).strftime("%d/%m/%Y")  # « dans 20 jours » from the Aube's today
    assert "Ailleville" in page and expiry in page and "dans 20 jours" in page
    assert "Statistiques du département" in page
