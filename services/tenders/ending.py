"""After publication: correction notices (avis rectificatifs) and the end of a procedure without a contract.

- A **correction notice** amends an open consultation: new deadlines (never earlier: companies rely on them), a
  corrected object, description, place or contact, and the reason. Each notice is numbered, keeps every change
  (old → new), is shown on the public page and added to the DCE as a document.
- A procedure **ends without a contract** when the buyer declares it *infructueuse* (no bid, or only inappropriate,
  irregular or unacceptable bids: it can only be known after the deadline) or *sans suite* (for a reason of general
  interest, at any time before the contract is signed). Article R2185-1 of the Code de la commande publique: « L'acheteur
  peut, à tout moment, déclarer une procédure sans suite » ; R2185-2: the buyer tells the companies that took part the
  reasons of its decision « dans les plus brefs délais ».

The legal mentions are French: they are published as the buyer's legal notice whatever the interface language.
"""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.identity import local_wall
from .models import TenderCorrection

KINDS = {"unsuccessful": _l("Unsuccessful (infructueuse)"), "discontinued": _l("Discontinued (sans suite)")}

# code → (kind, label in the interface, legal mention in French)
REASONS = {
    "no_bid": ("unsuccessful", _l("No bid was received before the deadline"),
               "aucune offre n'a été remise avant la date limite de réception des offres"),
    "inappropriate": ("unsuccessful", _l("Only inappropriate bids were received"),
                      "seules des offres inappropriées, au sens de l'article L2152-4 du code de la commande publique, "
                      "ont été remises"),
    "irregular": ("unsuccessful", _l("Only irregular or unacceptable bids were received"),
                  "seules des offres irrégulières ou inacceptables, au sens des articles L2152-2 et L2152-3 du code de "
                  "la commande publique, ont été remises"),
    "need_changed": ("discontinued", _l("The need changed or disappeared"),
                     "motif d'intérêt général : le besoin a évolué ou a disparu"),
    "budget": ("discontinued", _l("The budget is not sufficient"),
               "motif d'intérêt général : les crédits disponibles ne permettent pas de conclure le marché"),
    "competition": ("discontinued", _l("Competition was not sufficient"),
                    "motif d'intérêt général : la concurrence a été insuffisante"),
    "irregularity": ("discontinued", _l("The procedure has an irregularity"),
                     "motif d'intérêt général : la procédure est entachée d'une irrégularité"),
    "other": ("discontinued", _l("Another reason of general interest (explain it below)"),
              "motif d'intérêt général"),
}

KIND_FR = {"unsuccessful": "déclarée infructueuse", "discontinued": "déclarée sans suite"}

# Fields a correction notice may change, with their French name in the notice
CORRECTABLE = {
    "title": "Objet du marché",
    "description": "Description",
    "place": "Lieu d'exécution",
    "contact_email": "Adresse de contact",
    "questions_deadline": "Date limite de réception des questions",
    "reception_deadline": "Date limite de réception des offres",
    "opening_date": "Date prévisionnelle d'ouverture des plis",
}
FIELD_LABELS = {
    "title": _l("Object of the contract"),
    "description": _l("Description"),
    "place": _l("Place of execution"),
    "contact_email": _l("Contact e-mail address"),
    "questions_deadline": _l("Questions deadline"),
    "reception_deadline": _l("Deadline for bids"),
    "opening_date": _l("Opening of bids"),
}
LIMITS = {"title": 300, "description": 5000, "place": 300, "contact_email": 254}


def legal_mention(t) -> str:
    """« Procédure déclarée sans suite le 12/03/2026 (articles R2185-1 et R2185-2 …) : motif … »"""
    if not t.ended:
        return ""
    _kind, _label, mention = REASONS.get(t.end_reason, ("", "", ""))
    text = (f"Procédure {KIND_FR[t.status]} le {t.ended_on:%d/%m/%Y} (articles R2185-1 et R2185-2 du code de la "
            f"commande publique) : {mention}.")
    if t.end_details:
        text += f" {t.end_details}"
    return text


def can_end(t, now: dt.datetime | None = None) -> str | None:
    """None when the tender may be ended now, else the French reason why not."""
    if t.status == "draft":
        return _("A draft is not published: delete it instead.")
    if t.ended:
        return _("This procedure has already ended.")
    if t.awards:
        return _("A lot is already awarded: the procedure can no longer be ended as a whole.")
    return None


def end_procedure(t, form, now: dt.datetime | None = None) -> dict:
    """Validate the form and, when it is right, end the tender. Returns ``{field: French message}``."""
    now = now or local_wall(t.collectivity)
    errors = {}
    problem = can_end(t, now)
    if problem:
        return {"kind": problem}
    reason = form.get("end_reason", "")
    details = (form.get("end_details") or "").strip()
    if reason not in REASONS:
        errors["end_reason"] = _("Choose the reason.")
    kind = REASONS[reason][0] if reason in REASONS else ""
    if kind == "unsuccessful" and t.reception_deadline and now < t.reception_deadline:
        errors["end_reason"] = _("A consultation can only be declared unsuccessful after the deadline for bids: "
                                 "before it, declare it discontinued.")
    if len(details) > 3000:
        errors["end_details"] = _("The explanation is too long (3 000 characters at most).")
    elif kind == "discontinued" and len(details) < 10:
        errors["end_details"] = _("Explain the reason in a sentence: the companies must be told why (article "
                                  "R2185-2).")
    try:
        raw = (form.get("ended_on") or "").strip()
        on = dt.date.fromisoformat(raw) if raw else now.date()
    except ValueError:
        on = None
        errors["ended_on"] = _("Enter a valid date.")
    if on is not None:
        if on > now.date():
            errors["ended_on"] = _("The date of the decision cannot be in the future.")
        elif t.published_at and on < t.published_at.date():
            errors["ended_on"] = _("The decision cannot be dated before the publication.")
    if errors:
        return errors
    t.status, t.end_reason, t.end_details, t.ended_on = kind, reason, details, on
    return {}


def _as_text(value) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value)


def display(field: str, raw: str, notice: bool = True) -> str:
    """A value of a correction as the notice (French legal wording) or a page shows it."""
    if not raw:
        return "—"
    try:
        if field in ("questions_deadline", "reception_deadline"):
            return dt.datetime.fromisoformat(raw).strftime("%d/%m/%Y à %H h %M" if notice else "%d/%m/%Y %H:%M")
        if field == "opening_date":
            return dt.date.fromisoformat(raw).strftime("%d/%m/%Y")
    except ValueError:
        return raw
    return raw


def correct(t, form, user_id: int | None, now: dt.datetime | None = None) -> tuple[TenderCorrection | None, dict]:
    """Validate a correction notice and apply it. Returns (the notice, {}) or (None, {field: French message})."""
    from .wizard import parse_date, parse_datetime

    now = now or local_wall(t.collectivity)
    if not t.is_open(now):
        return None, {"reason": _("Only an open consultation can be corrected.")}
    errors, new = {}, {}
    for field in ("title", "description", "place", "contact_email"):
        if field in form:
            new[field] = (form.get(field) or "").strip()[:LIMITS[field]]
    if "title" in new and not new["title"]:
        errors["title"] = _("The object of the contract cannot be empty.")
    if new.get("contact_email") is not None and "@" not in new["contact_email"]:
        errors["contact_email"] = _("Enter an e-mail address for companies' questions.")
    for field, parser in (("questions_deadline", parse_datetime), ("reception_deadline", parse_datetime),
                          ("opening_date", parse_date)):
        if field in form:
            try:
                new[field] = parser(form.get(field, ""))
            except ValueError:
                errors[field] = _("Enter a valid date.")
    reception = new.get("reception_deadline") or t.reception_deadline
    if "reception_deadline" in new and new["reception_deadline"] is None:
        errors["reception_deadline"] = _("Enter the deadline for bids.")
    elif reception < t.reception_deadline:
        errors["reception_deadline"] = _("The new deadline cannot be earlier than the current one (%(d)s): companies "
                                         "rely on it.", d=t.reception_deadline.strftime("%d/%m/%Y %H:%M"))
    questions = new.get("questions_deadline", t.questions_deadline)
    if questions and reception and questions >= reception:
        errors["questions_deadline"] = _("Questions must close before the deadline for bids.")
    opening = new.get("opening_date", t.opening_date)
    if opening and opening == t.opening_date and reception and opening < reception.date():
        # the opening date was left as it was while the deadline moves: it follows the deadline
        opening = new["opening_date"] = reception.date() + dt.timedelta(days=1)
    if opening and reception and opening < reception.date():
        errors["opening_date"] = _("Bids can only be opened after the deadline.")
    reason = (form.get("reason") or "").strip()
    if not reason:
        errors["reason"] = _("Say what the correction is about: it is published with the notice.")
    elif len(reason) > 3000:
        errors["reason"] = _("The reason is too long (3 000 characters at most).")
    changes = [{"field": f, "old": _as_text(getattr(t, f)), "new": _as_text(v)} for f, v in new.items()
               if _as_text(v) != _as_text(getattr(t, f))]
    if not errors and not changes:
        errors["reason"] = _("Nothing changes: correct at least one field.")
    if errors:
        return None, errors
    for f, v in new.items():
        setattr(t, f, v)
    if t.notification_date and t.opening_date and t.notification_date < t.opening_date:
        t.notification_date = t.opening_date + dt.timedelta(days=30)
    c = TenderCorrection(number=len(t.corrections) + 1, published_at=now, reason=reason, changes=changes,
                         created_by_id=user_id)
    t.corrections.append(c)
    return c, {}
