"""Public questions are rate-limited (portal/ratelimit.py) and a filled honeypot sends nothing."""
from __future__ import annotations

import time

from .conftest import published  # noqa: F401 - fixture


def _ask(client, tid, token, n, **extra):
    return client.http.post(f"/p/tenders/{tid}/questions", data={
        "csrf_token": token, "email": f"devis{n}@couvreur.test.example.org",
        "question": f"Question numéro {n} sur la toiture ?", **extra})


def test_sixth_question_in_a_minute_from_one_address_is_refused_without_email(app, world, published, client, smtp):
    _, tid = published
    token = client.csrf(f"/p/tenders/{tid}")
    smtp.messages.clear()
    for n in range(5):
        assert _ask(client, tid, token, n).status_code == 302
    deadline = time.monotonic() + 10
    while len(smtp.messages) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(smtp.messages) == 5
    refused = _ask(client, tid, token, 6)
    assert refused.status_code == 429
    assert "Trop de tentatives" in refused.get_data(as_text=True)
    time.sleep(0.3)
    assert len(smtp.messages) == 5
    # Another address is not affected by the first one's limit.
    other = type(client)(app)
    other.http.environ_base["REMOTE_ADDR"] = "192.0.2.44"
    assert _ask(other, tid, other.csrf(f"/p/tenders/{tid}"), 7).status_code == 302


def test_honeypot_filled_question_sends_nothing(app, world, published, client, smtp):
    _, tid = published
    smtp.messages.clear()
    resp = _ask(client, tid, client.csrf(f"/p/tenders/{tid}"), 1, website="http://spam.example")
    assert resp.status_code == 302
    time.sleep(0.3)
    assert smtp.messages == []
