"""The department's side (/admin/s/actes/): TdT accounts and certificates edited with validation and audit, the
certificate reminders 60/30/7 days before the expiry (sent once, through the outbox, to the real loopback SMTP
server), the statistics per collectivity and for the department, on the page and as CSV."""
from __future__ import annotations

import csv
import datetime as dt
import html
import io

from sqlalchemy import select

from .conftest import make_act
from .fixtures import make_certificate
from tests.helpers.clock import legal_today


def _account(app, collectivity_id):
    from portal.extensions import db
    from services.actes.models import TdtAccount

    with app.app_context():
        acc = db.session.scalar(select(TdtAccount).where(TdtAccount.collectivity_id == collectivity_id))
        return None if acc is None else {
            "prefecture": acc.prefecture, "siret": acc.siret, "holder": acc.certificate_holder,
            "serial": acc.certificate_serial, "expires_on": acc.certificate_expires_on,
            "paid_by_department": acc.paid_by_department, "der": acc.certificate_der, "id": acc.id}


def _audit(app, action):
    from portal.extensions import db
    from portal.models import AuditEvent

    with app.app_context():
        return [e.details for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                                      .order_by(AuditEvent.id))]


def _form(**over):
    values = {"prefecture": "PREF010", "arrondissement": "1", "collectivity_nature": "31",
              "siret": "21100001300014", "login": "mairie-ailleville", "certificate_holder": "",
              "paid_by": "collectivity"}
    values.update(over)
    return values


def _post(client, coll_id, cert: bytes | None = None, name="certificat.pem", **over):
    data = _form(**over)
    if cert is not None:
        data["certificate"] = (io.BytesIO(cert), name)
    url = f"/admin/s/actes/collectivites/{coll_id}"
    return client.post(url, data, content_type="multipart/form-data", csrf_from=url)


def test_the_department_records_an_account_and_its_certificate(app, actes_world, login_as):
    admin = login_as("dept_admin")
    expiry = legal_today() + dt.timedelta(days=400)
    cert = make_certificate("Jean Dupont, maire d'Ailleville", expiry, serial=0xC0FFEE42)
    resp = _post(admin, actes_world.a, cert.der, name="certificat.cer")
    assert resp.status_code == 302, html.unescape(resp.get_data(as_text=True))[-2000:]
    acc = _account(app, actes_world.a)
    assert acc["serial"] == "C0FFEE42" and acc["expires_on"] == expiry
    assert acc["holder"] == "Jean Dupont, maire d'Ailleville" and acc["der"] == cert.der
    assert acc["siret"] == "21100001300014" and acc["paid_by_department"] is False
    [details] = _audit(app, "actes.tdt_account_saved")
    assert details["serial"] == "C0FFEE42" and details["expires_on"] == expiry.isoformat()
    page = html.unescape(admin.get(f"/admin/s/actes/collectivites/{actes_world.a}").get_data(as_text=True))
    assert "C0FFEE42" in page and expiry.strftime("%d/%m/%Y") in page and "la collectivité" in page
    # The journal shows the action and its details in French.
    journal = html.unescape(admin.get("/admin/journal").get_data(as_text=True))
    assert "compte TdT" in journal

    # A PEM certificate later, with a holder typed by hand: the name typed wins; the department pays now.
    later = make_certificate("Certificat renouvele", expiry + dt.timedelta(days=365), serial=0x99)
    assert _post(admin, actes_world.a, later.pem, certificate_holder="Mme Martin, maire",
                 paid_by="department").status_code == 302
    acc = _account(app, actes_world.a)
    assert (acc["holder"], acc["serial"], acc["paid_by_department"]) == ("Mme Martin, maire", "99", True)


def test_bad_input_is_refused_field_by_field_and_nothing_is_written(app, actes_world, login_as):
    admin = login_as("dept_admin")
    before = _account(app, actes_world.a)
    cases = [
        ({"prefecture": "PREFECTURE"}, None, "PREF010"),
        ({"siret": "21100001300015"}, None, "chiffre de contrôle"),
        ({"siret": "12345"}, None, "14 chiffres"),
        ({"siret": "11111111111110"}, None, "SIREN"),
        ({"arrondissement": "12"}, None, "arrondissement"),
        ({"collectivity_nature": "3"}, None, "deux chiffres"),
        ({}, make_certificate("Ancien", legal_today() - dt.timedelta(days=2)).pem, "a expiré le"),
        ({}, make_certificate("Avec clé", legal_today() + dt.timedelta(days=90)).key_pem, "clé privée"),
        ({}, b"ceci n'est pas un certificat", "n'est pas un certificat lisible"),
    ]
    for over, cert, message in cases:
        resp = _post(admin, actes_world.a, cert, **over)
        body = html.unescape(resp.get_data(as_text=True))
        assert resp.status_code == 422, (over, resp.status_code)
        assert message in body, (over, message)
    assert _account(app, actes_world.a) == before
    assert _audit(app, "actes.tdt_account_saved") == []


def test_agents_read_but_only_administrators_edit_and_communes_never_enter(app, actes_world, login_as):
    agent = login_as("dept_agent")
    url = f"/admin/s/actes/collectivites/{actes_world.a}"
    assert agent.get(url).status_code == 200
    assert _post(agent, actes_world.a).status_code == 403
    assert login_as("mayor_a").get(url).status_code == 403
    # Fravaux has no convention and no account: not one of the TdT's collectivities.
    assert login_as("dept_admin").get(f"/admin/s/actes/collectivites/{actes_world.c}").status_code == 404


def test_a_subscribed_collectivity_without_account_gets_one(app, actes_world, login_as):
    admin = login_as("dept_admin")
    assert _account(app, actes_world.troyes) is None
    overview = html.unescape(admin.get("/admin/s/actes/").get_data(as_text=True))
    assert "Troyes" in overview and "Aucun compte TdT" in overview
    resp = _post(admin, actes_world.troyes, siret="", prefecture="PREF010", paid_by="department")
    assert resp.status_code == 302
    assert _account(app, actes_world.troyes)["prefecture"] == "PREF010"


def _set_expiry(app, collectivity_id, day):
    from portal.extensions import db
    from services.actes.models import TdtAccount

    with app.app_context():
        acc = db.session.scalar(select(TdtAccount).where(TdtAccount.collectivity_id == collectivity_id))
        acc.certificate_expires_on = day
        db.session.commit()


def _remind(app, today):
    from services.actes import tdt_accounts

    with app.app_context():
        return tdt_accounts.send_reminders(today=today)


def test_reminders_60_30_7_days_before_each_once_to_the_team_and_the_mayor(app, actes_world, smtp):
    today = dt.date(2027, 3, 1)
    expiry = today + dt.timedelta(days=60)
    _set_expiry(app, actes_world.a, expiry)
    _set_expiry(app, actes_world.b, today + dt.timedelta(days=800))  # not due
    assert _remind(app, today - dt.timedelta(days=1)) == 0 and smtp.messages == []

    assert _remind(app, today) == 1
    to = sorted(addr for m in smtp.messages for addr in m.to)
    assert to == ["admin@cd10.test.example.org", "agent@cd10.test.example.org", "maire@ailleville.test.example.org"]
    msg = smtp.messages[0]
    assert "Ailleville" in msg.subject and expiry.strftime("%d/%m/%Y") in msg.subject
    assert "dans 60 jours" in msg.text and "département" in msg.text
    mayor_mail = next(m for m in smtp.messages if m.to == ["maire@ailleville.test.example.org"])
    assert "/admin/s/actes" not in mayor_mail.text  # the department's page is not the mayor's
    team_mail = next(m for m in smtp.messages if m.to == ["admin@cd10.test.example.org"])
    assert f"http://portal.test/admin/s/actes/collectivites/{actes_world.a}" in team_mail.text

    # The same day again, and the next days: nothing more.
    smtp.messages.clear()
    for day in (today, today + dt.timedelta(days=1), today + dt.timedelta(days=29)):
        assert _remind(app, day) == 0
    assert smtp.messages == []
    # 30 days before (the task missed that day: it catches up once, the day after), then 7 days before.
    assert _remind(app, expiry - dt.timedelta(days=29)) == 1 and len(smtp.messages) == 3
    assert "dans 29 jours" in smtp.messages[0].text
    assert _remind(app, expiry - dt.timedelta(days=20)) == 0
    assert _remind(app, expiry - dt.timedelta(days=7)) == 1 and len(smtp.messages) == 6
    assert _remind(app, expiry + dt.timedelta(days=3)) == 0 and len(smtp.messages) == 6
    assert [d["days"] for d in _audit(app, "actes.certificate_reminder_sent")] == [60, 30, 7]

    # A renewed certificate (another expiry) has reminders of its own.
    _set_expiry(app, actes_world.a, expiry + dt.timedelta(days=365))
    assert _remind(app, expiry + dt.timedelta(days=365 - 60)) == 1


def test_a_reminder_about_an_expired_certificate_says_so(app, actes_world, smtp):
    today = dt.date(2027, 3, 1)
    _set_expiry(app, actes_world.a, today - dt.timedelta(days=3))
    _set_expiry(app, actes_world.b, today + dt.timedelta(days=400))
    assert _remind(app, today) == 1
    assert all("a expiré le" in m.text for m in smtp.messages) and len(smtp.messages) == 3


def _acknowledge(app, act_id, *, decided, sent, received, replies=(), error_first=False):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.actes.models import Act, ActStatusChange, PrefectureReply

    with app.app_context(), territory_scope(None):
        act = db.session.get(Act, act_id)
        act.decision_date = decided
        if error_first:
            act.history.append(ActStatusChange(commune_insee=act.commune_insee, status="error", at=sent))
        act.history.append(ActStatusChange(commune_insee=act.commune_insee, status="posted", at=sent))
        act.status, act.tdt_transaction_id, act.received_on = "acknowledged", str(act_id), received
        for i, kind in enumerate(replies):
            act.replies.append(PrefectureReply(commune_insee=act.commune_insee, tdt_document_id=f"{act_id}-{i}",
                                               kind=kind, received_on=received, answer_due_on=received))
        db.session.commit()


def test_statistics_per_collectivity_and_for_the_department(app, actes_world, login_as):
    today = legal_today()
    month = dt.date(today.year, today.month, 1)
    first = make_act(app, actes_world.a, number="S1", subject="Objet-confidentiel-1")
    second = make_act(app, actes_world.a, number="S2")
    make_act(app, actes_world.a, number="S3")  # a draft
    other = make_act(app, actes_world.b, number="S4")
    noon = dt.datetime.combine(month, dt.time(12))
    _acknowledge(app, first, decided=month, sent=noon, received=month + dt.timedelta(days=2),
                 replies=("courrier_simple", "demande_pieces"), error_first=True)
    _acknowledge(app, second, decided=month, sent=noon, received=month + dt.timedelta(days=4))
    _acknowledge(app, other, decided=month, sent=noon, received=month + dt.timedelta(days=1),
                 replies=("defere",))

    admin = login_as("dept_agent")
    page = html.unescape(admin.get(f"/admin/s/actes/collectivites/{actes_world.a}").get_data(as_text=True))
    assert "Objet-confidentiel-1" not in page
    resp = admin.get(f"/admin/s/actes/collectivites/{actes_world.a}/statistiques.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data().decode("utf-8-sig")), delimiter=";"))
    by_month = {r["mois"]: r for r in rows}
    row = by_month[f"{month:%Y-%m}"]
    # Three acts decided this month (the draft too), two sent and acknowledged, one error met on the way.
    assert (row["actes"], row["transmis"], row["acquittes"], row["erreurs_rencontrees"]) == ("3", "2", "2", "1")
    assert row["delai_median_decision_ar_jours"] == "3.0" and row["delai_median_envoi_ar_jours"] == "3.0"
    assert (row["courriers_simples"], row["demandes_de_pieces"], row["deferes"]) == ("1", "1", "0")
    assert sum(int(r["actes"]) for r in rows) == 3

    resp = admin.get("/admin/s/actes/statistiques.csv")
    assert resp.status_code == 200
    dept = list(csv.DictReader(io.StringIO(resp.get_data().decode("utf-8-sig")),
                               delimiter=";"))
    assert {r["collectivite"] for r in dept} == {"Ailleville", "Jaucourt"}
    assert sum(int(r["deferes"]) for r in dept) == 1 and sum(int(r["acquittes"]) for r in dept) == 3

    overview = html.unescape(admin.get("/admin/s/actes/").get_data(as_text=True))
    assert "Statistiques du département" in overview and "Objet-confidentiel-1" not in overview


def test_the_classification_is_fetched_again_from_the_tdt(app, actes_world, login_as, tdt):
    from services.actes.classification import default_xml

    admin = login_as("dept_admin")
    url = f"/admin/s/actes/collectivites/{actes_world.a}"
    tdt.classification = default_xml().replace(b"2004-04-01", b"2017-07-13")
    resp = admin.post(f"{url}/classification", {}, csrf_from=url, follow_redirects=True)
    assert "13/07/2017" in html.unescape(resp.get_data(as_text=True))
    assert [d["version"] for d in _audit(app, "actes.classification_fetched")] == ["2017-07-13"]
    tdt.down = True
    resp = admin.post(f"{url}/classification", {}, csrf_from=url, follow_redirects=True)
    assert "réessayez plus tard" in html.unescape(resp.get_data(as_text=True)).lower()
