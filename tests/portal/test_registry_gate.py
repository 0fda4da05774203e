"""The service registry and the four steps of the gate (DESIGN.md §3), proven with the test-only service."""
import datetime as dt

from sqlalchemy import select


def test_registry_finds_entry_points_and_extra_services(app):
    registry = app.extensions["service_registry"]  # this app's registry (portal.registry.registry needs a context)

    slugs = set(registry.slugs())
    assert {"electoral", "cadastre", "tenders", "alerts", "sample"} <= slugs
    assert registry.get("sample").deployed
    assert "/s/sample/" in {r.rule for r in app.url_map.iter_rules()}


def test_gate_1_anonymous_is_sent_to_sign_in(client):
    resp = client.get("/s/sample/")
    assert resp.status_code == 302 and "/connexion" in resp.headers["Location"]


def test_gate_3_not_subscribed_is_a_clear_page_not_404(login_as):
    body = login_as("mayor_c").get("/s/sample/")  # Fravaux: no convention
    assert body.status_code == 403
    assert "Sample service" in body.get_data(as_text=True) or "service" in body.get_data(as_text=True).lower()


def test_gate_3_convention_must_be_in_force_and_service_enabled(app, world, login_as, add_notes):
    from portal.extensions import db
    from portal.models import Convention, ServiceActivation

    add_notes(**{world.insee_a: "Note A"})
    client = login_as("mayor_a")
    assert client.get("/s/sample/").status_code == 200
    with app.app_context():
        act = db.session.scalar(select(ServiceActivation).where(ServiceActivation.collectivity_id == world.a))
        act.enabled = False
        db.session.commit()
    assert client.get("/s/sample/").status_code == 403
    with app.app_context():
        act = db.session.scalar(select(ServiceActivation).where(ServiceActivation.collectivity_id == world.a))
        act.enabled = True
        conv = db.session.scalar(select(Convention).where(Convention.collectivity_id == world.a))
        conv.ends_on = dt.date.today() - dt.timedelta(days=1)  # expired yesterday
        db.session.commit()
    assert client.get("/s/sample/").status_code == 403
    with app.app_context():
        conv = db.session.scalar(select(Convention).where(Convention.collectivity_id == world.a))
        conv.ends_on, conv.status = None, "suspended"
        db.session.commit()
    assert client.get("/s/sample/").status_code == 403
    with app.app_context():
        conv = db.session.scalar(select(Convention).where(Convention.collectivity_id == world.a))
        conv.status, conv.services = "active", []
        db.session.commit()
    assert client.get("/s/sample/").status_code == 403


def test_gate_4_permission_of_the_role(world, login_as, add_notes):
    ids = add_notes(**{world.insee_a: "Note A"})
    note = ids[world.insee_a]
    assert login_as("mayor_a").get(f"/s/sample/notes/{note}/secret").status_code == 200
    assert login_as("secretary_a").get(f"/s/sample/notes/{note}/secret").status_code == 403
    assert login_as("elected_a").get(f"/s/sample/notes/{note}/secret").status_code == 403


def test_gate_4_mayor_grants_a_service_permission(app, world, login_as, add_notes):
    from portal.extensions import db
    from portal.models import Membership

    note = add_notes(**{world.insee_a: "Note A"})[world.insee_a]
    sec = login_as("secretary_a")
    assert sec.get(f"/s/sample/notes/{note}/secret").status_code == 403
    mayor = login_as("mayor_a")
    with app.app_context():
        m = db.session.scalar(select(Membership).where(Membership.user_id == world.users["secretary_a"].id))
        mid = m.id
    page = mayor.get(f"/mairie/membres/{mid}").get_data(as_text=True)
    assert "sample.secret" in page
    resp = mayor.post(f"/mairie/membres/{mid}", {"role": "secretary", "extra_permissions": "sample.secret"},
                      csrf_from=f"/mairie/membres/{mid}")
    assert resp.status_code == 302
    assert sec.get(f"/s/sample/notes/{note}/secret").get_data(as_text=True) == "secret-Note A"


def test_home_shows_tiles_by_state(world, login_as):
    body = login_as("mayor_a").get("/").get_data(as_text=True)
    assert 'class="tile tile-subscribed"' in body and 'href="/s/sample/"' in body
    assert "tile-not_subscribed" in body  # the real services Ailleville's test convention does not cover
    body_c = login_as("mayor_c").get("/").get_data(as_text=True)
    assert "tile-not_subscribed" in body_c and 'href="/s/sample/"' not in body_c


def test_descriptor_without_blueprint_has_no_pages(app):
    registry = app.extensions["service_registry"]  # this app's registry (portal.registry.registry needs a context)

    rules = {r.rule for r in app.url_map.iter_rules()}
    for service in registry.all():
        if not service.deployed:
            assert not any(r.startswith((f"/s/{service.slug}", f"/p/{service.slug}")) for r in rules), service.slug


def test_service_api_blueprint_is_gated_and_token_friendly(app, world, login_as, add_notes):
    add_notes(**{world.insee_a: "Note A", world.insee_b: "Note B"})
    anonymous = app.test_client()
    assert anonymous.get("/api/v1/sample/notes").status_code == 401
    mayor = login_as("mayor_a")
    assert [n["title"] for n in mayor.get("/api/v1/sample/notes").get_json()] == ["Note A"]
    assert login_as("mayor_c").get("/api/v1/sample/notes").status_code == 403  # not subscribed
    # A session calling an unsafe method must send the CSRF token; a token client needs none.
    assert mayor.http.post("/api/v1/sample/notes", json={"title": "x", "commune_insee": world.insee_a}
                           ).status_code == 400
    ok = mayor.http.post("/api/v1/sample/notes", json={"title": "x", "commune_insee": world.insee_a},
                         headers={"X-CSRFToken": mayor.csrf("/profil")})
    assert ok.status_code == 201
    foreign = mayor.http.post("/api/v1/sample/notes", json={"title": "y", "commune_insee": world.insee_b},
                              headers={"X-CSRFToken": mayor.csrf("/profil")})
    assert foreign.status_code == 403 and foreign.get_json()["status"] == 403


def test_public_blueprint_needs_no_sign_in(app, world, add_notes):
    add_notes(**{world.insee_a: "Note A"})
    resp = app.test_client().get(f"/p/sample/{world.insee_a}")
    assert resp.status_code == 200 and resp.get_json() == {"commune": world.insee_a, "notes": 1}


def test_services_add_periodic_tasks_to_the_beat_schedule(app):
    import datetime as dt

    registry = app.extensions["service_registry"]  # this app's registry (portal.registry.registry needs a context)
    from portal.tasks import init_celery

    sample = registry.get("sample")
    sample.beat_schedule = {"sample-tick": {"task": "portal.flush_outbox", "schedule": dt.timedelta(minutes=5)}}
    try:
        conf = init_celery(app).conf
        assert {"flush-email-outbox", "sample-tick"} <= set(conf.beat_schedule)
    finally:
        sample.beat_schedule = {}
        init_celery(app)


def test_service_for_communes_only_is_refused_to_an_epci(app, world, login_as, subscribe):
    registry = app.extensions["service_registry"]  # this app's registry (portal.registry.registry needs a context)

    sample = registry.get("sample")
    sample.collectivity_kinds = ("commune",)
    try:
        epci = login_as("epci_user")
        assert epci.get("/s/sample/").status_code == 403
        assert 'href="/s/sample/"' not in epci.get("/").get_data(as_text=True)
        assert login_as("mayor_a").get("/s/sample/").status_code == 200
    finally:
        sample.collectivity_kinds = ("commune", "epci")


def test_home_panel_of_a_subscribed_service(app, world, login_as):
    registry = app.extensions["service_registry"]  # this app's registry (portal.registry.registry needs a context)

    sample = registry.get("sample")
    sample.home_panel = lambda collectivity, permissions: f'<section id="sample-panel">{collectivity.name}</section>'
    try:
        assert '<section id="sample-panel">Ailleville</section>' in login_as("mayor_a").get("/").get_data(as_text=True)
        assert "sample-panel" not in login_as("mayor_c").get("/").get_data(as_text=True)  # not subscribed
    finally:
        sample.home_panel = None


def test_services_settings_come_from_the_environment(app, monkeypatch):
    from portal import create_app
    from portal.tasks import init_celery

    monkeypatch.setenv("SAMPLE_GREETING", "bonjour")
    monkeypatch.setenv("NOTASERVICE_X", "1")
    try:
        other = create_app({"EXTRA_SERVICES": ["tests.portal.sample_service:service"], "TESTING": True})
        assert other.config["SAMPLE_GREETING"] == "bonjour"
        assert "NOTASERVICE_X" not in other.config
    finally:  # the Celery app is process-wide: give it back to the session's app
        with app.app_context():
            init_celery(app)


def test_a_second_app_does_not_change_the_services_of_the_first(app, world, login_as):
    """Each app has its own registry: building another one (a tool, a test) leaves this one's gate intact."""
    from portal import create_app
    from portal.tasks import init_celery

    try:
        other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "EXTRA_SERVICES": []})
        assert "sample" not in other.extensions["service_registry"].slugs()
        assert "sample" in app.extensions["service_registry"].slugs()
        c = login_as("mayor_a")
        assert c.post("/s/sample/notes", {"title": "ok", "commune_insee": world.insee_a}).status_code == 201
    finally:  # the Celery app is process-wide: give it back to the session's app
        with app.app_context():
            init_celery(app)


def test_menu_lists_the_subscribed_services_and_their_pages(world, login_as, subscribe):
    mayor = login_as("mayor_a").get("/s/sample/").get_data(as_text=True)
    assert 'class="service-nav"' in mayor  # the mayor holds sample.secret: two entries, shown as a sub-menu
    assert 'href="/s/sample/secrets"' in mayor and 'aria-current="page">Notes' in mayor.replace("\n", "")
    secretary = login_as("secretary_a").get("/").get_data(as_text=True)
    assert 'href="/s/sample/"' in secretary and 'href="/s/sample/secrets"' not in secretary
    # Fravaux has no convention: no entry for the service in its menu.
    assert 'href="/s/sample/"' not in login_as("mayor_c").get("/").get_data(as_text=True).split("<main")[0]


def test_department_pages_of_a_service_are_for_the_department_only(app, world, login_as, add_notes):
    add_notes(**{world.insee_a: "Lavoir", world.insee_b: "Four", "_" + world.insee_a: "Puits"})
    admin = login_as("dept_admin")
    resp = admin.get("/admin/s/sample/")
    assert resp.status_code == 200
    assert resp.get_json() == {"counts": {world.insee_a: 2, world.insee_b: 1}}
    assert 'href="/admin/s/sample/"' in admin.get("/admin/collectivites").get_data(as_text=True)
    assert admin.post("/admin/s/sample/purge").status_code == 200
    agent = login_as("dept_agent")
    assert agent.get("/admin/s/sample/").status_code == 200
    assert agent.post("/admin/s/sample/purge").status_code == 403  # collectivities.admin only
    for key in ("mayor_a", "secretary_ab", "epci_user"):
        assert login_as(key).get("/admin/s/sample/").status_code == 403, key
    anonymous = app.test_client().get("/admin/s/sample/")
    assert anonymous.status_code == 302 and "/connexion" in anonymous.headers["Location"]
