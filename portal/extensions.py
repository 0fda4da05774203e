"""Flask extensions, created unbound and initialised by the app factory."""
from .i18n import Babel  # Flask-Babel, its catalog kept for the request
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


@migrate.configure
def _service_migration_folders(config):
    """Alembic reads revisions from ``migrations/versions`` (the portal's and the merges) and from the folder each
    service declares (``ServiceDescriptor.migrations``): ``version_locations`` of the current app's registry."""
    import os

    from flask import current_app

    folders = [os.path.join(config.get_main_option("script_location"), "versions")]
    registry = current_app.extensions.get("service_registry")
    if registry is not None:
        folders += registry.migration_folders()
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(folders))
    return config
