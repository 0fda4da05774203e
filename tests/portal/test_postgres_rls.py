"""Row-level security, the second line of defence of DESIGN.md §2 (PostgreSQL only).

The ORM filter of ``portal.tenancy`` does not see raw SQL; on PostgreSQL the policies of
``portal.tenancy.rls_policy_sql`` (installed on ``sample_note`` by the ``app`` fixture) still restrict every
statement to the INSEE codes of the ``app.territory`` setting that tenancy sets for each transaction.

Superusers bypass row-level security, like any role with BYPASSRLS, and a table's owner may switch it off; so
the suite connects the app as the application role of ``portal.dbroles`` (not a superuser, owner of nothing, rows
granted by the migrations), and the tests below prove that a raw ``SELECT * FROM sample_note`` on the app's own
connections returns only the territory's rows.
"""
from __future__ import annotations

import pytest
from flask import template_rendered
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.conftest import using_postgres

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not using_postgres(),
                       reason="row-level security needs PostgreSQL: DATABASE_URL is not a postgresql:// URL (SQLite "
                              "run; CI's second run sets it)"),
]

@pytest.fixture(scope="module")
def app_role(app):
    """The role the app under test connects as."""
    from portal.extensions import db

    with app.app_context():
        return db.engine.url.username


@pytest.fixture
def as_app_role(app, app_role):
    """``with as_app_role(territory) as conn``: a transaction of the app's engine, ``app.territory`` set to
    ``territory`` (a string; None leaves it unset), rolled back at the end."""
    from contextlib import contextmanager

    from portal.extensions import db

    @contextmanager
    def _run(territory):
        with app.app_context(), db.engine.connect() as conn:
            if territory is not None:
                conn.execute(text("SELECT set_config('app.territory', :t, true)"), {"t": territory})
            try:
                yield conn
            finally:
                conn.rollback()

    return _run


def _communes(conn) -> list[str]:
    return sorted(conn.execute(text("SELECT commune_insee FROM sample_note")).scalars())


@pytest.fixture
def notes(world, add_notes):
    return add_notes(**{world.insee_a: "Lavoir d'Ailleville", world.insee_b: "Four de Jaucourt",
                        world.insee_troyes: "Halles de Troyes"})


def test_the_role_is_subject_to_rls(as_app_role, app_role):
    with as_app_role("*") as conn:
        row = conn.execute(text(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")).one()
        assert tuple(row) == (app_role, False, False)
        enabled, forced = conn.execute(text(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'sample_note'")).one()
        assert enabled and forced


def test_raw_select_sees_only_the_territory(world, notes, as_app_role):
    with as_app_role(world.insee_a) as conn:
        assert _communes(conn) == [world.insee_a]
        # Asking for a foreign row by id does not help.
        assert conn.execute(text("SELECT count(*) FROM sample_note WHERE id = :i"),
                            {"i": notes[world.insee_b]}).scalar() == 0
    # An EPCI's territory is the list of its member communes.
    with as_app_role(f"{world.insee_a},{world.insee_b}") as conn:
        assert _communes(conn) == sorted([world.insee_a, world.insee_b])


def test_no_setting_sees_nothing(world, notes, as_app_role):
    with as_app_role(None) as conn:
        assert conn.execute(text("SELECT current_setting('app.territory', true)")).scalar() in (None, "")
        assert _communes(conn) == []
    with as_app_role("") as conn:
        assert _communes(conn) == []


def test_system_context_sees_everything(world, notes, as_app_role):
    with as_app_role("*") as conn:
        assert _communes(conn) == sorted([world.insee_a, world.insee_b, world.insee_troyes])


def test_writes_outside_the_territory_are_refused(world, notes, as_app_role):
    insert = text("INSERT INTO sample_note (title, secret, commune_insee) VALUES ('x', '', :c)")
    with as_app_role(world.insee_a) as conn:
        conn.execute(insert, {"c": world.insee_a})  # its own commune: allowed
    with as_app_role(world.insee_a) as conn:
        with pytest.raises(DBAPIError, match="row-level security"):
            conn.execute(insert, {"c": world.insee_b})
    with as_app_role(world.insee_a) as conn:
        # Moving one's own row to another commune fails the WITH CHECK clause too …
        with pytest.raises(DBAPIError, match="row-level security"):
            conn.execute(text("UPDATE sample_note SET commune_insee = :b WHERE id = :i"),
                         {"b": world.insee_b, "i": notes[world.insee_a]})
    with as_app_role(world.insee_a) as conn:
        # … and foreign rows are out of reach of UPDATE and DELETE (no error, nothing touched).
        assert conn.execute(text("UPDATE sample_note SET title = 'pwned' WHERE id = :i"),
                            {"i": notes[world.insee_b]}).rowcount == 0
        assert conn.execute(text("DELETE FROM sample_note WHERE commune_insee <> :a"),
                            {"a": world.insee_a}).rowcount == 0
    with as_app_role("*") as conn:
        assert conn.execute(text("SELECT count(*) FROM sample_note WHERE title = 'pwned'")).scalar() == 0


def _spy_during_request(app, client, url):
    """Run raw SQL on the request's own session while the page renders (after the view's queries)."""
    from portal.extensions import db

    seen = {}

    def spy(sender, template, context, **extra):
        if seen:
            return
        session = db.session
        seen["setting"] = session.execute(text("SELECT current_setting('app.territory', true)")).scalar()
        seen["as_app_role"] = _communes(session)

    with template_rendered.connected_to(spy, app):
        resp = client.get(url)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert seen, "no template rendered during the request"
    return seen, resp.get_data(as_text=True)


def test_a_request_sets_the_territory_and_raw_sql_cannot_leak(app, app_role, world, notes, login_as):
    seen, body = _spy_during_request(app, login_as("mayor_a"), "/s/sample/")
    assert seen["setting"] == world.insee_a  # set by portal.tenancy for the request's transaction
    # Raw SQL escapes the ORM filter, but not row-level security: the app's role is an ordinary one.
    assert seen["as_app_role"] == [world.insee_a]
    assert "Lavoir d&#39;Ailleville" in body and "Jaucourt" not in body


def test_an_epci_request_covers_its_member_communes(app, app_role, world, notes, login_as):
    seen, _ = _spy_during_request(app, login_as("epci_user"), "/s/sample/")
    codes = seen["setting"].split(",")
    assert world.insee_a in codes and world.insee_b in codes and world.insee_troyes not in codes
    assert seen["as_app_role"] == sorted([world.insee_a, world.insee_b])


def test_the_setting_does_not_outlive_the_transaction(app, world, login_as):
    """``SET LOCAL``: a pooled connection given to the next user must not keep the previous user's territory."""
    from portal.extensions import db

    assert login_as("mayor_a").get("/s/sample/").status_code == 200
    with app.app_context():
        conns = [db.engine.connect() for _ in range(db.engine.pool.size())]  # every pooled connection
        try:
            for conn in conns:
                assert conn.execute(text("SELECT current_setting('app.territory', true)")).scalar() in (None, "")
        finally:
            for conn in conns:
                conn.close()


def test_every_territory_scoped_table_of_the_migrations_has_its_policy(app):
    """README, "Writing a service": a TerritoryScoped table gets its RLS policy in its migration
    (``rls_policy_sql``). A table without one would leave raw SQL unguarded; this test names it."""
    from portal.extensions import db
    from portal.tenancy import TerritoryScoped

    scoped = sorted({m.local_table.name for m in db.Model.registry.mappers
                     if issubclass(m.class_, TerritoryScoped) and m.local_table.name in db.metadata.tables})
    with app.app_context(), db.engine.connect() as conn:
        missing = []
        for table in scoped:
            row = conn.execute(text(
                "SELECT c.relrowsecurity, c.relforcerowsecurity, "
                "       (SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname AND p.schemaname = n.nspname)"
                "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relname = :t AND n.nspname = current_schema()"), {"t": table}).one_or_none()
            if row is None or not (row[0] and row[1] and row[2]):
                missing.append(table)
    assert not missing, (f"TerritoryScoped tables without row-level security after the migrations: {missing}; "
                         f"add `for stmt in rls_policy_sql(table): op.execute(stmt)` on PostgreSQL to their migration")


# Tables with a collectivity_id or department_code column and no row-level security. Every other such table must
# have it enabled, forced, and at least one policy (the test below); a new tenant-owned table lands here only with
# its reason.
WITHOUT_RLS_BY_DESIGN = {
    # The tenancy itself: reference data read before any collectivity is active (login, switching, routing by host).
    "collectivity": "reference data: the territory of every request is read from it",
    # Portal administration rows, owned by a collectivity and read across collectivities by their department team
    # (portal.tenancy.administered_ids) or before a collectivity is chosen (memberships at login); no setting
    # carries « the active collectivity » to PostgreSQL: portal.tenancy.owned_or_404 / owned_query guard them.
    "membership": "read at login, before a collectivity is active",
    "convention": "department administration (owned_or_404)",
    "service_activation": "department administration; read by the registry gate of every request",
    "audit_event": "the journal; department teams read their collectivities' (owned_query)",
    "support_session": "department staff's audited support mode, read before the territory is set",
    # The desk's directory: every member reads every mairie's entry (tests/services/desk/test_directory.py); which
    # fields residents see is each field's « published » flag, a column rule no row policy could express.
    "desk_directory_entry": "directory shared by all members",
    "desk_directory_person": "directory shared by all members",
}
# Tenant-owned tables that still lack a policy: raw SQL on them is not narrowed. Empty now; a new one lands here only
# with its reason, and should get its policy (and leave this list) in a migration of its service. (The credentials of
# actes, the calendar addresses and event registrations of the desk and the cadastre's département imports got theirs:
# tests/portal/test_postgres_rls_owned.py; the forum's messages and the consultations of tenders too:
# tests/portal/test_postgres_rls_shared.py.)
WITHOUT_RLS_YET: set[str] = set()


def test_every_tenant_owned_table_has_row_level_security(app):
    """Every table with a ``collectivity_id`` or ``department_code`` column has row-level security enabled and forced
    on the owner (or not forced, for the audience tables read by SECURITY DEFINER functions, desk_0012) with at least
    one policy — unless it is in one of the two lists above, each with its reason."""
    from portal.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "       (SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname AND p.schemaname = n.nspname)"
            "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND EXISTS ("
            "       SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
            "          AND a.attname IN ('collectivity_id', 'department_code'))"
            " ORDER BY c.relname")).all()
    tables = {name for name, *_ in rows}
    # not forced on purpose: read by the owner's SECURITY DEFINER functions of desk_0012_audience_rls
    not_forced = {"audience", "audience_member"}
    unguarded = sorted(name for name, enabled, forced, policies in rows
                       if not (enabled and (forced or name in not_forced) and policies)
                       and name not in WITHOUT_RLS_BY_DESIGN and name not in WITHOUT_RLS_YET)
    assert "desk_forum_category" in tables and "tender" in tables  # the query finds what it must
    assert not unguarded, (f"tenant-owned tables without row-level security: {unguarded}; give them a policy in "
                           f"their migration, or a reason in WITHOUT_RLS_BY_DESIGN")
    # the lists stay true: a table that got its policy (or disappeared) leaves them
    guarded = {name for name, enabled, forced, policies in rows if enabled and policies}
    stale = sorted((set(WITHOUT_RLS_BY_DESIGN) | WITHOUT_RLS_YET) - (tables - guarded))
    assert not stale, f"listed as without row-level security but guarded or gone: {stale}"


def test_row_level_security_is_in_force_for_the_app_role(app, app_role):
    """The app under test connects as a role that is not a superuser, has no BYPASSRLS, owns nothing (so cannot
    switch row-level security off) and may not change the schema; the owner role of DATABASE_OWNER_URL migrated."""
    from sqlalchemy.engine import make_url

    from portal.extensions import db

    owner = make_url(app.config["DATABASE_OWNER_URL"]).username
    assert owner != app_role
    with app.app_context(), db.engine.connect() as conn:
        assert conn.execute(text("SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
                                 "WHERE rolname = current_user")).one() == (False, False, False, False)
        owned = conn.execute(text(
            "SELECT c.relname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.rolname = current_user AND n.nspname = 'public'"
        )).scalars().all()
        assert owned == []
        assert conn.scalar(text("SELECT tableowner FROM pg_tables WHERE tablename = 'sample_note'")) == owner
        assert conn.scalar(text("SELECT tableowner FROM pg_tables WHERE tablename = 'collectivity'")) == owner
        assert conn.scalar(text("SELECT has_schema_privilege(current_user, 'public', 'CREATE')")) is False
        with pytest.raises(DBAPIError, match="must be owner"):
            conn.exec_driver_sql("ALTER TABLE sample_note DISABLE ROW LEVEL SECURITY")
        conn.rollback()
        # Rows of every table of the migrations may be read and written (grants given by `flask db upgrade`).
        missing = conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'spatial_ref_sys' "
            "AND NOT (SELECT bool_and(has_table_privilege(current_user, format('public.%I', tablename), p)) "
            "         FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) p)"
        )).scalars().all()
        assert missing == []


def test_territory_scope_entered_mid_transaction_applies_to_row_level_security(app, world, notes):
    """A department page or a webhook (request territory: none) writes for a commune inside territory_scope after
    its transaction began: row-level security must see the scope too, or the UPDATE silently changes nothing; the
    request's territory is back after the block. Also a worker-like autocommit connection with
    connection_territory (the alerts outcome writer's path)."""
    from portal import tenancy
    from portal.extensions import db

    with app.test_request_context("/p/webhook"):
        tenancy.activate(frozenset())  # a public request: no territory
        assert db.session.execute(text("SELECT count(*) FROM sample_note")).scalar() == 0  # transaction begun
        with tenancy.territory_scope({world.insee_b}):
            changed = db.session.execute(text("UPDATE sample_note SET title = 'vu' WHERE id = :i"),
                                         {"i": notes[world.insee_b]}).rowcount
        assert changed == 1
        assert db.session.execute(text("SELECT count(*) FROM sample_note")).scalar() == 0  # back to none
        db.session.commit()
    with app.app_context(), db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        update = text("UPDATE sample_note SET title = 'écrit' WHERE id = :i")
        assert conn.execute(update, {"i": notes[world.insee_a]}).rowcount == 0  # no territory: RLS drops it
        with tenancy.connection_territory(conn, {world.insee_a}):
            assert conn.execute(update, {"i": notes[world.insee_a]}).rowcount == 1
        assert conn.execute(text("SELECT current_setting('app.territory', true)")).scalar() in ("", None)
