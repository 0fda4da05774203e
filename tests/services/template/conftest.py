"""The service skeleton mounted as an operator would add a service: ``EXTRA_SERVICES``, no edit of the portal.

``template_app``: a second app on the session's database with the skeleton among its services, its table created,
and Ailleville and Jaucourt subscribed to it (convention and the department's switch). ``template_client(role)``
signs a person of the ``world`` in on that app.
"""
from __future__ import annotations

import pytest

from tests.conftest import PortalClient

SERVICES = ["tests.portal.sample_service:service", "services._template:service"]


@pytest.fixture
def template_app(app, world):
    from portal import create_app
    from portal.extensions import babel, db
    from portal.models import Collectivity, Convention, ServiceActivation
    from portal.tasks import init_celery
    from services._template.models import TemplateBase

    keys = ("SQLALCHEMY_DATABASE_URI", "MAIL_SERVER", "MAIL_PORT", "SERVER_NAME", "BASE_URL", "CELERY_EAGER")
    other = create_app({"TESTING": True, "EXTRA_SERVICES": SERVICES, **{k: app.config[k] for k in keys}})
    # Flask-Babel keeps loaded catalogs per process (one app per process in production): load them again with the
    # skeleton's catalog now, and without it afterwards.
    with other.app_context():
        babel.domain_instance.cache.clear()
        TemplateBase.metadata.create_all(db.engine)
        for collectivity_id in (world.a, world.b):
            coll = db.session.get(Collectivity, collectivity_id)
            convention = db.session.query(Convention).filter_by(collectivity_id=coll.id).one()
            convention.services = [*convention.services, "template"]
            db.session.add(ServiceActivation(collectivity=coll, service_slug="template", enabled=True))
        db.session.commit()
    yield other
    with other.app_context():
        db.session.remove()
        TemplateBase.metadata.drop_all(db.engine)
        db.engine.dispose()
    with app.app_context():
        babel.domain_instance.cache.clear()
        init_celery(app)  # the Celery app is process-wide: give it back to the session's app


@pytest.fixture
def template_client(template_app, world):
    def _client(role: str) -> PortalClient:
        client = PortalClient(template_app)
        assert client.login(world.users[role].email, world.password).status_code == 302
        return client

    return _client
