"""Row-level security on the rows a collectivity (or a département) owns outside territories and audiences
(``portal.audiences.ViewerGuarded``): TdT accounts and signers' certificates (actes_0015_credentials_rls), calendar
addresses and event registrations (desk_0017_owned_rows_rls), a département's cadastre imports
(cadastre_0007_dept_import_rls). As the app role, with the viewer settings a request would write, another
collectivity's row is invisible and cannot be updated. PostgreSQL only."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, text

from tests.conftest import owner_engine, using_postgres

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not using_postgres(), reason="row-level security needs PostgreSQL (DATABASE_URL)"),
]


@pytest.fixture
def owned(app, world):
    """One row of each guarded table for Ailleville and one for Troyes (ids by table and owner), written by the
    schema owner in the system context, deleted afterwards."""
    from portal.audiences import Audience
    from services.actes.models import SignerCertificate, TdtAccount
    from services.cadastre.models import DepartmentImport
    from services.desk.models_public import CalendarToken, Event, EventRegistration

    ids = {}
    users = {world.a: world.users["mayor_a"].id, world.troyes: world.users["mayor_troyes"].id}
    with owner_engine(app).begin() as conn:
        aud = conn.execute(Audience.__table__.insert().values(kind="public", publisher_id=world.dept)
                           .returning(Audience.id)).scalar()
        start = dt.datetime(2030, 5, 4, 9)
        event = conn.execute(Event.__table__.insert().values(
            title="Réunion", starts_at=start, ends_at=start + dt.timedelta(hours=2), audience_id=aud,
            publisher_id=world.dept).returning(Event.id)).scalar()
        for cid, user in users.items():
            for model, values in ((TdtAccount, {}), (SignerCertificate, {"user_id": user, "pkcs12": b"p12"}),
                                  (CalendarToken, {"user_id": user, "token": f"jeton-{cid}"}),
                                  (EventRegistration, {"user_id": user, "event_id": event})):
                ids[model.__tablename__, cid] = conn.execute(model.__table__.insert().values(
                    collectivity_id=cid, **values).returning(model.id)).scalar()
        for code in ("10", "976"):
            ids["cadastre_department_import", code] = conn.execute(DepartmentImport.__table__.insert().values(
                department_code=code, signature=f"sig-{code}", kind="etalab").returning(DepartmentImport.id)).scalar()
    yield ids
    with owner_engine(app).begin() as conn:
        for model in (TdtAccount, SignerCertificate, CalendarToken, EventRegistration, DepartmentImport):
            conn.execute(delete(model.__table__).where(model.__table__.c.id.in_(
                [i for (table, _), i in ids.items() if table == model.__tablename__])))
        conn.execute(delete(Event.__table__).where(Event.__table__.c.id == event))
        conn.execute(delete(Audience.__table__).where(Audience.__table__.c.id == aud))


def _as(app, viewer, statements):
    """Run ``statements(conn)`` as the app role with ``viewer``'s settings; rolled back."""
    from portal.audiences import set_viewer
    from portal.extensions import db

    with app.app_context():
        db.session.remove()
        with db.engine.connect() as conn:
            try:
                set_viewer(conn, viewer)
                return statements(conn)
            finally:
                conn.rollback()


def _viewer(app, cid):
    from portal.audiences import PUBLIC_VIEWER, Viewer, audience_scope
    from portal.extensions import db
    from portal.models import Collectivity

    if cid is None:  # nobody signed in
        return PUBLIC_VIEWER
    with app.app_context(), audience_scope(None):
        return Viewer.of(db.session.get(Collectivity, cid))


OWNED_TABLES = ("actes_tdt_account", "actes_signer_certificate", "desk_calendar_token", "desk_event_registration")


@pytest.mark.parametrize("table", OWNED_TABLES)
def test_a_collectivity_reads_and_writes_its_own_rows_only(app, world, owned, table):
    mine, theirs = owned[table, world.a], owned[table, world.troyes]

    def run(conn):
        seen = set(conn.execute(text(f"SELECT id FROM {table}")).scalars())
        moved = conn.execute(text(f"UPDATE {table} SET collectivity_id = collectivity_id WHERE id = :i"),
                             {"i": theirs}).rowcount
        own = conn.execute(text(f"UPDATE {table} SET collectivity_id = collectivity_id WHERE id = :i"),
                           {"i": mine}).rowcount
        return seen, moved, own

    seen, moved, own = _as(app, _viewer(app, world.a), run)
    assert mine in seen and theirs not in seen
    assert (moved, own) == (0, 1)
    # nobody signed in (public pages) reads none of them
    assert not _as(app, _viewer(app, None), lambda c: c.execute(text(f"SELECT id FROM {table}")).all())


@pytest.mark.parametrize("table", OWNED_TABLES[:2])
def test_a_department_team_reads_the_credentials_of_its_departement_only(app, world, owned, table):
    """The Aube's team reads its communes' TdT accounts and certificates; a team whose département is another
    (Mayotte's settings, same « * ») reads none; the system context (no département) reads all."""
    from portal.audiences import Viewer

    ids = {owned[table, world.a], owned[table, world.troyes]}
    select_ids = lambda c: set(c.execute(text(f"SELECT id FROM {table}")).scalars())  # noqa: E731
    assert ids <= _as(app, _viewer(app, world.dept), select_ids)
    elsewhere = Viewer(world.dept, "department", administered=frozenset(), departments=frozenset({"976"}))
    assert not ids & _as(app, elsewhere, select_ids)
    assert ids <= _as(app, None, select_ids)


def test_the_publisher_of_an_event_reads_its_registrations(app, world, owned):
    regs = {owned["desk_event_registration", world.a], owned["desk_event_registration", world.troyes]}
    from portal.audiences import Viewer

    publisher = Viewer(world.dept, "partner")  # the event's publisher as a plain collectivity viewer (not « * »)
    assert regs <= _as(app, publisher, lambda c: set(c.execute(text("SELECT id FROM desk_event_registration"))
                                                     .scalars()))


def test_department_imports_are_read_by_their_departement_team_only(app, world, owned):
    from portal.audiences import Viewer

    aube, mayotte = owned["cadastre_department_import", "10"], owned["cadastre_department_import", "976"]

    def run(conn):
        seen = set(conn.execute(text("SELECT id FROM cadastre_department_import")).scalars())
        moved = conn.execute(text("UPDATE cadastre_department_import SET done = 1 WHERE id = :i"),
                             {"i": mayotte}).rowcount
        return seen, moved

    seen, moved = _as(app, _viewer(app, world.dept), run)
    assert aube in seen and mayotte not in seen and moved == 0
    # a commune of the Aube has the Aube as département but is no department team
    seen, _ = _as(app, _viewer(app, world.a), run)
    assert aube not in seen
    # the system context (CLI, workers) reads every département's
    assert {aube, mayotte} <= _as(app, None, run)[0]
