"""Fixtures of the alerts tests: the service opened to communes A and B, lists, and a real HTTP server on loopback
that speaks the Brevo transactional SMS API (POST /v3/transactionalSMS/send, api-key header, JSON answer
{"messageId": n})."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

API_KEY = "test-brevo-key"
WEBHOOK_SECRET = "webhook-secret-for-tests"


class _BrevoHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):  # noqa: N802 - http.server API
        srv = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/v3/transactionalSMS/send":
            return self._answer(404, {"code": "not_found", "message": "Not found"})
        if self.headers.get("api-key") != API_KEY:
            return self._answer(401, {"code": "unauthorized", "message": "Key not found"})
        missing = [k for k in ("sender", "recipient", "content") if not body.get(k)]
        if missing:
            return self._answer(400, {"code": "missing_parameter", "message": f"{missing[0]} is missing"})
        if srv.fail_next_temporarily > 0:
            srv.fail_next_temporarily -= 1
            return self._answer(503, {"code": "service_unavailable", "message": "try later"})
        if body["recipient"] in srv.invalid_recipients:
            return self._answer(400, {"code": "invalid_parameter", "message": "Invalid recipient number"})
        srv.next_id += 1
        srv.messages.append(SimpleNamespace(id=srv.next_id, to=body["recipient"], text=body["content"], body=body,
                                            at=time.monotonic()))
        return self._answer(201, {"messageId": srv.next_id})

    def _answer(self, code, payload):
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="session")
def brevo_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BrevoHandler)
    server.state = SimpleNamespace(messages=[], next_id=1000, invalid_recipients=set(), fail_next_temporarily=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture
def sms(brevo_server, app):
    state = brevo_server.state
    state.messages.clear()
    state.invalid_recipients.clear()
    state.fail_next_temporarily = 0
    saved = {k: app.config.get(k) for k in ("ALERTS_SMS_PROVIDER", "ALERTS_SMS_URL", "ALERTS_SMS_API_KEY",
                                            "ALERTS_WEBHOOK_SECRET", "ALERTS_SMS_RATE")}
    app.config.update(ALERTS_SMS_PROVIDER="brevo",
                      ALERTS_SMS_URL=f"http://127.0.0.1:{brevo_server.server_address[1]}/v3/transactionalSMS/send",
                      ALERTS_SMS_API_KEY=API_KEY, ALERTS_WEBHOOK_SECRET=WEBHOOK_SECRET, ALERTS_SMS_RATE=1000)
    yield state
    app.config.update(saved)


@pytest.fixture
def alerts_world(app, world, subscribe):
    """The service open to A and B, with the usual lists in both communes. Returns ids of A's and B's lists."""
    from sqlalchemy import select

    from portal.extensions import db
    from services.alerts.models import AlertList
    from services.alerts.operations import DEFAULT_LISTS

    subscribe("alerts", world.a, world.b, world.troyes)
    ids = {}
    with app.app_context():
        for insee in (world.insee_a, world.insee_b):
            for name, purpose in DEFAULT_LISTS:
                db.session.add(AlertList(commune_insee=insee, name=name, purpose=purpose))
        db.session.commit()
        for lst in db.session.scalars(select(AlertList)):
            ids.setdefault(lst.commune_insee, {})[lst.name] = lst.id
    return ids


SAFETY = "Alertes de sécurité (plan communal de sauvegarde)"


def add_subscriber(app, insee, list_ids, *, email=None, phone=None, confirmed=True):
    """A confirmed subscriber created directly (system context), for tests about sending."""
    from portal.extensions import db
    from services.alerts.models import Subscriber, Subscription, utcnow

    with app.app_context():
        sub = Subscriber(commune_insee=insee, email=email, phone=phone,
                         email_confirmed_at=utcnow() if (email and confirmed) else None,
                         phone_confirmed_at=utcnow() if (phone and confirmed) else None)
        for lid in list_ids:
            sub.subscriptions.append(Subscription(commune_insee=insee, list_id=lid, consent_text="test consent",
                                                  consent_channel="both"))
        db.session.add(sub)
        db.session.commit()
        return SimpleNamespace(id=sub.id, token=sub.token)


# A loopback server that speaks the BAN address search API (GET /search/?q=&citycode=&limit=1 → GeoJSON).
# Addresses of Ailleville placed on two streets, one on each side of the village.
BAN_STREETS = {
    "rue du lavoir": ("Rue du Lavoir", 4.6790, 48.2540),
    "grande rue": ("Grande Rue", 4.6890, 48.2480),
}


class _BanHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 - http.server API
        from urllib.parse import parse_qs, urlparse

        url = urlparse(self.path)
        qs = parse_qs(url.query)
        q = (qs.get("q") or [""])[0].lower()
        self.server.state.queries.append(qs)
        features = []
        for key, (street, lon, lat) in BAN_STREETS.items():
            if key in q:
                number = "".join(c for c in q.split(key)[0] if c.isdigit()) or "1"
                features.append({"type": "Feature", "geometry": {"type": "Point",
                                                                  "coordinates": [lon + int(number) * 1e-5, lat]},
                                 "properties": {"label": f"{number} {street} 10200 Ailleville", "score": 0.93,
                                                "type": "housenumber", "name": f"{number} {street}",
                                                "street": street, "citycode": (qs.get("citycode") or [""])[0]}})
        data = json.dumps({"type": "FeatureCollection", "version": "draft", "features": features,
                           "query": q}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="session")
def ban_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BanHandler)
    server.state = SimpleNamespace(queries=[])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture
def geocoder(ban_server, app):
    saved = app.config.get("ALERTS_GEOCODER_URL")
    app.config["ALERTS_GEOCODER_URL"] = f"http://127.0.0.1:{ban_server.server_address[1]}/search/"
    ban_server.state.queries.clear()
    yield ban_server.state
    app.config["ALERTS_GEOCODER_URL"] = saved


@pytest.fixture(autouse=True)
def _no_internet_geocoder(app):
    """Tests never call the real BAN service: geocoding is off unless a test uses the loopback ``geocoder``."""
    saved = app.config.get("ALERTS_GEOCODER_URL")
    app.config["ALERTS_GEOCODER_URL"] = ""
    yield
    app.config["ALERTS_GEOCODER_URL"] = saved
