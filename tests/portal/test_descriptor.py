"""The plugin contract is declarative: a service's settings, OpenAPI part and migrations folder are fields of its
ServiceDescriptor, which the portal reads (no import side effect, no edit of portal code)."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask_babel import lazy_gettext as _l

from portal.registry import ServiceDescriptor
from portal.settings import Setting

ROOT = Path(__file__).resolve().parents[2]

service = ServiceDescriptor(
    slug="declared",
    name=_l("Declared"),
    description=_l("Declared"),
    settings=(Setting("DECLARED_GREETING", "bonjour", "word the service says"),
              Setting("DECLARED_LIMIT", 3, "how many"),
              Setting("DECLARED_ON", False, "a switch")),
    openapi={"paths": {"/declared/ping": {"get": {"summary": "Ping", "responses": {"200": {
                 "description": "OK", "content": {"application/json": {"schema": {
                     "$ref": "#/components/schemas/DeclaredPing"}}}}}}}},
             "schemas": {"DeclaredPing": {"type": "object", "properties": {"pong": {"type": "boolean"}}}}},
)

misnamed = ServiceDescriptor(slug="misnamed", name=_l("Misnamed"), description=_l("Misnamed"),
                             settings=(Setting("OTHER_KEY", "", "not prefixed with the slug"),))


@pytest.fixture
def other_app(app, monkeypatch):
    """``other_app(services, **config)``: a second app with these EXTRA_SERVICES (the session's Celery wiring is
    given back afterwards)."""
    from portal import create_app
    from portal.tasks import init_celery

    def _make(services, **config):
        return create_app({"EXTRA_SERVICES": services, "TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                           **config})

    yield _make
    with app.app_context():
        init_celery(app)


def test_declared_settings_are_read_through_one_helper(other_app, monkeypatch):
    from portal.settings import setting

    monkeypatch.setenv("DECLARED_LIMIT", "7")
    monkeypatch.setenv("DECLARED_ON", "yes")
    other = other_app(["tests.portal.test_descriptor:service"], DECLARED_GREETING="salut")
    with other.app_context():
        assert setting("DECLARED_GREETING") == "salut"  # the app configuration wins
        assert setting("DECLARED_LIMIT") == 7  # the environment, as the type of the default
        assert setting("DECLARED_ON") is True
        with pytest.raises(KeyError, match="declared by no service"):
            setting("DECLARED_UNKNOWN")
    monkeypatch.delenv("DECLARED_LIMIT")
    with other_app(["tests.portal.test_descriptor:service"]).app_context():
        assert setting("DECLARED_LIMIT") == 3 and setting("DECLARED_GREETING") == "bonjour"


def test_a_setting_must_carry_the_slug_of_its_service(other_app):
    with pytest.raises(ValueError, match="must start with 'MISNAMED_'"):
        other_app(["tests.portal.test_descriptor:misnamed"])


def test_the_openapi_document_reads_the_descriptors(other_app):
    other = other_app(["tests.portal.test_descriptor:service"])
    document = other.test_client().get("/api/v1/openapi.json").get_json()
    assert document["paths"]["/declared/ping"]["get"]["summary"] == "Ping"
    assert document["components"]["schemas"]["DeclaredPing"]["properties"]["pong"] == {"type": "boolean"}
    assert "Me" in document["components"]["schemas"]  # the portal's own schemas stay


def test_settings_cli_prints_the_readme_rows(other_app):
    other = other_app(["tests.portal.test_descriptor:service"])
    out = other.test_cli_runner().invoke(args=["settings", "list"]).output
    assert "| `DECLARED_LIMIT` | `3` | how many |" in out.splitlines()


def test_readme_lists_every_declared_setting(app):
    from portal.settings import markdown_rows

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    with app.app_context():
        missing = [row for row in markdown_rows(app.extensions["service_registry"].all())
                   if row.split("|")[1].strip() not in readme]
    assert not missing, "README.md does not list these declared settings (flask settings list):\n" + "\n".join(missing)


def test_each_service_declares_its_own_migrations_folder(app):
    for service in app.extensions["service_registry"].all():
        if service.migrations:
            folder = Path(service.migrations)
            assert folder.is_dir() and folder.parent.name == service.slug, service.migrations
            assert list(folder.glob(f"{service.slug}_*.py")), f"no revision in {folder}"
