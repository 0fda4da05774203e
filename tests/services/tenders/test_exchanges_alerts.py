"""Companies' alerts on new consultations (CPV and place), and the secure exchanges with one candidate."""
from __future__ import annotations

import datetime as dt
import io

from tests.helpers.clock import legal_wall

from .conftest import calendar, fill, new_tender, real_pdf
from .test_bids import _company, _deadline_utc, _deposit
from .test_documents_public_award import wait_for_mail
from .test_opening_analysis import _pass_deadline


def _signed_in(app, company_id):
    from tests.conftest import PortalClient

    client = PortalClient(app)
    with client.http.session_transaction() as s:
        s["tenders_company"] = company_id
    return client


def test_alerts_by_cpv_and_place_are_sent_once_at_publication(app, tenders_world, login_as, smtp):
    roofer = _company(app, email="alerte@couvreur.test.example.org")
    engineer = _company(app, email="alerte@bureau-etudes.test.example.org")
    elsewhere = _company(app, email="alerte@ailleurs.test.example.org")
    unconfirmed = _company(app, email="alerte@pas-confirme.test.example.org", confirmed=False)
    url = "/p/tenders/entreprises/alertes"
    for cid, alerts in ((roofer, [("4526", "10"), ("45", "")]), (engineer, [("7132", "")]),
                        (elsewhere, [("45", "51")]), (unconfirmed, [("45", "")])):
        client = _signed_in(app, cid)
        for cpv, place in alerts:
            assert client.post(url, {"cpv_prefix": cpv, "place_prefix": place}, csrf_from=url).status_code == 302
    bad = _signed_in(app, roofer).post(url, {"cpv_prefix": "4", "place_prefix": "Troyes"}, csrf_from=url)
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "2 à 8 premiers chiffres" in body and "code INSEE" in body
    assert app.test_client().get(url).status_code == 302  # not signed in: to the sign-in page
    mayor = login_as("mayor_a")
    tid = fill(mayor, new_tender(mayor), amount="120000", step4=calendar() | {"media": ["portal", "buyer_profile",
                                                                                         "boamp"]})
    assert mayor.post(f"/s/tenders/{tid}/publier", {"confirm": "1"},
                      csrf_from=f"/s/tenders/{tid}/recapitulatif").status_code == 302
    mail = wait_for_mail(smtp, "alerte@couvreur.test.example.org")
    assert "Réfection de la toiture" in mail.text and f"/p/tenders/{tid}" in mail.text
    sent = [m for m in smtp.messages if "alerte@" in ",".join(m.to)]
    assert [m.to for m in sent].count(["alerte@couvreur.test.example.org"]) == 1  # two matching alerts, one e-mail
    assert not [m for m in sent if any(a in ",".join(m.to) for a in ("bureau-etudes", "ailleurs", "pas-confirme"))]


def test_a_request_to_one_candidate_its_time_stamped_answer_and_nobody_else_sees_it(app, published, login_as,
                                                                                     smtp):
    from portal.extensions import db
    from portal.models import AuditEvent

    _mayor, tid = published
    asked = _company(app, email="precisions@couvreur.test.example.org")
    other = _company(app, email="autre@couvreur.test.example.org")
    deadline = _deadline_utc(app, tid)
    asked_bid = _deposit(app, tid, asked, deadline - dt.timedelta(hours=2))
    _deposit(app, tid, other, deadline - dt.timedelta(hours=1))
    _pass_deadline(app, tid)
    mayor = login_as("mayor_a")
    page = f"/s/tenders/{tid}/echanges"
    assert mayor.get(page).status_code == 302  # not opened yet
    mayor.post(f"/s/tenders/{tid}/ouverture", {}, csrf_from=f"/s/tenders/{tid}/depots")
    past = mayor.post(page, {"bid": str(asked_bid), "kind": "missing", "message": "Joignez votre attestation.",
                             "reply_deadline": "2020-01-01T12:00"}, csrf_from=page)
    assert past.status_code == 422 and "dans le futur" in past.get_data(as_text=True)
    reply_by = (legal_wall() + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    assert mayor.post(page, {"bid": str(asked_bid), "kind": "missing", "message": "Joignez votre attestation.",
                             "reply_deadline": reply_by}, csrf_from=page).status_code == 302
    mail = wait_for_mail(smtp, "precisions@couvreur.test.example.org")
    assert "Joignez votre attestation." in mail.text and f"/p/tenders/{tid}/echanges" in mail.text
    company = _signed_in(app, asked)
    mine = company.get(f"/p/tenders/{tid}/echanges").get_data(as_text=True)
    assert "Joignez votre attestation." in mine and "Demande de pièces manquantes" in mine
    # the other candidate sees nothing, and cannot answer in its place
    outsider = _signed_in(app, other)
    assert "Joignez votre attestation." not in outsider.get(f"/p/tenders/{tid}/echanges").get_data(as_text=True)
    with app.app_context():
        from services.tenders.exchanges import Exchange

        ex_id = db.session.query(Exchange).one().id
    assert outsider.post(f"/p/tenders/{tid}/echanges", {"exchange": str(ex_id), "reply": "moi"},
                         csrf_from="/p/tenders/entreprises/connexion").status_code == 404
    # an executable is refused, a PDF is accepted; the answer is time-stamped
    token = company.csrf(f"/p/tenders/{tid}/echanges")
    refused = company.http.post(f"/p/tenders/{tid}/echanges", data={
        "csrf_token": token, "exchange": str(ex_id), "reply": "Voici",
        "file": (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 100), "attestation.pdf")}, content_type="multipart/form-data")
    assert refused.status_code == 422
    answered = company.http.post(f"/p/tenders/{tid}/echanges", data={
        "csrf_token": token, "exchange": str(ex_id), "reply": "Voici l'attestation URSSAF.",
        "file": (io.BytesIO(real_pdf("attestation")), "attestation.pdf")}, content_type="multipart/form-data")
    assert answered.status_code == 302
    staff = mayor.get(page).get_data(as_text=True)
    assert "attestation URSSAF." in staff and "attestation.pdf" in staff and "répondu le" in staff
    assert login_as("mayor_b").get(page).status_code == 404
    with app.app_context():
        ex = db.session.get(Exchange, ex_id)
        assert ex.replied_at is not None and ex.replied_at >= ex.sent_at
        actions = {e.action for e in db.session.query(AuditEvent).all()}
        assert {"tenders.exchange_sent", "tenders.exchange_answered"} <= actions
    file = mayor.get(f"/s/tenders/{tid}/echanges/{ex_id}/fichier")
    assert file.status_code == 200 and file.data == real_pdf("attestation")
    # answering twice is refused
    again = company.http.post(f"/p/tenders/{tid}/echanges", data={"csrf_token": token, "exchange": str(ex_id),
                                                                    "reply": "encore"})
    assert again.status_code == 422
