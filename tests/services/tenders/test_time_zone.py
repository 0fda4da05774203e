"""The deadline and every time shown to the companies are written in the legal time of the buyer's département
(portal.identity), not always in Paris time: « heure de Mayotte » for a commune of Mayotte."""
from __future__ import annotations


def test_the_public_page_and_the_rc_name_the_buyers_time_zone(app, published, client):
    from portal.extensions import db
    from services.tenders import deposits, documents
    from services.tenders.models import Tender

    _mayor, tid = published
    with app.test_request_context():
        t = db.session.get(Tender, tid)
        assert "heure de Paris (UTC+1 en hiver, UTC+2 en été)" in " ".join(documents.submission_fr(t))
        paris_utc = deposits.deadline_utc(t)
        collectivity_id, home = t.collectivity_id, t.collectivity.department_code
        t.collectivity.department_code = "976"
        db.session.commit()
    try:
        page = client.get(f"/p/tenders/{tid}").get_data(as_text=True)
        assert "heure de Mayotte" in page and "heure de Paris" not in page
        with app.test_request_context():
            t = db.session.get(Tender, tid)
            text = " ".join(documents.submission_fr(t))
            assert "heure de Mayotte (UTC+3, sans changement d'heure)" in text and "Paris" not in text
            # the same wall-clock deadline is a different moment: noon in Mamoudzou is 09:00 UTC all year
            assert deposits.deadline_utc(t).hour == 9 and deposits.deadline_utc(t) != paris_utc
    finally:
        # Collectivities are reference data, never emptied between tests (tests/conftest.py, REFERENCE_TABLES): left
        # in Mayotte, Ailleville was out of the Aube team's reach for every later test of the session (404s on the
        # department pages of actes, desk, admin… whenever this file ran before them).
        from portal.models import Collectivity

        with app.app_context():
            db.session.get(Collectivity, collectivity_id).department_code = home
            db.session.commit()
