"""The public list of consultations on a phone (390 px wide): every consultation shows its deadline for bids without
scrolling sideways, and the page itself does not overflow. Screenshot: tenders-30-public-list-phone."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.helpers.clock import legal_wall


def _published(app, collectivity_id, reference, title, days) -> dt.datetime:
    from portal.extensions import db
    from services.tenders.models import Tender, TenderLot

    with app.app_context():
        now = legal_wall().replace(second=0, microsecond=0)
        reception = (now + dt.timedelta(days=days)).replace(hour=12, minute=0)
        t = Tender(collectivity_id=collectivity_id, reference=reference, status="published", title=title,
                   description="Travaux décrits au CCTP.", nature="works", cpv_code="45261000-4",
                   place="Ailleville", duration_months=3, single_lot_reason="indivisible",
                   amount_ht=Decimal("85000"), launch_date=now.date(), procedure="mapa", publicity="boamp_or_jal",
                   media=["portal", "boamp"], questions_deadline=reception - dt.timedelta(days=6),
                   reception_deadline=reception, opening_date=reception.date() + dt.timedelta(days=1),
                   criteria=[{"code": "price", "label": "", "weight": 100}], buyer_siret="21100002300005",
                   contact_email="mairie@ailleville.test.example.org", published_at=now)
        t.lots.append(TenderLot(number=1, title=title, amount_ht=Decimal("85000")))
        db.session.add(t)
        db.session.commit()
        return reception


def test_public_tenders_table_shows_the_deadline_on_a_390px_phone(app, world, subscribe, new_page, shot, t,
                                                                   overflow, sticking_out):
    subscribe("tenders", world.a)
    first = _published(app, world.a, "2026-051", "Réfection complète de la toiture et de la charpente de l'église "
                                                 "Saint-Martin, y compris le clocher et ses abat-son", 24)
    _published(app, world.a, "2026-052", "Déneigement des voies communales", 31)

    phone = new_page({"width": 390, "height": 844})
    phone.goto("/p/tenders/")
    shot(phone, "tenders-30-public-list-phone")
    assert overflow(phone) == 0, sticking_out(phone)
    deadlines = phone.locator("table td.deadline")
    assert deadlines.count() == 2
    for i in range(2):
        cell = deadlines.nth(i)
        box = cell.bounding_box()
        assert box is not None and box["width"] > 0
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 + 0.5, box  # seen without scrolling sideways
        # and nothing clips it: the cell's own box is not cut by a scrolling parent
        assert cell.evaluate("el => el.closest('.table-wrap').scrollWidth <= el.closest('.table-wrap').clientWidth")
    text = deadlines.first.inner_text()
    assert first.strftime("%d/%m/%Y %H:%M") in text
    assert deadlines.first.get_attribute("data-label") == t("Deadline for bids")  # shown before the date

    desktop = new_page({"width": 1366, "height": 768})
    desktop.goto("/p/tenders/")
    shot(desktop, "tenders-31-public-list-desktop")
    assert desktop.locator("table thead th").nth(1).inner_text() == t("Deadline for bids")
