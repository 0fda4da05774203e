"""Alerts to a zone: subscribers' addresses geocoded through the BAN API (loopback server), then a polygon drawn on
the map or a choice of streets narrows the lists."""
import json

from sqlalchemy import select

from tests.conftest import PortalClient

from .conftest import SAFETY

# Around the Rue du Lavoir point (4.679, 48.254) only.
LAVOIR_POLYGON = {"type": "Polygon", "coordinates": [[[4.670, 48.250], [4.685, 48.250], [4.685, 48.258],
                                                       [4.670, 48.258], [4.670, 48.250]]]}
EMPTY_POLYGON = {"type": "Polygon", "coordinates": [[[4.60, 48.20], [4.61, 48.20], [4.61, 48.21], [4.60, 48.20]]]}


def _subscribe(app, insee, safety, email, address):
    from portal.extensions import db
    from services.alerts.models import Subscriber

    resident = PortalClient(app)
    resident.post(f"/p/alerts/{insee}/", {"email": email, "lists": str(safety), "address": address},
                  csrf_from=f"/p/alerts/{insee}/")
    with app.app_context():
        sub = db.session.scalar(select(Subscriber).where(Subscriber.email == email))
        sub.email_confirmed_at = sub.created_at
        db.session.commit()
        return sub.id


def test_addresses_are_geocoded_and_a_drawn_zone_or_streets_narrow_the_lists(app, world, alerts_world, smtp,
                                                                             geocoder, login_as):
    from portal.extensions import db
    from services.alerts.models import Delivery, SubscriberLocation

    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    _subscribe(app, insee, safety, "lavoir@example.org", "3 rue du Lavoir")
    _subscribe(app, insee, safety, "grande@example.org", "12 Grande Rue")
    _subscribe(app, insee, safety, "inconnu@example.org", "Lieu-dit les Près")
    assert {q["citycode"][0] for q in geocoder.queries} == {insee}
    with app.app_context():
        locs = {loc.street or loc.status for loc in db.session.scalars(select(SubscriberLocation))}
        assert locs == {"Rue du Lavoir", "Grande Rue", "not_found"}
    secretary = login_as("secretary_a")
    # The map data: the commune outline and anonymous points.
    data = secretary.get("/api/v1/alerts/map").get_json()
    assert data["boundary"]["type"] in ("Polygon", "MultiPolygon") and len(data["points"]) == 2
    assert "lavoir@example.org" not in json.dumps(data)
    url = "/s/alerts/alertes/nouvelle"
    page = secretary.get(url).get_data(as_text=True)
    assert 'id="zone-map"' in page and "Rue du Lavoir" in page
    base = {"title": "Inondation", "body": "Crue : quittez les caves.", "severity": "extreme", "channels": "email",
            "lists": str(safety), "send": "1"}
    body = secretary.post(url, dict(base, zone=json.dumps(EMPTY_POLYGON)), csrf_from=url).get_data(as_text=True)
    assert "aucun abonné confirmé de ces listes ne réside dans la zone" in body
    body = secretary.post(url, dict(base, zone='{"type": "Polygon", "coordinates": [[[4.6, 48.2]]]}'),
                          csrf_from=url).get_data(as_text=True)
    assert "pas une zone fermée" in body
    resp = secretary.post(url, dict(base, zone=json.dumps(LAVOIR_POLYGON)), csrf_from=url)
    assert resp.status_code == 302
    with app.app_context():
        assert set(db.session.scalars(select(Delivery.address))) == {"lavoir@example.org"}
    assert "zone dessinée" in secretary.get(resp.headers["Location"]).get_data(as_text=True)
    resp = secretary.post(url, dict(base, title="Travaux", streets="Grande Rue"), csrf_from=url)
    assert resp.status_code == 302
    alert_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        assert set(db.session.scalars(select(Delivery.address).where(Delivery.alert_id == alert_id))) == \
            {"grande@example.org"}


def test_changing_the_address_geocodes_again_and_deleting_removes_the_location(app, world, alerts_world, smtp,
                                                                               geocoder):
    from portal.extensions import db
    from services.alerts.models import Subscriber, SubscriberLocation

    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    _subscribe(app, insee, safety, "demenage@example.org", "3 rue du Lavoir")
    with app.app_context():
        token = db.session.scalar(select(Subscriber)).token
    resident = PortalClient(app)
    manage = f"/p/alerts/{insee}/gerer/{token}"
    resident.post(manage, {"lists": str(safety), "address": "8 Grande Rue"}, csrf_from=manage)
    with app.app_context():
        assert db.session.scalar(select(SubscriberLocation)).street == "Grande Rue"
    resident.http.post(f"/p/alerts/{insee}/supprimer/{token}", data={"delete-csrf_token": resident.csrf(manage)})
    with app.app_context():
        assert db.session.scalar(select(SubscriberLocation)) is None
