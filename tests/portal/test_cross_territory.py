"""The cross-territory check over every registered route (portal pages, API, and the test service)."""
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.helpers.cross_territory import check_routes

ROOT = Path(__file__).resolve().parents[2]


def other_services_prefixes(app) -> list[str]:
    """Routes of the real services are checked by each service's own suite (tests/services/<slug>/)."""
    registry = app.extensions["service_registry"]  # this app's registry (portal.registry.registry needs a context)

    return [f"{base}/{s.slug}" for s in registry.all() if s.slug != "sample"
            for base in ("/s", "/api/v1", "/p", "/admin/s")]


def test_every_deployed_service_has_its_cross_territory_test(app):
    registry = app.extensions["service_registry"]  # this app's registry (portal.registry.registry needs a context)

    for service in registry.all():
        if service.deployed and service.slug != "sample":
            path = ROOT / "tests" / "services" / service.slug / "test_cross_territory.py"
            assert path.exists(), f"{service.slug} has no {path.relative_to(ROOT)}"
            assert "check_routes" in path.read_text(encoding="utf-8")

SECRET_TITLE = "Note-de-Jaucourt-confidentielle"
TROYES_TITLE = "Note-de-Troyes-confidentielle"


@pytest.fixture
def foreign(app, world, add_notes):
    """Objects of commune B (Jaucourt) and of Troyes that users of A / of the EPCI must never reach."""
    from portal.extensions import db
    from portal.models import ApiToken, Convention, Membership
    from portal.security import create_api_token
    from portal.models import User

    notes = add_notes(**{world.insee_b: SECRET_TITLE, world.insee_troyes: TROYES_TITLE})
    with app.app_context():
        mayor_b = db.session.get(User, world.users["mayor_b"].id)
        tok, _ = create_api_token(mayor_b, "jeton de Jaucourt")
        db.session.commit()
        conv_b = db.session.scalar(select(Convention).where(Convention.collectivity_id == world.b))
        memb_b = db.session.scalar(select(Membership).where(Membership.user_id == mayor_b.id))
        ids = {
            "collectivity_id": world.b, "convention_id": conv_b.id, "membership_id": memb_b.id,
            "user_id": mayor_b.id, "token_id": tok.id, "note_id": notes[world.insee_b],
            "token": "x" * 43, "action": "suspendre", "insee": world.insee_b,
        }
        assert db.session.get(ApiToken, tok.id) is not None
    return ids, notes


@pytest.mark.parametrize("role", ["mayor_a", "secretary_a", "elected_a", "secretary_ab"])
def test_users_of_commune_a_never_reach_commune_b(app, world, login_as, foreign, role):
    ids, _ = foreign
    client = login_as(role, world.a)
    report = check_routes(client, app, ids, [SECRET_TITLE, "secret-" + SECRET_TITLE, TROYES_TITLE,
                                             world.users["mayor_b"].email, "jeton de Jaucourt"],
                          exclude=other_services_prefixes(app))
    report.assert_clean()
    assert len(report.checked) > 20


def test_epci_user_sees_members_but_never_outside(app, world, login_as, foreign):
    ids, notes = foreign
    client = login_as("epci_user")
    ids = dict(ids, note_id=notes[world.insee_troyes])
    report = check_routes(client, app, ids, [TROYES_TITLE, "secret-" + TROYES_TITLE],
                          prefixes=("/s/sample", "/api/", "/p/sample"), exclude=other_services_prefixes(app))
    report.assert_clean()
    # …while notes of member communes (Jaucourt is in the EPCI) are visible to it.
    assert SECRET_TITLE in client.get("/s/sample/").get_data(as_text=True)


def test_a_partner_never_reaches_a_collectivity(app, world, login_as, foreign, password_hash):
    """A partner organisation's publisher (services/desk) over every portal route, the sample service included."""
    from tests.helpers.partners import add_partner

    ids, _ = foreign
    add_partner(app, world, password_hash, "cdg", "Centre de gestion de l'Aube (essai)")
    client = login_as("partner_cdg")
    report = check_routes(client, app, ids, [SECRET_TITLE, "secret-" + SECRET_TITLE, TROYES_TITLE,
                                             world.users["mayor_b"].email, "jeton de Jaucourt"],
                          exclude=other_services_prefixes(app))
    report.assert_clean()
    assert len(report.checked) > 20


@pytest.mark.parametrize("role", ["dept_admin", "dept_agent"])
def test_department_staff_do_not_browse_personal_data(app, world, login_as, foreign, role):
    ids, _ = foreign
    client = login_as(role)
    report = check_routes(client, app, ids, [SECRET_TITLE, TROYES_TITLE], prefixes=("/s/sample", "/api/v1/sample"))
    report.assert_clean()


def test_a_route_without_foreign_value_fails_the_check(app, world, login_as, foreign):
    ids, _ = foreign
    ids = dict(ids)
    ids.pop("note_id")
    report = check_routes(login_as("mayor_a"), app, ids, [SECRET_TITLE])
    assert any("note_id" in f.problem for f in report.findings)


def test_the_check_catches_a_leak_when_the_choke_point_is_off(app, world, login_as, foreign):
    """Proof that the check can fail: lift the territory filter and the foreign note shows up."""
    from portal.tenancy import territory_scope

    ids, _ = foreign
    client = login_as("mayor_a")
    with territory_scope(None):
        report = check_routes(client, app, ids, [SECRET_TITLE], prefixes=("/s/",))
    assert any(SECRET_TITLE in f.problem or f.status == 200 for f in report.findings)
