"""Shared fixtures (DESIGN.md §6).

- The database is SQLite in a temporary folder, or the PostgreSQL of ``DATABASE_URL`` (CI sets it): its schema is
  built by the Alembic migrations, so every run exercises them.
- The Aube (communes, EPCI) is loaded once per session; every test then gets a fresh ``world``: conventions,
  enabled services and one account of every role, including a secretary of two communes and an EPCI user.
- E-mails go to a real SMTP server on loopback (aiosmtpd), caught in ``smtp.messages``.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
from email import message_from_bytes, policy
from types import SimpleNamespace

import pytest

_TMP = tempfile.mkdtemp(prefix="extranet-tests-")
os.environ["INSTANCE_PATH"] = _TMP
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key")

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

PASSWORD = "Lavoir-communal-1887!"
pytest_plugins = ["tests.helpers.outside_paths"]  # fails a test that opens a path outside the repository



def using_postgres() -> bool:
    """True when the suite runs on the PostgreSQL of ``DATABASE_URL`` (``postgres://``, ``postgresql://``,
    ``postgresql+driver://``) instead of the embedded SQLite."""
    return os.environ.get("DATABASE_URL", "").strip().startswith(("postgres://", "postgresql://", "postgresql+"))


# SMTP on loopback ---------------------------------------------------------------------------------------------

def free_port() -> int:
    """A port nobody listens on at this moment (bound, then released): for tests that need a closed port. Never to
    start a server on — between this call and the server's bind, a test running in parallel can get the same port;
    servers bind port 0 themselves and say which port they got (:class:`SmtpController`, the browser tests' live
    server)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpController(Controller):
    """aiosmtpd's controller on 127.0.0.1, on a port the system picks as it binds (port 0): ``port`` is read back
    once the server listens, before the controller's own first connection to it."""

    def __init__(self, handler, **kwargs):
        super().__init__(handler, hostname="127.0.0.1", port=0, **kwargs)

    def _trigger_server(self):  # aiosmtpd's hook, called once the server listens
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class _Catcher:
    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd API
        """Behave like a real server for two test addresses: one refused for good, one busy for now."""
        if address.startswith("refuse@"):
            return "550 5.1.1 No such user"
        if address.startswith("busy@"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(SimpleNamespace(
            to=envelope.rcpt_tos, sender=envelope.mail_from, msg=msg, subject=str(msg["Subject"]),
            text=msg.get_body(preferencelist=("plain",)).get_content(),
        ))
        return "250 OK"


@pytest.fixture(scope="session")
def smtp_server():
    handler = _Catcher()
    controller = SmtpController(handler)
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture
def smtp(smtp_server):
    smtp_server.messages.clear()
    return smtp_server


def link_in(message) -> str:
    m = re.search(r"https?://\S+", message.text)
    assert m, f"no link in e-mail: {message.text}"
    return m.group(0)


# App and database ---------------------------------------------------------------------------------------------

# A session-level advisory lock on the test database: two pytest sessions pointed at the same DATABASE_URL (two
# engineers, two terminals) wait for each other instead of dropping each other's schema mid-run.
_PG_SESSION_LOCK = 0x45787472  # "Extr"
_PG_LOCK_WAIT = "15min"


def _pg_fail(message: str):
    pytest.fail(f"PostgreSQL test database (DATABASE_URL): {message}", pytrace=False)


def _ensure_pg_database(url) -> None:
    """Create the database of ``url`` when it does not exist (CI creates it; a laptop may not have)."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    maintenance = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with maintenance.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database})
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
    except OperationalError as exc:
        _pg_fail(f"cannot reach the server of {url.render_as_string(hide_password=True)}: {exc.orig}")
    finally:
        maintenance.dispose()


def _pg_roles():
    """On PostgreSQL: the owner and application roles of the test database (portal/dbroles.py), created from the
    superuser connection of ``DATABASE_URL``. The app under test connects as the application role, so row-level
    security is in force in every test; the owner migrates and the fixtures that must see every row use it."""
    from sqlalchemy.engine import make_url

    from portal.config import _database_url
    from portal.dbroles import ensure_roles

    admin = make_url(_database_url(None))
    if "test" not in (admin.database or ""):
        _pg_fail(f"the suite drops the schema of its database, so its name must contain 'test' "
                 f"(got {admin.database!r}); e.g. postgresql://postgres@127.0.0.1:5432/extranet_test")
    _ensure_pg_database(admin)
    try:
        roles = ensure_roles(admin)
    except RuntimeError as exc:
        _pg_fail(f"{exc} (the suite creates its owner and application roles itself)")
    return admin, roles


def _reset_postgres(admin_url):
    """Give the session a fresh ``public`` schema with PostGIS; returns the connection holding the session lock.

    Everything of a previous run (tables, RLS policies, sequences, alembic_version) goes with the schema; the schema
    is recreated as PostgreSQL 15 creates it (owned by the database owner — the owner role —, usable by every role)
    and PostGIS is (re)installed in it by the superuser.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from portal.dbroles import reset_schema

    admin = create_engine(admin_url, poolclass=NullPool)
    lock_conn = admin.connect().execution_options(isolation_level="AUTOCOMMIT")
    lock_conn.exec_driver_sql(f"SET lock_timeout = '{_PG_LOCK_WAIT}'")
    if not lock_conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_SESSION_LOCK}):
        print(f"\nwaiting for another test session using {admin_url.database} to finish…", file=sys.stderr)
        lock_conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_SESSION_LOCK})
    lock_conn.exec_driver_sql("SET lock_timeout = 0")
    if not lock_conn.scalar(text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")):
        lock_conn.close()
        _pg_fail("PostGIS is not installed on the server (Debian: apt-get install postgresql-15-postgis-3)")
    reset_schema(admin_url)
    return lock_conn


_OWNER_ENGINE = {}


def owner_engine(app):
    """The schema owner's engine (PostgreSQL) — for fixtures that create tables or must see every row — or the app's
    own engine on SQLite. On PostgreSQL, every transaction of it sees every territory and audience (``app.territory``
    and ``app.viewer`` = ``'*'``):
    the policies are forced on the owner too."""
    from portal.extensions import db

    url = app.config.get("DATABASE_OWNER_URL")
    if not url:
        with app.app_context():
            return db.engine
    if url not in _OWNER_ENGINE:
        from sqlalchemy import create_engine, event

        engine = _OWNER_ENGINE[url] = create_engine(url, pool_size=2)

        @event.listens_for(engine, "begin")
        def _all_territories(conn):
            conn.exec_driver_sql("SELECT set_config('app.territory', '*', true), set_config('app.viewer', '*', true)")
    return _OWNER_ENGINE[url]


@pytest.fixture(scope="session")
def app(smtp_server):
    from flask_migrate import upgrade

    from portal import create_app
    from portal.demo import load_territory
    from portal.dbroles import url_string
    from portal.extensions import db
    from portal.tenancy import rls_policy_sql
    from tests.portal.sample_service import SampleBase

    overrides = {
        "TESTING": True,
        # plus the services of EXTRA_SERVICES (a new service tested before its entry point is installed)
        "EXTRA_SERVICES": ["tests.portal.sample_service:service",
                           *[s.strip() for s in os.environ.get("EXTRA_SERVICES", "").split(",") if s.strip()]],
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_server.port,
        "SERVER_NAME": "portal.test",
        "BASE_URL": "http://portal.test",
        "CELERY_EAGER": True,
        # no outside service from the tests: the SIRENE register is a loopback port that refuses at once
        # (tests/services/tenders/test_sirene.py runs a real peer speaking its API)
        "TENDERS_SIRENE_URL": "http://127.0.0.1:9",
    }
    lock_conn = None
    if using_postgres():
        admin_url, roles = _pg_roles()
        lock_conn = _reset_postgres(admin_url)
        overrides["SQLALCHEMY_DATABASE_URI"] = url_string(roles.app)
        overrides["DATABASE_OWNER_URL"] = url_string(roles.owner)
    else:
        overrides["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{_TMP}/tests.sqlite3"
    application = create_app(overrides)
    with application.app_context():
        # The schema is the one the migrations build (never create_all), so every run exercises them; on
        # PostgreSQL they run as the owner role and end by granting the application role its rows.
        upgrade(revision="heads")  # services may add their own branch of migrations
        owner = owner_engine(application)
        SampleBase.metadata.create_all(owner)
        if using_postgres():
            with owner.begin() as conn:
                for stmt in rls_policy_sql("sample_note"):
                    conn.exec_driver_sql(stmt)
        load_territory()
        db.session.commit()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    for engine in _OWNER_ENGINE.values():
        engine.dispose()
    if lock_conn is not None:
        lock_conn.close()  # releases the session lock


@pytest.fixture(autouse=True)
def _celery_stays_with_the_session_app(request):
    """A test that builds a second app (create_app binds the process-wide Celery app to it) must not leave the
    tests after it running their tasks in that app's context: Celery goes back to the session's app."""
    yield
    if "app" not in request.fixturenames:
        return
    from portal.tasks import _state, init_celery

    app = request.getfixturevalue("app")
    if _state.get("app") is not app:
        init_celery(app)


@pytest.fixture(scope="session")
def password_hash():
    from portal.security import hash_password

    return hash_password(PASSWORD)


REFERENCE_TABLES = {"collectivity", "epci_member", "alembic_version", "spatial_ref_sys"}


def _clean(app):
    """Empty every table but the reference data (collectivities), children first: services' tables included."""
    from portal.extensions import db
    from tests.portal.sample_service import SampleBase

    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in REFERENCE_TABLES]
    with app.app_context():
        from portal.ratelimit import limiter

        limiter.reset()  # every test starts with the public forms' counters at zero
        db.session.remove()
        with owner_engine(app).begin() as conn:
            for table in list(SampleBase.metadata.sorted_tables) + tables:
                conn.execute(table.delete())
            if conn.dialect.name == "sqlite":  # spatial indexes of the embedded default (R*Tree virtual tables)
                for (name,) in conn.exec_driver_sql(
                        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%rtree%'"):
                    conn.exec_driver_sql(f'DELETE FROM "{name}"')


@pytest.fixture
def world(app, password_hash, smtp):
    """Two communes of one EPCI (Ailleville, Jaucourt), a third outside it (Troyes), one without convention
    (Fravaux), the EPCI, and one user of each role. Returns plain ids and e-mails (no ORM objects)."""
    import datetime as dt

    from portal.extensions import db
    from portal.models import Collectivity, Convention, Membership, ServiceActivation, User

    _clean(app)
    with app.app_context():
        def coll(**kw):
            return db.session.scalar(select(Collectivity).filter_by(**kw))

        a, b, c = coll(insee="10002"), coll(insee="10176"), coll(insee="10160")
        troyes, epci, dept = coll(insee="10387"), coll(siren="241000405"), coll(kind="department")
        today = dt.date.today()
        for n, target, services in (("T-A", a, ["sample"]), ("T-B", b, ["sample"]), ("T-T", troyes, ["sample"]),
                                    ("T-E", epci, ["sample"])):
            db.session.add(Convention(number=n, collectivity=target, status="active", services=services,
                                      starts_on=today - dt.timedelta(days=30), signed_on=today - dt.timedelta(days=40)))
            db.session.add(ServiceActivation(collectivity=target, service_slug="sample", enabled=True))
        users = {}
        for key, email, memberships in (
            ("dept_admin", "admin@cd10.test.example.org", [(dept, "dept_admin")]),
            ("dept_agent", "agent@cd10.test.example.org", [(dept, "dept_agent")]),
            ("mayor_a", "maire@ailleville.test.example.org", [(a, "mayor")]),
            ("secretary_a", "secretaire@ailleville.test.example.org", [(a, "secretary")]),
            ("elected_a", "elu@ailleville.test.example.org", [(a, "elected")]),
            ("mayor_b", "maire@jaucourt.test.example.org", [(b, "mayor")]),
            ("secretary_ab", "secretariat@mairies.test.example.org", [(a, "secretary"), (b, "secretary")]),
            ("mayor_troyes", "maire@troyes.test.example.org", [(troyes, "mayor")]),
            ("epci_user", "agent@ccrba.test.example.org", [(epci, "secretary")]),
            ("mayor_c", "maire@fravaux.test.example.org", [(c, "mayor")]),
        ):
            u = User(email=email, full_name=key.replace("_", " ").title(), status="active",
                     password_hash=password_hash)
            db.session.add(u)
            for target, role in memberships:
                db.session.add(Membership(user=u, collectivity=target, role=role))
            users[key] = u
        db.session.commit()
        ns = SimpleNamespace(
            a=a.id, b=b.id, c=c.id, troyes=troyes.id, epci=epci.id, dept=dept.id,
            insee_a=a.insee, insee_b=b.insee, insee_troyes=troyes.insee,
            users={k: SimpleNamespace(id=u.id, email=u.email) for k, u in users.items()},
            password=PASSWORD,
        )
    yield ns
    with app.app_context():
        db.session.remove()


# Clients ------------------------------------------------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


class PortalClient:
    """A test client that behaves like a person's browser: it reads the CSRF token from the pages it gets."""

    def __init__(self, app):
        self.app = app
        self.http = app.test_client()

    def get(self, url, **kw):
        return self.http.get(url, **kw)

    def csrf(self, url="/connexion"):
        body = self.http.get(url).get_data(as_text=True)
        m = CSRF_RE.search(body)
        assert m, f"no CSRF token on {url}"
        return m.group(1) or m.group(2)

    def post(self, url, data=None, csrf_from=None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf(csrf_from or "/profil"))
        return self.http.post(url, data=data, **kw)

    def login(self, email, password=PASSWORD):
        token = self.csrf("/connexion")
        resp = self.http.post("/connexion", data={"email": email, "password": password, "csrf_token": token})
        return resp

    def switch(self, collectivity_id):
        return self.post("/collectivite/changer", {"collectivity_id": str(collectivity_id)})


@pytest.fixture
def client(app, world):
    return PortalClient(app)


@pytest.fixture
def login_as(app, world):
    """``login_as("mayor_a")`` → a signed-in PortalClient (active collectivity: the first membership)."""

    def _login(key, collectivity_id=None):
        c = PortalClient(app)
        resp = c.login(world.users[key].email)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        if collectivity_id is not None:
            assert c.switch(collectivity_id).status_code == 302
        return c

    return _login


@pytest.fixture
def add_notes(app, world):
    """Create sample notes in communes (system context) and return their ids by INSEE code."""
    from portal.extensions import db
    from tests.portal.sample_service import SampleNote

    def _add(**by_insee):
        ids = {}
        with app.app_context():
            for insee, title in by_insee.items():
                n = SampleNote(title=title, secret=f"secret-{title}", commune_insee=insee.lstrip("_"))
                db.session.add(n)
                db.session.flush()
                ids[insee.lstrip("_")] = n.id
            db.session.commit()
        return ids

    return _add



@pytest.fixture
def subscribe(app, world):
    """``subscribe("cadastre", world.a, world.epci)``: add the service to those collectivities' conventions in force
    and enable it, as the department would. Services' tests use it to open their pages to the world's users."""
    from portal.extensions import db
    from portal.models import Collectivity, ServiceActivation

    def _subscribe(slug, *collectivity_ids):
        with app.app_context():
            for cid in collectivity_ids:
                coll = db.session.get(Collectivity, cid)
                conv = coll.convention_in_force()
                assert conv is not None, f"{coll.name} has no convention in force in the world fixture"
                conv.services = sorted(set(conv.services or []) | {slug})
                if not any(a.service_slug == slug for a in coll.activations):
                    db.session.add(ServiceActivation(collectivity=coll, service_slug=slug, enabled=True))
            db.session.commit()

    return _subscribe
