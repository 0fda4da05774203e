"""Regression tests of the production and security review (absolute URLs, sessions, logs, throttling behind a
proxy, path parameters, support mode, caching, 405s). Each test is named after what it guards."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


# Absolute URLs ------------------------------------------------------------------------------------------------

def test_reset_link_is_built_from_base_url_not_the_host_header(app, world, client, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "SERVER_NAME", None)  # as in production: the portal answers any Host
    forged = app.test_client()
    page = forged.get("/mot-de-passe-oublie", base_url="http://evil.example").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = forged.post("/mot-de-passe-oublie", base_url="http://evil.example",
                       data={"email": world.users["mayor_a"].email, "csrf_token": token})
    assert resp.status_code == 302
    assert len(smtp.messages) == 1
    link = re.search(r"https?://\S+", smtp.messages[0].text).group(0)
    assert link.startswith(app.config["BASE_URL"] + "/"), link
    assert "evil.example" not in smtp.messages[0].text


def test_no_absolute_url_is_built_from_the_request():
    """Every absolute URL goes through portal/urls.py (BASE_URL)."""
    found = subprocess.run(["git", "grep", "-n", "-E", r"_external=True|url_root|host_url", "--", "portal", "services"],
                           cwd=ROOT, capture_output=True, text=True).stdout.splitlines()
    found = [line for line in found if not line.startswith("portal/urls.py:")]
    assert found == []


# Sessions -----------------------------------------------------------------------------------------------------

def test_logout_invalidates_a_saved_session_cookie(app, world, login_as):
    c = login_as("mayor_a")
    assert c.get("/api/v1/me").status_code == 200
    saved = c.http.get_cookie("session", domain="portal.test").value
    assert c.post("/deconnexion", csrf_from="/").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", saved, domain="portal.test")
    resp = thief.get("/api/v1/me")
    assert resp.status_code in (401, 302), resp.status_code
    assert world.users["mayor_a"].email not in resp.get_data(as_text=True)


# Throttling behind a proxy ------------------------------------------------------------------------------------

def test_one_account_failing_from_the_proxy_address_does_not_block_another_account(app, world, monkeypatch):
    """Behind one trusted proxy every person has the proxy's REMOTE_ADDR; the person's own address comes in
    X-Forwarded-For. Five failures of one account lock that account only."""
    from portal import create_app
    from tests.conftest import PortalClient

    proxied = create_app({**{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "MAIL_SERVER", "MAIL_PORT",
                                                           "SERVER_NAME", "BASE_URL", "EXTRA_SERVICES")},
                          "TESTING": True, "CELERY_EAGER": True, "TRUSTED_PROXY_HOPS": 1,
                          "DATABASE_OWNER_URL": app.config.get("DATABASE_OWNER_URL", "")})
    first, second = PortalClient(proxied), PortalClient(proxied)
    for c, address in ((first, "198.51.100.7"), (second, "198.51.100.8")):
        c.http.environ_base.update(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=address)
    for _ in range(5):
        assert first.login(world.users["mayor_a"].email, "pas le bon").status_code == 200
    assert first.login(world.users["mayor_a"].email).status_code == 429  # that account is locked
    assert second.login(world.users["mayor_b"].email).status_code == 302
    with proxied.app_context():
        from portal.extensions import db
        from portal.models import LoginAttempt
        from sqlalchemy import select

        assert set(db.session.scalars(select(LoginAttempt.ip))) == {"198.51.100.7", "198.51.100.8"}
        db.session.remove()
        db.engine.dispose()


def test_one_account_failing_from_a_shared_address_does_not_block_another_account(app, world, client):
    """Without a trusted proxy too (a mairie's shared connection): the address limit is far above an account's."""
    for _ in range(5):
        client.login(world.users["mayor_a"].email, "pas le bon")
    other = type(client)(app)
    assert other.login(world.users["mayor_b"].email).status_code == 302


# Path parameters ----------------------------------------------------------------------------------------------

def test_integer_path_parameters_beyond_the_database_integers_are_404(app, world, client, login_as):
    for url in ("/p/tenders/2147483648", "/p/tenders/9223372036854775808", "/p/tenders/99999999999999999999"):
        assert client.get(url).status_code == 404, url
    mayor = login_as("mayor_a")
    for url in ("/s/sample/notes/2147483648", "/admin/collectivites/9223372036854775808"):
        assert mayor.get(url).status_code == 404, url
    # Every <int:…> of the app uses the one converter.
    from werkzeug.routing import IntegerConverter

    from portal.urls import DatabaseIdConverter

    integers = {type(c) for r in app.url_map.iter_rules() for c in r._converters.values()
                if isinstance(c, IntegerConverter)}
    assert integers == {DatabaseIdConverter}


# 405 ----------------------------------------------------------------------------------------------------------

def test_method_not_allowed_answers_carry_allow(client, world):
    resp = client.http.delete("/connexion")
    assert resp.status_code == 405
    assert set(resp.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    api = client.http.delete("/api/v1/me")
    assert api.status_code == 405 and "GET" in api.headers["Allow"]
    assert api.get_json()["status"] == 405


# Caching ------------------------------------------------------------------------------------------------------

def test_pages_with_personal_data_are_not_stored_in_caches(app, world, login_as, subscribe, client):
    subscribe("electoral", world.a)
    subscribe("cadastre", world.a)
    mayor = login_as("mayor_a")
    for url in ("/s/electoral/", "/s/cadastre/proprietaires", "/mairie/membres", "/api/v1/me", "/profil"):
        resp = mayor.get(url)
        assert resp.status_code == 200, url
        assert resp.headers.get("Cache-Control") == "no-store", url
    admin = login_as("dept_admin")
    assert admin.get("/admin/collectivites").headers.get("Cache-Control") == "no-store"
    assert client.get("/static/css/portal.css").headers.get("Cache-Control") != "no-store"


# Dropped database connections ---------------------------------------------------------------------------------

def _terminate_app_backends(app):
    """What a PostgreSQL restart does to the pool: every connection of the application role is closed by the
    server (from the superuser connection of DATABASE_URL)."""
    import os

    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from portal.config import _database_url
    from portal.extensions import db

    with app.app_context():
        role = db.engine.url.username
    admin = create_engine(_database_url(None), poolclass=NullPool)
    try:
        with admin.connect() as conn:
            killed = conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE usename = :r AND datname = current_database() AND pid <> pg_backend_pid()"), {"r": role}).scalar()
    finally:
        admin.dispose()
    assert os.environ.get("DATABASE_URL") and killed >= 1
    return killed


def test_dropped_database_connections_give_503_or_a_retry_never_500(app, world, login_as):
    import pytest

    from portal.extensions import db
    from tests.conftest import using_postgres

    if not using_postgres():
        pytest.skip("terminating server backends needs PostgreSQL")
    mayor = login_as("mayor_a")
    assert mayor.get("/api/v1/me").status_code == 200
    _terminate_app_backends(app)
    health = mayor.get("/healthz")
    assert health.status_code == 200 and health.get_json() == {"status": "ok", "database": "ok"}
    assert mayor.get("/api/v1/me").status_code == 200
    _terminate_app_backends(app)
    assert mayor.get("/api/v1/me").status_code == 200  # read: retried once on a fresh connection
    _terminate_app_backends(app)
    resp = mayor.post("/collectivite/changer", {"collectivity_id": str(world.a)}, csrf_from="/profil")
    assert resp.status_code in (302, 503), resp.status_code  # a write: 503 if its connection was the dead one
    _terminate_app_backends(app)
    token = mayor.csrf("/profil")
    _terminate_app_backends(app)
    write = mayor.http.post("/collectivite/changer", data={"collectivity_id": str(world.a), "csrf_token": token})
    # 503 when the request drew a dead connection; 302 when the pool's idle ping (DB_PING_AFTER_IDLE) had already
    # replaced it — the pool hands out its least recently used connection first. Never a 500.
    assert write.status_code in (302, 503), write.status_code
    if write.status_code == 503:
        assert write.headers["Retry-After"] == "1"
        assert "momentanément indisponible" in write.get_data(as_text=True)
    assert mayor.get("/").status_code == 200
    with app.app_context():
        db.engine.dispose()  # the tests after this one start from a pool without connections the server dropped


# Support mode -------------------------------------------------------------------------------------------------

def _sample_value(converter) -> str:
    from werkzeug.routing import IntegerConverter

    return "1" if isinstance(converter, IntegerConverter) else "x"


def test_support_mode_refuses_every_write_route(app, world, login_as, subscribe):
    """Every POST/PUT/PATCH/DELETE route of the portal and of every service, sent by a department agent in support
    mode with a valid CSRF token, is refused with the read-only message (leaving the mode and signing out aside)."""
    from portal.support import WRITES_ALLOWED

    from portal.registry import registry

    with app.app_context():
        slugs = list(registry.slugs())
    for slug in slugs:
        subscribe(slug, world.a)
    agent = login_as("dept_agent")
    resp = agent.post(f"/assistance/ouvrir/{world.a}", {"reason": "Appel de la mairie au sujet des listes", "duration": "30"},
                      csrf_from=f"/admin/collectivites/{world.a}")
    assert resp.status_code == 302
    token = agent.csrf("/profil")
    checked, allowed = [], []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            if rule.endpoint in WRITES_ALLOWED:
                allowed.append(rule.endpoint)
                continue
            url = rule.build({k: _sample_value(c) for k, c in rule._converters.items()}, append_unknown=False)[1]
            resp = agent.http.open(url, method=method, data={"csrf_token": token}, headers={"X-CSRFToken": token})
            assert resp.status_code == 403, (method, url, resp.status_code)
            body = resp.get_data(as_text=True)
            assert "lecture seule" in body, (method, url, body[:300])
            checked.append((method, rule.rule))
    assert ("POST", "/s/electoral/impressions") in checked
    assert len(checked) > 40 and sorted(set(allowed)) == sorted(WRITES_ALLOWED)
    assert agent.get("/s/electoral/").status_code == 200  # reading still works


# Logs ---------------------------------------------------------------------------------------------------------

def test_logs_carry_ids_not_email_addresses(app, world, login_as, client, smtp, caplog):
    """Portal e-mails (an invitation), a refused recipient, sign-in failures, audit lines: ids only."""
    import logging

    caplog.set_level(logging.DEBUG)
    mayor = login_as("mayor_a")
    for address in ("nouvelle.secretaire@example.org", "refuse@example.org"):
        assert mayor.post("/mairie/membres/inviter", {"email": address, "full_name": "Camille Martin",
                                                      "role": "secretary"},
                          csrf_from="/mairie/membres").status_code == 302
    client.login(world.users["mayor_b"].email, "pas le bon")
    assert any(m.to == ["nouvelle.secretaire@example.org"] for m in smtp.messages)
    # Everything the portal logged (aiosmtpd's "mail.log" is the test's SMTP server, not the portal).
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert "sent" in text and "audit" in text
    for address in ("nouvelle.secretaire@", "refuse@", world.users["mayor_a"].email, world.users["mayor_b"].email):
        assert address not in text, address
    from portal.logs import redact

    assert redact("550 5.1.1 <jean.dupont@example.org>: no such user; +33 6 12 34 56 78") == \
        "550 5.1.1 <<address>>: no such user; <number>"
