"""Core models of the portal: collectivities, conventions, accounts, memberships, tokens, audit, outbox.

Ownership of data (DESIGN.md §2):
- ``Collectivity``, ``Convention``, ``ServiceActivation``: department-wide reference data, administered by the
  department team, readable by every member for their own collectivity only (views go through ``tenancy``).
- ``Membership``, ``AuditEvent``: owned by one collectivity (``collectivity_id``).
- Service data that belongs to a place mixes in ``portal.tenancy.TerritoryScoped`` (``commune_insee``).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .identity import today as local_today
from .extensions import db


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


KIND_DEPARTMENT = "department"
KIND_COMMUNE = "commune"
KIND_EPCI = "epci"
# A partner organisation (Association des maires, centre de gestion, préfecture, syndicat…): added by the department,
# it has accounts that publish to the information desk (services/desk) and covers no territory.
KIND_PARTNER = "partner"
# An intercommunal operator (a communauté de communes or a syndicat mixte sharing the tools): its staff play the role
# the department team plays, over the communes listed in ``operator_commune`` (DESIGN.md §8).
KIND_OPERATOR = "operator"
COLLECTIVITY_KINDS = (KIND_DEPARTMENT, KIND_COMMUNE, KIND_EPCI, KIND_PARTNER, KIND_OPERATOR)
# Collectivities whose dept_admin / dept_agent memberships administer other collectivities.
OPERATOR_KINDS = (KIND_DEPARTMENT, KIND_OPERATOR)

epci_members = db.Table(
    "epci_member",
    db.Column("epci_id", ForeignKey("collectivity.id", ondelete="CASCADE"), primary_key=True),
    db.Column("commune_id", ForeignKey("collectivity.id", ondelete="CASCADE"), primary_key=True),
)

# The communes an intercommunal operator (kind "operator") administers.
operator_communes = db.Table(
    "operator_commune",
    db.Column("operator_id", ForeignKey("collectivity.id", ondelete="CASCADE"), primary_key=True),
    db.Column("commune_id", ForeignKey("collectivity.id", ondelete="CASCADE"), primary_key=True),
)


class Collectivity(db.Model):
    __tablename__ = "collectivity"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Accent- and case-folded name, for search that works the same on SQLite and PostgreSQL.
    search_name: Mapped[str] = mapped_column(String(200), index=True, default="")
    insee: Mapped[str | None] = mapped_column(String(5), unique=True)  # communes only
    siren: Mapped[str | None] = mapped_column(String(9), unique=True)
    department_code: Mapped[str] = mapped_column(String(3), index=True)
    epci_type: Mapped[str | None] = mapped_column(String(8))  # CC, CA, CU, METRO for EPCI
    population: Mapped[int | None]
    postal_codes: Mapped[str] = mapped_column(String(200), default="")  # "10160|10190"
    email: Mapped[str | None] = mapped_column(String(254))
    # WGS84, for maps of the territory; deferred: tens of kB that the request context (joined on every request) skips
    boundary_geojson: Mapped[str | None] = mapped_column(Text, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # A commune (or EPCI) that left the official files (merged into a commune nouvelle, dissolved) while it still
    # held data: kept, marked historical since that day, with the commune it was merged into (portal/territory.py).
    historical_since: Mapped[dt.date | None]
    successor_insee: Mapped[str | None] = mapped_column(String(5))
    # An intercommunal operator's own short code (its identity in IDENTITY_FILE, the CLI's handle): a communauté de
    # communes operating the portal keeps its SIREN on its EPCI row.
    operator_code: Mapped[str | None] = mapped_column(String(20), unique=True)

    members: Mapped[list[Collectivity]] = relationship(
        secondary=epci_members,
        primaryjoin=id == epci_members.c.epci_id,
        secondaryjoin=id == epci_members.c.commune_id,
        back_populates="epcis",
        order_by="Collectivity.name",
    )
    epcis: Mapped[list[Collectivity]] = relationship(
        secondary=epci_members,
        primaryjoin=id == epci_members.c.commune_id,
        secondaryjoin=id == epci_members.c.epci_id,
        back_populates="members",
    )
    operated: Mapped[list[Collectivity]] = relationship(
        secondary=operator_communes,
        primaryjoin=id == operator_communes.c.operator_id,
        secondaryjoin=id == operator_communes.c.commune_id,
        order_by="Collectivity.name",
    )
    conventions: Mapped[list[Convention]] = relationship(
        back_populates="collectivity", order_by="Convention.starts_on.desc()", cascade="all, delete-orphan"
    )
    activations: Mapped[list[ServiceActivation]] = relationship(
        back_populates="collectivity", cascade="all, delete-orphan"
    )

    @property
    def code(self) -> str:
        """The code people use for it: INSEE for a commune, SIREN for an EPCI, number for the department."""
        if self.kind == KIND_COMMUNE:
            return self.insee or ""
        if self.kind == KIND_EPCI:
            return self.siren or ""
        if self.kind == KIND_OPERATOR:
            return self.operator_code or ""
        return self.department_code

    @property
    def is_operator(self) -> bool:
        """A department or an intercommunal operator: its dept_admin / dept_agent staff administer collectivities."""
        return self.kind in OPERATOR_KINDS

    @property
    def is_historical(self) -> bool:
        return self.historical_since is not None

    @property
    def postal_code_list(self) -> list[str]:
        return [p for p in (self.postal_codes or "").split("|") if p]

    def territory(self) -> frozenset[str]:
        """INSEE codes of the communes this collectivity covers (DESIGN.md §2).

        The department itself covers none: its staff administer, they do not browse personal data. A partner covers
        none either.
        """
        if self.kind == KIND_COMMUNE and self.insee:
            return frozenset({self.insee})
        if self.kind == KIND_EPCI:
            return frozenset(m.insee for m in self.members if m.insee)
        return frozenset()

    def convention_in_force(self, on: dt.date | None = None) -> Convention | None:
        on = on or local_today(self)
        for conv in self.conventions:
            if conv.is_in_force(on):
                return conv
        return None

    def enabled_services(self) -> set[str]:
        return {a.service_slug for a in self.activations if a.enabled}

    def __repr__(self) -> str:
        return f"<Collectivity {self.kind} {self.code} {self.name}>"


CONVENTION_STATUSES = ("draft", "active", "suspended", "ended")


class Convention(db.Model):
    __tablename__ = "convention"

    id: Mapped[int] = mapped_column(primary_key=True)
    collectivity_id: Mapped[int] = mapped_column(ForeignKey("collectivity.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    signed_on: Mapped[dt.date | None]
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date | None]
    status: Mapped[str] = mapped_column(String(16), default="draft")
    services: Mapped[list[str]] = mapped_column(JSON, default=list)  # service slugs covered
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    collectivity: Mapped[Collectivity] = relationship(back_populates="conventions")

    def is_in_force(self, on: dt.date | None = None) -> bool:
        on = on or local_today(self.collectivity)
        if self.status != "active" or self.starts_on > on:
            return False
        return self.ends_on is None or self.ends_on >= on


class ServiceActivation(db.Model):
    """The department's switch for one service of one collectivity."""

    __tablename__ = "service_activation"
    __table_args__ = (UniqueConstraint("collectivity_id", "service_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    collectivity_id: Mapped[int] = mapped_column(ForeignKey("collectivity.id", ondelete="CASCADE"), index=True)
    service_slug: Mapped[str] = mapped_column(String(40))
    enabled: Mapped[bool] = mapped_column(default=False)
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    collectivity: Mapped[Collectivity] = relationship(back_populates="activations")


USER_STATUSES = ("invited", "active", "suspended")


class User(db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="invited")
    locale: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]
    # Bumped when the password changes or the account is suspended: invalidates existing sessions.
    session_version: Mapped[int] = mapped_column(default=1)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="Membership.id",
        foreign_keys="Membership.user_id",
    )

    # Flask-Login protocol -------------------------------------------------------------
    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def display_name(self) -> str:
        return self.full_name or self.email

    def membership_for(self, collectivity_id: int | None) -> Membership | None:
        for m in self.memberships:
            if m.collectivity_id == collectivity_id:
                return m
        return None

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Membership(db.Model):
    """A user's role in one collectivity. Owned by that collectivity."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "collectivity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    collectivity_id: Mapped[int] = mapped_column(ForeignKey("collectivity.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    # Fine permissions granted on top of the role (e.g. "cadastre.owners.read" granted by the mayor).
    extra_permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(back_populates="memberships", foreign_keys=[user_id])
    collectivity: Mapped[Collectivity] = relationship()


TOKEN_PURPOSES = ("activation", "invitation", "reset")


def request_context_loads(via=None) -> list:
    """Loader options bringing, in the same statement, what every request needs of a user: memberships, their
    collectivities, and those collectivities' conventions and service activations (the gate reads them).
    ``via`` is the relationship path leading to the user (e.g. ``joinedload(ApiToken.user)``); results must be
    ``.unique()``."""
    from sqlalchemy.orm import joinedload

    memberships = joinedload(User.memberships) if via is None else via.joinedload(User.memberships)
    collectivity = memberships.joinedload(Membership.collectivity)
    return [collectivity.joinedload(Collectivity.conventions), collectivity.joinedload(Collectivity.activations)]


class OneTimeToken(db.Model):
    """Activation, invitation and password-reset links: single use, expiring, stored as a SHA-256 hash."""

    __tablename__ = "one_time_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


class ApiToken(db.Model):
    """Personal access token for the JSON API. Only its hash is stored; the user sees it once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists to recognise a token
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


class LoginAttempt(db.Model):
    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_email_at", "email", "at"), Index("ix_login_attempt_ip_at", "ip", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    success: Mapped[bool] = mapped_column(default=False)


SUPPORT_DURATIONS = (15, 30, 60, 120)  # minutes a support session may last


class SupportSession(db.Model):
    """The department's audited, time-limited support mode (DESIGN.md §2): one staff member works inside one
    collectivity, read-only, for a stated reason. Every page seen meanwhile is an audit event of that collectivity."""

    __tablename__ = "support_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    collectivity_id: Mapped[int] = mapped_column(ForeignKey("collectivity.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    end_reason: Mapped[str] = mapped_column(String(20), default="")  # ended (by the agent) / expired / revoked

    user: Mapped[User] = relationship()
    collectivity: Mapped[Collectivity] = relationship()

    def is_open(self, now: dt.datetime | None = None) -> bool:
        return self.ended_at is None and self.expires_at > (now or utcnow())


class AuditEvent(db.Model):
    """Who did what, when, in which collectivity, and why. Never updated, never deleted by the app."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_coll_at", "collectivity_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    actor: Mapped[str] = mapped_column(String(254), default="")  # e-mail at the time, or "system"
    collectivity_id: Mapped[int | None] = mapped_column(ForeignKey("collectivity.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_id: Mapped[str] = mapped_column(String(60), default="")
    purpose: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")

    user: Mapped[User | None] = relationship()
    collectivity: Mapped[Collectivity | None] = relationship()


class OutgoingEmail(db.Model):
    """Outbox row (DESIGN.md §4): written in the user's transaction, delivered by a task afterwards."""

    __tablename__ = "outgoing_email"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending/sent/failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(200), unique=True)  # idempotency key
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]


# letters Unicode does not decompose into a base letter and an accent: transliterated before folding, so that
# ŒUVRARD sorts as OEUVRARD (between OBERT and OZANNE) instead of losing its first letter
_TRANSLITERATION = str.maketrans({"Œ": "OE", "œ": "oe", "Æ": "AE", "æ": "ae", "ß": "ss", "ẞ": "SS", "Ø": "O",
                                  "ø": "o", "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Þ": "TH",
                                  "þ": "th", "Ħ": "H", "ħ": "h", "ı": "i", "Ŀ": "L", "ŀ": "l", "Ŋ": "NG", "ŋ": "ng",
                                  "Ŧ": "T", "ŧ": "t", "’": "'"})


def fold(text: str) -> str:
    """Lower-case, accent-free form with punctuation as single spaces, used for search columns and the legal order
    of the lists: « Aix-Villemaur-Pâlis » → « aix villemaur palis », « ŒUVRARD » → « oeuvrard »."""
    import re
    import unicodedata

    norm = unicodedata.normalize("NFKD", (text or "").translate(_TRANSLITERATION))
    bare = "".join(c for c in norm if not unicodedata.combining(c)).lower()
    return re.sub(r"[^0-9a-z]+", " ", bare).strip()

