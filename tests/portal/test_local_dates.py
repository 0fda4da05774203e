"""Dates follow the département's legal time everywhere (DESIGN.md §8): no bare ``date.today()``, naive
``datetime.now()`` or ``utcnow()`` of the standard library in the code (they give the server's day, not Mayotte's or
Guadeloupe's), and deadlines on a date edge fall on the right day overseas.

The source scan reads the syntax tree: a call in a comment or a string is no call, and a call through any alias of
the module (``dt.date.today()``, ``datetime.date.today()``, ``date.today()``) is one."""
from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from tests.portal.test_departments import second  # noqa: F401 - the Mayotte fixture

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("portal", "services", "app.py")

# path → why a bare call is right there. Every other date of the portal is a legal or displayed date of a
# département (portal.identity.today / local_now / local_wall) or a UTC stamp (portal.models.utcnow).
ALLOWED: dict[str, str] = {}


def bare_calls(source: str) -> list[tuple[int, str]]:
    """(line, call) of each bare date/time call of ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        owner = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
        name = node.func.attr
        if owner in ("date", "datetime") and name == "today":
            found.append((node.lineno, f"{owner}.today()"))
        elif owner == "datetime" and name == "utcnow":
            found.append((node.lineno, "datetime.utcnow()"))
        elif owner == "datetime" and name == "now" and not node.args \
                and not any(k.arg == "tz" for k in node.keywords):
            found.append((node.lineno, "datetime.now() without a time zone"))
    return found


def python_files():
    for top in SCANNED:
        path = ROOT / top
        for file in ([path] if path.is_file() else sorted(path.rglob("*.py"))):
            if "tests" not in file.relative_to(ROOT).parts:
                yield file


def test_the_scan_sees_every_form_of_a_bare_call():
    source = '''
import datetime as dt
import datetime
from datetime import date, datetime as DT
a = dt.date.today()
b = datetime.datetime.now()
c = date.today()
d = datetime.datetime.utcnow()
e = dt.datetime.today()
# f = dt.date.today()  (a comment is no call)
g = "dt.date.today()"
h = dt.datetime.now(dt.timezone.utc)
i = dt.datetime.now(tz=dt.timezone.utc)
'''
    assert [line for line, _ in bare_calls(source)] == [5, 6, 7, 8, 9]


def test_no_bare_date_or_naive_now_in_the_code():
    offending = []
    for file in python_files():
        rel = file.relative_to(ROOT).as_posix()
        if rel in ALLOWED:
            continue
        offending += [f"{rel}:{line}: {call}" for line, call in bare_calls(file.read_text(encoding="utf-8"))]
    assert not offending, "use portal.identity.today(collectivity) / local_wall() or portal.models.utcnow():\n" \
        + "\n".join(offending)
    assert all((ROOT / path).is_file() for path in ALLOWED), "an allowed file no longer exists"


# A date edge: 21:30 UTC on 9 December 2026 is 00:30 on the 10th in Mayotte (UTC+3), 22:30 on the 9th in the
# Aube (UTC+1) and 17:30 on the 9th in Guadeloupe (UTC−4).
EDGE = dt.datetime(2026, 12, 9, 21, 30, tzinfo=dt.timezone.utc)


def test_the_legal_date_on_an_edge(app, world, second):  # noqa: F811
    from portal import identity
    from portal.extensions import db
    from portal.models import Collectivity

    with app.test_request_context(), time_machine.travel(EDGE, tick=False):
        mamoudzou = db.session.get(Collectivity, second.mamoudzou)
        ailleville = db.session.get(Collectivity, world.a)
        assert identity.today(mamoudzou) == dt.date(2026, 12, 10)
        assert identity.today(ailleville) == dt.date(2026, 12, 9)
        assert identity.department_today("971") == dt.date(2026, 12, 9)
        assert identity.department_today("976") == dt.date(2026, 12, 10)
        assert identity.local_wall(mamoudzou) == dt.datetime(2026, 12, 10, 0, 30)
        assert identity.latest_wall() == dt.datetime(2026, 12, 10, 11, 30)


def test_a_convention_starting_tomorrow_in_paris_is_in_force_in_mayotte(app, world, second):  # noqa: F811
    from portal.extensions import db
    from portal.models import Collectivity, Convention

    with app.test_request_context(), db.session.no_autoflush:
        conv = db.session.get(Convention, second.convention)
        ailleville = db.session.get(Collectivity, world.a)
        other = Convention(number="TEST-EDGE", collectivity=ailleville, status="active", services=[],
                           starts_on=dt.date(2026, 12, 10))
        conv.starts_on = dt.date(2026, 12, 10)
        with time_machine.travel(EDGE, tick=False):
            assert conv.is_in_force()  # 00:30 on the 10th in Mayotte
            assert not other.is_in_force()  # 22:30 on the 9th in the Aube
        with time_machine.travel(EDGE + dt.timedelta(hours=2), tick=False):
            assert other.is_in_force()  # 00:30 on the 10th in the Aube
        db.session.rollback()


def test_tender_deadlines_close_in_the_buyers_time(app, world, second):  # noqa: F811
    """Two consultations with the same deadline, midnight on the 10th: at 21:30 UTC Mayotte's is closed (it is
    00:30 there), the Aube's still receives bids (22:30); the periodic task closes only Mayotte's."""
    from portal.audiences import audience_scope
    from portal.extensions import db
    from portal.models import Collectivity
    from portal.tenancy import territory_scope
    from services.tenders.models import Tender
    from services.tenders.operations import close_expired

    midnight = dt.datetime(2026, 12, 10, 0, 0)
    # the system context for territories and for the viewer (tenders_0008_tender_rls: writes are their buyer's)
    with app.test_request_context(), territory_scope(None), audience_scope(None):
        tenders = {}
        for key, coll_id in (("mayotte", second.mamoudzou), ("aube", world.a)):
            coll = db.session.get(Collectivity, coll_id)
            t = Tender(collectivity=coll, reference=f"EDGE-{key}", title=f"Essai {key}", status="published",
                       reception_deadline=midnight)
            db.session.add(t)
            tenders[key] = t
        db.session.flush()
        ids = {k: t.id for k, t in tenders.items()}
        try:
            with time_machine.travel(EDGE, tick=False):
                assert not tenders["mayotte"].is_open() and tenders["aube"].is_open()
                assert close_expired() == 1
            assert db.session.get(Tender, ids["mayotte"]).status == "closed"
            assert db.session.get(Tender, ids["aube"]).status == "published"
            with time_machine.travel(EDGE + dt.timedelta(hours=2), tick=False):
                assert close_expired() == 1
            assert db.session.get(Tender, ids["aube"]).status == "closed"
        finally:
            for t in db.session.scalars(select(Tender).where(Tender.id.in_(ids.values()))):
                db.session.delete(t)
            db.session.commit()


def test_outside_any_app_the_date_is_the_environments_zone(monkeypatch):
    """A generator run by a script (the bench's demo plans) asks for today's date before any app exists."""
    from portal import identity

    monkeypatch.setenv("DEPARTMENT_TIMEZONE", "Indian/Mayotte")
    with time_machine.travel(EDGE, tick=False):
        assert identity.today() == dt.date(2026, 12, 10)
    monkeypatch.setenv("DEPARTMENT_TIMEZONE", "America/Guadeloupe")
    with time_machine.travel(EDGE, tick=False):
        assert identity.today() == dt.date(2026, 12, 9)
