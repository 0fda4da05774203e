"""Sign in/out, throttling, activation, invitation and reset links, password rules."""
import datetime as dt
import re

from sqlalchemy import func, select


def _audit_actions(app, **filters):
    from portal.extensions import db
    from portal.models import AuditEvent

    with app.app_context():
        return [e.action for e in db.session.scalars(select(AuditEvent).filter_by(**filters).order_by(AuditEvent.id))]


def test_sign_in_and_out(app, world, client):
    resp = client.login(world.users["mayor_a"].email)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert "Ailleville" in client.get("/").get_data(as_text=True)
    assert client.post("/deconnexion", csrf_from="/").status_code == 302
    assert client.get("/profil").status_code == 302  # signed out: the pages of an account lead to the sign-in
    public_home = client.get("/")  # the portal's public home page for people without an account
    assert public_home.status_code == 200 and 'href="/connexion"' in public_home.get_data(as_text=True)
    assert "Ailleville" not in public_home.get_data(as_text=True)
    assert "auth.login" in _audit_actions(app) and "auth.logout" in _audit_actions(app)


def test_wrong_password_gives_one_message_for_all_cases(world, client):
    for email in (world.users["mayor_a"].email, "personne@nulle-part.example.org"):
        resp = client.login(email, "mauvais mot de passe")
        assert resp.status_code == 200
        assert "Incorrect e-mail address or password." in resp.get_data(as_text=True) or \
            "incorrect" in resp.get_data(as_text=True).lower()


def test_csrf_is_required_on_login(world, client):
    resp = client.http.post("/connexion", data={"email": world.users["mayor_a"].email, "password": world.password})
    assert resp.status_code in (200, 400)
    assert client.get("/profil").status_code == 302  # still not signed in


def test_throttling_after_five_failures_on_one_account(app, world, client):
    email = world.users["mayor_a"].email
    for _ in range(5):
        assert client.login(email, "pas le bon").status_code == 200
    resp = client.login(email)  # right password, but locked
    assert resp.status_code == 429
    assert client.get("/profil").status_code == 302
    assert "auth.locked" in _audit_actions(app)
    # Another account from another address is not locked by it.
    other = type(client)(app)
    other.http.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert other.login(world.users["mayor_b"].email).status_code == 302


def test_throttling_by_address_across_accounts(app, world, client, monkeypatch):
    monkeypatch.setitem(app.config, "SIGNIN_ADDRESS_MAX_FAILURES", 8)  # 50 by default
    for i in range(7):
        client.login(f"essai{i}@example.org", "pas le bon")
    assert client.login(world.users["mayor_b"].email).status_code == 302
    client.post("/deconnexion", csrf_from="/")
    client.login("essai8@example.org", "pas le bon")
    assert client.login(world.users["mayor_b"].email).status_code == 429


def test_lock_expires_after_fifteen_minutes(app, world, client):
    from portal.extensions import db
    from portal.models import LoginAttempt

    email = world.users["mayor_a"].email
    for _ in range(5):
        client.login(email, "pas le bon")
    with app.app_context():
        for a in db.session.scalars(select(LoginAttempt)):
            a.at = a.at - dt.timedelta(minutes=16)
        db.session.commit()
    assert client.login(email).status_code == 302


def test_suspended_account_cannot_sign_in_and_is_signed_out(app, world, login_as):
    from portal.extensions import db
    from portal.models import User

    c = login_as("mayor_a")
    with app.app_context():
        u = db.session.get(User, world.users["mayor_a"].id)
        u.status = "suspended"
        u.session_version += 1
        db.session.commit()
    assert c.get("/profil").status_code == 302
    assert c.login(world.users["mayor_a"].email).status_code == 200


def test_forgot_password_by_email_single_use(app, world, client, smtp):
    email = world.users["secretary_a"].email
    resp = client.post("/mot-de-passe-oublie", {"email": email}, csrf_from="/mot-de-passe-oublie")
    assert resp.status_code == 302
    # Unknown address: same answer, no e-mail.
    client.post("/mot-de-passe-oublie", {"email": "inconnu@example.org"}, csrf_from="/mot-de-passe-oublie")
    assert [m.to for m in smtp.messages] == [[email]]
    link = re.search(r"http://portal\.test(/mot-de-passe/\S+)", smtp.messages[0].text).group(1)
    new_pw = "Un nouveau mot de passe solide 2026"
    page = client.get(link)
    assert page.status_code == 200
    resp = client.post(link, {"password": new_pw, "confirm": new_pw}, csrf_from=link)
    assert resp.status_code == 302
    assert client.get(link).status_code == 410  # used
    fresh = type(client)(app)
    assert fresh.login(email, world.password).status_code == 200  # old password gone
    assert fresh.login(email, new_pw).status_code == 302


def test_tokens_are_stored_hashed_and_expire(app, world, client, smtp):
    from portal.extensions import db
    from portal.models import OneTimeToken

    client.post("/mot-de-passe-oublie", {"email": world.users["mayor_a"].email}, csrf_from="/mot-de-passe-oublie")
    token = re.search(r"/mot-de-passe/(\S+)", smtp.messages[0].text).group(1)
    with app.app_context():
        row = db.session.scalar(select(OneTimeToken))
        assert row.token_hash != token and token not in row.token_hash and len(row.token_hash) == 64
        assert dt.timedelta(hours=47) < row.expires_at - row.created_at <= dt.timedelta(hours=48)
        row.expires_at = row.created_at - dt.timedelta(seconds=1)
        db.session.commit()
    assert client.get(f"/mot-de-passe/{token}").status_code == 410


def test_password_rules(app, world, client, smtp):
    client.post("/mot-de-passe-oublie", {"email": world.users["mayor_a"].email}, csrf_from="/mot-de-passe-oublie")
    link = re.search(r"http://portal\.test(/mot-de-passe/\S+)", smtp.messages[0].text).group(1)
    for bad in ("court", "password1234", "aaaaaaaaaaaaaaaa", "maire-ailleville-2026"):
        body = client.post(link, {"password": bad, "confirm": bad}, csrf_from=link).get_data(as_text=True)
        assert 'class="error-text"' in body, bad
    body = client.post(link, {"password": "Abcdefghijkl9!", "confirm": "autre chose 12345"},
                       csrf_from=link).get_data(as_text=True)
    assert 'class="error-text"' in body


def test_password_hash_is_argon2(app, world):
    from portal.extensions import db
    from portal.models import User

    with app.app_context():
        assert db.session.get(User, world.users["mayor_a"].id).password_hash.startswith("$argon2id$")


def test_open_redirect_is_refused(world, client):
    token = client.csrf("/connexion")
    resp = client.http.post("/connexion", data={"email": world.users["mayor_a"].email, "password": world.password,
                                                "csrf_token": token, "next": "https://evil.example.com/"})
    assert resp.headers["Location"] == "/"


def test_session_cookie_flags(app, world, client):
    resp = client.login(world.users["mayor_a"].email)
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secure_cookie_outside_debug_with_https(monkeypatch):
    from portal.config import load_config

    monkeypatch.setenv("BASE_URL", "https://extranet.aube.fr")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    assert load_config()["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("FLASK_DEBUG", "1")
    assert load_config()["SESSION_COOKIE_SECURE"] is False


def test_security_headers(client):
    resp = client.get("/connexion")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"]
    assert "<script>" not in resp.get_data(as_text=True) and " style=" not in resp.get_data(as_text=True)


def test_every_form_has_a_csrf_token(world, login_as):
    c = login_as("mayor_a")
    for url in ("/", "/profil", "/mairie/membres", "/mairie/membres/inviter", "/profil/mot-de-passe"):
        body = c.get(url).get_data(as_text=True)
        forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", body, re.S)
        assert all("csrf_token" in f for f in forms), url


def test_failed_login_count(app, world, client):
    from portal.extensions import db
    from portal.models import LoginAttempt

    client.login(world.users["mayor_a"].email, "faux")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 1
