"""Polling stations management: edit, delete (refused while voters are attached), street table rows edited and
deleted, the map of the bureaux and the location picked on it; every change audited. Fictitious people."""
from __future__ import annotations

from sqlalchemy import select


def _events(app, action):
    from portal.extensions import db
    from portal.models import AuditEvent

    with app.app_context():
        return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_bureau_page_edit_and_location(elec, login_as, app):
    from portal.extensions import db
    from services.electoral.models import PollingStation

    c = login_as("secretary_a")
    listing = c.get("/s/electoral/bureaux").get_data(as_text=True)
    assert "est encore localisé" in listing and 'src="/s/electoral/bureaux/carte"' not in listing
    page = f"/s/electoral/bureaux/{elec.bureau_a2}"
    body = c.get(page).get_data(as_text=True)
    assert "Salle des fêtes" in body and "Pas encore localisé" in body and "Rue des Vignes" in body
    assert f"/s/electoral/bureaux/carte?bureau={elec.bureau_a2}&amp;choisir=1" in body
    body = c.post(f"{page}/modifier", {"b-number": "1", "b-name": "Salle des fêtes"}, csrf_from=page)
    assert body.status_code == 400 and "déjà ce numéro" in body.get_data(as_text=True)
    body = c.post(f"{page}/modifier", {"b-number": "2", "b-name": "Salle", "b-latitude": "31/02"}, csrf_from=page)
    assert body.status_code == 400 and "champs en rouge" in body.get_data(as_text=True)
    resp = c.post(f"{page}/modifier", {"b-number": "2", "b-name": "Salle polyvalente", "b-address": "Place de l'Église",
                                       "b-latitude": "48.2391", "b-longitude": "4.7583"}, csrf_from=page)
    assert resp.status_code == 302
    body = c.get(page).get_data(as_text=True)
    assert "Salle polyvalente" in body and "48.239100, 4.758300" in body
    assert 'src="/s/electoral/bureaux/carte"' in c.get("/s/electoral/bureaux").get_data(as_text=True)
    with app.app_context():
        b = db.session.get(PollingStation, elec.bureau_a2)
        assert (b.name, b.latitude, b.longitude) == ("Salle polyvalente", 48.2391, 4.7583)
    [event] = _events(app, "electoral.bureau_updated")
    assert event.details["changes"]["name"] == ["Salle des fêtes", "Salle polyvalente"]
    assert event.details["changes"]["latitude"] == [None, 48.2391]
    # the map: a document of the portal map builder with the located bureau, its own CSP, framed by our pages only
    resp = c.get("/s/electoral/bureaux/carte")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in resp.headers["Content-Security-Policy"]
    assert "48.2391" in html and "4.7583" in html and "Salle polyvalente" in html
    assert "electoral-location" not in html  # picking only on the edit page
    picked = c.get(f"/s/electoral/bureaux/carte?bureau={elec.bureau_a2}&choisir=1").get_data(as_text=True)
    assert "electoral-location" in picked
    # an elected official sees the map but cannot pick nor edit
    e = login_as("elected_a")
    assert "electoral-location" not in e.get(f"/s/electoral/bureaux/carte?bureau={elec.bureau_a2}&choisir=1"
                                             ).get_data(as_text=True)
    assert e.post(f"{page}/modifier", {"b-number": "2", "b-name": "X"}, csrf_from=page).status_code == 403
    assert e.post(f"{page}/supprimer", {}, csrf_from=page).status_code == 403


def test_bureau_deletion_refused_while_voters_are_attached(elec, login_as, app, add_voter, world):
    from portal.extensions import db
    from services.electoral.models import PollingStation, StreetBureau

    c = login_as("mayor_a")
    page = f"/s/electoral/bureaux/{elec.bureau_a}"
    resp = c.post(f"{page}/supprimer", {}, csrf_from=page, follow_redirects=True)
    body = resp.get_data(as_text=True)
    assert "ne peut pas être supprimé\u00a0: 2 électeur(s) y sont rattachés" in body
    with app.app_context():
        assert db.session.get(PollingStation, elec.bureau_a) is not None
    assert not _events(app, "electoral.bureau_deleted")
    # bureau 2 has no voter but a street: deleted with its street, audited
    page2 = f"/s/electoral/bureaux/{elec.bureau_a2}"
    resp = c.post(f"{page2}/supprimer", {}, csrf_from=page2)
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(PollingStation, elec.bureau_a2) is None
        assert db.session.scalar(select(StreetBureau).where(StreetBureau.street_key == "rue des vignes")) is None
    [event] = _events(app, "electoral.bureau_deleted")
    assert event.details["streets"] == ["Rue des Vignes"] and event.details["number"] == "2"


def test_bureau_deletion_refused_when_removed_voters_refer_to_it(elec, login_as, app, add_voter, world):
    from portal.extensions import db
    from services.electoral.models import PollingStation, Voter

    vid = add_voter(world.insee_a, "ANCIEN", "Paul", "1950-01-01", elec.bureau_a2)
    with app.app_context():
        db.session.get(Voter, vid).status = "removed"
        db.session.commit()
    c = login_as("mayor_a")
    page = f"/s/electoral/bureaux/{elec.bureau_a2}"
    body = c.post(f"{page}/supprimer", {}, csrf_from=page, follow_redirects=True).get_data(as_text=True)
    assert "historique de 1 électeur(s) radié(s)" in body
    with app.app_context():
        assert db.session.get(PollingStation, elec.bureau_a2) is not None


def test_street_table_rows_edited_and_deleted(elec, login_as, app):
    from portal.extensions import db
    from services.electoral import roll
    from services.electoral.models import StreetBureau

    c = login_as("secretary_a")
    with app.app_context():
        sid = db.session.scalar(select(StreetBureau.id).where(StreetBureau.street_key == "rue des vignes"))
    body = c.get("/s/electoral/bureaux").get_data(as_text=True)
    assert f"/s/electoral/decoupage/{sid}/modifier" in body and f"/s/electoral/decoupage/{sid}/supprimer" in body
    resp = c.post(f"/s/electoral/decoupage/{sid}/modifier", {"s-street": "Rue des Vignes Hautes",
                                                             "s-bureau": str(elec.bureau_a)},
                  csrf_from="/s/electoral/bureaux")
    assert resp.status_code == 302
    with app.app_context():
        row = db.session.get(StreetBureau, sid)
        assert (row.street_key, row.bureau_id) == ("rue des vignes hautes", elec.bureau_a)
    [event] = _events(app, "electoral.street_updated")
    assert event.details["before"] == {"street": "Rue des Vignes", "bureau": "2"}
    # a street already in the table is refused with a French message; a bureau of another commune does not exist
    c.post("/s/electoral/bureaux", {"s-street": "Route de Bar", "s-bureau": str(elec.bureau_a2)},
           csrf_from="/s/electoral/bureaux")
    body = c.post(f"/s/electoral/decoupage/{sid}/modifier", {"s-street": "route de BAR", "s-bureau": str(elec.bureau_a)},
                  csrf_from="/s/electoral/bureaux", follow_redirects=True).get_data(as_text=True)
    assert "déjà dans la table" in body
    body = c.post(f"/s/electoral/decoupage/{sid}/modifier", {"s-street": "X", "s-bureau": str(elec.bureau_b)},
                  csrf_from="/s/electoral/bureaux", follow_redirects=True).get_data(as_text=True)
    assert "Indiquez la voie" in body
    resp = c.post(f"/s/electoral/decoupage/{sid}/supprimer", {"back": "bureau"}, csrf_from="/s/electoral/bureaux")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/s/electoral/bureaux/{elec.bureau_a}")
    with app.app_context():
        assert db.session.get(StreetBureau, sid) is None
    assert len(_events(app, "electoral.street_deleted")) == 1
