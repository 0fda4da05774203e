"""Database connections (portal/dbpool.py): idle connections pinged before use, read-only requests ended with COMMIT
so that psycopg keeps its prepared statements (PostgreSQL)."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, exc, text

from tests.conftest import using_postgres

needs_postgres = pytest.mark.skipif(
    not using_postgres(), reason="PostgreSQL behaviour: DATABASE_URL is not a postgresql:// URL (SQLite run; CI's "
                                 "second run sets it)")


def _engine(app, idle_seconds):
    from portal.dbpool import install_idle_ping
    from portal.extensions import db

    with app.app_context():
        engine = create_engine(db.engine.url, pool_size=1, max_overflow=0)
    install_idle_ping(engine, idle_seconds)
    return engine


def test_a_connection_is_pinged_only_after_being_idle(app, monkeypatch):
    engine = _engine(app, idle_seconds=3600)
    pings = []
    real = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(c) or real(c))
    try:
        for _ in range(3):
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar() == 1
        assert pings == []  # new, then used a moment ago: no round trip spent on a ping
        from portal import dbpool

        monkeypatch.setattr(dbpool.time, "monotonic", lambda: 10 ** 9)  # an hour and more later
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        assert len(pings) == 1
    finally:
        engine.dispose()


@needs_postgres
def test_a_dead_idle_connection_is_replaced_before_use(app):
    """The server closed an idle pooled connection (restart, administrator, firewall): the ping at checkout sees it
    and the pool reconnects, where without the ping the request would fail."""

    def kill(engine):
        with engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with _engine(app, 3600).connect() as other:
            assert other.exec_driver_sql("SELECT pg_terminate_backend(%s)", (pid,)).scalar()
        return pid

    pinged = _engine(app, idle_seconds=0)
    unpinged = _engine(app, idle_seconds=3600)
    try:
        pid = kill(pinged)
        with pinged.connect() as conn:
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid
        kill(unpinged)
        with pytest.raises(exc.OperationalError), unpinged.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    finally:
        pinged.dispose()
        unpinged.dispose()


def _prepared_count(raw) -> int:
    n = raw.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0]
    raw.rollback()
    return n


@needs_postgres
def test_a_read_only_request_ends_with_commit_and_keeps_prepared_statements(app, world):
    from portal.extensions import db

    with app.test_request_context():
        for _ in range(6):  # psycopg prepares a statement at its 5th run
            db.session.execute(text("SELECT name FROM collectivity WHERE id = :i"), {"i": world.a}).scalar()
        raw = db.session.connection().connection.driver_connection
    # The request is over (teardown): had it ended with ROLLBACK, psycopg would have deallocated everything.
    assert _prepared_count(raw) >= 1


@needs_postgres
def test_a_request_that_wrote_still_ends_with_rollback(app, world):
    """A write the view did not commit (raw SQL, or an ORM change left pending) is rolled back as before."""
    from portal.extensions import db
    from portal.models import Collectivity

    with app.test_request_context():
        db.session.execute(text("UPDATE collectivity SET email = 'x@example.org' WHERE id = :i"), {"i": world.a})
    with app.test_request_context():
        db.session.get(Collectivity, world.b).email = "y@example.org"  # dirty, never flushed
    with app.test_request_context():
        with pytest.raises(exc.DBAPIError):
            db.session.execute(text("SELECT 1/0"))  # failed transaction: left to the usual rollback
    with app.app_context():
        emails = dict(db.session.execute(text("SELECT id, email FROM collectivity WHERE id IN (:a, :b)"),
                                         {"a": world.a, "b": world.b}).all())
        assert emails[world.a] != "x@example.org" and emails[world.b] != "y@example.org"


@needs_postgres
def test_reads_after_a_committed_write_still_end_with_commit(app, world):
    """The mark left by a write is cleared by its COMMIT: the reads that follow end with COMMIT (prepared statements
    kept), and a marked transaction that did not write after all is asked to the server, then committed."""
    from portal.extensions import db

    with app.test_request_context():
        db.session.execute(text("UPDATE collectivity SET email = email WHERE id = :i"), {"i": world.a})
        db.session.commit()
        for _ in range(6):
            db.session.execute(text("SELECT name FROM collectivity WHERE id = :i"), {"i": world.a}).scalar()
        raw = db.session.connection().connection.driver_connection
    assert _prepared_count(raw) >= 1
    with app.test_request_context():
        for _ in range(6):
            db.session.execute(text("SELECT name FROM collectivity WHERE id = :i"), {"i": world.a}).scalar()
        db.session.execute(text("UPDATE collectivity SET email = email WHERE false"))  # marks; writes nothing
        raw = db.session.connection().connection.driver_connection
    assert _prepared_count(raw) >= 1


@needs_postgres
def test_a_write_on_the_driver_connection_is_rolled_back_when_marked(app, world):
    """Writes that SQLAlchemy does not see (the importer's COPY on the driver's connection) say so with
    ``mark_written``; left uncommitted, they are rolled back at the end of the request."""
    from portal.dbpool import mark_written
    from portal.extensions import db

    with app.test_request_context():
        conn = db.session.connection()
        mark_written(conn)
        conn.connection.driver_connection.execute("UPDATE collectivity SET email = 'z@example.org' WHERE id = %s",
                                                  (world.a,))
    with app.app_context():
        assert db.session.execute(text("SELECT email FROM collectivity WHERE id = :i"),
                                  {"i": world.a}).scalar() != "z@example.org"
