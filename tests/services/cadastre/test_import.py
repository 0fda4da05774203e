"""Import of the real samples, vintages, and bad input (all-or-nothing)."""
from __future__ import annotations

import gzip
import io
import json
import tarfile

import pytest
from sqlalchemy import func, select

from .conftest import EDIGEO, EDIGEO_GEOJSON, ETALAB_91479, square_parcels, write_geojson


def _counts(app, insee):
    from portal.extensions import db
    from services.cadastre.models import Feature, Parcel, Vintage

    with app.app_context():
        return {
            "parcels": db.session.scalar(select(func.count()).select_from(Parcel).where(
                Parcel.commune_insee == insee, Parcel.current.is_(True))),
            "all_parcels": db.session.scalar(select(func.count()).select_from(Parcel).where(Parcel.commune_insee == insee)),
            "vintages": db.session.scalar(select(func.count()).select_from(Vintage).where(Vintage.commune_insee == insee)),
            "features": db.session.scalar(select(func.count()).select_from(Feature).where(Feature.commune_insee == insee)),
        }


def test_etalab_91479_counts_and_areas_match_geopandas(app, extra_communes, run_import):
    import geopandas as gpd

    from portal.extensions import db
    from services.cadastre.models import Parcel

    expected = gpd.read_file(f"/vsigzip/{ETALAB_91479}").to_crs(2154)
    report = run_import([ETALAB_91479])
    assert report.commune == "91479" and report.parcels == len(expected) == 2857
    assert report.vintage == "2023-02"  # latest 'updated' of the file
    assert _counts(app, "91479")["parcels"] == 2857
    expected = expected.set_index("id")
    with app.app_context():
        rows = db.session.execute(select(Parcel.idu, Parcel.area, Parcel.contenance)).all()
    assert len(rows) == 2857
    for idu, area, contenance in rows:
        assert area == pytest.approx(expected.loc[idu].geometry.area, rel=1e-6)
        want = expected.loc[idu].contenance
        assert contenance == (None if want != want else int(want))  # NaN: no DGFiP area in the file
    total = sum(r[1] for r in rows)
    assert total == pytest.approx(expected.geometry.area.sum(), rel=1e-6)


def test_edigeo_25354_counts_and_areas_match_geopandas(app, extra_communes, run_import):
    """The 8 raw EDIGEO sheets of Luxiol; checked against GDAL's own conversion of the same sheets (GeoJSON)."""
    import geopandas as gpd

    from portal.extensions import db
    from services.cadastre.models import Feature, Parcel

    ref = gpd.read_file(f"/vsigzip/{EDIGEO_GEOJSON}/edigeo-25354-parcelles.geojson.gz").to_crs(2154)
    ref["idu"] = ref["feuille"].str[:2] + ref["IDU"]
    ref = ref.dissolve(by="idu", aggfunc="first")
    report = run_import(EDIGEO, commune="25354")
    assert report.source == "edigeo" and report.parcels == len(ref)
    assert report.features["batiment"] == len(gpd.read_file(f"/vsigzip/{EDIGEO_GEOJSON}/edigeo-25354-batiments.geojson.gz"))
    assert report.features["commune"] == 1
    with app.app_context():
        rows = {i: (a, c, ld) for i, a, c, ld in db.session.execute(
            select(Parcel.idu, Parcel.area, Parcel.contenance, Parcel.lieu_dit))}
        sections = set(db.session.scalars(select(Feature.label).where(Feature.layer == "section")))
    assert set(rows) == set(ref.index)
    assert all(len(i) == 14 and i.startswith("25354") for i in rows)
    for idu, (area, contenance, _ld) in rows.items():
        # GeoJSON rounds WGS84 to 1e-7°: about 1 cm, so areas agree to a small fraction.
        assert area == pytest.approx(ref.loc[idu].geometry.area, rel=2e-3, abs=0.5)
        assert contenance == int(ref.loc[idu].SUPF)
    assert sections == {"AB", "AK", "ZB", "ZC", "ZD", "ZE", "ZH", "ZI"}
    assert sum(1 for v in rows.values() if v[2]) > len(rows) / 2  # most parcels lie in a lieu-dit


def test_new_vintage_replaces_the_old_one_and_reports_changes(app, extra_communes, run_import, tmp_path):
    from portal.extensions import db
    from services.cadastre.models import Parcel, Vintage

    doc = json.loads(gzip.decompress(ETALAB_91479.read_bytes()))
    run_import([ETALAB_91479])
    feats = doc["features"]
    # Next vintage: one parcel gone, one renumbered (same shape, new number), one reshaped, one new.
    removed = feats.pop(0)
    renumbered = feats[0]
    old_id = renumbered["properties"]["id"]
    renumbered["properties"] = dict(renumbered["properties"], id=old_id[:10] + "9999", numero="9999")
    reshaped = feats[1]
    ring = reshaped["geometry"]["coordinates"][0]
    ring[0] = ring[-1] = [ring[0][0] + 0.0002, ring[0][1]]
    new = square_parcels("91479", 2.3600, 48.7150, n=1, section="ZZ")["features"][0]
    feats.append(new)
    path = write_geojson(tmp_path / "cadastre-91479-parcelles.json.gz", doc, gz=True)
    report = run_import([path], vintage="2024-07")
    assert report.previous_vintage == "2023-02" and report.current
    assert (report.added, report.removed, report.renumbered) == (1, 1, 1)
    assert report.reshaped >= 1
    counts = _counts(app, "91479")
    assert counts["parcels"] == 2857 and counts["all_parcels"] == 2857 * 2 and counts["vintages"] == 2
    with app.app_context():
        current = db.session.scalars(select(Vintage.label).where(Vintage.current.is_(True),
                                                                Vintage.commune_insee == "91479")).all()
        assert current == ["2024-07"]
        # The previous vintage stays queryable.
        assert db.session.scalar(select(Parcel.id).where(Parcel.idu == removed["properties"]["id"],
                                                         Parcel.current.is_(False)))
        assert not db.session.scalar(select(Parcel.id).where(Parcel.idu == removed["properties"]["id"],
                                                             Parcel.current.is_(True)))


def test_parcel_page_compares_with_the_previous_vintage(app, extra_communes, run_import, sign_in, tmp_path):
    doc = json.loads(gzip.decompress(ETALAB_91479.read_bytes()))
    run_import([ETALAB_91479])
    feat = doc["features"][1]
    idu = feat["properties"]["id"]
    feat["geometry"]["coordinates"][0] = [[x + 0.0003, y] for x, y in feat["geometry"]["coordinates"][0]]  # ≈ 22 m east
    run_import([write_geojson(tmp_path / "cadastre-91479-parcelles.json", doc)], vintage="2024-07")
    page = sign_in(extra_communes.users["mayor_paray"]).get(f"/s/cadastre/parcelles/{idu}").get_data(as_text=True)
    assert "Millésimes précédents" in page and "2023-02" in page and "modifié depuis" in page
    assert "Millésime</dt><dd>2024-07" in page.replace("\n", "")


def test_same_vintage_twice_is_refused(app, extra_communes, run_import):
    from services.cadastre.importer import ImportFailed

    run_import([ETALAB_91479])
    with pytest.raises(ImportFailed, match="already imported"):
        run_import([ETALAB_91479])
    assert _counts(app, "91479")["vintages"] == 1


def _bad_files(tmp_path):
    good = gzip.decompress(ETALAB_91479.read_bytes())
    truncated = tmp_path / "cadastre-91479-parcelles.json.gz"
    truncated.write_bytes(gzip.compress(good)[:5000])
    not_fc = write_geojson(tmp_path / "x-parcelles.json", {"type": "Feature", "geometry": None, "properties": {}})
    empty = tmp_path / "empty-parcelles.json"
    empty.write_bytes(b"")
    no_features = write_geojson(tmp_path / "none-parcelles.json", {"type": "FeatureCollection", "features": []})
    # Lambert-93 coordinates in a GeoJSON that declares no CRS (so WGS84): wrong CRS.
    doc = square_parcels("91479", 650000, 6850000, size_deg=10)
    wrong_crs = write_geojson(tmp_path / "l93-parcelles.json", doc)
    dup = square_parcels("91479", 2.36, 48.71, n=2)
    dup["features"][1]["properties"]["id"] = dup["features"][0]["properties"]["id"]
    duplicate = write_geojson(tmp_path / "dup-parcelles.json", dup)
    # An EDIGEO archive missing part of its sheet (the .GEO file).
    broken = tmp_path / "edigeo-25354000AB01.tar.bz2"
    with tarfile.open(EDIGEO[0]) as src, tarfile.open(broken, "w:bz2") as dst:
        for member in src.getmembers():
            if not member.name.upper().endswith(".GEO"):
                dst.addfile(member, src.extractfile(member))
    other = write_geojson(tmp_path / "cadastre-10002-parcelles.json", square_parcels("10002", 4.67, 48.26))
    return {
        "damaged or truncated": [truncated], "not a GeoJSON FeatureCollection": [not_fc], "is empty": [empty],
        "has no feature": [no_features], "do not fit the declared CRS": [wrong_crs],
        "duplicate parcel ids": [duplicate], "incomplete": [broken],
        "not in the collectivity table": [write_geojson(tmp_path / "cadastre-99999-parcelles.json",
                                                        square_parcels("99999", 2.3, 48.7))],
        "not to 91479": [other],
    }


def test_bad_input_is_refused_with_a_message_and_changes_nothing(app, extra_communes, run_import, tmp_path):
    from services.cadastre.importer import ImportFailed

    run_import([ETALAB_91479])
    before = _counts(app, "91479"), _counts(app, "25354"), _counts(app, "10002")
    for expected, paths in _bad_files(tmp_path).items():
        kw = {"commune": "91479"} if expected == "not to 91479" else {}
        with pytest.raises(ImportFailed) as exc:
            run_import(paths, vintage="2025-01", **kw)
        assert any(expected in e for e in exc.value.errors), (expected, exc.value.errors)
        assert (_counts(app, "91479"), _counts(app, "25354"), _counts(app, "10002")) == before


def test_cli_import_reports_and_exits_non_zero_on_error(app, extra_communes, tmp_path):
    from services.cadastre.cli import cli

    runner = app.test_cli_runner()
    ok = runner.invoke(cli, ["import", str(ETALAB_91479), "--commune", "91479", "--vintage", "2023-03"])
    assert ok.exit_code == 0, ok.output
    assert "commune 91479, vintage 2023-03 (etalab): 2857 parcels" in ok.output
    bad = tmp_path / "cadastre-91479-parcelles.json.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00broken")
    ko = runner.invoke(cli, ["import", str(bad)])
    assert ko.exit_code != 0
    assert "gzip file is damaged or truncated" in ko.output and "nothing was imported" in ko.output
    listing = runner.invoke(cli, ["vintages"])
    assert "91479 2023-03 current" in listing.output


def test_invalid_geometry_is_repaired_and_counted(app, extra_communes, run_import, tmp_path):
    from portal.extensions import db
    from services.cadastre.models import Parcel

    doc = square_parcels("91479", 2.36, 48.71, n=2)
    # A bow-tie (self-intersecting) ring: invalid, repaired by make_valid into two triangles.
    doc["features"][0]["geometry"]["coordinates"] = [[[2.36, 48.71], [2.361, 48.711], [2.361, 48.71], [2.36, 48.711],
                                                      [2.36, 48.71]]]
    report = run_import([write_geojson(tmp_path / "cadastre-91479-parcelles.json", doc)])
    assert report.repaired == 1 and report.parcels == 2 and not report.unrepairable
    with app.app_context():
        g = db.session.scalar(select(Parcel.geom).where(Parcel.idu == "91479000ZZ0001"))
        assert g.is_valid and len(g.geoms) == 2


@pytest.mark.parametrize("kind", ["gpkg", "shp.zip"])
def test_geopackage_and_zipped_shapefile_of_91479(app, extra_communes, run_import, tmp_path, kind):
    """Any file pyogrio reads: the real 91479 parcels written by geopandas as a GeoPackage (Lambert-93) or a zipped
    Shapefile (WGS84), imported with the same counts and areas."""
    import zipfile

    import geopandas as gpd

    from portal.extensions import db
    from services.cadastre.models import Parcel

    source = gpd.read_file(f"/vsigzip/{ETALAB_91479}")
    if kind == "gpkg":
        path = tmp_path / "cadastre-91479.gpkg"
        source.to_crs(2154).to_file(path, layer="parcelles", driver="GPKG")
    else:
        folder = tmp_path / "shp"
        folder.mkdir()
        source[["id", "commune", "prefixe", "section", "numero", "contenance", "geometry"]].to_file(
            folder / "parcelles.shp")
        path = tmp_path / "cadastre-91479-parcelles-shp.zip"
        with zipfile.ZipFile(path, "w") as z:
            for f in folder.iterdir():
                z.write(f, f.name)
    report = run_import([path], commune="91479", vintage="2023-02")
    assert report.source == "ogr" and report.parcels == len(source) == 2857
    expected = source.to_crs(2154).set_index("id")
    with app.app_context():
        rows = db.session.execute(select(Parcel.idu, Parcel.area)).all()
    assert len(rows) == 2857
    assert sum(a for _i, a in rows) == pytest.approx(expected.geometry.area.sum(), rel=1e-6)
    for idu, area in rows[:200]:
        assert area == pytest.approx(expected.loc[idu].geometry.area, rel=1e-6)


def test_cadastre_vintage_is_etalab_millesime_when_known(app, world, run_import, tmp_path):
    """Mirrored from cadastre.data.gouv.fr, the files sit under their millésime (the distribution's date): that is the
    vintage, not the latest ``updated`` of the features (2024-01 here); without it, the latest update as before."""
    from .conftest import _clear_rtrees

    _clear_rtrees(app)
    folder = tmp_path / "etalab-cadastre" / "2024-04-01" / "geojson" / "communes" / "10" / world.insee_a
    folder.mkdir(parents=True)
    doc = square_parcels(world.insee_a, 4.6733, 48.2592)
    report = run_import([write_geojson(folder / f"cadastre-{world.insee_a}-parcelles.json.gz", doc, gz=True)])
    assert report.vintage == "2024-04"
    other = tmp_path / "plain"
    other.mkdir()
    report = run_import([write_geojson(other / f"cadastre-{world.insee_b}-parcelles.json",
                                       square_parcels(world.insee_b, 4.6640, 48.2630))])
    assert report.vintage == "2024-01"
    from services.cadastre.vintages import etalab_millesime

    assert etalab_millesime(["cadastre-10002-parcelles_2023-07-01.json"]) == "2023-07"
    assert etalab_millesime(["a/2023-07-01/x.json", "b/2024-01-01/y.json"]) is None


def test_map_shows_commune_and_section_outlines_at_low_zooms(app, extra_communes, run_import, sign_in):
    """Etalab's parcels alone (no sections, no commune layer): the import draws the sections and the commune outline
    from the parcels, so that the map shows them from zoom 8 / 12 instead of a grey map until zoom 14."""
    import math

    import mapbox_vector_tile
    import shapely
    from sqlalchemy import select

    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cadastre.models import Feature, Parcel

    report = run_import([ETALAB_91479])
    with app.app_context(), territory_scope(None):
        parcels = db.session.scalars(select(Parcel.geom).where(Parcel.commune_insee == "91479")).all()
        sections = db.session.execute(select(Feature.label, Feature.geom).where(
            Feature.commune_insee == "91479", Feature.layer == "section")).all()
        (outline,) = db.session.scalars(select(Feature.geom).where(Feature.commune_insee == "91479",
                                                                   Feature.layer == "commune")).all()
        codes = set(db.session.scalars(select(Parcel.section).where(Parcel.commune_insee == "91479")))
    assert {label for label, _g in sections} == codes and report.features["section"] == len(codes)
    assert abs(outline.area - shapely.union_all(parcels).area) < 1
    client = sign_in(extra_communes.users["mayor_paray"])
    from services.cadastre.geometry import to_wgs84

    inner = to_wgs84(outline).representative_point()
    lon, lat = inner.x, inner.y
    for z, layers in ((10, {"commune"}), (12, {"commune", "sections"})):
        n = 1 << z
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        resp = client.get(f"/s/cadastre/tuiles/{z}/{x}/{y}.pbf")
        assert resp.status_code == 200, (z, resp.status_code)
        assert set(mapbox_vector_tile.decode(resp.data)) == layers
