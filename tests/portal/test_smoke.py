def test_healthz(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "database": "ok"}


def test_mayor_signs_in_and_sees_home(login_as):
    c = login_as("mayor_a")
    body = c.get("/").get_data(as_text=True)
    assert "Ailleville" in body
    assert '<html lang="fr">' in body


def test_healthz_is_503_when_the_database_is_unreachable(app):
    from portal import create_app
    from portal.tasks import init_celery
    from tests.conftest import free_port

    try:
        broken = create_app({
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/nothing",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
        })
        resp = broken.test_client().get("/healthz")
        assert resp.status_code == 503
        assert resp.get_json() == {"status": "error", "database": "unreachable"}
    finally:  # the Celery app is process-wide: give it back to the session's app
        with app.app_context():
            init_celery(app)
