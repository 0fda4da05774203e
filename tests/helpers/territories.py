"""Other départements beside the session's Aube (tests/data/territory/SOURCES.md), and the way back."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

DATA = Path(__file__).resolve().parents[1] / "data" / "territory"


def load_department(app, code: str, folder: str | None = None):
    from portal.extensions import db
    from portal.territory import load_department as load

    with app.app_context():
        report = load(code, DATA / (folder or code))
        db.session.commit()
    return report


def restore_reference(app):
    """Back to the session's reference data: the Aube alone, as its 2026 files give it, and no operator."""
    from portal.demo import load_territory
    from portal.extensions import db
    from portal.models import Collectivity, epci_members, operator_communes
    from tests.conftest import owner_engine

    with app.app_context():
        db.session.remove()
        with owner_engine(app).begin() as conn:
            foreign = select(Collectivity.id).where(Collectivity.department_code != "10")
            conn.execute(operator_communes.delete())
            conn.execute(epci_members.delete().where(epci_members.c.commune_id.in_(foreign)))
            conn.execute(epci_members.delete().where(epci_members.c.epci_id.in_(foreign)))
            conn.execute(Collectivity.__table__.delete().where(
                ((Collectivity.department_code != "10") & (Collectivity.kind != "partner"))
                | (Collectivity.kind == "operator")))
        load_territory()
        db.session.commit()
