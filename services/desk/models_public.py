"""Tables of the desk's parts that residents see too: the job offers (« bourse de l'emploi »), the directory of the
collectivities (« annuaire ») and the agenda of workshops and meetings.

Ownership (DESIGN.md §2, §6):
- ``JobOffer`` and ``Event`` have no territory: each is addressed to an audience and published by an organisation
  (``portal.audiences.AudienceScoped``): the audience filter narrows every query on them; the public pages show the
  ``public`` audience only. An offer's ``commune_insee`` says where the job is, it does not scope the row.
- ``DirectoryEntry`` and ``DirectoryPerson`` belong to one collectivity (``collectivity_id``): the mairie edits its
  own (``portal.lookups.get_or_404`` checks the owner); every member reads every collectivity's entry (institutional
  contacts), residents read only the fields the mairie chose to publish (``publish_*``, ``DirectoryPerson.published``).
- ``EventRegistration`` belongs to one person (``user_id``) of one collectivity.

Times of events are wall-clock times in France (naive, Europe/Paris), as people type and read them; offers close at
the end of their ``closes_on`` day.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint, and_, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.identity import today as local_today
from portal.audiences import AudienceScoped, ViewerGuarded
from portal.extensions import db
from portal.models import utcnow

JOB_CATEGORIES = ("A", "B", "C")


def today() -> dt.date:
    """The day in France (the server runs on French time, like every date the portal shows)."""
    return local_today()


class JobOffer(AudienceScoped, db.Model):
    """A job offer of the centre de gestion (a partner) or of a collectivity. ``description_html`` is stored
    sanitised (``sanitize.clean``). Open while not closed by hand and ``closes_on`` is today or later: the beat task
    ``desk.close_job_offers`` records ``closed_at``, and every query of open offers also reads the date
    (:meth:`open_clause`), so an offer is never shown open after its day, even before the task runs."""

    __tablename__ = "desk_job_offer"
    __table_args__ = (Index("ix_desk_job_offer_open", "closed_at", "closes_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    grade: Mapped[str] = mapped_column(String(120), default="")  # « adjoint administratif territorial »
    category: Mapped[str] = mapped_column(String(1))  # A, B or C
    full_time: Mapped[bool] = mapped_column(default=True)
    weekly_hours: Mapped[float | None] = mapped_column(Float)  # part time: hours a week (e.g. 17.5)
    commune_insee: Mapped[str | None] = mapped_column(String(5), index=True)  # where the job is, when a commune
    place: Mapped[str] = mapped_column(String(200), default="")  # « Mairie d'Ailleville », « Bar-sur-Aube »
    closes_on: Mapped[dt.date] = mapped_column(index=True)
    description_html: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str] = mapped_column(String(1000), default="")  # plain text: how to apply
    national_url: Mapped[str] = mapped_column(String(500), default="")  # the same offer on the national job site
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[dt.datetime | None]
    closed_reason: Mapped[str] = mapped_column(String(16), default="")  # date, filled, withdrawn
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    author = relationship("User")
    commune = relationship("Collectivity", primaryjoin="foreign(JobOffer.commune_insee) == Collectivity.insee",
                           viewonly=True, lazy="joined")

    @classmethod
    def open_clause(cls, on: dt.date | None = None):
        return and_(cls.closed_at.is_(None), cls.closes_on >= (on or today()))

    def is_open(self, on: dt.date | None = None) -> bool:
        return self.closed_at is None and self.closes_on >= (on or today())

    @property
    def where(self) -> str:
        """The place as people read it: the typed place, else the commune's name."""
        return self.place or (self.commune.name if self.commune is not None else "")


class DirectoryEntry(db.Model):
    """What a mairie (or an EPCI) declares about itself for the directory, and which fields residents may read."""

    __tablename__ = "desk_directory_entry"

    collectivity_id: Mapped[int] = mapped_column(ForeignKey("collectivity.id", ondelete="CASCADE"), primary_key=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    opening_hours: Mapped[str] = mapped_column(Text, default="")  # plain text, one line per day or period
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None] = mapped_column(Float)  # the mairie on the map (WGS84)
    longitude: Mapped[float | None] = mapped_column(Float)
    publish_address: Mapped[bool] = mapped_column(default=True)
    publish_hours: Mapped[bool] = mapped_column(default=True)
    publish_phone: Mapped[bool] = mapped_column(default=True)
    publish_email: Mapped[bool] = mapped_column(default=False)
    publish_website: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    collectivity = relationship("Collectivity")

    PUBLIC_FIELDS = {"address": "publish_address", "opening_hours": "publish_hours", "phone": "publish_phone",
                     "email": "publish_email", "website": "publish_website"}

    def public_value(self, name: str) -> str:
        """The field as residents may read it: '' when the mairie did not publish it."""
        return getattr(self, name) if getattr(self, self.PUBLIC_FIELDS[name]) else ""


PERSON_ROLES = ("mayor", "deputy", "delegate", "councillor", "president", "vice_president", "other")


class DirectoryPerson(db.Model):
    """An elected official as the mairie declares them (name, office, delegation). Shown to residents only when
    ``published``; no personal contact is kept (people reach the mairie)."""

    __tablename__ = "desk_directory_person"

    id: Mapped[int] = mapped_column(primary_key=True)
    collectivity_id: Mapped[int] = mapped_column(ForeignKey("collectivity.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="councillor")
    delegation: Mapped[str] = mapped_column(String(200), default="")  # « urbanisme et travaux »
    position: Mapped[int] = mapped_column(default=0)
    published: Mapped[bool] = mapped_column(default=False)


EVENT_KINDS = ("presentation", "training", "workshop", "meeting")


class Event(AudienceScoped, db.Model):
    """A workshop, a training or a meeting of the department or a partner. ``description_html`` stored sanitised;
    ``seats`` None: no limit."""

    __tablename__ = "desk_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="presentation")
    description_html: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[dt.datetime] = mapped_column(index=True)  # French wall-clock time
    ends_at: Mapped[dt.datetime]
    place: Mapped[str] = mapped_column(String(300), default="")
    seats: Mapped[int | None]
    registration_open: Mapped[bool] = mapped_column(default=True)
    cancelled_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    sequence: Mapped[int] = mapped_column(default=0)  # iCalendar SEQUENCE: bumped at each change
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    author = relationship("User")

    @classmethod
    def upcoming_clause(cls, now: dt.datetime):
        return or_(cls.ends_at >= now, cls.starts_at >= now)


class EventRegistration(ViewerGuarded, db.Model):
    """One person registered to one event, for their collectivity. Cancelled registrations are kept (who came back);
    ``reminded_at`` is set when the reminder of the day before is queued, so it goes once."""

    __tablename__ = "desk_event_registration"
    __table_args__ = (UniqueConstraint("event_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("desk_event.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    collectivity_id: Mapped[int] = mapped_column(ForeignKey("collectivity.id", ondelete="CASCADE"))
    registered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[dt.datetime | None]
    reminded_at: Mapped[dt.datetime | None]

    event = relationship(Event)
    user = relationship("User")
    collectivity = relationship("Collectivity")


class CalendarToken(ViewerGuarded, db.Model):
    """A person's secret address of the agenda feed for one of their collectivities: a calendar application
    subscribes to ``/p/desk/agenda/abonnement/<token>.ics`` without a session and reads what that collectivity may
    read. A new address replaces the former (revoked); « Supprimer » revokes it."""

    __tablename__ = "desk_calendar_token"
    __table_args__ = (UniqueConstraint("user_id", "collectivity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    collectivity_id: Mapped[int] = mapped_column(ForeignKey("collectivity.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    used_at: Mapped[dt.datetime | None]

    user = relationship("User")
    collectivity = relationship("Collectivity")
