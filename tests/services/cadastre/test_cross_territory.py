"""Every route of the land registry (pages, map document, tiles, API) against another territory's parcels."""
from __future__ import annotations

import pytest

from tests.helpers.cross_territory import check_routes

PREFIXES = ("/s/cadastre", "/api/v1/cadastre", "/p/cadastre")


def _tile_of(lon, lat, z=16):
    import math

    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return {"z": z, "x": x, "y": y}


@pytest.fixture
def foreign(ab_parcels, world):
    lon, lat = ab_parcels.places[world.insee_b]
    return dict(idu=ab_parcels.b, account="+00777", **_tile_of(lon + 0.0005, lat + 0.0005)), ab_parcels


@pytest.mark.parametrize("role", ["mayor_a", "secretary_a", "elected_a", "secretary_ab"])
def test_users_of_commune_a_never_reach_commune_b(app, world, login_as, foreign, role):
    ids, parcels = foreign
    client = login_as(role, world.a)
    # The tile of B's parcels is real: a user of B gets it (proof that the check below can fail).
    if role == "secretary_ab":
        other = login_as(role, world.b)
        assert other.get(f"/s/cadastre/tuiles/{ids['z']}/{ids['x']}/{ids['y']}.pbf").status_code == 200
        assert other.get(f"/api/v1/cadastre/parcels/{parcels.b}").status_code == 200
    report = check_routes(client, app, ids, [parcels.b, "NOMSECRETJAUCOURT"], prefixes=PREFIXES)
    report.assert_clean()
    assert len(report.checked) >= 10
    if role == "secretary_ab":  # B's owner exists and is readable by B's mayor: the markers are real
        mayor_b = login_as("mayor_b")
        assert "NOMSECRETJAUCOURT" in mayor_b.get(
            f"/s/cadastre/comptes/+00777?motif=Courrier aux riverains").get_data(as_text=True)


def test_epci_user_sees_members_but_never_outside(app, world, login_as, foreign, ab_parcels):
    client = login_as("epci_user")
    lon, lat = ab_parcels.places[world.insee_troyes]
    ids = dict(idu=ab_parcels.troyes, account="+00777", **_tile_of(lon + 0.0005, lat + 0.0005))
    report = check_routes(client, app, ids, [ab_parcels.troyes, "NOMSECRETTROYES"], prefixes=PREFIXES)
    report.assert_clean()
    # Parcels of member communes (A and B) are visible to the EPCI.
    assert client.get(f"/api/v1/cadastre/parcels/{ab_parcels.b}").status_code == 200
    assert ab_parcels.a in client.get("/s/cadastre/recherche?q=ZZ 1").get_data(as_text=True)


@pytest.mark.parametrize("role", ["dept_admin", "dept_agent"])
def test_department_staff_do_not_browse_parcels(app, world, login_as, foreign, role):
    ids, parcels = foreign
    client = login_as(role)
    report = check_routes(client, app, ids, [parcels.b, parcels.a, "NOMSECRET"], prefixes=PREFIXES)
    report.assert_clean()
