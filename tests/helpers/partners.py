"""Partner organisations for tests (Collectivity of kind ``partner`` with one publisher account): shared by the desk's
tests and the portal's cross-territory sweep."""
from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import select


def add_partner(app, world, password_hash, key: str, name: str) -> int:
    """Get or create the partner ``name`` (collectivities outlive a test) and give it a fresh publisher account,
    registered as ``world.users["partner_<key>"]``; returns the partner's id."""
    from portal.extensions import db
    from portal.models import KIND_PARTNER, Collectivity, Membership, User, fold

    with app.app_context():
        org = db.session.scalar(select(Collectivity).where(Collectivity.kind == KIND_PARTNER, Collectivity.name == name))
        if org is None:
            org = Collectivity(kind=KIND_PARTNER, name=name, search_name=fold(name), department_code="10")
            db.session.add(org)
            db.session.flush()
        user = User(email=f"editeur@{key}.test.example.org", full_name=f"Éditeur {key.upper()}", status="active",
                    password_hash=password_hash)
        db.session.add(user)
        db.session.add(Membership(user=user, collectivity=org, role="partner"))
        db.session.commit()
        world.users[f"partner_{key}"] = SimpleNamespace(id=user.id, email=user.email)
        return org.id
