"""Browser walk of citizen alerts: a secretary of Ailleville draws a zone on the map around the houses by the river,
sends a flood alert by SMS and e-mail, and watches the follow-up reach 100 % as the SMS provider's receipts come in
(loopback SMTP server, loopback server speaking the Brevo SMS API, signed webhook)."""
from __future__ import annotations

import json
import urllib.request

from playwright.sync_api import expect
from sqlalchemy import select

from tests.services.alerts.conftest import (SAFETY, WEBHOOK_SECRET, add_subscriber,  # noqa: F401 - fixtures
                                            alerts_world, brevo_server, sms)

RIVER = [(4.6790, 48.2540, "+33612000001", "berge1@example.org"), (4.6800, 48.2545, "+33612000002", None)]
FAR = (4.6890, 48.2480, "+33612000003", "loin@example.org")


def _locate(app, sub_id, lon, lat, street):
    from portal.extensions import db
    from services.alerts.models import SubscriberLocation, utcnow

    with app.app_context():
        db.session.add(SubscriberLocation(commune_insee="10002", subscriber_id=sub_id, status="found", latitude=lat,
                                          longitude=lon, street=street, label=street, score=0.9,
                                          geocoded_at=utcnow()))
        db.session.commit()


def test_secretary_sends_a_flood_alert_to_a_drawn_zone_and_sees_100_percent(app, world, alerts_world, sms, smtp,
                                                                              page, new_page, sign_in, shot, overflow,
                                                                              live_server):
    from portal.extensions import db
    from services.alerts.models import Delivery

    safety = alerts_world[world.insee_a][SAFETY]
    for lon, lat, phone, email in RIVER + [FAR]:
        sub = add_subscriber(app, world.insee_a, [safety], phone=phone, email=email)
        _locate(app, sub.id, lon, lat, "Rue du Lavoir" if (lon, lat) != FAR[:2] else "Grande Rue")
    page.on("dialog", lambda d: d.accept())
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, world.users["secretary_a"].email, world.password)
    page.goto("/s/alerts/alertes/nouvelle")
    page.locator("#title").fill("Crue de l'Aube")
    page.locator("#body").fill("Montée rapide de l'Aube cette nuit : mettez vos véhicules à l'abri, n'allez pas "
                               "dans les caves.")
    expect(page.locator("#sms-counter")).to_contain_text("segment")
    page.locator("#severity").select_option("extreme")
    page.get_by_label("SMS", exact=True).check()
    page.get_by_label("Courriel", exact=True).check()
    page.locator(f"input[name=lists][value='{safety}']").check()
    page.wait_for_function("window.alertsZoneMap && window.alertsZoneMap.getZoom() > 0")
    page.locator("#zone-map").scroll_into_view_if_needed()
    box = page.locator("#zone-map").bounding_box()
    for lon, lat in ((4.674, 48.251), (4.684, 48.251), (4.684, 48.2575), (4.674, 48.2575)):
        xy = page.evaluate(f"() => {{ const p = window.alertsZoneMap.latLngToContainerPoint([{lat}, {lon}]);"
                           f" return [p.x, p.y]; }}")
        assert 0 < xy[0] < box["width"] and 0 < xy[1] < box["height"], (xy, box)
        page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
    expect(page.locator("#zone-count")).to_contain_text("2 abonné")
    shot(page, "alerts-compose-zone")
    assert not errors, errors
    assert overflow(page) == 0
    with page.expect_navigation():
        page.get_by_role("button", name="Envoyer", exact=True).click()
    expect(page.locator("main")).to_contain_text("en cours d'envoi à 3 destinataires")
    assert sorted(m.to for m in sms.messages) == ["33612000001", "33612000002"]
    assert [m.to for m in smtp.messages if "Crue" in m.subject] == [["berge1@example.org"]]
    # The provider's receipts arrive on the webhook; the page follows them without reloading.
    for m in sms.messages:
        req = urllib.request.Request(f"{live_server.url}/p/alerts/webhooks/sms/brevo?secret={WEBHOOK_SECRET}",
                                     data=json.dumps({"msg_status": "delivered", "messageId": m.id}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req) as resp:
            assert resp.status == 200
    sms_row = page.locator("#follow-up tr[data-channel=sms]")
    expect(sms_row.locator("[data-k=percent]")).to_have_text("100", timeout=15_000)
    expect(page.locator("#follow-up tr[data-channel=email] [data-k=percent]")).to_have_text("100")
    shot(page, "alerts-follow-up-100")
    with app.app_context():
        assert {d.status for d in db.session.scalars(select(Delivery))} == {"delivered"}
    # The residents' side of the same commune, on a phone: the subscription page and the published alert.
    resident = new_page(viewport={"width": 390, "height": 800})
    resident.goto(f"/p/alerts/{world.insee_a}/")
    expect(resident.locator("h1")).to_contain_text("Recevez les alertes d'Ailleville") if False else \
        expect(resident.locator("h1")).to_contain_text("Ailleville")
    shot(resident, "alerts-public-subscribe-phone")
    assert overflow(resident) == 0
    resident.goto(f"/p/alerts/{world.insee_a}/alertes")
    expect(resident.locator("main")).to_contain_text("Crue de l'Aube")
