"""Alembic environment for Flask-Migrate (Flask-SQLAlchemy 3.x).

The app factory configures Flask-Migrate with ``render_as_batch=True`` (SQLite cannot ALTER most things, batch mode
rebuilds the table; on PostgreSQL batch operations are plain ALTERs) and ``compare_type=True``.
"""
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from portal.unmodelled import IGNORED_TABLES, sqlite_virtual_tables

try:  # teaches SQLAlchemy's PostgreSQL reflection the PostGIS types (geometry, geography, raster)
    import geoalchemy2  # noqa: F401
except ImportError:  # pragma: no cover - geoalchemy2 is in requirements.txt
    pass

# this is the Alembic Config object, which provides access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging, unless the caller (e.g. the tests) already set logging up.
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
_owner_engine = None


def get_engine():
    """The schema owner's engine when ``DATABASE_OWNER_URL`` is set (production: the portal's own role owns nothing,
    see portal/dbroles.py), else the app's."""
    global _owner_engine
    owner_url = current_app.config.get("DATABASE_OWNER_URL")
    if not owner_url:
        return target_db.engine
    if _owner_engine is None:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        _owner_engine = create_engine(owner_url, poolclass=NullPool)
    return _owner_engine


def grant_application_role(connection):
    """After migrating as the owner, give the portal's role (the user of DATABASE_URL) its rows and nothing more."""
    app_user = target_db.engine.url.username
    if connection.dialect.name != "postgresql" or not current_app.config.get("DATABASE_OWNER_URL") \
            or not app_user or app_user == connection.engine.url.username:
        return
    from portal.dbroles import app_grants_sql

    for statement in app_grants_sql(app_user):
        connection.exec_driver_sql(statement)


def get_engine_url():
    return get_engine().url.render_as_string(hide_password=False).replace("%", "%%")


config.set_main_option("sqlalchemy.url", get_engine_url())


def get_metadata():
    return target_db.metadata


def include_name(name, type_, parent_names):
    # Tables no model describes (portal/unmodelled.py): PostGIS's, the cemetery's name index, SQLite virtual tables.
    if type_ == "table":
        return name not in IGNORED_TABLES
    if type_ == "index" and name and name.endswith("_fulltext"):
        return False  # full-text expression indexes (e.g. a French tsvector) written by raw SQL in a migration
    if type_ == "column" and name and name.endswith("tsv") and parent_names.get("table_name") == "desk_search":
        return False  # the desk's stored search vector: a PostgreSQL-only generated column (raw SQL, desk_0010)
    return True


def run_migrations_offline():
    """Emit SQL to the script output instead of running it (``flask db upgrade --sql``)."""
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=get_metadata(), literal_binds=True, include_name=include_name)

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations on a connection of the app's engine."""

    # Do not write an empty revision when autogenerate finds no change.
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    with get_engine().connect() as connection:
        ignored = IGNORED_TABLES | sqlite_virtual_tables(connection)
        conf_args.setdefault(
            "include_name", lambda name, type_, parents: not (type_ == "table" and name in ignored)
            and include_name(name, type_, parents)
        )
        context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)

        with context.begin_transaction():
            context.run_migrations()
            grant_application_role(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
