"""The agenda: the audience matrix of events, registration within the seats and its cancelling, the reminder e-mail of
the day before (through the outbox, once), the .ics files (parsed back with icalendar), publishers' HTML inert."""
from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from sqlalchemy import select

from tests.helpers.clock import legal_today

from .test_audiences import EXPECTED, KINDS, LOGINS

XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def at(days: int, hour: int = 9) -> dt.datetime:
    """A wall-clock time ``days`` after today: the Aube's date, as the product reads it (the host's, in UTC, is
    still yesterday from 23:00 UTC)."""
    return dt.datetime.combine(legal_today() + dt.timedelta(days=days), dt.time(hour, 0))


@pytest.fixture
def event(app, world):
    """``event("Titre", "all", publisher=…, days=…, seats=…, **audience)`` → id, published in the system context."""
    from portal.extensions import db
    from portal.models import Collectivity, User
    from services.desk import agenda, operations

    def _event(title, kind="all", *, publisher=None, author="dept_admin", days=10, seats=None, description="",
               **audience):
        with app.app_context():
            item = agenda.publish_event(
                publisher=db.session.get(Collectivity, publisher or world.dept),
                author=db.session.get(User, world.users[author].id),
                audience=operations.AudienceChoice(kind=kind, **audience), title=title, kind="presentation",
                starts_at=at(days), ends_at=at(days, 12), place="Hôtel du département, salle 2", seats=seats,
                registration_open=True, description=description)
            db.session.commit()
            return item.id

    return _event


def title(kind):
    return f"Atelier-pour-{kind}-fin"


@pytest.fixture
def matrix(app, world, partners, event, subscribe):
    subscribe("tenders", world.a)
    extra = {"epci_members": {"epci_id": world.epci}, "service": {"service_slug": "tenders"},
             "list": {"member_ids": (world.b, world.epci)}}
    return {kind: event(title(kind), kind, **extra.get(kind, {})) for kind in KINDS}


@pytest.mark.parametrize("viewer", sorted(EXPECTED))
def test_each_viewer_reads_exactly_the_events_addressed_to_it(login_as, matrix, viewer):
    client = login_as(LOGINS[viewer])
    body = client.get("/s/desk/agenda").get_data(as_text=True)
    feed = icalendar.Calendar.from_ical(client.get("/s/desk/agenda.ics").get_data())
    summaries = {str(e["SUMMARY"]) for e in feed.walk("VEVENT")}
    for kind, event_id in matrix.items():
        page = client.get(f"/s/desk/agenda/{event_id}")
        ics = client.get(f"/s/desk/agenda/{event_id}.ics")
        if kind in EXPECTED[viewer]:
            assert title(kind) in body and title(kind) in summaries, (viewer, kind)
            assert page.status_code == 200 and ics.status_code == 200, (viewer, kind)
        else:
            assert title(kind) not in body and title(kind) not in summaries, (viewer, kind)
            assert page.status_code == 404 and ics.status_code == 404, (viewer, kind)


def test_the_public_agenda_shows_public_events_only(app, matrix, login_as):
    from tests.conftest import PortalClient

    for client in (PortalClient(app), login_as("mayor_a")):
        body = client.get("/p/desk/agenda").get_data(as_text=True)
        assert {k for k in KINDS if title(k) in body} == {"public"}
        feed = icalendar.Calendar.from_ical(client.get("/p/desk/agenda.ics").get_data())
        assert [str(e["SUMMARY"]) for e in feed.walk("VEVENT")] == [title("public")]
        assert client.get(f"/p/desk/agenda/{matrix['all']}").status_code == 404
        assert client.get(f"/p/desk/agenda/{matrix['all']}.ics").status_code == 404


def test_register_within_the_seats_cancel_and_register_again(app, world, login_as, event):
    event_id = event("Demi-journée de présentation des Actes", seats=1)
    first, second = login_as("secretary_a"), login_as("mayor_b")
    url = f"/s/desk/agenda/{event_id}"
    assert first.post(f"{url}/inscription", {}, csrf_from=url).status_code == 302
    assert "Vous êtes inscrit" in first.get(url).get_data(as_text=True)
    second.post(f"{url}/inscription", {}, csrf_from=url)
    assert "plus de place" in second.get(url).get_data(as_text=True)
    assert first.post(f"{url}/desinscription", {}, csrf_from=url).status_code == 302
    assert second.post(f"{url}/inscription", {}, csrf_from=url).status_code == 302
    admin = login_as("dept_admin").get(url).get_data(as_text=True)
    assert "Jaucourt" in admin and "Ailleville" not in admin.split("Personnes inscrites")[1]
    assert first.post(f"{url}/inscription", {}, csrf_from=url).status_code == 302  # full again: refused
    from portal.extensions import db
    from portal.models import AuditEvent
    from services.desk.models_public import EventRegistration

    with app.app_context():
        regs = db.session.scalars(select(EventRegistration).where(EventRegistration.event_id == event_id)).all()
        assert sorted((r.user_id, r.cancelled_at is None) for r in regs) == sorted(
            [(world.users["secretary_a"].id, False), (world.users["mayor_b"].id, True)])
        actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert actions.count("desk.event_registered") == 2 and "desk.event_unregistered" in actions


def test_a_secretary_of_two_mairies_keeps_one_registration_across_them(app, world, login_as, event):
    """A registration is the person's, made for one collectivity: switched to her other mairie, the secretary still
    reads it, cancels it and registers again (now for this mairie) — although on PostgreSQL the row's policy shows
    it to its collectivity only (desk_0017_owned_rows_rls: the agenda reads the person's row in the system
    context)."""
    from portal.extensions import db
    from services.desk.models_public import EventRegistration

    event_id = event("Réunion des secrétaires de mairie", seats=5)
    url = f"/s/desk/agenda/{event_id}"
    assert login_as("secretary_ab", world.a).post(f"{url}/inscription", {}, csrf_from=url).status_code == 302
    other = login_as("secretary_ab", world.b)
    assert "Vous êtes inscrit" in other.get(url).get_data(as_text=True)
    assert other.post(f"{url}/desinscription", {}, csrf_from=url).status_code == 302
    assert "Vous êtes inscrit" not in other.get(url).get_data(as_text=True)
    assert other.post(f"{url}/inscription", {}, csrf_from=url).status_code == 302
    with app.app_context():
        regs = db.session.scalars(select(EventRegistration).where(EventRegistration.event_id == event_id)).all()
        assert [(r.collectivity_id, r.cancelled_at) for r in regs] == [(world.b, None)]


def test_the_reminder_goes_the_day_before_once_through_the_outbox(app, world, login_as, event, smtp):
    from portal.extensions import db
    from portal.models import OutgoingEmail
    from services.desk.tasks import send_event_reminders

    tomorrow = event("Formation au parapheur", days=1)
    later = event("Atelier dans dix jours", days=10)
    for eid in (tomorrow, later):
        url = f"/s/desk/agenda/{eid}"
        login_as("secretary_a").post(f"{url}/inscription", {}, csrf_from=url)
    assert send_event_reminders.apply().get() == 1
    assert send_event_reminders.apply().get() == 0  # once
    with app.app_context():
        rows = db.session.scalars(select(OutgoingEmail).where(OutgoingEmail.subject.contains("Formation"))).all()
        assert len(rows) == 1 and rows[0].to_address == world.users["secretary_a"].email
        assert rows[0].subject.startswith("Demain")
        assert f"/s/desk/agenda/{tomorrow}.ics" in rows[0].body_text
        assert not db.session.scalars(select(OutgoingEmail).where(OutgoingEmail.subject.contains("dix"))).all()


def test_the_ics_parses_back_with_paris_times_and_html_inert(app, world, login_as, event):
    event_id = event(f"Atelier {XSS}", description=f"<p>Programme</p>{XSS}")
    resp = login_as("mayor_a").get(f"/s/desk/agenda/{event_id}.ics")
    assert resp.mimetype == "text/calendar"
    cal = icalendar.Calendar.from_ical(resp.get_data())
    [vevent] = cal.walk("VEVENT")
    assert vevent.decoded("DTSTART") == at(10).replace(tzinfo=vevent.decoded("DTSTART").tzinfo)
    assert str(vevent.decoded("DTSTART").tzinfo) == "Europe/Paris"
    assert cal.walk("VTIMEZONE"), "the time zone travels with the file"
    assert str(vevent["UID"]).startswith(f"desk-event-{event_id}@")
    assert "<" not in str(vevent["DESCRIPTION"]) and "onerror" not in str(vevent["DESCRIPTION"])
    assert str(vevent["DESCRIPTION"]).startswith("Programme")
    page = login_as("mayor_a").get(f"/s/desk/agenda/{event_id}").get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page and 'onerror="' not in page  # shown as text


def test_cancelling_tells_the_registered_and_marks_the_ics(app, world, login_as, event):
    from portal.extensions import db
    from portal.models import OutgoingEmail

    event_id = event("Réunion des secrétaires")
    url = f"/s/desk/agenda/{event_id}"
    login_as("secretary_a").post(f"{url}/inscription", {}, csrf_from=url)
    assert login_as("mayor_b").post(f"{url}/annuler", {}, csrf_from=url).status_code == 403
    assert login_as("dept_admin").post(f"{url}/annuler", {}, csrf_from=url).status_code == 302
    cal = icalendar.Calendar.from_ical(login_as("secretary_a").get(f"{url}.ics").get_data())
    [vevent] = cal.walk("VEVENT")
    assert str(vevent["STATUS"]) == "CANCELLED" and int(vevent["SEQUENCE"]) == 1
    with app.app_context():
        assert db.session.scalars(select(OutgoingEmail).where(OutgoingEmail.subject.contains("Réunion"))).all()


def test_only_the_department_and_partners_publish_events(world, login_as, partners):
    assert login_as("mayor_a").get("/s/desk/agenda/nouveau").status_code == 403
    cdg = login_as("partner_cdg")
    resp = cdg.post("/s/desk/agenda/nouveau", {
        "title": "Atelier recrutement", "kind": "workshop", "starts_at": at(5).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": at(4).strftime("%Y-%m-%dT%H:%M"), "audience": "all", "registration_open": "y"},
        csrf_from="/s/desk/agenda/nouveau")
    assert resp.status_code == 400 and "finir après" in resp.get_data(as_text=True)
    resp = cdg.post("/s/desk/agenda/nouveau", {
        "title": "Atelier recrutement", "kind": "workshop", "starts_at": at(5).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": at(5, 17).strftime("%Y-%m-%dT%H:%M"), "audience": "all", "registration_open": "y", "seats": "20"},
        csrf_from="/s/desk/agenda/nouveau")
    assert resp.status_code == 302
    assert "Atelier recrutement" in login_as("mayor_troyes").get("/s/desk/agenda").get_data(as_text=True)


def _feed_url(page: str) -> str | None:
    import re

    found = re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', page)
    return found.group(1) if found else None


def test_a_personal_address_feeds_a_calendar_without_session_until_revoked(app, world, login_as, matrix):
    from portal.extensions import db
    from portal.models import Membership

    mayor = login_as("mayor_troyes")
    assert _feed_url(mayor.get("/s/desk/agenda").get_data(as_text=True)) is None
    assert mayor.post("/s/desk/agenda/abonnement", {}, csrf_from="/s/desk/agenda").status_code == 302
    first = _feed_url(mayor.get("/s/desk/agenda").get_data(as_text=True))
    assert first and "/p/desk/agenda/abonnement/" in first
    path = first.split("portal.test", 1)[1]
    anonymous = app.test_client()  # a calendar application: no cookie, no session
    response = anonymous.get(path)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert "no-store" in response.headers["Cache-Control"]
    summaries = {str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(response.get_data()).walk("VEVENT")}
    assert summaries == {title(k) for k in EXPECTED["other_commune"]}  # what Troyes may read, no more
    # another person's address reads as their own collectivity
    jaucourt = login_as("mayor_b")
    jaucourt.post("/s/desk/agenda/abonnement", {}, csrf_from="/s/desk/agenda")
    other = _feed_url(jaucourt.get("/s/desk/agenda").get_data(as_text=True)).split("portal.test", 1)[1]
    summaries = {str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(anonymous.get(other).get_data()).walk("VEVENT")}
    assert summaries == {title(k) for k in EXPECTED["listed_commune"]}
    # a new address revokes the former
    mayor.post("/s/desk/agenda/abonnement", {}, csrf_from="/s/desk/agenda")
    second = _feed_url(mayor.get("/s/desk/agenda").get_data(as_text=True))
    assert second != first
    assert anonymous.get(path).status_code == 404
    assert anonymous.get(second.split("portal.test", 1)[1]).status_code == 200
    # deleting it revokes it
    assert mayor.post("/s/desk/agenda/abonnement/supprimer", {}, csrf_from="/s/desk/agenda").status_code == 302
    assert _feed_url(mayor.get("/s/desk/agenda").get_data(as_text=True)) is None
    assert anonymous.get(second.split("portal.test", 1)[1]).status_code == 404
    # a person who leaves the collectivity: their address stops working
    assert anonymous.get(other).status_code == 200
    with app.app_context():
        db.session.query(Membership).filter_by(user_id=world.users["mayor_b"].id, collectivity_id=world.b).delete()
        db.session.commit()
    assert anonymous.get(other).status_code == 404
    assert anonymous.get("/p/desk/agenda/abonnement/" + "x" * 43 + ".ics").status_code == 404
