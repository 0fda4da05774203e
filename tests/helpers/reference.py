"""Collectivities are reference data: tests/conftest.py never empties them between tests (REFERENCE_TABLES). A test
that changes one (a population, a SIREN, a département) must put it back, or every later test of the session that
reads it sees the change — and fails or passes depending on which files ran before it."""
from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def collectivity_restored(app, insee: str, *columns: str):
    """Run a block that may change ``columns`` of the commune ``insee``, and put their values back afterwards."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import Collectivity

    def _row():
        return db.session.scalar(select(Collectivity).where(Collectivity.insee == insee,
                                                            Collectivity.kind == "commune"))

    with app.app_context():
        saved = {c: getattr(_row(), c) for c in columns}
    try:
        yield
    finally:
        with app.app_context():
            row = _row()
            for column, value in saved.items():
                setattr(row, column, value)
            db.session.commit()
