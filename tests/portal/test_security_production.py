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
