"""The bulk write path of the importer (PostgreSQL: COPY into a staging table, then INSERT … SELECT): a failure after
the rows are written leaves nothing behind, and the writes go through row-level security as a non-superuser role."""
from __future__ import annotations

import gzip
import json

import pytest
from sqlalchemy import func, select, text

from .conftest import ETALAB_91479, square_parcels, write_geojson


def _state(app, insee):
    from portal.extensions import db
    from services.cadastre.models import Feature, Parcel, Vintage

    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m).where(m.commune_insee == insee))
                     for m in (Parcel, Vintage, Feature)) + (
            db.session.scalar(select(func.count()).select_from(Parcel).where(Parcel.commune_insee == insee,
                                                                          Parcel.current.is_(True))),)


def test_failure_after_the_rows_are_written_rolls_everything_back(app, extra_communes, run_import, tmp_path,
                                                                  monkeypatch):
    from portal import audit

    run_import([ETALAB_91479])
    before = _state(app, "91479")
    assert before == (2857, 1, 0, 2857)
    doc = json.loads(gzip.decompress(ETALAB_91479.read_bytes()))
    path = write_geojson(tmp_path / "cadastre-91479-parcelles.json", doc)

    def boom(*a, **kw):  # the audit event is written after every parcel row: the last step before the commit
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(audit, "record", boom)
    with pytest.raises(RuntimeError):
        run_import([path], vintage="2024-07")
    assert _state(app, "91479") == before
    monkeypatch.undo()
    # Nothing left over (staging table, transaction): the same import now succeeds and replaces the vintage.
    report = run_import([path], vintage="2024-07")
    assert report.previous_vintage == "2023-02" and (report.added, report.removed, report.reshaped) == (0, 0, 0)
    assert _state(app, "91479") == (2857 * 2, 2, 0, 2857)


def test_fast_and_general_geojson_readers_agree(tmp_path):
    """Plain polygon files are parsed by GEOS at once; the frame is the one GeoDataFrame.from_features builds."""
    import geopandas as gpd
    import pandas as pd

    from services.cadastre.importer import read_files

    doc = json.loads(gzip.decompress(ETALAB_91479.read_bytes()))
    layers, source, errors = read_files([ETALAB_91479])
    assert not errors and source == "etalab"
    fast = layers["parcelles"][0]
    slow = gpd.GeoDataFrame.from_features(doc["features"], crs=4326).to_crs(2154)
    assert list(fast.columns) == list(slow.columns)
    pd.testing.assert_frame_equal(pd.DataFrame(fast.drop(columns="geometry")),
                                  pd.DataFrame(slow.drop(columns="geometry")))
    assert fast.geometry.geom_equals_exact(slow.geometry, tolerance=0).all()
    # A feature without geometry sends the file through the general reader, which keeps the row (no shape).
    doc = square_parcels("91479", 2.36, 48.71, n=3)
    doc["features"][1]["geometry"] = None
    layers, _, errors = read_files([write_geojson(tmp_path / "cadastre-91479-parcelles.json", doc)])
    assert not errors and len(layers["parcelles"][0]) == 3 and layers["parcelles"][0].geometry.isna().sum() == 1


@pytest.fixture
def app_role(app):
    """PostgreSQL: the application role the suite connects as (tests/conftest.py): no superuser, no BYPASSRLS, not
    the tables' owner."""
    from portal.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row-level security exists on PostgreSQL only")
        return db.engine.url.username


def test_import_as_a_non_superuser_role_goes_through_row_level_security(app, extra_communes, app_role):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cadastre.importer import import_commune

    with app.app_context(), territory_scope({"91479"}):
        assert db.session.execute(text("SELECT current_user")).scalar() == app_role
        # The role really is subject to the policies: a direct COPY into the table is refused.
        raw = db.session.connection().connection.driver_connection
        with raw.cursor() as cur, pytest.raises(Exception, match="row-level security"):
            with cur.copy("COPY cadastre_parcel (idu) FROM STDIN"):
                pass
        db.session.rollback()
        report = import_commune([str(ETALAB_91479)], allowed_communes={"91479"})
        assert report.parcels == 2857
    assert _state(app, "91479") == (2857, 1, 0, 2857)
