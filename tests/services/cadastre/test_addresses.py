"""BAN addresses: import of the real Mont-Bonvillers (54084) files, search by address, parcel of an address.

No cadastral plan of 54084 is among the samples: the parcel of an address is checked on ONE SYNTHETIC square parcel
drawn by the test around a real address point (id 54084000ZZ0001, not a real parcel).
"""
from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func, select

from .conftest import BAL_54084, BAN_54084, write_geojson


def _count(app):
    from portal.extensions import db
    from services.cadastre.models import Address

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Address))


@pytest.mark.parametrize("path,layout", [(BAN_54084, "ban"), (BAL_54084, "bal")])
def test_real_ban_files_import(app, extra_communes, path, layout):
    from services.cadastre.addresses import import_addresses

    expected = len(pd.read_csv(path, sep=";", dtype=str))
    with app.app_context():
        report = import_addresses(path.read_bytes(), "54084")
    assert (report.rows, report.layout, report.commune) == (expected, layout, "54084")
    assert _count(app) == expected
    with app.app_context():  # a second import replaces the first
        report = import_addresses(path.read_bytes())
    assert report.replaced == expected and _count(app) == expected


def test_bad_address_file_changes_nothing(app, extra_communes):
    from services.cadastre.addresses import import_addresses
    from services.cadastre.importer import ImportFailed

    with app.app_context():
        import_addresses(BAN_54084.read_bytes())
    before = _count(app)
    lines = BAN_54084.read_text(encoding="utf-8").splitlines()
    broken = lines[:3] + [lines[3].replace(";54084;", ";54085;"), lines[4].replace("5.8", "abc")]
    with app.app_context():
        with pytest.raises(ImportFailed) as exc:
            import_addresses("\n".join(broken).encode(), "54084")
        assert [e.split(":")[0] for e in exc.value.errors] == ["line 4", "line 5"]
        with pytest.raises(ImportFailed, match="neither the BAN"):
            import_addresses(b"a;b\n1;2\n")
    assert _count(app) == before


def test_search_by_address_finds_the_parcel_under_the_point(app, extra_communes, run_import, sign_in, tmp_path):
    from services.cadastre.addresses import import_addresses

    from .conftest import square_parcels

    with app.app_context():
        import_addresses(BAN_54084.read_bytes())
    rows = pd.read_csv(BAN_54084, sep=";", dtype=str)
    target = rows[(rows.nom_voie == "allée des acacias") & (rows.numero == "18")].iloc[0]
    lon, lat = float(target.lon), float(target.lat)
    doc = square_parcels("54084", lon - 0.0001, lat - 0.0001, n=1, size_deg=0.0002)
    run_import([write_geojson(tmp_path / "cadastre-54084-parcelles.json", doc)])
    client = sign_in(extra_communes.users["mayor_mont"])
    body = client.get("/s/cadastre/recherche?q=18 allee des acacias").get_data(as_text=True)
    assert "18 Allée des acacias" in body and "54084000ZZ0001" in body
    other = client.get("/s/cadastre/recherche?q=rue joffre").get_data(as_text=True)
    assert "rue joffre" in other.lower()
    assert "aucune parcelle du plan importé" in other.lower()
    panel = client.get("/s/cadastre/parcelles/54084000ZZ0001/panneau").get_data(as_text=True)
    assert "18 Allée des acacias" in panel
