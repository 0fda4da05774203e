"""The service is found once whether it comes from its entry point, from EXTRA_SERVICES, or both (an operator who
lists it in EXTRA_SERVICES after installing the project); another service with the same slug is still refused."""
from __future__ import annotations

import dataclasses

import pytest


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
