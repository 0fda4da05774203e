"""The six wizard steps: what each step reads from the form, how it checks it, and what publication requires.

Each ``save_step_N(tender, form)`` writes every field it could read (so an autosave never loses typing) and returns
a dict ``{field: French message}`` of problems; the wizard moves on only when a step has none. ``problems(tender)``
re-checks everything before publication.

The file is a little over 400 lines on purpose: the six savers and ``problems`` read the same fields and must say the
same thing about them, and a reader checking what publication requires wants them side by side. Parsing of typed
values lives in ``schemas``.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.identity import local_wall, today as local_today
from . import cpv, rules
from .models import TenderLot
from .schemas import SIRET_RE, parse_amount, parse_date, parse_datetime, parse_int

STEPS = {
    1: _l("Need"),
    2: _l("Estimated amount"),
    3: _l("Procedure"),
    4: _l("Publicity and deadlines"),
    5: _l("Award criteria"),
    6: _l("Documents"),
}
LAST_STEP = max(STEPS)

STATUS_LABELS = {
    "draft": _l("Draft"), "published": _l("Published"), "closed": _l("Closed"), "awarded": _l("Awarded"),
    "unsuccessful": _l("Unsuccessful"), "discontinued": _l("Discontinued"),
}

STANDARD_CRITERIA = {
    "price": _l("Price"),
    "technical": _l("Technical value"),
    "delay": _l("Delays of execution"),
    "environment": _l("Environmental performance"),
}

SINGLE_LOT_REASONS = {
    "indivisible": _l("The need cannot be split into distinct parts (article L2113-11, 1°)."),
    "competition": _l("Splitting would restrict competition (article L2113-11, 1°)."),
    "costly": _l("Splitting would make execution technically difficult or more costly (article L2113-11, 2°)."),
    "coordination": _l("The buyer cannot coordinate several contractors itself (article L2113-11, 2°)."),
}

MAX_MONTHS = 120


def cpv_search(q: str, limit: int = 20) -> list[dict]:
    return [{"code": e.full, "label": e.label} for e in cpv.search(q, limit)]


def criterion_label(c: dict) -> str:
    """The criterion's name in the interface language (standard criteria) or as the buyer typed it."""
    return str(STANDARD_CRITERIA[c["code"]]) if c.get("code") in STANDARD_CRITERIA else c.get("label", "")


def single_lot_label(code: str) -> str:
    return str(SINGLE_LOT_REASONS[code]) if code in SINGLE_LOT_REASONS else ""


def cpv_label(code: str) -> str:
    return cpv.label(code)


CPV_PROBLEMS = {
    "format": _l("A CPV code has 8 digits and may end with its check digit, e.g. 45261000 or 45261000-4."),
    "division": _l("No CPV division starts with these two digits: choose a code in the list."),
    "check": _l("The check digit (after the dash) does not match this code: check the code or type the 8 digits "
                "alone."),
}


EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
PHONE_IN_TEXT = re.compile(r"(?<!\d)(?:\+33\s?|0)[1-9](?:[\s.-]?\d{2}){4}(?!\d)")
SIRET_IN_TEXT = re.compile(r"(?<!\d)\d{3}\s?\d{3}\s?\d{3}(?:\s?\d{5})?(?!\d)")


def anonymise(text: str) -> str:
    """A question as it may be published: e-mail addresses, phone numbers and SIREN/SIRET numbers masked (the
    buyer still reviews it for names before publishing)."""
    text = EMAIL_IN_TEXT.sub("[…]", text)
    text = PHONE_IN_TEXT.sub("[…]", text)
    return SIRET_IN_TEXT.sub("[…]", text)


def today() -> dt.date:
    return local_today()


# Step 1 ------------------------------------------------------------------------------------------------------

def save_step_1(t, form) -> dict:
    errors = {}
    t.title = form.get("title", "").strip()[:300]
    t.description = form.get("description", "").strip()[:5000]
    t.nature = form.get("nature", "") if form.get("nature") in rules.NATURES else ""
    raw_cpv = form.get("cpv_code", "").strip()[:20]
    code, cpv_problem = cpv.normalise(raw_cpv) if raw_cpv else (None, None)
    t.cpv_code = code or raw_cpv[:10]
    t.place = form.get("place", "").strip()[:300]
    if not t.title:
        errors["title"] = _("Describe in a few words what you want to buy.")
    if not t.nature:
        errors["nature"] = _("Choose works, supplies or services.")
    if cpv_problem:
        errors["cpv_code"] = str(CPV_PROBLEMS[cpv_problem])
    elif not t.cpv_code:
        errors["cpv_code"] = _("Choose the CPV code closest to your need.")
    for name in ("duration_months", "renewals", "renewal_months"):
        try:
            value = parse_int(form.get(name, ""))
        except ValueError:
            errors[name] = _("Enter a whole number.")
            continue
        if value is not None and not (0 <= value <= MAX_MONTHS):
            errors[name] = _("Enter a number between 0 and %(max)d.", max=MAX_MONTHS)
            continue
        setattr(t, name, value if name == "duration_months" else (value or 0))
    if not t.duration_months and "duration_months" not in errors:
        errors["duration_months"] = _("Enter the duration in months (at least 1).")
    if t.renewals and not t.renewal_months and "renewal_months" not in errors:
        errors["renewal_months"] = _("Enter the length of each renewal.")
    # Lots: one title per line; a single line (or none) is a single lot with its legal reason
    titles = [line.strip()[:300] for line in form.get("lots", "").splitlines() if line.strip()]
    if not titles:
        titles = [t.title or _("Single lot")]
    old = {lot.number: lot for lot in t.lots}
    t.lots[:] = []
    for n, title in enumerate(titles, start=1):
        lot = old.get(n) or TenderLot(number=n)
        lot.title = title
        t.lots.append(lot)
    reason = form.get("single_lot_reason", "")
    t.single_lot_reason = reason if reason in SINGLE_LOT_REASONS else ""
    if len(t.lots) == 1 and not t.single_lot_reason:
        errors["single_lot_reason"] = _("Splitting into lots is the rule: give the reason for a single lot.")
    return errors


# Step 2 ------------------------------------------------------------------------------------------------------

def save_step_2(t, form) -> dict:
    errors = {}
    total = Decimal(0)
    for lot in t.lots:
        key = f"lot_{lot.number}"
        try:
            amount = parse_amount(form.get(key, ""))
        except ValueError:
            errors[key] = _("Enter an amount in euros, e.g. 85000 or 85 000,50.")
            continue
        if amount is None:
            errors[key] = _("Enter the estimated amount excluding tax of this lot.")
            continue
        if amount <= 0:
            errors[key] = _("The amount must be greater than zero.")
            continue
        if amount >= rules.MAX_AMOUNT:
            errors[key] = _("This amount looks wrong (10 billion euros or more): check the figure.")
            continue
        lot.amount_ht = amount.quantize(Decimal("0.01"))
        total += lot.amount_ht
    if not errors:
        t.amount_ht = total
    return errors


# Step 3 ------------------------------------------------------------------------------------------------------

def decision(t):
    """The rules engine's answer for the tender, or (None, French message)."""
    if not (t.nature and t.amount_ht):
        return None, _("Fill in the need and the amount first.")
    buyer_type = "epci" if t.collectivity.kind == "epci" else "commune"
    try:
        return rules.decide(t.nature, t.amount_ht, t.launch_date or today(), buyer_type), None
    except rules.RulesError as exc:
        return None, str(exc)


def save_step_3(t, form) -> dict:
    errors = {}
    try:
        t.launch_date = parse_date(form.get("launch_date", "")) or t.launch_date or today()
    except ValueError:
        errors["launch_date"] = _("Enter a valid date.")
    d, problem = decision(t)
    if d is None:
        errors["procedure"] = problem
        t.procedure = t.publicity = ""
    elif d.procedure == "none" and form.get("voluntary") == "1":
        # Below the dispensation threshold the buyer may still choose to advertise and compare offers: an adapted
        # procedure opened voluntarily, with free publicity.
        t.procedure, t.publicity = "mapa", "voluntary"
    else:
        t.procedure, t.publicity = d.procedure, d.publicity
    return errors


def procedure_text(t) -> str:
    if t.procedure == "mapa" and t.publicity == "voluntary":
        return _("Adapted procedure (MAPA) opened voluntarily, below the dispensation threshold")
    return rules.procedure_label(t.procedure) if t.procedure else ""


def procedure_matches(t, d) -> bool:
    """The stored procedure is what the engine says (or a voluntary MAPA where no procedure is required)."""
    return d.procedure == t.procedure or (d.procedure == "none" and t.procedure == "mapa"
                                          and t.publicity == "voluntary")


# Step 4 ------------------------------------------------------------------------------------------------------

MEDIA = {
    "portal": _l("This portal (public page of the consultation)"),
    "buyer_profile": _l("Buyer profile (platform for electronic bids)"),
    "boamp": _l("BOAMP (official bulletin of public procurement announcements)"),
    "jal": _l("Newspaper authorised for legal notices (JAL)"),
    "joue": _l("Official Journal of the European Union (JOUE)"),
    "local_press": _l("Local press, town hall notice board"),
}


def buyer_profile_required(t) -> bool:
    """From the ``buyer_profile_from`` threshold in force on the launch date (R2132-2: 40 000 € HT, 60 000 € HT from
    1 April 2026), a consultation published with a notice puts its documents on a buyer profile, which receives the
    bids electronically (R2132-7)."""
    if t.amount_ht is None or not t.nature or t.procedure in ("", "none"):
        return False
    try:
        row = rules.thresholds_on(t.nature, t.launch_date or today()).get("buyer_profile_from")
    except rules.RulesError:
        return False
    return row is not None and t.amount_ht >= row.amount


def default_media(t) -> list[str]:
    """What step 4 ticks before the buyer chooses: every medium the procedure requires (the buyer profile from its
    threshold) and this portal."""
    return [m for m, v in media_advice(t).items() if v == "required"] + ["portal"]


def media_advice(t) -> dict[str, str]:
    """Each medium → "required" or "advised" for this tender's publicity rule."""
    if t.publicity in ("free", "voluntary") and buyer_profile_required(t):
        return {"portal": "advised", "buyer_profile": "required", "local_press": "advised"}
    if t.publicity == "boamp_and_joue":
        return {"portal": "advised", "buyer_profile": "required", "boamp": "required", "joue": "required"}
    if t.publicity == "boamp_or_jal":
        return {"portal": "advised", "buyer_profile": "required", "boamp": "required_one", "jal": "required_one"}
    return {"portal": "advised", "buyer_profile": "advised", "local_press": "advised"}


def min_days(t) -> int:
    d, _problem = decision(t)
    if d is not None and d.procedure == "none" and t.procedure == "mapa":
        return int(next(x["min_days"] for x in rules.load()[1] if x["procedure"] == "mapa"))
    return d.min_days if d else 0


def propose_calendar(t, start: dt.date | None = None) -> dict:
    start = start or max(t.launch_date or today(), today())
    days = max(min_days(t), 15) + 1 + (6 if t.nature == "works" else 0)  # + 1: a délai franc (check_calendar)
    reception = dt.datetime.combine(start + dt.timedelta(days=days), dt.time(12, 0))
    return {"questions_deadline": reception - dt.timedelta(days=6),
            "reception_deadline": reception,
            "opening_date": reception.date() + dt.timedelta(days=1),
            "notification_date": reception.date() + dt.timedelta(days=30)}


def save_step_4(t, form) -> dict:
    errors = {}
    t.media = [m for m in form.getlist("media") if m in MEDIA]
    for name, parser in (("questions_deadline", parse_datetime), ("reception_deadline", parse_datetime),
                         ("opening_date", parse_date), ("notification_date", parse_date)):
        try:
            setattr(t, name, parser(form.get(name, "")))
        except ValueError:
            errors[name] = _("Enter a valid date.")
    errors.update(check_calendar(t))
    advice = media_advice(t)
    required = [m for m, v in advice.items() if v == "required"]
    missing = [str(MEDIA[m]) for m in required if m not in t.media]
    if missing:
        errors["media"] = _("This procedure requires publication in: %(media)s.", media=", ".join(missing))
    elif any(v == "required_one" for v in advice.values()) and not {"boamp", "jal"} & set(t.media):
        errors["media"] = _("From 90 000 € excluding tax, publish in the BOAMP or in a JAL.")
    return errors


def deadline_article(t) -> str:
    return next((x["article"] for x in rules.load()[1]
                 if x["procedure"] == ("open_tender" if t.procedure == "formalised" else "mapa")), "")


def check_calendar(t, now: dt.datetime | None = None) -> dict:
    errors = {}
    now = now or local_wall(t.collectivity)
    if t.procedure not in ("mapa", "formalised"):
        return errors
    if not t.reception_deadline:
        errors["reception_deadline"] = _("Enter the deadline for receiving bids.")
        return errors
    if t.reception_deadline <= now:
        errors["reception_deadline"] = _("The deadline for bids is in the past.")
        return errors
    start = max(now.date(), t.launch_date or now.date())
    need = min_days(t)
    # A délai franc: neither the day the notice is sent nor the deadline's day counts, so the deadline falls on the
    # (need + 1)th day after the sending at the earliest (R2161-2 and R2161-3 for the open call for tenders: 30 days
    # when bids are received electronically, as here; versions in force since 1 April 2019).
    if (t.reception_deadline.date() - start).days < need + 1:
        article = deadline_article(t)
        errors["reception_deadline"] = _(
            "The deadline for bids must leave at least %(days)d days after publication (%(article)s): not before "
            "%(date)s.", days=need, article=article,
            date=(start + dt.timedelta(days=need + 1)).strftime("%d/%m/%Y"))
    if t.questions_deadline and t.questions_deadline >= t.reception_deadline:
        errors["questions_deadline"] = _("Questions must close before the deadline for bids.")
    if t.opening_date and t.opening_date < t.reception_deadline.date():
        errors["opening_date"] = _("Bids can only be opened after the deadline.")
    if t.notification_date and t.opening_date and t.notification_date < t.opening_date:
        errors["notification_date"] = _("Notification comes after the opening of bids.")
    return errors


# Step 5 ------------------------------------------------------------------------------------------------------

def save_step_5(t, form) -> dict:
    errors = {}
    criteria = []
    for code, label in STANDARD_CRITERIA.items():
        raw = form.get(f"weight_{code}", "").strip()
        if not raw:
            continue
        try:
            weight = int(raw)
        except ValueError:
            errors[f"weight_{code}"] = _("Enter a whole percentage.")
            continue
        if not 0 <= weight <= 100:
            errors[f"weight_{code}"] = _("Enter a percentage between 0 and 100.")
            continue
        if weight:
            criteria.append({"code": code, "label": "", "weight": weight})
    other_label = form.get("other_label", "").strip()[:200]
    raw = form.get("weight_other", "").strip()
    if other_label or raw:
        try:
            weight = int(raw or "0")
            if not 0 < weight <= 100:
                raise ValueError
            if not other_label:
                errors["other_label"] = _("Name the other criterion.")
            else:
                criteria.append({"code": "other", "label": other_label, "weight": weight})
        except ValueError:
            errors["weight_other"] = _("Enter a percentage between 1 and 100.")
    t.criteria = criteria
    if not errors:
        errors.update(check_criteria(t))
    return errors


def check_criteria(t) -> dict:
    total = sum(c["weight"] for c in t.criteria or [])
    if not t.criteria:
        return {"criteria": _("Choose at least one criterion (the price, usually).")}
    if total != 100:
        return {"criteria": _("The weights must total 100 %% (now %(total)d %%).", total=total)}
    return {}


# Step 6 ------------------------------------------------------------------------------------------------------

def known_sirets(t) -> list[str]:
    """The SIRET numbers of the collectivity's establishments already used in its consultations (the mairie, the
    school fund, a water board run by the commune…), most recent first: step 6 offers them instead of a retyping."""
    from sqlalchemy import select

    from portal.extensions import db

    from .models import Tender

    rows = db.session.execute(select(Tender.buyer_siret, Tender.updated_at)
                              .where(Tender.collectivity_id == t.collectivity_id, Tender.buyer_siret != "")
                              .order_by(Tender.updated_at.desc())).all()
    seen: list[str] = []
    for siret, _at in rows:
        if siret not in seen and SIRET_RE.match(siret):
            seen.append(siret)
    return seen


def buyer_establishments(t) -> tuple[list, bool]:
    """(the collectivity's active establishments from SIRENE, whether the register failed to answer): step 6 offers
    them in a select; without a SIREN, or when the register is down, the SIRET is typed (and checked)."""
    from . import sirene

    siren = getattr(t.collectivity, "siren", None) or ""
    if not siren:
        return [], False
    try:
        return sirene.establishments(siren), False
    except sirene.Unavailable:
        return [], True


def save_step_6(t, form) -> dict:
    from .companies import siret_ok

    errors = {}
    other = re.sub(r"\s", "", form.get("buyer_siret_other", ""))
    t.buyer_siret = (other or re.sub(r"\s", "", form.get("buyer_siret", "")))[:14]
    t.contact_email = form.get("contact_email", "").strip()[:254]
    field = "buyer_siret_other" if other else "buyer_siret"
    if not SIRET_RE.match(t.buyer_siret):
        errors[field] = _("The SIRET number of the buyer has 14 digits.")
    elif not siret_ok(t.buyer_siret):
        errors[field] = _("This SIRET number is not valid (its check key is wrong): check the 14 digits.")
    if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", t.contact_email):
        errors["contact_email"] = _("Enter an e-mail address for companies' questions.")
    return errors


SAVERS = {1: save_step_1, 2: save_step_2, 3: save_step_3, 4: save_step_4, 5: save_step_5, 6: save_step_6}


def problems(t) -> dict[int, list[str]]:
    """Everything that blocks publication, by step (re-checked on the stored tender)."""
    out: dict[int, list[str]] = {}

    def add(step, msg):
        out.setdefault(step, []).append(msg)

    if not t.title:
        add(1, _("The object of the contract is missing."))
    if not t.nature:
        add(1, _("The nature of the contract is missing."))
    if not t.cpv_code:
        add(1, _("The CPV code is missing."))
    elif cpv.normalise(t.cpv_code)[0] != t.cpv_code:
        add(1, _("The CPV code is not valid."))
    if not t.duration_months:
        add(1, _("The duration is missing."))
    if len(t.lots) == 1 and not t.single_lot_reason:
        add(1, _("The reason for a single lot is missing."))
    if not t.amount_ht or any(not lot.amount_ht for lot in t.lots):
        add(2, _("The estimated amount of each lot is missing."))
    d, problem = decision(t)
    if t.launch_date and t.launch_date < today():
        add(3, _("The planned date of publication is in the past: set it to today or later, so that the thresholds "
                 "in force when you publish apply."))
    if d is None:
        add(3, problem)
    elif not procedure_matches(t, d):
        add(3, _("The procedure must be computed again: the amount or the date changed."))
    elif t.procedure == "none":
        add(3, _("Below the threshold, no publication is required: ask several companies for quotes, or choose "
                 "at step 3 to publish a consultation anyway."))
    if d is not None and t.procedure == "mapa":
        for msg in check_calendar(t).values():
            add(4, msg)
        advice = media_advice(t)
        if any(v == "required" and m not in (t.media or []) for m, v in advice.items()):
            add(4, _("A required publication medium is not chosen."))
    for msg in check_criteria(t).values():
        add(5, msg)
    if not SIRET_RE.match(t.buyer_siret or ""):
        add(6, _("The SIRET number of the buyer is missing."))
    if not t.contact_email:
        add(6, _("The contact e-mail address is missing."))
    return out
