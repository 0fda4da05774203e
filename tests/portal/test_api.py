"""JSON API: session or personal access token, /me, OpenAPI document."""
import re

from sqlalchemy import select


def _create_token(client, name="Tableur de la mairie"):
    client.post("/profil/jetons", {"token-name": name, "csrf_token": client.csrf("/profil")})
    body = client.get("/profil").get_data(as_text=True)
    m = re.search(r'id="new-token">(ext_[^<]+)<', body)
    assert m, "token not shown once after creation"
    assert 'id="new-token"' not in client.get("/profil").get_data(as_text=True)  # shown once only
    return m.group(1)


def test_me_requires_authentication(client):
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401 and resp.get_json()["status"] == 401


def test_me_with_session(world, login_as):
    data = login_as("secretary_ab", world.b).get("/api/v1/me").get_json()
    assert data["user"]["email"] == world.users["secretary_ab"].email
    assert {m["collectivity"]["insee"] for m in data["memberships"]} == {world.insee_a, world.insee_b}
    assert data["active_collectivity"]["insee"] == world.insee_b
    assert data["enabled_services"] == ["desk", "sample"]  # the information desk needs no convention


def test_token_lifecycle(app, world, login_as):
    from portal.extensions import db
    from portal.models import ApiToken

    web = login_as("mayor_a")
    token = _create_token(web)
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    data = api.get("/api/v1/me", headers=headers).get_json()
    assert data["user"]["email"] == world.users["mayor_a"].email
    assert data["active_collectivity"]["insee"] == world.insee_a
    assert "Set-Cookie" not in api.get("/api/v1/me", headers=headers).headers  # no browser session for a token
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert row.token_hash != token and token not in row.token_hash and row.last_used_at is not None
        tid = row.id
    web.post(f"/profil/jetons/{tid}/revoquer", {}, csrf_from="/profil")
    assert api.get("/api/v1/me", headers=headers).status_code == 401


def test_token_carries_memberships_only(app, world, login_as, add_notes):
    add_notes(**{world.insee_a: "Note A", world.insee_b: "Note B"})
    token = _create_token(login_as("secretary_ab"))
    api = app.test_client()
    h = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/me", headers={**h, "X-Collectivity": str(world.b)}).get_json()[
        "active_collectivity"]["insee"] == world.insee_b
    # A collectivity the user is not a member of is not reachable with the token.
    me = api.get("/api/v1/me", headers={**h, "X-Collectivity": str(world.troyes)}).get_json()
    assert me["active_collectivity"]["insee"] != world.insee_troyes
    notes = api.get("/s/sample/api/notes", headers={**h, "X-Collectivity": str(world.b)}).get_json()
    assert [n["title"] for n in notes] == ["Note B"]


def test_token_is_not_a_browser_session(app, world, login_as):
    token = _create_token(login_as("mayor_a"))
    api = app.test_client()
    resp = api.get("/profil", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 302  # tokens authenticate /api/ only: an account page sends to the sign-in page
    home = api.get("/", headers={"Authorization": f"Bearer {token}"}).get_data(as_text=True)
    assert "Se connecter" in home  # the public home page, not the mayor's


def test_bad_tokens(app, world):
    api = app.test_client()
    for value in ("Bearer ext_nope", "Bearer ", "Basic abc", "Bearer " + "x" * 500):
        assert api.get("/api/v1/me", headers={"Authorization": value}).status_code == 401


def test_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert "/me" in doc["paths"]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_api_errors_are_json(world, login_as):
    resp = login_as("mayor_a").get("/api/v1/nothing-here")
    assert resp.status_code == 404 and resp.get_json()["status"] == 404


def test_a_token_request_costs_few_database_round_trips(app, world, login_as, add_notes, monkeypatch):
    """The portal's part of an API call (token, user, memberships, collectivity, convention, activations, territory)
    is loaded in a handful of statements, whatever the number of memberships: counted, not timed."""
    from sqlalchemy import event

    from portal.extensions import db

    add_notes(**{world.insee_a: "Note A", world.insee_b: "Note B"})
    token = _create_token(login_as("secretary_ab"))
    api = app.test_client()
    h = {"Authorization": f"Bearer {token}", "X-Collectivity": str(world.b)}
    assert api.get("/api/v1/sample/notes", headers=h).status_code == 200  # token's last use written: not counted
    statements = []
    with app.app_context():
        engine = db.engine

    def note(statement):
        statement = statement if isinstance(statement, str) else statement.as_string(None)
        statements.append(statement.split()[0].upper() + " " + " ".join(statement.split()[1:6]))

    if engine.dialect.name == "postgresql":  # on the driver: the portal sends some statements past SQLAlchemy
        import psycopg

        real = psycopg.Cursor.execute

        def counted(self, query, *args, **kwargs):
            note(query)
            return real(self, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, "execute", counted)
        resp = api.get("/api/v1/sample/notes", headers=h)
        monkeypatch.undo()
    else:  # on the driver too: sqlite3's trace callback on the connection the request takes from the pool
        def trace(dbapi_connection, record, proxy):
            dbapi_connection.set_trace_callback(
                lambda sql: None if sql.split()[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK") else note(sql))

        def untrace(dbapi_connection, record):
            dbapi_connection.set_trace_callback(None)

        event.listen(engine, "checkout", trace)
        event.listen(engine, "checkin", untrace)
        try:
            resp = api.get("/api/v1/sample/notes", headers=h)
        finally:
            event.remove(engine, "checkout", trace)
            event.remove(engine, "checkin", untrace)
    assert resp.status_code == 200 and [n["title"] for n in resp.get_json()] == ["Note B"]
    portal_part = [s for s in statements if "sample_note" not in s]
    # One statement loads token, user and context. PostgreSQL adds the set_config of the territory (row-level
    # security); the transaction, which wrote nothing, then ends with COMMIT without asking the server
    # (portal/dbpool.py: psycopg keeps its prepared statements).
    assert len(portal_part) == (2 if engine.dialect.name == "postgresql" else 1), "\n".join(statements)
