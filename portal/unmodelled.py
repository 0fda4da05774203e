"""Tables that live in the database but that no model describes, so that Alembic's autogenerate (migrations/env.py)
and the migrations' round-trip test (tests/portal/test_migrations.py) leave them alone — one list for both.

- PostGIS's own table (``spatial_ref_sys``);
- the cemetery's name index on PostgreSQL (raw SQL and triggers, cemetery_0004_name_search);
- SQLite virtual tables (R*Tree spatial indexes, FTS5 tables created by raw SQL in migrations) with their shadow
  tables, found at connection time (:func:`sqlite_virtual_tables`).
"""
from __future__ import annotations

IGNORED_TABLES = frozenset({"spatial_ref_sys", "cemetery_name_index"})

# The shadow tables SQLite keeps beside a virtual table: R*Tree's (_node, _parent, _rowid) and FTS5's.
_SHADOW_SUFFIXES = ("node", "parent", "rowid", "data", "idx", "content", "docsize", "config")


def sqlite_virtual_tables(connection) -> set[str]:
    """The virtual tables of a SQLite database and their shadow tables (an empty set on another dialect). Ends the
    connection's implicit transaction, so that Alembic may begin its own."""
    if connection.dialect.name != "sqlite":
        return set()
    rows = connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND upper(sql) LIKE 'CREATE VIRTUAL TABLE%'"
    ).all()
    connection.commit()
    names = set()
    for (name,) in rows:
        names.add(name)
        names.update(f"{name}_{suffix}" for suffix in _SHADOW_SUFFIXES)
    return names
