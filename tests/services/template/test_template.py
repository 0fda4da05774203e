"""The service skeleton (services/_template) works as a service: mounted through EXTRA_SERVICES, its page opens
through the gate, its API writes through the shared operations, its declared parts reach the portal, and the
cross-territory sweep finds nothing of another commune on any of its routes."""
from __future__ import annotations

from tests.helpers.cross_territory import check_routes

from .fixtures import make_note

PREFIXES = ("/s/template", "/api/v1/template", "/p/template", "/admin/s/template")


def test_the_page_opens_through_the_gate_and_a_note_is_written(template_app, world, template_client):
    make_note(template_app, world.insee_a, "Réunion du conseil")
    mayor = template_client("mayor_a")
    page = mayor.get("/s/template/").get_data(as_text=True)
    assert "Réunion du conseil" in page and "/s/template/static/template/template.css" in page
    assert mayor.post("/s/template/notes", {"title": "Fête du village"}, csrf_from="/s/template/").status_code == 302
    assert "Fête du village" in mayor.get("/s/template/").get_data(as_text=True)
    assert template_client("elected_a").post("/s/template/notes", {"title": "x"},
                                             csrf_from="/s/template/").status_code == 403
    assert template_client("epci_user").get("/s/template/").status_code == 403  # communes only (descriptor)
    anonymous = template_app.test_client().get("/s/template/")
    assert anonymous.status_code == 302 and "/connexion" in anonymous.headers["Location"]


def test_the_api_shares_the_schema_and_the_declared_parts_reach_the_portal(template_app, world, template_client):
    mayor = template_client("mayor_a")
    headers = {"X-CSRFToken": mayor.csrf("/profil")}  # the browser session: CSRF as for a form
    assert mayor.http.post("/api/v1/template/notes", json={"title": "  "}, headers=headers).get_json() == {
        "error": "Donnez un titre à la note."}
    created = mayor.http.post("/api/v1/template/notes", json={"title": "Voirie"}, headers=headers)
    assert created.status_code == 201 and created.get_json()["title"] == "Voirie"
    document = mayor.get("/api/v1/openapi.json").get_json()
    assert "/template/notes" in document["paths"] and "TemplateNote" in document["components"]["schemas"]
    journal = mayor.get("/mairie/journal").get_data(as_text=True)
    assert "Notes\u00a0: note écrite" in journal  # the descriptor's audit label
    assert template_app.extensions["service_registry"].get("template").migrations.endswith("_template/migrations")


def test_no_route_of_the_skeleton_shows_another_communes_notes(template_app, world, template_client):
    foreign = make_note(template_app, world.insee_b, "Note-secrete-de-Jaucourt")
    make_note(template_app, world.insee_a, "Note d'Ailleville")
    for role in ("mayor_a", "secretary_a", "elected_a", "epci_user", "dept_admin"):
        report = check_routes(template_client(role), template_app,
                              {"note_id": foreign, "insee": world.insee_b}, ["Note-secrete-de-Jaucourt"],
                              prefixes=PREFIXES)
        report.assert_clean()
    counts = template_client("dept_admin").get("/admin/s/template/").get_data(as_text=True)
    assert world.insee_b in counts and "Note-secrete" not in counts
