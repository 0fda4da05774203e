"""The writes of the alerts service, shared by the staff pages, the residents' pages, the API, the CLI and the
tasks. No ``flask.request`` here: the caller passes what the person asked for, and commits.

Every write that changes personal data or sends something records its audit event in the same transaction.
"""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select

from portal import audit
from portal.extensions import db

from .delivery import queue_alert
from .geocode import request_geocoding
from .models import Alert, AlertList, Delivery, SmsQuota, Subscriber, Subscription, utcnow

DEFAULT_LISTS = (
    ("Alertes de sécurité (plan communal de sauvegarde)",
     "Alertes en cas de danger\u00a0: inondation, tempête, accident, consignes du plan communal de sauvegarde."),
    ("Travaux et coupures", "Travaux sur la voirie, coupures d'eau ou d'électricité, fermetures de routes."),
    ("Vie municipale", "Informations de la mairie\u00a0: conseils municipaux, manifestations, horaires."),
)


class Refused(ValueError):
    """The write was not done; ``str(exc)`` is the French message for the person."""


# Lists -----------------------------------------------------------------------------------------------------------------

def add_list(insee: str, name: str, purpose: str) -> AlertList:
    name = name.strip()
    if db.session.scalar(select(AlertList).where(AlertList.name == name)):
        raise Refused(_("A list with this name already exists."))
    lst = AlertList(commune_insee=insee, name=name, purpose=purpose.strip())
    db.session.add(lst)
    db.session.flush()
    audit.record("alerts.list_created", target=lst, name=name)
    return lst


def add_default_lists(insee: str) -> int:
    """The usual lists (safety, works and cuts, municipal life) the commune does not offer yet; returns how many."""
    existing = set(db.session.scalars(select(AlertList.name)))
    added = 0
    for name, purpose in DEFAULT_LISTS:
        if name not in existing:
            db.session.add(AlertList(commune_insee=insee, name=name, purpose=purpose))
            added += 1
    audit.record("alerts.list_created", target_type="AlertList", name=f"{added} usual lists")
    return added


# Alerts ----------------------------------------------------------------------------------------------------------------

def send_test(draft: Alert, author) -> Alert:
    """A test of the draft, by e-mail to its author only (never published, never counted)."""
    test = Alert(commune_insee=draft.commune_insee, kind="test", title=draft.title, body=draft.body,
                 severity=draft.severity, channels=["email"], list_ids=draft.list_ids, author_id=author.id,
                 author_name=author.email, sent_at=utcnow())
    db.session.add(test)
    queue_alert(test, [(None, "email", author.email)])
    return test


def send_alert(draft: Alert, targets, author, *, earlier: Alert | None = None, msg_type: str = "alert",
               scheduled: dt.datetime | None = None) -> int:
    """Queue a list alert (now, or at ``scheduled``, naive UTC) to ``targets`` (see :func:`delivery.recipients`);
    ``earlier``: the alert it updates or ends. Returns the number of deliveries."""
    draft.author_id, draft.author_name = author.id, author.email
    if earlier is not None:
        draft.msg_type, draft.references_id = msg_type, earlier.id
    draft.scheduled_at = scheduled
    draft.status = "scheduled" if scheduled else "queued"
    draft.sent_at = None if scheduled else utcnow()
    db.session.add(draft)
    n = queue_alert(draft, targets)
    audit.record("alerts.alert_sent", target=draft, title=draft.title, recipients=n,
                 zone=(draft.zone or {}).get("type"), channels=",".join(draft.channels),
                 scheduled=scheduled.isoformat() if scheduled else None,
                 msg_type=draft.msg_type if earlier is not None else None,
                 references=earlier.id if earlier is not None else None)
    return n


def cancel_alert(alert: Alert) -> None:
    """Cancel a scheduled alert: none of its deliveries will leave."""
    if alert.status != "scheduled":
        raise Refused(_("Only an alert that is still scheduled can be cancelled."))
    alert.status = "cancelled"
    for d in db.session.scalars(select(Delivery).where(Delivery.alert_id == alert.id,
                                                       Delivery.status == "pending")):
        d.status, d.failure_reason = "cancelled", "alert_cancelled"
    audit.record("alerts.alert_cancelled", target=alert, title=alert.title)


def send_individual(draft: Alert, channel: str, address: str, author, model: str) -> Alert:
    """A message to one person (``address`` already checked), with its legal basis recorded."""
    draft.author_id, draft.author_name, draft.sent_at = author.id, author.email, utcnow()
    db.session.add(draft)
    queue_alert(draft, [(None, channel, address)])
    audit.record("alerts.individual_sent", target=draft, channel=channel, model=model,
                 legal_basis=draft.legal_basis)
    return draft


def set_sms_quota(coll, monthly_segments: int, by: str) -> None:
    """The department sets a commune's monthly SMS allowance (in the commune's territory scope)."""
    insee = coll.insee
    q = db.session.scalar(select(SmsQuota).where(SmsQuota.commune_insee == insee))
    before = q.monthly_segments if q else None
    if q is None:
        q = SmsQuota(commune_insee=insee)
        db.session.add(q)
    q.monthly_segments, q.updated_at, q.updated_by = monthly_segments, utcnow(), by
    audit.record("alerts.sms_quota_set", target_type="Collectivity", target_id=coll.id, commune=coll.name,
                 monthly_segments=monthly_segments, previous=before)


# Residents -------------------------------------------------------------------------------------------------------------

def create_subscriber(coll, email: str | None, phone: str | None, address: str, chosen: list[AlertList],
                      wording: dict[int, str]) -> tuple[Subscriber, str]:
    """A resident signs up (addresses already checked): the subscriber, one consent record per list with the exact
    wording shown (``wording[list id]``), geocoding of the address after commit. Returns it and the channel."""
    sub = Subscriber(commune_insee=coll.insee, email=email, phone=phone, address=address.strip())
    db.session.add(sub)
    channel = "both" if email and phone else ("email" if email else "sms")
    for lst in chosen:
        sub.subscriptions.append(Subscription(commune_insee=coll.insee, list_id=lst.id, consent_text=wording[lst.id],
                                              consent_channel=channel))
    db.session.flush()
    request_geocoding(sub)
    audit.record("alerts.subscriber_created", target=sub, collectivity=coll, channel=channel, lists=len(chosen))
    return sub, channel


def confirm_email(sub: Subscriber, coll) -> bool:
    if not sub.email or sub.email_confirmed_at is not None:
        return False
    sub.email_confirmed_at = utcnow()
    audit.record("alerts.subscriber_confirmed", target=sub, collectivity=coll, channel="email")
    return True


def confirm_phone(sub: Subscriber, coll) -> None:
    sub.phone_confirmed_at = utcnow()
    sub.sms_code_hash, sub.sms_code_expires_at = "", None
    audit.record("alerts.subscriber_confirmed", target=sub, collectivity=coll, channel="sms")


def change_choices(sub: Subscriber, coll, lists: list[AlertList], wanted: set[int], address: str,
                   consent_wording) -> None:
    """The resident's lists and street address, from their data page; ``consent_wording(list)`` is the text of a
    new consent."""
    by_list = {s.list_id: s for s in sub.subscriptions}
    for lst in lists:
        s = by_list.get(lst.id)
        if lst.id in wanted and (s is None or s.unsubscribed_at is not None):
            if s is None:
                sub.subscriptions.append(Subscription(commune_insee=sub.commune_insee, list_id=lst.id,
                                                      consent_text=consent_wording(lst), consent_channel="manage"))
            else:
                s.unsubscribed_at, s.unsubscribe_channel = None, ""
                s.consented_at, s.consent_text = utcnow(), consent_wording(lst)
        elif lst.id not in wanted and s is not None and s.unsubscribed_at is None:
            s.unsubscribed_at, s.unsubscribe_channel = utcnow(), "manage"
    address = address.strip()
    if address != sub.address:
        sub.address = address
        request_geocoding(sub)
    audit.record("alerts.subscriber_changed", target=sub, collectivity=coll, lists=len(wanted))


def unsubscribe_all(sub: Subscriber, coll, channel: str) -> int:
    """End every subscription of the resident (link, one-click); returns how many."""
    n = 0
    for s in sub.subscriptions:
        if s.unsubscribed_at is None:
            s.unsubscribed_at, s.unsubscribe_channel = utcnow(), channel
            n += 1
    audit.record("alerts.subscriber_unsubscribed", target=sub, collectivity=coll, channel=channel, lists=n)
    return n


def delete_subscriber(sub: Subscriber, coll) -> None:
    audit.record("alerts.subscriber_deleted", target=sub, collectivity=coll)
    db.session.delete(sub)
