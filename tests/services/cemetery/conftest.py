"""Fixtures of the cemetery tests: the service opened to Ailleville (A) and Jaucourt (B), and a small plan in each.

The service is mounted through its entry point once the project is installed, or through ``EXTRA_SERVICES=
services.cemetery:service`` before (tests/conftest.py adds EXTRA_SERVICES to the session's app); the tests are
skipped with a reason when neither is the case."""
from __future__ import annotations

import pytest

from .fixtures import make_plan


@pytest.fixture
def cemetery_world(app, request):
    if app.extensions["service_registry"].get("cemetery") is None:
        pytest.skip("the cemetery service is not installed (pip install -e . or EXTRA_SERVICES=services.cemetery)")
    world, subscribe = request.getfixturevalue("world"), request.getfixturevalue("subscribe")
    subscribe("cemetery", world.a, world.b, world.epci)
    return {"a": make_plan(app, world.insee_a, "Ailleville"), "b": make_plan(app, world.insee_b, "Jaucourt-Secret")}


@pytest.fixture
def system(app):
    """An app context in the system scope (all territories), for tests of the operations."""
    from portal.tenancy import territory_scope

    with app.test_request_context(), territory_scope(None):
        yield
