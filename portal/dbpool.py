"""Connection-pool liveness: ping a pooled connection only when it has been idle for a while.

SQLAlchemy's ``pool_pre_ping`` pings the server on every checkout, i.e. one extra round trip per request. A
connection taken back a moment ago is alive as far as anything can tell; the ones that die are those left idle
(database restarted overnight, a firewall dropping idle flows). So: ping at checkout when the connection has been
idle for more than ``DB_PING_AFTER_IDLE`` seconds (default 10); a failed ping is reported as a disconnection, and
the pool then replaces that connection and every older one, as ``pool_pre_ping`` would.
"""
from __future__ import annotations

import logging
import time

from sqlalchemy import event, exc

log = logging.getLogger(__name__)

_CHECKED_IN_AT = "checked_in_at"


def install_idle_ping(engine, idle_seconds: float) -> None:
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record):
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _maybe_ping(dbapi_connection, record, proxy):
        since = record.info.get(_CHECKED_IN_AT)
        if since is None or time.monotonic() - since < idle_seconds:
            return  # new connection, or used a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            log.warning("database connection idle for %.0f s did not answer a ping (%s): reconnecting",
                        time.monotonic() - since, error)
            raise exc.DisconnectionError() from error


READ_ONLY_CHECK = "SELECT pg_current_xact_id_if_assigned() IS NULL"  # no transaction id: nothing written
_MAY_HAVE_WRITTEN = "may_have_written"  # key in the DB-API connection's info: a non-SELECT ran in this transaction
_READS = ("SELECT", "select")


def mark_written(connection) -> None:
    """Say that the current transaction of ``connection`` (SQLAlchemy Connection) may have written through a path
    the statement events do not see (the DB-API connection used directly: COPY, a driver cursor)."""
    connection.info[_MAY_HAVE_WRITTEN] = True


def install_read_only_commit(app, db) -> None:
    """PostgreSQL: end a request's transaction that wrote nothing with COMMIT, not ROLLBACK.

    Both end a read-only transaction the same way on the server, but psycopg forgets its prepared statements on every
    ROLLBACK (the rollback may have undone DDL they depend on), so with one rollback per request nothing is ever
    prepared and every query of every request is planned again — about a millisecond for the request context's
    joined query, more for a vector tile.

    Whether the transaction wrote: every statement sent through SQLAlchemy is seen on its way (``before_cursor_execute``);
    one that is not a SELECT marks the transaction, as does :func:`mark_written` for writes made on the DB-API
    connection directly; COMMIT and ROLLBACK clear the mark. An unmarked transaction ran SELECTs only (the project
    defines no function that writes) and ends with COMMIT at once. A marked one is asked to the server (no
    transaction id assigned = nothing written, e.g. a write committed earlier in the request, then reads): COMMIT if
    so, else the usual rollback. So the common read-only request spends no round trip on the question.
    """
    if db.engine.dialect.name != "postgresql":
        return
    from psycopg.pq import TransactionStatus

    engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _note_write(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().startswith(_READS):
            conn.info[_MAY_HAVE_WRITTEN] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _transaction_over(conn):
        if conn.invalidated:  # the server dropped it: its info goes with it (reading it would raise)
            return
        conn.info.pop(_MAY_HAVE_WRITTEN, None)

    @app.teardown_appcontext
    def _commit_if_read_only(exc):  # registered after Flask-SQLAlchemy's: runs before its session removal
        if exc is not None or not db.session.registry.has():
            return
        session = db.session()
        if not session.in_transaction() or session.new or session.dirty or session.deleted:
            return
        try:
            conn = session.connection()
            raw = conn.connection.driver_connection
            if raw.info.transaction_status != TransactionStatus.INTRANS:
                return  # idle, or a failed statement: the usual rollback
            if conn.info.get(_MAY_HAVE_WRITTEN) and not conn.exec_driver_sql(READ_ONLY_CHECK).scalar():
                return  # it wrote: the usual rollback
            raw.commit()  # SQLAlchemy's rollback that follows finds the connection idle: a no-op
            conn.info.pop(_MAY_HAVE_WRITTEN, None)
        except Exception:  # noqa: BLE001 - the session's rollback follows in any case
            log.exception("could not end a read-only transaction with COMMIT; it is rolled back")


def is_disconnect(error: BaseException) -> bool:
    """Did this error come from a connection the server closed (restart, ``pg_terminate_backend``, network)?
    SQLAlchemy has then invalidated the connection and every older one of the pool: the next use reconnects."""
    return isinstance(error, exc.DBAPIError) and bool(error.connection_invalidated)
