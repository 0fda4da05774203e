"""Row-level security on the electoral tables (PostgreSQL only), and the one audited cross-territory lookup under
an ordinary role (superusers bypass RLS, production does not): it sees the department for one COUNT, then the
commune's territory is back."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from tests.conftest import using_postgres

pytestmark = pytest.mark.skipif(not using_postgres(), reason="row-level security needs PostgreSQL (DATABASE_URL)")

@pytest.fixture
def app_role(app):
    """The application role the suite connects as (tests/conftest.py): not a superuser, owner of nothing."""
    from portal.extensions import db

    with app.app_context():
        return db.engine.url.username


def _communes(conn, table="electoral_voter"):
    return sorted(set(conn.execute(text(f"SELECT commune_insee FROM {table}")).scalars()))


@pytest.mark.parametrize("table", ["electoral_voter", "electoral_movement", "electoral_polling_station",
                                   "electoral_election", "electoral_street_bureau"])
def test_raw_sql_sees_only_the_territory(app, elec, world, app_role, table):
    from portal.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT current_user").scalar() == app_role
        assert _communes(conn, table) == []  # setting unset: nothing
        conn.execute(text("SELECT set_config('app.territory', :t, true)"), {"t": world.insee_b})
        assert set(_communes(conn, table)) <= {world.insee_b}
        conn.rollback()


def test_department_lookup_under_rls_then_territory_restored(app, elec, world, app_role):
    from portal import tenancy
    from portal.extensions import db
    from services.electoral import roll

    with app.test_request_context():
        tenancy.activate(frozenset({world.insee_a}))
        conn = db.session.connection()  # the transaction begins: app.territory = Ailleville
        assert conn.exec_driver_sql("SELECT current_user").scalar() == app_role
        assert _communes(conn) == [world.insee_a]
        assert roll.registered_elsewhere_in_department("SECRETNOMB", "Zoé", dt.date(1990, 7, 8), world.insee_a)
        assert not roll.registered_elsewhere_in_department("SECRETNOMB", "Zoé", dt.date(1991, 7, 8), world.insee_a)
        assert _communes(conn) == [world.insee_a]
        assert conn.scalar(text("SELECT current_setting('app.territory')")) == world.insee_a
        db.session.rollback()
