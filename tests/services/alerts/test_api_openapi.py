"""The service's JSON API (/api/v1/alerts/…) is in the portal's OpenAPI document, and the real answers match the
schemas the document declares (JSON Schema, checked with jsonschema)."""
from __future__ import annotations

import jsonschema

from .conftest import SAFETY, add_subscriber


def _route_to_path(rule: str) -> str:
    return rule.replace("/api/v1", "").replace("<int:alert_id>", "{alert_id}")


def test_every_alerts_api_route_is_documented(app):
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/alerts/"):
            routes[_route_to_path(rule.rule)] = {m.lower() for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert len(routes) >= 4
    for path, methods in routes.items():
        assert path in doc["paths"], path
        assert methods <= set(doc["paths"][path]), (path, methods)
        for method in methods:
            op = doc["paths"][path][method]
            assert op["summary"] and op["tags"] == ["alerts"] and "200" in op["responses"]
            # Path parameters are declared.
            for name in (p.strip("{}") for p in path.split("/") if p.startswith("{")):
                assert any(p["name"] == name and p["in"] == "path" for p in op["parameters"]), (path, name)


def _schema(doc, path, method="get"):
    return doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]


def test_real_answers_match_the_documented_schemas(app, world, alerts_world, smtp, login_as):
    from portal.extensions import db
    from services.alerts.models import SubscriberLocation

    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    sub = add_subscriber(app, insee, [safety], email="lecteur@example.org")
    with app.app_context():
        db.session.add(SubscriberLocation(commune_insee=insee, subscriber_id=sub.id, status="found", latitude=48.25,
                                          longitude=4.68, street="Rue du Lavoir"))
        db.session.commit()
    mayor = login_as("mayor_a")
    doc = mayor.get("/api/v1/openapi.json").get_json()
    url = "/s/alerts/alertes/nouvelle"
    resp = mayor.post(url, {"title": "Crue", "body": "Montée des eaux.", "severity": "severe", "channels": "email",
                            "lists": str(safety), "send": "1"}, csrf_from=url)
    alert_id = int(resp.headers["Location"].rsplit("/", 1)[1])

    listing = mayor.get("/api/v1/alerts/alerts").get_json()
    jsonschema.validate(listing, _schema(doc, "/alerts/alerts"))
    assert [a["id"] for a in listing["alerts"]] == [alert_id] and listing["alerts"][0]["status"] == "queued"
    assert mayor.get("/api/v1/alerts/alerts?limit=abc").status_code == 400

    stats = mayor.get(f"/api/v1/alerts/alerts/{alert_id}/delivery").get_json()
    jsonschema.validate(stats, _schema(doc, "/alerts/alerts/{alert_id}/delivery"))
    assert stats["channels"]["email"]["delivered"] == 1

    points = mayor.get("/api/v1/alerts/map").get_json()
    jsonschema.validate(points, _schema(doc, "/alerts/map"))
    assert points["points"] == [{"lat": 48.25, "lon": 4.68, "lists": [safety]}]

    seg = mayor.http.post("/api/v1/alerts/segments", json={"text": "Crue : évacuez €"},
                          headers={"X-CSRFToken": mayor.csrf("/profil")}).get_json()
    jsonschema.validate(seg, _schema(doc, "/alerts/segments", "post"))
    assert seg["encoding"] == "GSM-7" and seg["units"] == 17  # "€" takes two septets

    # The check can fail: an answer of another shape is refused by the documented schema.
    bad = dict(stats, channels={"email": {"total": "1"}})
    try:
        jsonschema.validate(bad, _schema(doc, "/alerts/alerts/{alert_id}/delivery"))
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("the documented schema accepted a wrong answer")


def test_the_former_french_paths_still_answer_and_are_documented_as_deprecated(app, world, alerts_world, login_as):
    mayor = login_as("mayor_a")
    doc = mayor.get("/api/v1/openapi.json").get_json()
    for old, new in (("/alerts/alertes", "/alerts/alerts"), ("/alerts/carte", "/alerts/map")):
        assert doc["paths"][old]["get"]["deprecated"] is True and not doc["paths"][new]["get"].get("deprecated")
        assert mayor.get(f"/api/v1{old}").get_json() == mayor.get(f"/api/v1{new}").get_json()
    assert doc["paths"]["/alerts/alertes/{alert_id}/suivi"]["get"]["deprecated"] is True


def test_api_requests_are_validated_from_the_schema_the_openapi_document_publishes(app, world, alerts_world,
                                                                                  login_as):
    """No body, negative or absurd values: 400 with a French message, as the published document says."""
    mayor = login_as("mayor_a")
    doc = mayor.get("/api/v1/openapi.json").get_json()
    limit = doc["paths"]["/alerts/alerts"]["get"]["parameters"][0]["schema"]
    assert (limit["minimum"], limit["maximum"]) == (1, 200)
    for bad in ("-5", "0", "201", "100000000000000000000", "abc"):
        resp = mayor.get(f"/api/v1/alerts/alerts?limit={bad}")
        assert resp.status_code == 400, bad
        assert "Requête invalide" in resp.get_json()["error"] and "limit" in resp.get_json()["error"]
    assert mayor.get("/api/v1/alerts/alerts?limit=200").status_code == 200
    headers = {"X-CSRFToken": mayor.csrf("/profil")}
    body_schema = doc["paths"]["/alerts/segments"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    no_body = mayor.http.post("/api/v1/alerts/segments", headers=headers)
    assert no_body.status_code == 400 and "corps JSON" in no_body.get_json()["error"]
    for bad in ({}, {"text": 12}, {"text": "x" * (body_schema["properties"]["text"]["maxLength"] + 1)},
                {"text": "ok", "other": 1}, ["text"]):
        resp = mayor.http.post("/api/v1/alerts/segments", json=bad, headers=headers)
        assert resp.status_code == 400, bad
        jsonschema.validate(resp.get_json(), doc["paths"]["/alerts/segments"]["post"]["responses"]["400"]
                            ["content"]["application/json"]["schema"])
    ok = mayor.http.post("/api/v1/alerts/segments", json={"text": "Crue"}, headers=headers)
    assert ok.status_code == 200 and ok.get_json()["segments"] == 1
