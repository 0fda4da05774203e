"""The department never sees voters, except in the audited, read-only support mode of the portal (DESIGN.md §2)."""
from sqlalchemy import select

REASON = "La secrétaire ne retrouve plus l'électrice MARTIN dans la liste du bureau 1"


def test_department_sees_voters_only_in_support_mode_and_cannot_change_them(app, world, login_as, elec):
    agent = login_as("dept_agent")
    assert agent.get("/s/electoral/").status_code in (302, 403)  # no voter outside the support mode
    assert agent.get(f"/s/electoral/electeurs/{elec.voter_a}").status_code in (302, 403)

    opened = agent.post(f"/assistance/ouvrir/{world.a}", {"reason": REASON, "duration": "15"},
                        csrf_from=f"/admin/collectivites/{world.a}")
    assert opened.status_code == 302
    listing = agent.get("/s/electoral/").get_data(as_text=True)
    assert "MARTIN" in listing and "SECRETNOMB" not in listing  # Ailleville's roll, not Jaucourt's
    assert "MARTIN" in agent.get(f"/s/electoral/electeurs/{elec.voter_a}").get_data(as_text=True)
    assert agent.get(f"/s/electoral/electeurs/{elec.voter_b}").status_code == 404  # another commune's voter
    # read-only: no registration, no removal, no import
    assert agent.get("/s/electoral/inscrire").status_code == 403
    assert agent.post(f"/s/electoral/electeurs/{elec.voter_a}/radier", {"reason": "death", "date": "2026-11-01"},
                      csrf_from=f"/s/electoral/electeurs/{elec.voter_a}").status_code == 403
    assert agent.get("/s/electoral/import").status_code == 403

    from portal.extensions import db
    from portal.models import AuditEvent
    from services.electoral.models import Voter

    with app.app_context():
        seen = [e.details["path"] for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "support.page", AuditEvent.collectivity_id == world.a))]
        assert f"/s/electoral/electeurs/{elec.voter_a}" in seen and "/s/electoral/" in seen
        assert db.session.get(Voter, elec.voter_a).status == "registered"
