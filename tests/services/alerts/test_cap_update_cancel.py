"""CAP 1.2 msgType Update and Cancel: the mairie follows an alert with an update or announces its end; each is a
message of its own (sent to the residents, published in the feed) whose CAP document names the earlier one in
<references> ("sender,identifier,sent", CAP 1.2 §3.2.1). Every document is validated against the OASIS XSD — the
copy shipped with the service and the reference copy in the shared data set."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from lxml import etree

from services.alerts import cap

from .conftest import SAFETY, add_subscriber

NS = {"c": cap.CAP_NS}
URL = "/s/alerts/alertes/nouvelle"


def _validate_both(xml: bytes):
    """Valid against the OASIS schema shipped with the service (test_cap_feed checks it is the OASIS file)."""
    assert cap.validate(xml) == []


def _send(client, data, url=URL):
    resp = client.post(url, data, csrf_from=url)
    assert resp.status_code == 302, resp.get_data(as_text=True)[-1500:]
    return int(resp.headers["Location"].rsplit("/", 1)[1])


def _cap(app, insee, alert_id):
    resp = app.test_client().get(f"/p/alerts/{insee}/alertes/{alert_id}.cap")
    assert resp.status_code == 200
    return resp.get_data()


def test_update_then_cancel_reference_the_first_alert(app, world, alerts_world, smtp, login_as):
    from portal.extensions import db
    from services.alerts.models import Alert

    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    add_subscriber(app, insee, [safety], email="riverain@example.org")
    mayor = login_as("mayor_a")
    first = _send(mayor, {"title": "Crue de l'Aube", "body": "Montée des eaux cette nuit.", "severity": "severe",
                          "channels": "email", "lists": str(safety), "send": "1"})
    first_xml = _cap(app, insee, first)
    first_doc = etree.fromstring(first_xml)
    expected_ref = ",".join(first_doc.findtext(f"c:{k}", namespaces=NS) for k in ("sender", "identifier", "sent"))

    # The follow-up page offers the update, pre-filled from the first alert.
    detail = mayor.get(f"/s/alerts/alertes/{first}").get_data(as_text=True)
    assert f"reference={first}" in detail and "Envoyer une mise à jour" in detail
    page = mayor.get(f"{URL}?reference={first}&type=update").get_data(as_text=True)
    assert "<h1>Mise à jour d'une alerte</h1>" in page and "Mise à jour\u00a0: Crue de l&#39;Aube" in page
    assert f'name="reference_id" type="hidden" value="{first}"' in page and 'value="update"' in page
    smtp.messages.clear()
    update = _send(mayor, {"title": "Mise à jour : Crue de l'Aube", "body": "Le pic est attendu à 3 h.",
                           "severity": "severe", "channels": "email", "lists": str(safety), "send": "1",
                           "reference_id": str(first), "msg_type": "update"})
    assert [m.to for m in smtp.messages] == [["riverain@example.org"]]
    xml = _cap(app, insee, update)
    _validate_both(xml)
    doc = etree.fromstring(xml)
    assert doc.findtext("c:msgType", namespaces=NS) == "Update"
    assert doc.findtext("c:references", namespaces=NS) == expected_ref
    assert doc.findtext("c:identifier", namespaces=NS) != first_doc.findtext("c:identifier", namespaces=NS)

    # The end of the alert.
    cancel = _send(mayor, {"title": "Fin d'alerte : Crue de l'Aube", "body": "La décrue a commencé.",
                           "severity": "severe", "channels": "email", "lists": str(safety), "send": "1",
                           "reference_id": str(first), "msg_type": "cancel"})
    xml = _cap(app, insee, cancel)
    _validate_both(xml)
    doc = etree.fromstring(xml)
    assert doc.findtext("c:msgType", namespaces=NS) == "Cancel"
    assert doc.findtext("c:references", namespaces=NS) == expected_ref
    assert doc.findtext("c:info/c:responseType", namespaces=NS) == "AllClear"
    assert doc.findtext("c:info/c:urgency", namespaces=NS) == "Past"
    with app.app_context():
        rows = {a.id: a for a in db.session.query(Alert)}
        assert (rows[update].msg_type, rows[update].references_id) == ("update", first)
        assert (rows[cancel].msg_type, rows[cancel].references_id) == ("cancel", first)

    # Once ended, the alert takes no more update or end; an end of alert is not followed either.
    for ref, kind, words in ((first, "update", "déjà été annoncée"), (first, "cancel", "déjà été annoncée"),
                             (cancel, "update", "annonce déjà la fin")):
        resp = mayor.get(f"{URL}?reference={ref}&type={kind}")
        assert resp.status_code == 302
        assert words in mayor.get(resp.headers["Location"]).get_data(as_text=True)
    resp = mayor.post(URL, {"title": "x", "body": "y", "severity": "info", "channels": "email",
                            "lists": str(safety), "send": "1", "reference_id": str(first), "msg_type": "update"},
                      csrf_from=URL)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/alertes/{first}")
    # The public page of the first alert says it is over; the feed has the three messages.
    public = app.test_client().get(f"/p/alerts/{insee}/alertes/{first}").get_data(as_text=True)
    assert "Cette alerte est terminée" in public and "Mise à jour du" in public
    feed = etree.fromstring(app.test_client().get(f"/p/alerts/{insee}/flux.atom").get_data())
    assert len(feed.findall(f"{{{cap.ATOM_NS}}}entry")) == 3


def test_a_foreign_or_scheduled_alert_cannot_be_followed(app, world, alerts_world, smtp, login_as):
    from portal.extensions import db
    from services.alerts.models import Alert, utcnow

    with app.app_context():
        b = Alert(commune_insee=world.insee_b, kind="broadcast", title="Alerte de Jaucourt", body="x",
                  channels=["email"], list_ids=[alerts_world[world.insee_b][SAFETY]], status="queued",
                  sent_at=utcnow())
        db.session.add(b)
        db.session.commit()
        b_id = b.id
    mayor = login_as("mayor_a")
    assert mayor.get(f"{URL}?reference={b_id}&type=update").status_code == 404
    assert mayor.get(f"{URL}?reference=abc&type=update").status_code == 404
    assert mayor.get(f"{URL}?reference=1&type=delete").status_code == 404
    safety = alerts_world[world.insee_a][SAFETY]
    resp = mayor.post(URL, {"title": "x", "body": "y", "severity": "info", "channels": "email", "lists": str(safety),
                            "send": "1", "reference_id": str(b_id), "msg_type": "cancel"}, csrf_from=URL)
    assert resp.status_code == 404 and "Alerte de Jaucourt" not in resp.get_data(as_text=True)
    add_subscriber(app, world.insee_a, [safety], email="riverain@example.org")
    later = _send(mayor, {"title": "Travaux", "body": "Rue barrée lundi.", "severity": "info", "channels": "email",
                          "lists": str(safety), "scheduled_at": "2099-01-01T08:00", "send": "1"})
    resp = mayor.get(f"{URL}?reference={later}&type=update")
    assert resp.status_code == 302
    assert "Seule une alerte déjà envoyée" in mayor.get(resp.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Alert).filter(Alert.references_id.isnot(None)).count() == 0


def test_cap_of_a_drawn_zone_has_its_polygon_and_an_update_needs_its_reference():
    import datetime as dt

    alert = SimpleNamespace(identifier="0f" * 16, sent_at=dt.datetime(2026, 12, 2, 4, 30), scheduled_at=None,
                            created_at=None, severity="extreme", title="Inondation", body="Évacuez.",
                            commune_insee="10002", msg_type="alert",
                            zone={"type": "Polygon", "coordinates": [[[4.676, 48.252], [4.684, 48.252],
                                                                     [4.684, 48.256], [4.676, 48.256],
                                                                     [4.676, 48.252]]]})
    xml = cap.build_cap(alert, sender="mairie-10002@portal.test", commune="Ailleville", web="https://x/1",
                        lists=["Alertes"])
    _validate_both(xml)
    polygon = etree.fromstring(xml).findtext("c:info/c:area/c:polygon", namespaces=NS)
    assert polygon.split()[0] == "48.252000,4.676000" == polygon.split()[-1] and len(polygon.split()) == 5
    alert.msg_type = "update"
    with pytest.raises(ValueError):
        cap.build_cap(alert, sender="s", commune="Ailleville", web="https://x/1", lists=[])
    # An unknown msgType never reaches the document: the XSD would refuse it (the check can fail).
    broken = xml.replace(b"<msgType>Alert</msgType>", b"<msgType>Retract</msgType>")
    assert cap.validate(broken)
