"""The service is found once whether it comes from its entry point, from EXTRA_SERVICES, or both (an operator who
lists it in EXTRA_SERVICES after installing the project); another service with the same slug is still refused."""
from __future__ import annotations

import dataclasses

import pytest


@pytest.fixture(autouse=True)
def _installed(app):
    """Only where the session's app has the service: its tables exist (a second app importing its models into the
    shared metadata would otherwise send the cleaning of the next tests to tables that were never created)."""
    if app.extensions["service_registry"].get("cemetery") is None:
        pytest.skip("the cemetery service is not installed (pip install -e . or EXTRA_SERVICES=services.cemetery)")


def _app(app, extra):
    from portal import create_app

    keys = ("SQLALCHEMY_DATABASE_URI", "SERVER_NAME", "BASE_URL", "CELERY_EAGER")
    return create_app({"TESTING": True, "EXTRA_SERVICES": extra, **{k: app.config[k] for k in keys}})


def test_the_same_descriptor_twice_is_registered_once(app):
    other = _app(app, ["services.cemetery:service", "services.cemetery:service"])
    registry = other.extensions["service_registry"]
    assert registry.slugs().count("cemetery") == 1
    assert other.url_map.bind("portal.test").match("/s/cemetery/")[0] == "cemetery.index"


def test_another_service_with_the_same_slug_is_refused(app, monkeypatch):
    import services.cemetery as cemetery

    twin = dataclasses.replace(cemetery.service, name="Twin")
    monkeypatch.setattr(cemetery, "twin", twin, raising=False)
    with pytest.raises(ValueError, match="two services share the slug 'cemetery'"):
        _app(app, ["services.cemetery:service", "services.cemetery:twin"])
