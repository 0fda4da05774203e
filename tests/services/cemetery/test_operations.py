"""The writes of the cemetery (services/cemetery/operations.py) against the database: every refusal is French and
writes nothing; every change of a concession or an operation is audited."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

D = dt.date


def _count(model):
    from portal.extensions import db

    return db.session.scalar(select(func.count()).select_from(model))


def _audits(action):
    from portal.extensions import db
    from portal.models import AuditEvent

    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_a_concession_takes_its_price_from_the_tariff_of_its_start_date(app, cemetery_world, system):
    from portal.extensions import db
    from services.cemetery import operations
    from services.cemetery.models import Plot

    plot = db.session.get(Plot, cemetery_world["a"].free_plot)
    old = operations.create_concession(plot, kind="temporary", duration_years=15, starts_on=D(2018, 1, 1),
                                       people=[{"last_name": "Roux"}])
    assert (old.price, old.ends_on) == (100, D(2033, 1, 1))
    assert old.number == f"2018-{old.id:05d}" and _audits("cemetery.concession_created") >= 2
    with pytest.raises(operations.Refused, match="déjà une concession|already has a concession"):
        operations.create_concession(plot, kind="thirty", starts_on=D(2024, 2, 1))


def test_a_concession_starting_after_its_end_is_refused_and_nothing_written(app, cemetery_world, system):
    from portal.extensions import db
    from services.cemetery import operations
    from services.cemetery.models import Concession, Plot

    plot = db.session.get(Plot, cemetery_world["a"].free_plot)
    before = _count(Concession)
    with pytest.raises(operations.Refused, match="01/01/2020"):
        operations.create_concession(plot, kind="thirty", starts_on=D(2021, 1, 1), ends_on=D(2020, 1, 1), price=10)
    with pytest.raises(operations.Refused, match="L2223-14"):
        operations.create_concession(plot, kind="temporary", duration_years=20, starts_on=D(2021, 1, 1))
    assert _count(Concession) == before


def test_renewal_starts_at_expiry_at_the_tariff_of_the_day_until_two_years_after(app, cemetery_world, system):
    from portal.extensions import db
    from services.cemetery import operations
    from services.cemetery.models import Plot

    plot = db.session.get(Plot, cemetery_world["a"].free_plot)
    c = operations.create_concession(plot, kind="temporary", duration_years=15, starts_on=D(2008, 3, 1),
                                     people=[{"last_name": "Roux"}, {"role": "beneficiary", "last_name": "Roux",
                                                                     "first_names": "Léa"}])
    with pytest.raises(operations.Refused, match="01/03/2025"):
        operations.renew_concession(c, D(2025, 3, 2))  # two years after the expiry of 01/03/2023: too late
    new = operations.renew_concession(c, D(2025, 3, 1))  # the last day
    assert (new.starts_on, new.ends_on, new.price) == (D(2023, 3, 1), D(2038, 3, 1), 150)  # tariff of 2024
    assert c.status == "renewed" and [p.first_names for p in new.beneficiaries] == ["Léa"]
    assert _audits("cemetery.concession_renewed") == 1


def test_conversion_and_retrocession(app, cemetery_world, system):
    from portal.extensions import db
    from services.cemetery import operations
    from services.cemetery.models import Concession, Plot

    c = db.session.get(Concession, cemetery_world["a"].concession)  # thirty years from 2010, 200 €, one deceased
    with pytest.raises(operations.Refused, match="L2223-16"):
        operations.convert_concession(c, D(2025, 5, 3), kind="temporary", duration_years=15)
    with pytest.raises(operations.Refused):
        operations.retrocede_concession(c, D(2025, 5, 3))  # someone rests there
    new = operations.convert_concession(c, D(2025, 5, 3), kind="perpetual")
    assert new.ends_on is None and new.price == pytest.approx(1500 - 100, abs=0.5)  # half of 200 deducted
    plot = db.session.get(Plot, cemetery_world["a"].free_plot)
    empty = operations.create_concession(plot, kind="thirty", starts_on=D(2020, 1, 1), people=[{"last_name": "X"}])
    operations.retrocede_concession(empty, D(2035, 1, 1))
    assert empty.status == "retroceded" and empty.refund == pytest.approx(200 * 2 / 3 / 2, abs=0.5)


def test_capacity_and_authorisation_rules_write_nothing(app, cemetery_world, system):
    from portal.extensions import db
    from services.cemetery import operations
    from services.cemetery.models import Deceased, Operation, Plot

    w = cemetery_world["a"]
    plot = db.session.get(Plot, w.plot)  # two places, one coffin in it
    operations.record_operation("urn_deposit", plot, D(2026, 1, 6), new_deceased={"last_name": "Urne"},
                                funeral_operator="PF de l'Aube", authorisation_number="2026-1")
    before = (_count(Deceased), _count(Operation))
    with pytest.raises(operations.Refused, match="1,1"):  # a coffin and an urn: 1,1 of 2 places, a coffin needs 1
        operations.record_operation("inhumation", plot, D(2026, 1, 7), new_deceased={"last_name": "Troisième"})
    body = db.session.get(Deceased, w.deceased)
    with pytest.raises(operations.Refused, match="R2213-40"):
        operations.record_operation("exhumation", plot, D(2026, 1, 8), deceased=body, destination="Troyes")
    with pytest.raises(operations.Refused):
        operations.record_operation("inhumation", db.session.get(Plot, w.free_plot), D(2026, 1, 8),
                                    new_deceased={"last_name": "Sans concession"})
    assert (_count(Deceased), _count(Operation)) == before
    operations.record_operation("reduction", plot, D(2026, 1, 8), deceased=body, authorisation_number="R-1")
    assert body.body == "reduction" and operations.used_tenths(plot) == 5 + 1
    ossuary = db.session.get(Plot, w.ossuary)
    operations.record_operation("exhumation", plot, D(2026, 1, 9), deceased=body, authorisation_number="E-1",
                                destination_plot=ossuary)
    assert body.plot_id == ossuary.id and _audits("cemetery.operation_recorded") == 3


def test_reprise_for_abandonment_follows_the_order_and_the_delays(app, cemetery_world, system):
    from portal.extensions import db
    from services.cemetery import operations
    from services.cemetery.models import Deceased, Plot

    w = cemetery_world["a"]
    plot = db.session.get(Plot, w.free_plot)
    c = operations.create_concession(plot, kind="perpetual", starts_on=D(1950, 1, 1), price=12,
                                     people=[{"last_name": "Vieux"}])
    db.session.add(Deceased(plot=plot, last_name="Vieux", death_date=D(1950, 1, 1), commune_insee=w.insee))
    with pytest.raises(operations.Refused, match="trente|thirty"):
        operations.open_reprise(db.session.get(Plot, w.plot), "abandonment", D(2024, 1, 1))  # from 2010
    today = D(2024, 1, 10)
    r = operations.open_reprise(plot, "abandonment", today)
    assert plot.in_reprise and [s.code for s in r.steps][:3] == ["notice", "first_pv", "pv_notification"]
    with pytest.raises(operations.Refused, match="ordre|order"):
        operations.complete_step(r, "first_pv", today, today=today)
    operations.complete_step(r, "notice", today, today=today)
    with pytest.raises(operations.Refused, match="10/02/2024"):  # one month's notice
        operations.complete_step(r, "first_pv", D(2024, 2, 9), today=D(2024, 3, 1))
    operations.complete_step(r, "first_pv", D(2024, 2, 10), today=D(2024, 3, 1))
    with pytest.raises(operations.Refused, match="8"):  # eight days to notify
        operations.complete_step(r, "pv_notification", D(2024, 2, 19), today=D(2024, 3, 1))
    operations.complete_step(r, "pv_notification", D(2024, 2, 15), today=D(2024, 3, 1))
    for code, day in (("posting_1", D(2024, 2, 12)), ("posting_2", D(2024, 2, 27)), ("posting_3", D(2024, 3, 13))):
        operations.complete_step(r, code, day, today=D(2025, 1, 1))
    with pytest.raises(operations.Refused, match="13/04/2025"):  # one month of posting + one year (3DS)
        operations.complete_step(r, "second_pv", D(2025, 4, 12), today=D(2025, 6, 1))
    for code, day in (("second_pv", D(2025, 4, 13)), ("second_pv_notification", D(2025, 4, 14)),
                      ("deliberation", D(2025, 5, 14)), ("arrete", D(2025, 5, 20)), ("removal", D(2025, 6, 19))):
        operations.complete_step(r, code, day, today=D(2025, 7, 1))
    assert r.status == "done" and c.status == "taken_back" and not plot.in_reprise
    assert {d.plot_id for d in db.session.scalars(select(Deceased).where(Deceased.last_name == "Vieux"))} == {
        w.ossuary}
    assert _audits("cemetery.reprise_done") == 1


def test_reprise_of_expired_concessions_and_common_ground(app, cemetery_world, system):
    from portal.extensions import db
    from services.cemetery import operations
    from services.cemetery.models import Plot

    w = cemetery_world["a"]
    plot = db.session.get(Plot, w.free_plot)
    c = operations.create_concession(plot, kind="temporary", duration_years=5, starts_on=D(2019, 1, 1), price=50,
                                     people=[{"last_name": "Bref"}])
    r = operations.open_reprise(plot, "expired", D(2024, 2, 1))  # expired 01/01/2024
    operations.complete_step(r, "renewal_information", D(2024, 2, 1), today=D(2024, 2, 1))
    with pytest.raises(operations.Refused, match="01/01/2026"):  # two years after expiry (L2223-15)
        operations.complete_step(r, "arrete", D(2025, 12, 31), today=D(2026, 6, 1))
    operations.complete_step(r, "arrete", D(2026, 1, 2), today=D(2026, 6, 1))
    operations.complete_step(r, "removal", D(2026, 1, 3), today=D(2026, 6, 1))
    assert c.status == "taken_back"
    common = db.session.get(Plot, w.common)
    operations.record_operation("inhumation", common, D(2022, 3, 1), new_deceased={"last_name": "Commun"},
                                today=D(2022, 3, 1))
    with pytest.raises(operations.Refused, match="01/03/2027"):
        operations.open_reprise(common, "common_ground", D(2026, 12, 7))
