"""The legal dates of the cemetery (services/cemetery/rules.py): ends of every concession type, the renewal window
and its edges (L2223-15), conversion credit, places, and the reprise delays (L2223-17 as amended by the 3DS law)."""
from __future__ import annotations

import datetime as dt

import pytest

D = dt.date
rules = None  # services.cemetery.rules, imported by the fixture: importing the package at collection would add its
#               tables to the portal's metadata even where the service is not installed


@pytest.fixture(autouse=True)
def _context(app):
    global rules
    if app.extensions["service_registry"].get("cemetery") is None:
        pytest.skip("the cemetery service is not installed (pip install -e . or EXTRA_SERVICES=services.cemetery)")
    from services.cemetery import rules as module

    rules = module
    with app.test_request_context():
        yield


@pytest.mark.parametrize("kind, years, start, end", [
    ("temporary", 5, D(2020, 3, 1), D(2025, 3, 1)),
    ("temporary", 15, D(2020, 3, 1), D(2035, 3, 1)),
    ("thirty", None, D(1996, 2, 29), D(2026, 2, 28)),  # 29 February → 28 February of a common year
    ("fifty", None, D(2000, 1, 31), D(2050, 1, 31)),
    ("perpetual", None, D(1950, 6, 1), None),
])
def test_every_concession_type_ends_where_the_code_says(kind, years, start, end):
    assert rules.concession_end(kind, start, years) == end


@pytest.mark.parametrize("years", [None, 4, 16, 30])
def test_a_temporary_concession_lasts_five_to_fifteen_years(years):
    with pytest.raises(rules.RuleError, match="de 5 à 15 ans|from 5 to 15"):
        rules.concession_end("temporary", D(2020, 1, 1), years)


def test_a_concession_cannot_start_after_its_end():
    with pytest.raises(rules.RuleError, match="31/12/2020"):
        rules.check_period(D(2021, 1, 1), D(2020, 12, 31))
    rules.check_period(D(2020, 1, 1), None)  # a perpétuelle


def test_the_renewal_window_closes_two_years_after_expiry():
    end = D(2024, 6, 30)
    assert rules.renewal_window("thirty", end) == (D(2019, 6, 30), D(2026, 6, 30))
    rules.check_renewal("thirty", end, D(2026, 6, 30))  # the last day: still possible
    rules.check_renewal("thirty", end, D(2019, 6, 30))  # the first day
    with pytest.raises(rules.RuleError, match="30/06/2026"):
        rules.check_renewal("thirty", end, D(2026, 7, 1))
    with pytest.raises(rules.RuleError, match="30/06/2019"):
        rules.check_renewal("thirty", end, D(2019, 6, 29))
    with pytest.raises(rules.RuleError):
        rules.check_renewal("perpetual", None, D(2024, 1, 1))


def test_conversion_deducts_the_time_left_and_retrocession_two_thirds_of_it():
    assert rules.conversion_credit(300, D(2000, 1, 1), D(2030, 1, 1), D(2015, 1, 1)) == pytest.approx(150, abs=0.2)
    assert rules.conversion_credit(300, D(2000, 1, 1), D(2030, 1, 1), D(2031, 1, 1)) == 0
    assert rules.retrocession_refund(300, D(2000, 1, 1), D(2030, 1, 1), D(2015, 1, 1)) == pytest.approx(100, abs=0.2)


def test_places_count_coffins_urns_and_reductions_as_opencimetiere():
    assert rules.tenths_of(["coffin", "urn", "reduction"]) == 16
    assert rules.places(16) == "1,6" and rules.places(20) == "2" and rules.places(None) == "∞"
    rules.check_room(20, 10, "coffin")
    with pytest.raises(rules.RuleError, match="1,6"):
        rules.check_room(20, 16, "coffin")
    rules.check_room(20, 16, "urn")  # 1,7 of 2
    rules.check_room(None, 1000, "coffin")  # the ossuary has no limit


def test_states_of_the_plan():
    today = D(2026, 12, 7)
    state = lambda **kw: rules.plot_state(**{"in_reprise": False, "used_tenths": 0, "has_concession": False,  # noqa
                                             "concession_ends_on": None, "today": today, **kw})
    assert state() == "free"
    assert state(used_tenths=10) == "occupied"
    assert state(has_concession=True, concession_ends_on=D(2027, 6, 7)) == "expiring"
    assert state(has_concession=True, concession_ends_on=D(2027, 6, 8)) == "occupied"
    assert state(has_concession=True, concession_ends_on=today) == "expired"
    assert state(in_reprise=True, has_concession=True) == "reprise"


def test_abandonment_needs_thirty_years_and_ten_without_burial():
    today = D(2026, 12, 7)
    assert rules.abandonment_eligibility(D(1990, 1, 1), D(2000, 1, 1), today) == []
    assert len(rules.abandonment_eligibility(D(2000, 1, 1), D(2000, 1, 1), today)) == 1  # 26 years old
    reasons = rules.abandonment_eligibility(D(1990, 1, 1), D(2020, 1, 1), today)
    assert len(reasons) == 1 and "01/01/2030" in str(reasons[0])


def test_the_second_pv_comes_one_year_after_the_publicity_since_the_3ds_law():
    by = {r.code: r for r in rules.ABANDONMENT_STEPS}
    done = {"notice": D(2025, 1, 2)}
    assert rules.earliest(by["first_pv"], done) == D(2025, 2, 2)  # one month's notice (R2223-13)
    done.update(first_pv=D(2025, 2, 3), posting_1=D(2025, 2, 4))
    assert rules.earliest(by["posting_2"], done) == D(2025, 2, 19)  # fifteen days (R2223-16)
    done.update(posting_2=D(2025, 2, 19), posting_3=D(2025, 3, 6))
    # a month of posting, then ONE year (L2223-17 / R2223-18 since loi 2022-217), not three
    assert rules.earliest(by["second_pv"], done) == D(2026, 4, 6)
    done.update(second_pv=D(2026, 4, 6), second_pv_notification=D(2026, 4, 8))
    assert rules.earliest(by["deliberation"], done) == D(2026, 5, 8)  # a month after the notification
    done.update(deliberation=D(2026, 5, 20), arrete=D(2026, 5, 25))
    assert rules.earliest(by["removal"], done) == D(2026, 6, 24)  # thirty days (R2223-20)
    assert rules.ABANDONMENT_WAIT_YEARS == 1


def test_expired_concessions_and_common_ground_wait_their_delays():
    today = D(2026, 12, 7)
    assert rules.expired_eligibility("thirty", D(2025, 1, 1), today) == ([], D(2027, 1, 1))
    assert rules.expired_eligibility("thirty", D(2027, 1, 1), today)[0]
    assert rules.common_ground_eligibility(D(2021, 12, 8), 5, today)[0]  # not five years yet
    assert rules.common_ground_eligibility(D(2021, 12, 7), 5, today) == ([], D(2026, 12, 7))
    assert rules.common_ground_eligibility(D(2020, 1, 1), 3, today)[1] == D(2025, 1, 1)  # never under five years
