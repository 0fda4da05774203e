"""Alert sign-ups are rate-limited per address and per commune (portal/ratelimit.py); a filled honeypot sends
nothing."""
from __future__ import annotations

import time

from .conftest import SAFETY


def _sign_up(client, insee, safety, n, **extra):
    return client.post(f"/p/alerts/{insee}/", {"email": f"habitant{n}@example.org", "lists": str(safety), **extra},
                       csrf_from=f"/p/alerts/{insee}/")


def test_sixth_sign_up_in_a_minute_from_one_address_is_refused_without_email(app, world, alerts_world, client, smtp):
    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    for n in range(5):
        assert _sign_up(client, insee, safety, n).status_code == 200
    refused = _sign_up(client, insee, safety, 6)
    assert refused.status_code == 429 and "Trop de tentatives" in refused.get_data(as_text=True)
    time.sleep(0.3)
    assert sorted(m.to[0] for m in smtp.messages) == [f"habitant{n}@example.org" for n in range(5)]


def test_sign_ups_for_one_commune_are_limited_whatever_the_address(app, world, alerts_world, client, smtp,
                                                                  monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_FORM_LIMIT_PER_TARGET", "3 per hour")
    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    statuses = []
    for n in range(4):
        c = type(client)(app)
        c.http.environ_base["REMOTE_ADDR"] = f"192.0.2.{10 + n}"
        statuses.append(_sign_up(c, insee, safety, n).status_code)
    assert statuses == [200, 200, 200, 429]


def test_honeypot_filled_sign_up_sends_nothing(app, world, alerts_world, client, smtp):
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.alerts.models import Subscriber

    insee = world.insee_a
    resp = _sign_up(client, insee, alerts_world[insee][SAFETY], 1, website="http://spam.example")
    assert resp.status_code == 200
    time.sleep(0.3)
    assert smtp.messages == []
    with app.app_context(), territory_scope(None):
        assert db.session.scalar(select(func.count()).select_from(Subscriber)) == 0
