"""Fixtures of the information desk tests: partner organisations with a publisher each, and news published in the
system context (as a task or the CLI would), addressed to any audience."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

PARTNERS = {"cdg": "Centre de gestion de l'Aube (essai)", "amf": "Association des maires de l'Aube (essai)"}


@pytest.fixture
def partners(app, world, password_hash):
    """Two partners (kept between tests like every collectivity; their accounts are made afresh), each with a
    publisher: ``partners.cdg`` / ``partners.amf`` (ids) and the users ``partner_cdg`` / ``partner_amf`` in
    ``world.users`` so that ``login_as("partner_cdg")`` works."""
    from portal.extensions import db
    from portal.models import KIND_PARTNER, Collectivity, Membership, User, fold

    ids = {}
    with app.app_context():
        for key, name in PARTNERS.items():
            org = db.session.scalar(select(Collectivity).where(Collectivity.kind == KIND_PARTNER,
                                                               Collectivity.name == name))
            if org is None:
                org = Collectivity(kind=KIND_PARTNER, name=name, search_name=fold(name), department_code="10")
                db.session.add(org)
                db.session.flush()
            user = User(email=f"editeur@{key}.test.example.org", full_name=f"Éditeur {key.upper()}",
                        status="active", password_hash=password_hash)
            db.session.add(user)
            db.session.add(Membership(user=user, collectivity=org, role="partner"))
            db.session.flush()
            world.users[f"partner_{key}"] = SimpleNamespace(id=user.id, email=user.email)
            ids[key] = org.id
        db.session.commit()
    return SimpleNamespace(**ids)


@pytest.fixture
def publish(app, world):
    """``publish("Titre", "all", publisher=world.dept, epci_id=…, service_slug=…, member_ids=…, body=…)`` → id."""
    from portal.extensions import db
    from portal.models import Collectivity, User
    from services.desk import operations

    def _publish(title, kind="all", *, publisher=None, author="dept_admin", body="", pinned=False, **audience):
        with app.app_context():
            item = operations.publish_news(
                publisher=db.session.get(Collectivity, publisher or world.dept),
                author=db.session.get(User, world.users[author].id),
                audience=operations.AudienceChoice(kind=kind, **audience), title=title, body=body, pinned=pinned)
            db.session.commit()
            return item.id

    return _publish
