"""The e-mail digest through the outbox and the real SMTP server of the tests: who gets what (audiences), the HTML
of publishers inert in it, the choice of frequency, the one-click unsubscribe (link page and RFC 8058 POST)."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from .test_news import BODY, DANGEROUS


def run_digests(app, now=None):
    from services.desk import digest

    with app.test_request_context(base_url="http://portal.test"):
        return digest.send_digests(now)


def by_recipient(smtp):
    out = {}
    for m in smtp.messages:
        for to in m.to:
            out.setdefault(to, []).append(m)
    return out


def test_each_person_gets_the_news_addressed_to_them_once(app, world, smtp, publish, login_as):
    publish("Note-aux-communes", "communes", body=BODY)
    publish("Note-aux-EPCI", "epci")
    assert login_as("mayor_a").post("/s/desk/courriel", {"frequency": "daily"}).status_code == 302
    assert login_as("mayor_troyes").post("/s/desk/courriel", {"frequency": "never"}).status_code == 302
    smtp.messages.clear()
    counts = run_digests(app)
    mails = by_recipient(smtp)
    mayor_a = mails[world.users["mayor_a"].email]
    assert len(mayor_a) == 1
    text = mayor_a[0].text
    assert "Note-aux-communes" in text and "Note-aux-EPCI" not in text
    assert "nouveaux formulaires sont en ligne" in text and not DANGEROUS.search(text)
    html = mayor_a[0].msg.get_body(preferencelist=("html",)).get_content()
    assert "<strong>nouveaux</strong>" in html and not DANGEROUS.search(html)
    assert mayor_a[0].msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Note-aux-EPCI" in mails[world.users["epci_user"].email][0].text
    assert len(mails[world.users["secretary_ab"].email]) == 1  # two mairies, one digest
    assert world.users["mayor_troyes"].email not in mails
    assert world.users["dept_admin"].email not in mails
    assert counts["sent"] == len(mails)
    smtp.messages.clear()
    assert run_digests(app)["sent"] == 0 and not smtp.messages  # run again: nothing due


def test_daily_and_weekly_periods(app, world, smtp, publish, login_as):
    from portal.models import utcnow

    assert login_as("mayor_a").post("/s/desk/courriel", {"frequency": "daily"}).status_code == 302
    publish("Premiere-note", "all")
    run_digests(app)
    publish("Deuxieme-note", "all")
    smtp.messages.clear()
    run_digests(app, utcnow() + dt.timedelta(days=1, minutes=1))
    mails = by_recipient(smtp)
    assert "Deuxieme-note" in mails[world.users["mayor_a"].email][0].text
    assert "Premiere-note" not in mails[world.users["mayor_a"].email][0].text
    assert world.users["mayor_b"].email not in mails  # weekly: not before seven days


def test_unsubscribe_through_the_link_of_the_message(app, world, smtp, publish):
    from portal.extensions import db
    from portal.models import AuditEvent
    from services.desk.models import DigestChoice
    from tests.conftest import PortalClient

    publish("Note-du-jour", "all")
    smtp.messages.clear()
    run_digests(app)
    message = by_recipient(smtp)[world.users["mayor_b"].email][0]
    link = re.search(r"http://portal\.test(/p/desk/desabonnement/\S+)", message.text).group(1)
    resident = PortalClient(app)  # the link works without signing in
    page = resident.get(link)
    assert page.status_code == 200
    with app.app_context():
        assert db.session.get(DigestChoice, world.users["mayor_b"].id).frequency == "weekly"  # a GET changes nothing
    assert resident.post(link, {}, csrf_from=link).status_code == 200
    with app.app_context():
        assert db.session.get(DigestChoice, world.users["mayor_b"].id).frequency == "never"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "desk.digest_changed"))
        assert event.details == {"frequency": "never", "via": "link"}
    publish("Note-suivante", "all")
    smtp.messages.clear()
    from portal.models import utcnow

    run_digests(app, utcnow() + dt.timedelta(days=8))
    assert world.users["mayor_b"].email not in by_recipient(smtp)
    assert world.users["mayor_a"].email in by_recipient(smtp)


def test_one_click_unsubscribe_from_the_mail_client(app, world, smtp, publish):
    from portal.extensions import db
    from services.desk.models import DigestChoice
    from tests.conftest import PortalClient

    publish("Note-du-jour", "all")
    smtp.messages.clear()
    run_digests(app)
    header = str(by_recipient(smtp)[world.users["mayor_a"].email][0].msg["List-Unsubscribe"])
    url = re.search(r"<http://portal\.test(\S+)>", header).group(1)
    client = PortalClient(app)
    assert client.http.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 204
    with app.app_context():
        assert db.session.get(DigestChoice, world.users["mayor_a"].id).frequency == "never"
    forged = url.replace("/desabonnement/", "/desabonnement/x")
    assert client.http.post(forged, data={"List-Unsubscribe": "One-Click"}).status_code == 404


def test_a_long_digest_lists_the_newest_and_says_how_many_more(app, world, smtp, publish):
    from services.desk.digest import MAX_ITEMS

    for i in range(MAX_ITEMS + 3):
        publish(f"Note-numero-{i:02d}", "all")
    smtp.messages.clear()
    run_digests(app)
    text = by_recipient(smtp)[world.users["mayor_a"].email][0].text
    assert f"Note-numero-{MAX_ITEMS + 2:02d}" in text and "Note-numero-00" not in text
    assert "3" in text.split("Note-numero-03")[-1]  # « … et 3 de plus sur le portail »


def test_people_with_the_same_news_share_a_rendering_but_each_has_their_own_unsubscribe_link(app, world, smtp,
                                                                                            publish, login_as):
    from services.desk.digest import UNSUBSCRIBE_MARK, user_of_token

    publish("Note-a-tout-le-monde", "all")
    smtp.messages.clear()
    run_digests(app)
    mails = by_recipient(smtp)
    links = {}
    for key in ("mayor_a", "secretary_a"):  # same commune, same news
        (mail,) = mails[world.users[key].email]
        html = mail.msg.get_body(preferencelist=("html",)).get_content()
        assert UNSUBSCRIBE_MARK not in mail.text and UNSUBSCRIBE_MARK not in html
        token = re.search(r"/p/desk/desabonnement/([\w.-]+)", mail.text).group(1)
        assert token in html
        links[key] = token
        with app.app_context():
            assert user_of_token(token) == world.users[key].id
    assert links["mayor_a"] != links["secretary_a"]
