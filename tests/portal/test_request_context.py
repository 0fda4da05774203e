"""The signed-in user's context kept per process (portal/usercontext.py): every change made in the database — by
another process or host, here through the schema owner's own connection — takes effect at the very next request, and
the kept graph is reused only while the database says the same."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, update

from tests.conftest import owner_engine


def _change(app, statement):
    """A change made outside the app's session and process: the owner's own connection, committed."""
    with owner_engine(app).begin() as conn:
        conn.execute(statement)


def _kept(world, key):
    from portal import usercontext

    entry = usercontext._kept.get(world.users[key].id)
    return None if entry is None else entry[1]


def test_the_kept_context_is_reused_while_nothing_changes(app, world, login_as):
    mayor = login_as("mayor_a")
    assert mayor.get("/s/sample/").status_code == 200
    kept = _kept(world, "mayor_a")
    assert kept is not None
    for _ in range(3):
        assert mayor.get("/s/sample/").status_code == 200
    assert _kept(world, "mayor_a") is kept  # not loaded again


def test_a_granted_permission_withdrawn_elsewhere_is_gone_at_the_next_request(app, world, login_as):
    from portal.models import Membership

    m = Membership.__table__
    secretary = login_as("secretary_a")
    assert secretary.get("/s/sample/secrets").status_code == 403
    _change(app, update(m).where(m.c.user_id == world.users["secretary_a"].id)
            .values(extra_permissions=["sample.secret"]))
    assert secretary.get("/s/sample/secrets").status_code == 200
    kept = _kept(world, "secretary_a")
    _change(app, update(m).where(m.c.user_id == world.users["secretary_a"].id).values(extra_permissions=[]))
    assert secretary.get("/s/sample/secrets").status_code == 403
    assert _kept(world, "secretary_a") is not kept


def test_a_role_changed_elsewhere_applies_at_the_next_request(app, world, login_as):
    from portal.models import Membership

    m = Membership.__table__
    mayor = login_as("mayor_a")
    assert mayor.get("/s/sample/secrets").status_code == 200
    _change(app, update(m).where(m.c.user_id == world.users["mayor_a"].id).values(role="elected"))
    assert mayor.get("/s/sample/secrets").status_code == 403


def test_a_membership_removed_elsewhere_closes_the_collectivity_at_the_next_request(app, world, login_as,
                                                                                     add_notes):
    from portal.models import Membership

    add_notes(**{world.insee_a: "Note A", world.insee_b: "Note B"})
    m = Membership.__table__
    secretary = login_as("secretary_ab", world.a)
    assert "Note A" in secretary.get("/s/sample/").get_data(as_text=True)
    _change(app, delete(m).where(m.c.user_id == world.users["secretary_ab"].id, m.c.collectivity_id == world.a))
    body = secretary.get("/s/sample/").get_data(as_text=True)
    assert "Note A" not in body and "Note B" in body  # the remaining membership, its territory only


def test_a_service_switched_off_or_a_convention_ended_elsewhere_applies_at_the_next_request(app, world, login_as):
    from portal.models import Convention, ServiceActivation

    a, c = ServiceActivation.__table__, Convention.__table__
    mayor = login_as("mayor_a")
    assert mayor.get("/s/sample/").status_code == 200
    _change(app, update(a).where(a.c.collectivity_id == world.a).values(enabled=False))
    assert mayor.get("/s/sample/").status_code == 403
    _change(app, update(a).where(a.c.collectivity_id == world.a).values(enabled=True))
    assert mayor.get("/s/sample/").status_code == 200
    _change(app, update(c).where(c.c.collectivity_id == world.a)
            .values(ends_on=dt.date.today() - dt.timedelta(days=2)))
    assert mayor.get("/s/sample/").status_code == 403


@pytest.mark.parametrize("change", ["suspended", "session_version"])
def test_an_account_suspended_or_signed_out_elsewhere_is_refused_at_the_next_request(app, world, login_as, change):
    from portal.models import User

    u = User.__table__
    mayor = login_as("mayor_a")
    assert mayor.get("/s/sample/").status_code == 200
    values = {"status": "suspended"} if change == "suspended" else {"session_version": u.c.session_version + 1}
    _change(app, update(u).where(u.c.id == world.users["mayor_a"].id).values(**values))
    resp = mayor.get("/s/sample/")
    assert resp.status_code == 302 and "/connexion" in resp.headers["Location"]


def test_a_token_revoked_or_its_account_changed_elsewhere_is_refused_at_the_next_call(app, world, login_as):
    from portal.models import ApiToken, Membership
    from tests.portal.test_api import _create_token

    token = _create_token(login_as("mayor_a"))
    api = app.test_client()
    h = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/me", headers=h).get_json()["permissions"].count("sample.secret") == 1
    m, t = Membership.__table__, ApiToken.__table__
    _change(app, update(m).where(m.c.user_id == world.users["mayor_a"].id).values(role="elected"))
    assert "sample.secret" not in api.get("/api/v1/me", headers=h).get_json()["permissions"]
    _change(app, update(t).where(t.c.user_id == world.users["mayor_a"].id).values(revoked_at=dt.datetime(2026, 1, 1)))
    assert api.get("/api/v1/me", headers=h).status_code == 401


def test_the_request_gets_its_own_copy_never_the_kept_graph(app, world, login_as):
    """A change made in place in one request (and not saved) is never seen by the next one."""
    from sqlalchemy import inspect

    from portal import usercontext
    from portal.extensions import db

    uid = world.users["mayor_a"].id
    assert login_as("mayor_a").get("/").status_code == 200
    with app.test_request_context("/"):
        user = usercontext.load(uid)
        assert user is not _kept(world, "mayor_a") and inspect(user).session is db.session()
        user.memberships[0].extra_permissions.append("sample.nothing")
        user.memberships[0].collectivity.conventions[0].services.append("nothing")
        user.full_name = "Changed in place"
        db.session.rollback()
    with app.test_request_context("/"):
        user = usercontext.load(uid)
        assert user.full_name != "Changed in place"
        assert "sample.nothing" not in user.memberships[0].extra_permissions
        assert "nothing" not in user.memberships[0].collectivity.conventions[0].services
        db.session.rollback()


def test_a_membership_added_elsewhere_is_there_at_the_next_request(app, world, login_as):
    from sqlalchemy import insert

    from portal.models import Membership

    mayor = login_as("mayor_a")
    assert [m["collectivity"]["insee"] for m in mayor.get("/api/v1/me").get_json()["memberships"]] == [world.insee_a]
    _change(app, insert(Membership.__table__).values(user_id=world.users["mayor_a"].id, collectivity_id=world.b,
                                                     role="elected", extra_permissions=[],
                                                     created_at=dt.datetime(2026, 1, 1)))
    insee = [m["collectivity"]["insee"] for m in mayor.get("/api/v1/me").get_json()["memberships"]]
    assert insee == [world.insee_a, world.insee_b]
