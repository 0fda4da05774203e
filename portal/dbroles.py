"""The two PostgreSQL roles of a deployment: an owner that migrates, an application role that owns nothing.

Row-level security (``portal.tenancy.rls_policy_sql``) binds every role but superusers and roles with BYPASSRLS; a
table's owner may also switch it off (``ALTER TABLE … DISABLE ROW LEVEL SECURITY``). So production connects the
portal and its workers (``DATABASE_URL``) as a role that is not a superuser and owns nothing, and runs the migrations
(``flask db upgrade``) as the owner of the schema (``DATABASE_OWNER_URL``). After each upgrade, ``migrations/env.py``
grants the application role what the portal needs — rows of every table, its sequences, and the same on tables
created later (default privileges) — with :func:`app_grants_sql`.

:func:`ensure_roles` creates both roles for a database from a superuser connection: the tests' PostgreSQL run and
the benches use it, so that row-level security is always in force where the portal is measured or tested.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

# Password given to the roles the tests and benches create (local servers; ignored where pg_hba says "trust").
LOCAL_ROLE_PASSWORD = "extranet-local-role"


def owner_url(config) -> str | None:
    """The connection that migrates (``DATABASE_OWNER_URL``), or None when it is the application's own."""
    return config.get("DATABASE_OWNER_URL") or None


def app_grants_sql(role: str) -> list[str]:
    """Statements the owner runs so that ``role`` may read and write rows, and nothing else (no DDL, no TRUNCATE)."""
    role = _identifier(role)
    return [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role}",
    ]


@dataclass(frozen=True)
class Roles:
    owner: URL  # migrates, owns the schema and its tables
    app: URL  # the portal and its workers


def _identifier(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"unexpected role name {name!r}")
    return name


def role_names(database: str) -> tuple[str, str]:
    """Per-database role names (roles are shared by the whole server; databases of a shared machine are not)."""
    base = re.sub(r"[^a-z0-9_]", "_", database.lower())[:50]
    return f"{base}_owner", f"{base}_app"


def ensure_roles(admin_url: str | URL) -> Roles:
    """Create (idempotently) the owner and application roles of the database of ``admin_url`` (a superuser
    connection), make the owner the database's owner (so it owns its ``public`` schema), install PostGIS when the
    server has it, and return both URLs."""
    url = make_url(admin_url) if isinstance(admin_url, str) else admin_url
    owner, app = role_names(url.database)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if not conn.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")):
                raise RuntimeError(f"{url.render_as_string(hide_password=True)} must be a superuser to create roles")
            for role in (owner, app):
                conn.exec_driver_sql(
                    f"DO $$ BEGIN CREATE ROLE {role} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
                # Whatever an earlier run left: an ordinary login role.
                conn.exec_driver_sql(f"ALTER ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE "
                                     f"PASSWORD '{LOCAL_ROLE_PASSWORD}'")
            conn.exec_driver_sql(f'ALTER DATABASE "{url.database}" OWNER TO {owner}')
            conn.exec_driver_sql(f'GRANT CONNECT, TEMPORARY ON DATABASE "{url.database}" TO {app}')
            if conn.scalar(text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")):
                conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")  # superuser only
    finally:
        engine.dispose()
    return Roles(owner=url.set(username=owner, password=LOCAL_ROLE_PASSWORD),
                 app=url.set(username=app, password=LOCAL_ROLE_PASSWORD))


def url_string(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def reset_schema(admin_url: str | URL) -> None:
    """An empty ``public`` schema owned by the database's owner, PostGIS installed (superuser connection): what the
    tests and the benches start from. Everything in the schema is dropped."""
    engine = create_engine(make_url(admin_url) if isinstance(admin_url, str) else admin_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL lock_timeout = '60s'")
            conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public AUTHORIZATION pg_database_owner")
            conn.exec_driver_sql("GRANT USAGE ON SCHEMA public TO PUBLIC")
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
    finally:
        engine.dispose()


def use_roles_for(admin_url: str, *, reset: bool = False) -> Roles | None:
    """For a bench given a superuser ``DATABASE_URL``: create both roles, optionally empty the schema, and point
    ``DATABASE_URL`` (the application role) and ``DATABASE_OWNER_URL`` (migrations) of this process at them, so the
    portal is measured under row-level security as in production. None (nothing changed) on SQLite."""
    import os

    if not admin_url.startswith(("postgres://", "postgresql")):
        return None
    url = make_url(admin_url.replace("postgres://", "postgresql://", 1))
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    roles = ensure_roles(url)
    if reset:
        reset_schema(url)
    os.environ["DATABASE_URL"] = url_string(roles.app)
    os.environ["DATABASE_OWNER_URL"] = url_string(roles.owner)
    return roles
