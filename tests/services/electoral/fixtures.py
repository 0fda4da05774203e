"""Factories of the electoral rolls tests, shared by the service's tests and the browser tests. Every person made
here is FICTITIOUS."""
from __future__ import annotations

import datetime as dt

import pytest


@pytest.fixture
def add_voter(app):
    """Create a voter in a commune (system context) with a registration movement; returns its id."""
    from portal.extensions import db
    from services.electoral import roll
    from services.electoral.models import Movement, Voter

    def _add(insee, birth_name, first_names, birth_date, bureau_id=None, **kw):
        with app.app_context():
            v = Voter(commune_insee=insee, birth_name=birth_name, first_names=first_names,
                      birth_date=dt.date.fromisoformat(birth_date), sex=kw.pop("sex", "F"),
                      birth_place=kw.pop("birth_place", "Troyes"), birth_department=kw.pop("birth_department", "10"),
                      bureau_id=bureau_id, status="registered", **kw)
            v.refresh_search()
            db.session.add(v)
            db.session.add(Movement(voter=v, commune_insee=insee, kind="registration", reason="voluntary",
                                    effective_on=dt.date(2020, 1, 10), author="system"))
            db.session.commit()
            return v.id

    return _add
