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

MUTABLE_TABLES = ("sample_note", "one_time_token", "api_token", "login_attempt", "audit_event", "outgoing_email",
                  "membership", "service_activation", "convention", "user_account")


def using_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql"))


# SMTP on loopback ---------------------------------------------------------------------------------------------

def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
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

def _reset_postgres(app):
    from portal.extensions import db

    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))


@pytest.fixture(scope="session")
def app(smtp_server):
    from flask_migrate import upgrade

    from portal import create_app
    from portal.demo import load_territory
    from portal.extensions import db
    from portal.tenancy import rls_policy_sql
    from tests.portal.sample_service import SampleBase

    overrides = {
        "TESTING": True,
        "EXTRA_SERVICES": ["tests.portal.sample_service:service"],
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_server.port,
        "SERVER_NAME": "portal.test",
        "BASE_URL": "http://portal.test",
        "CELERY_EAGER": True,
    }
    if not using_postgres():
        overrides["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{_TMP}/tests.sqlite3"
    application = create_app(overrides)
    if using_postgres():
        _reset_postgres(application)
    with application.app_context():
        upgrade()
        SampleBase.metadata.create_all(db.engine)
        if using_postgres():
            with db.engine.begin() as conn:
                for stmt in rls_policy_sql("sample_note"):
                    conn.exec_driver_sql(stmt)
        load_territory()
        db.session.commit()
    return application


@pytest.fixture(scope="session")
def password_hash():
    from portal.security import hash_password

    return hash_password(PASSWORD)


def _clean(app):
    from portal.extensions import db

    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in MUTABLE_TABLES:
                conn.execute(text(f"DELETE FROM {table}"))


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

