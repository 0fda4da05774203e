"""The department's support mode (DESIGN.md §2): explicit, time-limited, read-only, audited, told to the mayor."""
import datetime as dt

from sqlalchemy import select

REASON = "La secrétaire ne retrouve plus la note du lavoir, appel du 2 décembre"


def _open(client, world, collectivity_id=None, reason=REASON, duration="30"):
    target = collectivity_id or world.a
    return client.post(f"/assistance/ouvrir/{target}", {"reason": reason, "duration": duration},
                       csrf_from=f"/admin/collectivites/{target}")


def _events(app, action):
    from portal.extensions import db
    from portal.models import AuditEvent

    with app.app_context():
        return [(e.collectivity_id, e.actor, e.purpose, dict(e.details))
                for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]


def test_agent_sees_the_commune_read_only_and_everything_is_recorded(app, world, login_as, add_notes, smtp):
    add_notes(**{world.insee_a: "Lavoir d'Ailleville", world.insee_b: "Four de Jaucourt"})
    agent = login_as("dept_agent")
    assert "/s/sample/" not in agent.get("/").headers.get("Location", "")  # the department has no service pages
    assert agent.get("/s/sample/").status_code in (302, 403)

    resp = _open(agent, world)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/")
    home = agent.get("/").get_data(as_text=True)
    assert "Mode assistance du département" in home and REASON in home and "Ailleville" in home

    page = agent.get("/s/sample/").get_data(as_text=True)
    assert "Lavoir" in page and "Four de Jaucourt" not in page  # the commune's territory, no more
    # Read-only: no write permission, no mayor-only permission.
    assert agent.post("/s/sample/notes", {"title": "x", "commune_insee": world.insee_a}).status_code == 403
    assert agent.get("/s/sample/secrets").status_code == 403
    assert agent.post("/mairie/membres/inviter", {"email": "x@example.org", "role": "secretary"},
                      csrf_from="/mairie/membres").status_code == 403
    # The department's own pages wait until the session is closed.
    blocked = agent.get("/admin/collectivites")
    assert blocked.status_code == 302 and blocked.headers["Location"].endswith("/")

    pages = _events(app, "support.page")
    assert {p[3]["path"] for p in pages} >= {"/", "/s/sample/", "/s/sample/secrets", "/admin/collectivites"}
    assert {p[0] for p in pages} == {world.a} and {p[1] for p in pages} == {world.users["dept_agent"].email}
    started = _events(app, "support.started")
    assert started == [(world.a, world.users["dept_agent"].email, REASON,
                        {"minutes": 30, "agent": world.users["dept_agent"].email})]

    # The mayor was told, and reads it all in the mairie's audit log.
    told = [m for m in smtp.messages if m.to == [world.users["mayor_a"].email]]
    assert len(told) == 1 and "Ailleville" in told[0].subject and REASON in told[0].text
    journal = login_as("mayor_a").get("/mairie/journal").get_data(as_text=True)
    assert "Mode assistance du département ouvert" in journal and "Page vue en mode assistance" in journal

    left = agent.post("/assistance/quitter", {}, csrf_from="/")
    assert left.status_code == 302 and left.headers["Location"].endswith(f"/admin/collectivites/{world.a}")
    assert agent.get("/admin/collectivites").status_code == 200
    assert agent.get("/s/sample/").status_code in (302, 403)
    assert [e[0] for e in _events(app, "support.ended")] == [world.a]


def test_a_reason_is_required_and_only_department_staff_may_open_it(app, world, login_as):
    agent = login_as("dept_agent")
    refused = _open(agent, world, reason="aide")
    assert refused.status_code == 302 and refused.headers["Location"].endswith(f"/admin/collectivites/{world.a}#support")
    page = agent.get(f"/admin/collectivites/{world.a}").get_data(as_text=True)
    assert "Le motif doit compter entre 15 et 500 caractères." in page
    assert _open(agent, world, duration="600").status_code == 302
    assert agent.get("/s/sample/").status_code in (302, 403)  # no session opened by either
    assert _events(app, "support.started") == []
    for key in ("mayor_a", "secretary_ab", "epci_user"):
        assert _open(login_as(key), world, world.b).status_code == 403, key
    assert _open(agent, world, collectivity_id=world.dept).status_code == 404


def test_the_session_expires_by_itself(app, world, login_as, add_notes):
    from portal.extensions import db
    from portal.models import SupportSession

    add_notes(**{world.insee_a: "Lavoir d'Ailleville"})
    agent = login_as("dept_admin")
    _open(agent, world, duration="15")
    assert "Lavoir" in agent.get("/s/sample/").get_data(as_text=True)
    with app.app_context():
        sup = db.session.scalars(select(SupportSession)).one()
        sup.expires_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(seconds=1)
        db.session.commit()
    after = agent.get("/s/sample/")
    assert after.status_code in (302, 403) and b"Lavoir" not in after.data
    assert [e[0] for e in _events(app, "support.expired")] == [world.a]
    assert agent.get("/admin/collectivites").status_code == 200


def test_losing_the_department_role_ends_the_session(app, world, login_as):
    from portal.extensions import db
    from portal.models import Membership

    agent = login_as("dept_agent")
    _open(agent, world)
    assert agent.get("/").status_code == 200
    with app.app_context():
        m = db.session.scalars(select(Membership).where(Membership.user_id == world.users["dept_agent"].id)).one()
        m.role = "secretary"  # no longer holds support.enter
        db.session.commit()
    agent.get("/")
    with app.app_context():
        from portal.models import SupportSession

        sup = db.session.scalars(select(SupportSession)).one()
        assert sup.ended_at is not None and sup.end_reason == "revoked"
