"""The agenda: workshops, trainings and meetings of the department and its partners (« demi-journées de
présentation » of a new service…), registration and its cancelling, the reminder e-mail of the day before, and the
iCalendar files (one event, or a feed), written with the ``icalendar`` library.

Times are French wall-clock times (Europe/Paris); the .ics files carry them with their time zone (VTIMEZONE added by
the library), so a calendar abroad or across a change of summer time shows the right hour.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
from zoneinfo import ZoneInfo

import icalendar
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.identity import local_wall
from portal import audit
from portal.audiences import audience_scope
from portal.extensions import db
from portal.mail import queue_email
from portal.models import Collectivity, User, utcnow
from portal.urls import absolute_url, base_url

from .models_public import EVENT_KINDS, CalendarToken, Event, EventRegistration
from .operations import AudienceChoice, DeskError
from .sanitize import clean, text_of

log = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")


def _apply(event: Event, *, title: str, kind: str, starts_at: dt.datetime | None, ends_at: dt.datetime | None,
           place: str, seats: int | None, registration_open: bool, description: str) -> None:
    title = (title or "").strip()
    if not title:
        raise DeskError(_("Give the event a title."))
    if kind not in EVENT_KINDS:
        raise DeskError(_("Choose the kind of event."))
    if starts_at is None or ends_at is None:
        raise DeskError(_("Give the start and the end of the event."))
    if ends_at <= starts_at:
        raise DeskError(_("The event must end after it starts."))
    if seats is not None and seats < 1:
        raise DeskError(_("The number of seats must be at least 1, or empty for no limit."))
    event.title = title[:200]
    event.kind = kind
    event.starts_at = starts_at.replace(second=0, microsecond=0, tzinfo=None)
    event.ends_at = ends_at.replace(second=0, microsecond=0, tzinfo=None)
    event.place = (place or "").strip()[:300]
    event.seats = seats
    event.registration_open = bool(registration_open)
    event.description_html = clean(description)


def publish_event(*, publisher: Collectivity, author: User, audience: AudienceChoice, **fields) -> Event:
    event = Event(publisher_id=publisher.id, author_id=author.id)
    _apply(event, **fields)
    if event.starts_at < local_wall(publisher):
        raise DeskError(_("The event would start in the past."))
    event.audience = audience.build()
    db.session.add(event)
    db.session.flush()
    audit.record("desk.event_published", target=event, collectivity=publisher, user=author, title=event.title,
                 audience=audience.kind, starts_at=event.starts_at.isoformat(timespec="minutes"))
    return event


def edit_event(event: Event, *, author: User, audience: AudienceChoice, **fields) -> Event:
    moved = (fields.get("starts_at"), fields.get("ends_at")) != (event.starts_at, event.ends_at)
    _apply(event, **fields)
    old = event.audience
    event.audience = audience.build()
    event.sequence += 1
    if moved:  # a new date: the reminder goes again the day before the new date
        for reg in registrations(event):
            reg.reminded_at = None
    db.session.flush()
    db.session.delete(old)
    audit.record("desk.event_edited", target=event, collectivity=event.publisher, user=author, title=event.title,
                 audience=audience.kind, starts_at=event.starts_at.isoformat(timespec="minutes"))
    return event


def cancel_event(event: Event, *, author: User) -> int:
    """Cancel the event and tell the registered people by e-mail; returns how many were told."""
    if event.cancelled_at is not None:
        return 0
    event.cancelled_at = utcnow()
    event.sequence += 1
    told = 0
    for reg in registrations(event):
        queue_email(reg.user.email, _l("Cancelled: %(title)s", title=event.title), "desk/event_cancelled",
                    locale=reg.user.locale, user=reg.user, event=event, url=absolute_url("desk.event_page",
                                                                                        event_id=event.id))
        told += 1
    audit.record("desk.event_cancelled", target=event, collectivity=event.publisher, user=author, title=event.title,
                 count=told)
    db.session.flush()
    return told


def registrations(event: Event) -> list[EventRegistration]:
    """The active registrations of ``event``, oldest first."""
    return db.session.scalars(select(EventRegistration).where(EventRegistration.event_id == event.id,
                                                              EventRegistration.cancelled_at.is_(None))
                              .order_by(EventRegistration.registered_at, EventRegistration.id)).all()


def seats_taken(event: Event) -> int:
    """Every collectivity's active registrations to ``event`` (an event the caller could read): counted in the system
    context, as a registration's row is seen by its own collectivity and the event's publisher only
    (desk_0017_owned_rows_rls) and a commune must know how many seats the others took."""
    with audience_scope(None):
        return db.session.scalar(select(func.count()).select_from(EventRegistration).where(
            EventRegistration.event_id == event.id, EventRegistration.cancelled_at.is_(None))) or 0


def registration_of(event: Event, user: User) -> EventRegistration | None:
    """``user``'s registration to ``event``, whichever of their collectivities they registered for (a secretary of
    two mairies has one registration per event): read in the system context, narrowed here to the person, as the
    row's policy knows collectivities, not people. Changes to it are flushed in the system context too."""
    with audience_scope(None):
        return db.session.scalar(select(EventRegistration).where(EventRegistration.event_id == event.id,
                                                                 EventRegistration.user_id == user.id))


def register(event: Event, *, user: User, collectivity: Collectivity) -> EventRegistration:
    if event.cancelled_at is not None:
        raise DeskError(_("This event is cancelled."))
    if not event.registration_open:
        raise DeskError(_("Registration is closed for this event."))
    if event.starts_at <= local_wall(db.session.get(Collectivity, event.publisher_id)):
        raise DeskError(_("This event has already started."))
    reg = registration_of(event, user)
    if reg is not None and reg.cancelled_at is None:
        return reg  # already registered: nothing changes
    if event.seats is not None and seats_taken(event) >= event.seats:
        raise DeskError(_("There are no seats left."))
    if reg is None:
        reg = EventRegistration(event_id=event.id, user_id=user.id, collectivity_id=collectivity.id)
        db.session.add(reg)
    else:  # registering again after cancelling
        reg.cancelled_at, reg.reminded_at, reg.registered_at = None, None, utcnow()
        reg.collectivity_id = collectivity.id
    with audience_scope(None):  # the row may have been another of the person's collectivities' (registration_of)
        db.session.flush()
    audit.record("desk.event_registered", target=event, collectivity=collectivity, user=user, title=event.title)
    return reg


def unregister(event: Event, *, user: User, collectivity: Collectivity) -> None:
    reg = registration_of(event, user)
    if reg is None or reg.cancelled_at is not None:
        return
    reg.cancelled_at = utcnow()
    with audience_scope(None):  # the row may be another of the person's collectivities' (registration_of)
        db.session.flush()
    audit.record("desk.event_unregistered", target=event, collectivity=collectivity, user=user, title=event.title)


def send_reminders(now: dt.datetime | None = None) -> int:
    """Queue the reminder of every active registration to an event of tomorrow (French day) not reminded yet;
    ``reminded_at`` makes it once. Returns how many were queued. Runs in the system context (the audience filter
    lifted explicitly: each registration was made by someone the event was addressed to)."""
    with audience_scope(None):
        return _send_reminders(now or local_wall())


def _send_reminders(now: dt.datetime) -> int:
    start = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time())
    end = start + dt.timedelta(days=1)
    regs = db.session.scalars(
        select(EventRegistration).join(Event, Event.id == EventRegistration.event_id)
        .where(Event.starts_at >= start, Event.starts_at < end, Event.cancelled_at.is_(None),
               EventRegistration.cancelled_at.is_(None), EventRegistration.reminded_at.is_(None))
        .order_by(EventRegistration.id)).all()
    for reg in regs:
        event = reg.event
        queue_email(reg.user.email, _l("Tomorrow: %(title)s", title=event.title), "desk/event_reminder",
                    locale=reg.user.locale, user=reg.user, event=event,
                    url=absolute_url("desk.event_page", event_id=event.id),
                    ics_url=absolute_url("desk.event_ics", event_id=event.id))
        reg.reminded_at = utcnow()
    db.session.flush()
    if regs:
        log.info("event reminders queued: %d", len(regs))
    return len(regs)


def upcoming(now: dt.datetime | None = None, limit: int = 200) -> list[Event]:
    """Events the current viewer may read (audience filter) not over yet, soonest first."""
    now = now or local_wall()
    return db.session.scalars(select(Event).where(Event.upcoming_clause(now))
                              .order_by(Event.starts_at, Event.id).limit(limit)).all()


def ics(events, *, name: str, public: bool) -> bytes:
    """An iCalendar document of ``events`` (RFC 5545), times in Europe/Paris with their VTIMEZONE."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Extranet des collectivites//Agenda//FR")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    host = base_url().split("://", 1)[-1].split("/", 1)[0] or "localhost"
    for event in events:
        vevent = icalendar.Event()
        vevent.add("uid", f"desk-event-{event.id}@{host}")
        vevent.add("dtstamp", event.updated_at.replace(tzinfo=dt.timezone.utc))
        vevent.add("dtstart", event.starts_at.replace(tzinfo=PARIS))
        vevent.add("dtend", event.ends_at.replace(tzinfo=PARIS))
        vevent.add("summary", event.title)
        if event.place:
            vevent.add("location", event.place)
        description = text_of(event.description_html)
        if description:
            vevent.add("description", description)
        vevent.add("organizer", f"mailto:{event.publisher.email}" if event.publisher.email else
                   f"mailto:noreply@{host}", parameters={"CN": event.publisher.name})
        vevent.add("url", absolute_url("desk_public.public_event" if public else "desk.event_page", event_id=event.id))
        vevent.add("sequence", event.sequence)
        vevent.add("status", "CANCELLED" if event.cancelled_at else "CONFIRMED")
        cal.add_component(vevent)
    cal.add_missing_timezones()
    return cal.to_ical()


# Personal feed addresses ---------------------------------------------------------------------------------------------


def calendar_token(user: User, collectivity: Collectivity) -> CalendarToken | None:
    return db.session.scalar(select(CalendarToken).where(CalendarToken.user_id == user.id,
                                                         CalendarToken.collectivity_id == collectivity.id))


def new_calendar_token(user: User, collectivity: Collectivity) -> CalendarToken:
    """A new secret address for ``user`` in ``collectivity``; the former one (if any) stops working at once."""
    token = calendar_token(user, collectivity)
    if token is None:
        token = CalendarToken(user_id=user.id, collectivity_id=collectivity.id)
        db.session.add(token)
    token.token, token.created_at, token.used_at = secrets.token_urlsafe(32), utcnow(), None
    db.session.flush()
    log.info("agenda feed address created for user %s in collectivity %s", user.id, collectivity.id)
    return token


def revoke_calendar_token(user: User, collectivity: Collectivity) -> bool:
    token = calendar_token(user, collectivity)
    if token is None:
        return False
    db.session.delete(token)
    log.info("agenda feed address revoked for user %s in collectivity %s", user.id, collectivity.id)
    return True


def feed_of_token(value: str):
    """(collectivity, events) of a feed address still valid — its person active and still a member of that
    collectivity — read as that collectivity would (audience filter and row-level security), or None."""
    from portal.audiences import Viewer
    from portal.models import Membership

    if not value or len(value) > 64:
        return None
    with audience_scope(None):
        token = db.session.scalar(select(CalendarToken).where(CalendarToken.token == value))
        if token is None or not secrets.compare_digest(token.token, value):
            return None
        member = db.session.scalar(select(Membership.id).where(Membership.user_id == token.user_id,
                                                               Membership.collectivity_id == token.collectivity_id))
        if member is None or not token.user.is_active or token.collectivity.historical_since is not None:
            log.info("agenda feed address of user %s refused: no longer an active member", token.user_id)
            return None
        token.used_at = utcnow()
        db.session.flush()  # now, as the system context: nobody signed in could update the token's row later
        viewer = Viewer.of(token.collectivity)
        collectivity = token.collectivity
    with audience_scope(viewer):
        return collectivity, upcoming()
