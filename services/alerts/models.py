"""Citizen alerts: lists a commune offers, subscribers (personal data of their commune), consent records, alerts
and their deliveries (the outbox: one row per recipient and channel).

Every table belongs to one commune (``TerritoryScoped``): the portal's choke point narrows every ORM query to the
active territory; PostgreSQL row-level security does it again (policies in the migration).
"""
from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.tenancy import TerritoryScoped


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def new_token() -> str:
    return secrets.token_urlsafe(32)


SHORT_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read from a phone screen
SHORT_LENGTH = 12  # 31^12 ≈ 2^59 codes


def new_short_code() -> str:
    """The secret of the short link in list SMS (``/p/alerts/m/<code>``, to the resident's data page)."""
    return "".join(secrets.choice(SHORT_ALPHABET) for _ in range(SHORT_LENGTH))


SEVERITIES = ("info", "minor", "moderate", "severe", "extreme")
CHANNELS = ("email", "sms")


class AlertList(TerritoryScoped, db.Model):
    """A list a commune offers to its residents, with its own purpose (never used for anything else)."""

    __tablename__ = "alerts_list"
    __table_args__ = (UniqueConstraint("commune_insee", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    purpose: Mapped[str] = mapped_column(Text, default="")  # shown to residents, kept in each consent record
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Subscriber(TerritoryScoped, db.Model):
    """A resident who gave an e-mail address and/or a mobile number. ``token`` is the secret of their links."""

    __tablename__ = "alerts_subscriber"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    short_code: Mapped[str] = mapped_column(String(16), unique=True, default=new_short_code)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164
    address: Mapped[str] = mapped_column(String(300), default="")
    email_confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    phone_confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    sms_code_hash: Mapped[str] = mapped_column(String(128), default="")
    sms_code_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    sms_code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A permanent delivery failure stops further sending on that channel until the resident changes the address.
    email_invalid: Mapped[str] = mapped_column(String(200), default="")
    phone_invalid: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    subscriptions: Mapped[list[Subscription]] = relationship(back_populates="subscriber",
                                                             cascade="all, delete-orphan")
    location: Mapped[SubscriberLocation | None] = relationship(cascade="all, delete-orphan", uselist=False)

    def channel_ok(self, channel: str) -> bool:
        if channel == "email":
            return bool(self.email and self.email_confirmed_at and not self.email_invalid)
        return bool(self.phone and self.phone_confirmed_at and not self.phone_invalid)


class Subscription(TerritoryScoped, db.Model):
    """Consent record: the list, the exact wording shown, when and through which channel it was given and
    confirmed; ``unsubscribed_at`` ends it (the record stays as proof until the resident deletes their data)."""

    __tablename__ = "alerts_subscription"
    __table_args__ = (UniqueConstraint("subscriber_id", "list_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("alerts_subscriber.id", ondelete="CASCADE"), index=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("alerts_list.id", ondelete="CASCADE"), index=True)
    consent_text: Mapped[str] = mapped_column(Text)
    consent_channel: Mapped[str] = mapped_column(String(16))  # web form: email, sms or both
    consented_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    unsubscribed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    unsubscribe_channel: Mapped[str] = mapped_column(String(16), default="")  # link, one-click, stop, manage

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")
    alert_list: Mapped[AlertList] = relationship()


class Alert(TerritoryScoped, db.Model):
    """A message of the mairie: to lists (broadcast) or to one person (individual)."""

    __tablename__ = "alerts_alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(64), unique=True, default=lambda: secrets.token_hex(16))
    kind: Mapped[str] = mapped_column(String(16), default="broadcast")  # broadcast / individual
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16), default="info")
    channels: Mapped[list] = mapped_column(JSON, default=list)
    list_ids: Mapped[list] = mapped_column(JSON, default=list)
    legal_basis: Mapped[str] = mapped_column(String(300), default="")  # individual messages
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)  # scheduled/queued/cancelled
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    sms_segments: Mapped[int] = mapped_column(Integer, default=0)
    # Optional zone inside the lists: {"type": "polygon", "coordinates": [[[lon, lat], …]]} (GeoJSON, WGS84) or
    # {"type": "streets", "streets": ["Rue du Lavoir", …]}
    zone: Mapped[dict | None] = mapped_column(JSON)
    # CAP 1.2 msgType: "alert" (a new alert), "update" (new information about an earlier one) or "cancel" (the earlier
    # one is over or was wrong); update and cancel name the earlier alert (CAP <references>).
    msg_type: Mapped[str] = mapped_column(String(8), default="alert")
    references_id: Mapped[int | None] = mapped_column(ForeignKey("alerts_alert.id", ondelete="SET NULL"), index=True)

    references: Mapped[Alert | None] = relationship(remote_side="Alert.id", foreign_keys=[references_id])
    deliveries: Mapped[list[Delivery]] = relationship(back_populates="alert", cascade="all, delete-orphan")

    @property
    def public(self) -> bool:
        return self.kind == "broadcast" and self.status in ("queued", "sent")


class Delivery(TerritoryScoped, db.Model):
    """Outbox row: one recipient, one channel. ``key`` is the idempotency key given to the provider."""

    __tablename__ = "alerts_delivery"
    __table_args__ = (UniqueConstraint("alert_id", "channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True, default=lambda: secrets.token_hex(16))
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts_alert.id", ondelete="CASCADE"), index=True)
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("alerts_subscriber.id", ondelete="SET NULL"),
                                                      index=True)
    channel: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    # pending → sending → sent → delivered (provider receipt); or failed (permanent, or retries exhausted)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    failure_reason: Mapped[str] = mapped_column(String(40), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    provider: Mapped[str] = mapped_column(String(20), default="")
    provider_message_id: Mapped[str] = mapped_column(String(100), default="", index=True)
    segments: Mapped[int] = mapped_column(Integer, default=0)
    # SMS segments the provider accepted for this row, every sending counted (a soft bounce sent again costs twice,
    # a message that fails after the provider took it still cost): what the allowance is charged with.
    billed_segments: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    alert: Mapped[Alert] = relationship(back_populates="deliveries")
    subscriber: Mapped[Subscriber | None] = relationship()


class SmsQuota(TerritoryScoped, db.Model):
    """Monthly SMS allowance of a commune, in segments, set by the department (SMS cost money). No row: no limit
    set yet (the department decides)."""

    __tablename__ = "alerts_sms_quota"
    __table_args__ = (UniqueConstraint("commune_insee"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    monthly_segments: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(254), default="")


class SubscriberLocation(TerritoryScoped, db.Model):
    """Where a subscriber's street address lies (WGS84, from the Base Adresse Nationale geocoder), for alerts to a
    zone. One row per subscriber that gave an address; deleted with the subscriber."""

    __tablename__ = "alerts_subscriber_location"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("alerts_subscriber.id", ondelete="CASCADE"),
                                               unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending / found / not_found / error
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    street: Mapped[str] = mapped_column(String(200), default="")
    label: Mapped[str] = mapped_column(String(300), default="")
    score: Mapped[float | None] = mapped_column(Float)
    geocoded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class RateLimit(db.Model):
    """Shared send rate of one provider when there is no Redis (``sms.SharedRateLimiter``): the theoretical arrival
    time of its next send, in seconds since the epoch. System data of the department's instance, no territory."""

    __tablename__ = "alerts_rate_limit"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    tat: Mapped[float] = mapped_column(Float, default=0.0)
