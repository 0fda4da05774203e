"""Demo data (fictitious voters, clearly marked) and polling stations located from the REU open data."""
from __future__ import annotations

from sqlalchemy import func, select


def test_polling_stations_of_concarneau_from_the_reu_sample():
    from services.electoral.reu import SAMPLE, bureaux_from_reu

    text = SAMPLE.read_text(encoding="utf-8")
    found = bureaux_from_reu(text, "29039")
    assert [b.number for b in found] == [str(i) for i in range(1, 18)]
    assert sum(b.points for b in found) == 6849  # rows of 29039 in the INSEE sample
    for b in found:  # Concarneau, Finistère
        assert 47.8 < b.latitude < 47.95 and -4.0 < b.longitude < -3.8
    assert len(bureaux_from_reu(text, "29116")) == 1
    assert bureaux_from_reu(text, "10002") == []


def test_reu_bureaux_command(app, world):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.electoral.models import PollingStation

    result = app.test_cli_runner().invoke(args=["electoral", "reu-bureaux", "29039"])
    assert result.exit_code == 0, result.output
    assert "17 polling stations" in result.output
    with app.app_context(), territory_scope({"29039"}):
        b = db.session.scalar(select(PollingStation).where(PollingStation.number == "6"))
        assert b.latitude and b.longitude
    result = app.test_cli_runner().invoke(args=["electoral", "reu-bureaux", "10002"])
    assert result.exit_code != 0 and "no polling station" in result.output


def test_demo_command_adds_fictitious_voters_marked_as_such(app, world, subscribe, login_as):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.electoral.models import Election, Voter

    result = app.test_cli_runner().invoke(args=["electoral", "demo", "--voters", "30", "10002"])
    assert result.exit_code == 0, result.output
    again = app.test_cli_runner().invoke(args=["electoral", "demo", "--voters", "30", "10002"])
    assert "left alone" in again.output
    with app.app_context(), territory_scope({"10002"}):
        assert db.session.scalar(select(func.count()).select_from(Voter)) == 30
        assert db.session.scalar(select(Election)).first_round.year == 2027
        v = db.session.scalars(select(Voter)).first()
        assert "FICTIF" in v.movements[0].note
    subscribe("electoral", world.a)
    body = login_as("secretary_a").get("/s/electoral/").get_data(as_text=True)
    assert "FICTIFS" in body and "30 électeur(s) trouvé(s)" in body
