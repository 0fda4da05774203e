"""Réinscription of a removed voter: same record, history kept, the roll at a past date rebuilt as it was; refused in
French when it makes no sense. Fictitious people."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select


def _remove(c, voter_id, day="10/06/2025"):
    page = f"/s/electoral/electeurs/{voter_id}"
    resp = c.post(f"{page}/radier", {"reason": "loss_of_attachment", "effective_on": day}, csrf_from=page)
    assert resp.status_code == 302


def test_reinstatement_keeps_history_and_past_rolls(elec, login_as, app, world):
    from portal.extensions import db
    from portal.models import AuditEvent
    from portal.tenancy import territory_scope
    from services.electoral import roll
    from services.electoral.models import Voter

    c = login_as("secretary_a")
    page = f"/s/electoral/electeurs/{elec.voter_a}"
    _remove(c, elec.voter_a)
    body = c.get(page).get_data(as_text=True)
    assert "Réinscrire sur la liste" in body and "Radier de la liste" not in body
    resp = c.post(f"{page}/reinscrire", {"reason": "commission_decision", "effective_on": "01/09/2025",
                                         "note": "Radiation contestée, commission du 28/08/2025"}, csrf_from=page,
                  follow_redirects=True)
    body = resp.get_data(as_text=True)
    assert "est de nouveau inscrit" in body or "de nouveau sur la liste" in body
    assert "Réinscription" in body and "Décision de la commission de contrôle" in body
    with app.app_context(), territory_scope({world.insee_a}):
        v = db.session.get(Voter, elec.voter_a)
        assert v.status == "registered"
        assert [m.kind for m in v.movements] == ["registration", "removal", "reinstatement"]
        assert v.movements[2].note == "Radiation contestée, commission du 28/08/2025"
        assert elec.voter_a in roll.roll_at(dt.date(2025, 6, 9))
        assert elec.voter_a not in roll.roll_at(dt.date(2025, 6, 10))
        assert elec.voter_a not in roll.roll_at(dt.date(2025, 8, 31))
        assert elec.voter_a in roll.roll_at(dt.date(2025, 9, 1))
        assert elec.voter_a in roll.roll_at(dt.date.today())
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "electoral.voter_reinstated"))
        assert event.target_id == str(elec.voter_a) and event.details["reason"] == "commission_decision"
    # back in searches and on the printed lists; the commission table counts it
    assert "MARTIN" in c.get("/s/electoral/?q=martin").get_data(as_text=True)
    body = c.get("/s/electoral/commission?du=01/01/2025&au=31/12/2025").get_data(as_text=True)
    assert "Réinscription" in body and "Radiation" in body
    # the general list at a date between removal and reinstatement does not have the voter
    from pypdf import PdfReader
    import io

    pdf = c.get("/s/electoral/liste-generale.pdf?au=15/07/2025")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "ÉTIENNE" in text and "MARTIN" not in text
    pdf = c.get("/s/electoral/liste-generale.pdf?au=15/09/2025")
    assert "MARTIN" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)


def test_reinstatement_refused_when_it_makes_no_sense(elec, login_as, app, world, add_voter):
    from portal.extensions import db
    from portal.models import AuditEvent
    from services.electoral.models import Voter

    c = login_as("mayor_a")
    page = f"/s/electoral/electeurs/{elec.voter_a}"
    body = c.post(f"{page}/reinscrire", {"reason": "wrongful_removal", "effective_on": "01/09/2025"},
                  csrf_from=page, follow_redirects=True).get_data(as_text=True)
    assert "rien à réinscrire" in body
    _remove(c, elec.voter_a)
    body = c.post(f"{page}/reinscrire", {"reason": "wrongful_removal", "effective_on": "01/06/2025"},
                  csrf_from=page, follow_redirects=True).get_data(as_text=True)
    assert "avant la radiation (10/06/2025)" in body
    body = c.post(f"{page}/reinscrire", {"reason": "wrongful_removal", "effective_on": "31/02/2026"},
                  csrf_from=page, follow_redirects=True).get_data(as_text=True)
    assert "date d'effet réelle" in body or "date d&#39;effet réelle" in body
    body = c.post(f"{page}/reinscrire", {"reason": "birthday", "effective_on": "01/09/2025"},
                  csrf_from=page, follow_redirects=True).get_data(as_text=True)
    assert "date d" in body  # a reason outside the list is refused by the form
    # a registered twin (same identity) blocks the reinstatement
    add_voter(world.insee_a, "MARTIN", "Élodie Anne", "1980-05-04", elec.bureau_a)
    body = c.post(f"{page}/reinscrire", {"reason": "wrongful_removal", "effective_on": "01/09/2025"},
                  csrf_from=page, follow_redirects=True).get_data(as_text=True)
    assert "même identité" in body
    with app.app_context():
        assert db.session.get(Voter, elec.voter_a).status == "removed"
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "electoral.voter_reinstated")) is None
    # read-only roles cannot reinstate
    e = login_as("elected_a")
    assert e.post(f"{page}/reinscrire", {"reason": "wrongful_removal", "effective_on": "01/09/2025"},
                  csrf_from="/profil").status_code == 403
