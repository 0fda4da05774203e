"""The legal rules of the cemetery, as pure functions of dates (no database): concession durations and ends, the
renewal window, the state of an emplacement on the plan, places left, and the steps and delays of the reprise
procedures.

Texts applied (Code général des collectivités territoriales, versions in force on 2026-12-07):

- L2223-14: concessions temporaires (15 years at most), trentenaires, cinquantenaires, perpétuelles. The commune may
  grant a temporary concession for as little as five years (our lower bound, as most tariff tables do).
- L2223-15: the temporary, thirty- and fifty-year concessions are renewable at the tariff in force at the time of the
  renewal; the holders or their ayants cause may renew during the two years after expiry, after which the commune
  may take the ground back. Since loi n° 2022-217 du 21 février 2022 (« 3DS »), art. 238, the commune must inform the
  holders and their ayants cause « par tout moyen » of that right before taking the ground back: the first step of
  the reprise of an expired concession. A renewal takes effect on the expiry date of the period before it.
- L2223-16: a concession may be converted into one of longer duration; the value of the remaining time of the old
  one is deducted from the price of the new one.
- L2223-17, R2223-12 to R2223-23: the reprise of a concession in a state of abandonment — not before thirty years
  from the act of concession, not within ten years of the last burial (R2223-12); the families told one month ahead
  of the visit (R2223-13); the first procès-verbal (R2223-14), notified within eight days (R2223-15) and posted for
  a month, the posting renewed twice at fifteen days' interval (R2223-16); **one year** after that publicity (three
  years before loi n° 2022-217 art. 237, which changed L2223-17, and décret n° 2022-1127 du 5 août 2022, which aligned
  R2223-18, in force since 7 August 2022), a second procès-verbal notified with the measure to be taken; one month
  after that notification the conseil municipal may decide the reprise (R2223-18) and the mayor take the arrêté,
  enforceable once published and notified (R2223-19); the remains go to the ossuary and the monuments may be removed
  thirty days after (R2223-20).
- R2223-22: when a person whose death certificate bears the mention « Mort pour la France » was buried in a
  concession, it may not be taken back (for abandonment) before fifty years from that burial (the article speaks of
  perpetual and centenary concessions, the only ones the abandonment procedure really concerns; we apply it to every
  concession taken back for abandonment). The date counted is the burial recorded in the register, else the death.
- R2223-5: graves of the terrain commun are reopened no sooner than five years after the burial (the conseil
  municipal may set a longer rotation delay: ``Cemetery.common_ground_years``).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.dates import add_months, add_years  # noqa: F401 - the service reads them as rules.add_years, rules.add_months

from .models import BODY_TENTHS

TEMPORARY_MIN, TEMPORARY_MAX = 5, 15
FIXED_YEARS = {"thirty": 30, "fifty": 50}
RENEWAL_AFTER_EXPIRY_YEARS = 2  # L2223-15
RENEWAL_BEFORE_EXPIRY_YEARS = 5  # a renewal asked earlier than this is refused (it would pay twice for years)
EXPIRING_MONTHS = (6, 3)  # the deadline lists
ABANDONMENT_MIN_YEARS = 30  # L2223-17, R2223-12
ABANDONMENT_LAST_BURIAL_YEARS = 10  # R2223-12
ABANDONMENT_WAIT_YEARS = 1  # L2223-17 and R2223-18 since loi 2022-217 (3DS) art. 237 / décret 2022-1127
COMMON_GROUND_MIN_YEARS = 5  # R2223-5
MPF_PROTECTION_YEARS = 50  # R2223-22: graves of a « Mort pour la France »


class RuleError(ValueError):
    """A rule the date or the request breaks; the message is French, for the user."""


def duration_for(kind: str, duration_years: int | None) -> int | None:
    """The duration in years of a concession of ``kind`` (None: perpétuelle); a French RuleError when impossible."""
    from flask_babel import gettext as _

    if kind == "perpetual":
        return None
    if kind in FIXED_YEARS:
        return FIXED_YEARS[kind]
    if kind == "temporary":
        if duration_years is None or not TEMPORARY_MIN <= duration_years <= TEMPORARY_MAX:
            raise RuleError(_("A temporary concession lasts from %(a)s to %(b)s years (article L2223-14 of the "
                              "CGCT).", a=TEMPORARY_MIN, b=TEMPORARY_MAX))
        return duration_years
    raise RuleError(_("Unknown concession type."))


def concession_end(kind: str, starts_on: dt.date, duration_years: int | None) -> dt.date | None:
    """The last day… rather the expiry date (start + duration), None for a perpétuelle."""
    years = duration_for(kind, duration_years)
    return None if years is None else add_years(starts_on, years)


def check_period(starts_on: dt.date, ends_on: dt.date | None) -> None:
    from flask_babel import gettext as _

    if ends_on is not None and starts_on >= ends_on:
        raise RuleError(_("The concession cannot start on %(start)s: it would end on %(end)s, before it starts.",
                          start=starts_on.strftime("%d/%m/%Y"), end=ends_on.strftime("%d/%m/%Y")))


def renewal_window(kind: str, ends_on: dt.date | None) -> tuple[dt.date, dt.date] | None:
    """First and last day a renewal may be asked (None: a perpétuelle, never renewed)."""
    if kind == "perpetual" or ends_on is None:
        return None
    return add_years(ends_on, -RENEWAL_BEFORE_EXPIRY_YEARS), add_years(ends_on, RENEWAL_AFTER_EXPIRY_YEARS)


def check_renewal(kind: str, ends_on: dt.date | None, today: dt.date) -> None:
    from flask_babel import gettext as _

    window = renewal_window(kind, ends_on)
    if window is None:
        raise RuleError(_("A perpetual concession is not renewed."))
    first, last = window
    if today < first:
        raise RuleError(_("This concession ends on %(end)s: it can be renewed from %(first)s.",
                          end=ends_on.strftime("%d/%m/%Y"), first=first.strftime("%d/%m/%Y")))
    if today > last:
        raise RuleError(_("The right to renew ended on %(last)s, two years after the concession expired (article "
                          "L2223-15 of the CGCT): the ground has returned to the commune.",
                          last=last.strftime("%d/%m/%Y")))


def conversion_credit(price: float, starts_on: dt.date, ends_on: dt.date | None, on: dt.date) -> float:
    """L2223-16: the value of the time left of the old concession, deducted from the price of the new one."""
    if ends_on is None or on >= ends_on:
        return 0.0
    total = (ends_on - starts_on).days
    left = (ends_on - max(on, starts_on)).days
    return round(float(price) * left / total, 2) if total > 0 else 0.0


def retrocession_refund(price: float, starts_on: dt.date, ends_on: dt.date | None, on: dt.date) -> float:
    """A suggested refund on a rétrocession: two thirds of the price (the third given to the CCAS, when the commune
    still shares it, is not refunded) for the time left; a perpétuelle counts as the commune's council decides, so
    the suggestion is two thirds of the price paid."""
    share = float(price) * 2 / 3
    if ends_on is None:
        return round(share, 2)
    return conversion_credit(share, starts_on, ends_on, on)


# Plan ------------------------------------------------------------------------------------------------------------

STATES = ("free", "occupied", "expiring", "expired", "reprise")


def plot_state(*, in_reprise: bool, used_tenths: int, concession_ends_on: dt.date | None,
               has_concession: bool, today: dt.date) -> str:
    """The colour of an emplacement on the plan."""
    if in_reprise:
        return "reprise"
    if has_concession and concession_ends_on is not None:
        if concession_ends_on <= today:
            return "expired"
        if concession_ends_on <= add_months(today, EXPIRING_MONTHS[0]):
            return "expiring"
    if has_concession or used_tenths > 0:
        return "occupied"
    return "free"


def tenths_of(bodies) -> int:
    return sum(BODY_TENTHS.get(b, 0) for b in bodies)


def places(tenths: int | None) -> str:
    """Tenths of a place written as the French do (``1,5``)."""
    if tenths is None:
        return "∞"
    whole, rest = divmod(tenths, 10)
    return f"{whole},{rest}" if rest else str(whole)


def check_room(capacity_tenths: int | None, used_tenths: int, body: str) -> None:
    from flask_babel import gettext as _

    if capacity_tenths is None:
        return
    need = BODY_TENTHS[body]
    if used_tenths + need > capacity_tenths:
        raise RuleError(_("No room left in this emplacement: %(used)s place(s) taken out of %(cap)s, and this "
                          "operation needs %(need)s.", used=places(used_tenths), cap=places(capacity_tenths),
                          need=places(need)))


# Reprise ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StepRule:
    code: str
    after: str | None  # the step it follows
    days: int = 0  # …at least this many days after it was done
    months: int = 0
    years: int = 0
    within_days: int | None = None  # a legal time limit after the previous step (e.g. 8 days to notify)
    article: str = ""


ABANDONMENT_STEPS = (
    StepRule("notice", None, article="R2223-13"),
    StepRule("first_pv", "notice", months=1, article="L2223-17, R2223-13, R2223-14"),
    StepRule("pv_notification", "first_pv", within_days=8, article="R2223-15"),
    StepRule("posting_1", "first_pv", article="R2223-16"),
    StepRule("posting_2", "posting_1", days=15, article="R2223-16"),
    StepRule("posting_3", "posting_2", days=15, article="R2223-16"),
    # the publicity ends a month after the last posting; the second PV one year later (3DS)
    StepRule("second_pv", "posting_3", months=1, years=ABANDONMENT_WAIT_YEARS, article="L2223-17, R2223-18"),
    StepRule("second_pv_notification", "second_pv", article="R2223-18"),
    StepRule("deliberation", "second_pv_notification", months=1, article="L2223-17, R2223-18"),
    StepRule("arrete", "deliberation", article="L2223-17, R2223-19"),
    StepRule("removal", "arrete", days=30, article="R2223-20"),
)
EXPIRED_STEPS = (
    StepRule("renewal_information", None, article="L2223-15"),
    StepRule("arrete", "renewal_information", article="L2223-15"),
    StepRule("removal", "arrete", article="L2223-15, R2223-20"),
)
COMMON_GROUND_STEPS = (
    StepRule("notice", None, article="R2223-5"),
    StepRule("arrete", "notice", months=1, article="R2223-5"),
    StepRule("removal", "arrete", article="R2223-5"),
)
STEPS = {"abandonment": ABANDONMENT_STEPS, "expired": EXPIRED_STEPS, "common_ground": COMMON_GROUND_STEPS}


def earliest(rule: StepRule, done: dict[str, dt.date], floor: dt.date | None = None) -> dt.date | None:
    """The first day step ``rule`` may be done, given the days the earlier steps were done (None: not yet known)."""
    if rule.after is None:
        return floor
    base = done.get(rule.after)
    if base is None:
        return None
    day = add_months(add_years(base, rule.years), rule.months) + dt.timedelta(days=rule.days)
    return max(day, floor) if floor else day


def abandonment_eligibility(concession_start: dt.date | None, last_burial: dt.date | None,
                            today: dt.date) -> list[str]:
    """French reasons why a reprise for abandonment cannot start (empty: it can)."""
    from flask_babel import gettext as _

    reasons = []
    if concession_start is None:
        reasons.append(_("The emplacement has no concession in force."))
    elif add_years(concession_start, ABANDONMENT_MIN_YEARS) > today:
        reasons.append(_("The concession is less than thirty years old: no state of abandonment before %(d)s "
                         "(articles L2223-17 and R2223-12 of the CGCT).",
                         d=add_years(concession_start, ABANDONMENT_MIN_YEARS).strftime("%d/%m/%Y")))
    if last_burial is not None and add_years(last_burial, ABANDONMENT_LAST_BURIAL_YEARS) > today:
        reasons.append(_("The last burial was less than ten years ago: the procedure may start from %(d)s "
                         "(article R2223-12 of the CGCT).",
                         d=add_years(last_burial, ABANDONMENT_LAST_BURIAL_YEARS).strftime("%d/%m/%Y")))
    return reasons


def mpf_protection(burials: list[tuple[str, dt.date | None]], today: dt.date) -> list[str]:
    """French reasons why a grave holding a « Mort pour la France » cannot be taken back for abandonment (R2223-22
    CGCT): ``burials`` are (name, date of burial or, failing it, of death) of each such deceased resting there."""
    from flask_babel import gettext as _

    reasons = []
    for name, day in burials:
        if day is None:
            reasons.append(_("%(name)s, « Mort pour la France », rests in this grave and the date of the burial is "
                             "not known: the grave cannot be taken back for abandonment within fifty years of the "
                             "burial (article R2223-22 of the CGCT). Record the date of the burial first.", name=name))
        elif add_years(day, MPF_PROTECTION_YEARS) > today:
            reasons.append(_("%(name)s, « Mort pour la France », was buried in this grave on %(b)s: it cannot be "
                             "taken back for abandonment before %(d)s, fifty years after the burial (article "
                             "R2223-22 of the CGCT).", name=name, b=day.strftime("%d/%m/%Y"),
                             d=add_years(day, MPF_PROTECTION_YEARS).strftime("%d/%m/%Y")))
    return reasons


def expired_eligibility(kind: str | None, ends_on: dt.date | None, today: dt.date) -> tuple[list[str], dt.date | None]:
    """Reasons against the reprise of an expired concession, and the first day its arrêté may be taken."""
    from flask_babel import gettext as _

    if kind is None or ends_on is None:
        return [_("Only a concession with an end date can be taken back once expired.")], None
    if ends_on > today:
        return [_("The concession has not expired yet (it ends on %(d)s).", d=ends_on.strftime("%d/%m/%Y"))], None
    return [], add_years(ends_on, RENEWAL_AFTER_EXPIRY_YEARS)


def common_ground_eligibility(last_burial: dt.date | None, years: int, today: dt.date) -> tuple[list[str],
                                                                                                 dt.date | None]:
    from flask_babel import gettext as _

    years = max(years, COMMON_GROUND_MIN_YEARS)
    if last_burial is None:
        return [_("Nobody rests in this grave: there is nothing to take back.")], None
    first = add_years(last_burial, years)
    if first > today:
        return [_("The last burial in this grave of the terrain commun was on %(b)s: it cannot be taken back before "
                  "%(d)s (%(n)s years, article R2223-5 of the CGCT).", b=last_burial.strftime("%d/%m/%Y"),
                  d=first.strftime("%d/%m/%Y"), n=years)], None
    return [], first
