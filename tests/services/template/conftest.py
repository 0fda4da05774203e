"""The service skeleton mounted as an operator would add a service: ``EXTRA_SERVICES``, no edit of the portal.

``template_app``: a second app on the session's database with the skeleton among its services, its table created,
and Ailleville and Jaucourt subscribed to it (convention and the department's switch). ``template_client(role)``
signs a person of the ``world`` in on that app.
"""
from __future__ import annotations

import pytest

from tests.conftest import PortalClient, owner_engine, using_postgres

SERVICES = ["tests.portal.sample_service:service", "services._template:service"]


def _create_tables(app, base) -> None:
    """The skeleton's tables, made as a migration would make them: by the schema's owner, with the row-level
    security policy of every territory-scoped table on PostgreSQL (the application role owns nothing)."""
    from portal.tenancy import rls_policy_sql

    owner = owner_engine(app)
    base.metadata.create_all(owner)
    if using_postgres():
        with owner.begin() as conn:
            for table in base.metadata.sorted_tables:
                for stmt in rls_policy_sql(table.name):
                    conn.exec_driver_sql(stmt)


@pytest.fixture
def template_app(app, world):
    from portal import create_app
    from portal.extensions import babel, db
    from portal.models import Collectivity, Convention, ServiceActivation
    from services._template.models import TemplateBase

    keys = ("SQLALCHEMY_DATABASE_URI", "MAIL_SERVER", "MAIL_PORT", "SERVER_NAME", "BASE_URL", "CELERY_EAGER")
    other = create_app({"TESTING": True, "EXTRA_SERVICES": SERVICES, **{k: app.config[k] for k in keys}})
    # Flask-Babel keeps loaded catalogs per process (one app per process in production): load them again with the
    # skeleton's catalog now, and without it afterwards.
    with other.app_context():
        babel.domain_instance.cache.clear()
        _create_tables(app, TemplateBase)
        for collectivity_id in (world.a, world.b):
            coll = db.session.get(Collectivity, collectivity_id)
            convention = db.session.query(Convention).filter_by(collectivity_id=coll.id).one()
            convention.services = [*convention.services, "template"]
            db.session.add(ServiceActivation(collectivity=coll, service_slug="template", enabled=True))
        db.session.commit()
    yield other
    with other.app_context():
        db.session.remove()
        TemplateBase.metadata.drop_all(owner_engine(app))
        db.engine.dispose()
    with app.app_context():
        babel.domain_instance.cache.clear()  # Celery goes back to the session's app by tests/conftest.py


@pytest.fixture
def template_client(template_app, world):
    def _client(role: str) -> PortalClient:
        client = PortalClient(template_app)
        assert client.login(world.users[role].email, world.password).status_code == 302
        return client

    return _client
