"""Fixtures of the land-registry tests.

Real data: Luxiol (25354, Doubs; EDIGEO sheets) and Paray-Vieille-Poste (91479, Essonne; Etalab GeoJSON) are not in
the Aube reference table, so the fixtures add their collectivity rows (system context) with a convention and a
mayor and a secretary of their own, and remove them afterwards. Their parcels keep their real ids and communes.

Territory tests: Ailleville (A, 10002) and Jaucourt (B, 10176) get a few SYNTHETIC parcels (small squares drawn by
the test near each village, ids 10002000ZZ0001…), imported through the real importer, so that users of one commune
can be pointed at the other's parcel ids.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, select, text

from tests.conftest import owner_engine

DATA = Path(__file__).resolve().parents[2] / "data" / "cadastre"  # tests/data/cadastre, see its SOURCES.md
EDIGEO = sorted((DATA / "edigeo" / "25354").glob("*.tar.bz2"))
ETALAB_91479 = DATA / "etalab-geojson" / "cadastre-91479-parcelles.json.gz"
EDIGEO_GEOJSON = DATA / "edigeo-geojson"
BAN_54084 = DATA / "adresses" / "ban-adresses-54084-mont-bonvillers.csv"
BAL_54084 = DATA / "adresses" / "bal-1.3-54084-mont-bonvillers.csv"


def _clear_rtrees(app):
    from portal.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            with db.engine.begin() as conn:
                for t in ("cadastre_parcel_rtree", "cadastre_feature_rtree"):
                    conn.exec_driver_sql(f"DELETE FROM {t}")


@pytest.fixture(autouse=True)
def _fresh_tile_cache(app):
    """Each test starts with an empty tile cache and no plan version known, as a process just started: the tables
    are emptied between tests and (on SQLite) ids come again, so an earlier test's tiles could match a key."""
    from services.cadastre.tilecache import tile_cache

    with app.app_context():
        tile_cache().clear()


@pytest.fixture
def extra_communes(app, world, password_hash):
    """Luxiol and Paray-Vieille-Poste as subscribed communes, each with a mayor and a secretary."""
    import datetime as dt

    from portal.extensions import db
    from portal.models import Collectivity, Convention, Membership, ServiceActivation, User, fold

    _clear_rtrees(app)
    ns = SimpleNamespace(users={})
    with app.app_context():
        today = dt.date.today()
        for key, insee, name, dep in (("lux", "25354", "Luxiol", "25"), ("paray", "91479", "Paray-Vieille-Poste", "91"),
                                      ("mont", "54084", "Mont-Bonvillers", "54")):
            coll = db.session.scalar(select(Collectivity).where(Collectivity.insee == insee))
            if coll is None:
                coll = Collectivity(kind="commune", insee=insee, name=name, search_name=fold(name),
                                    department_code=dep, population=None)
                db.session.add(coll)
                db.session.flush()
            db.session.add(Convention(number=f"T-{insee}", collectivity=coll, status="active", services=["cadastre"],
                                      starts_on=today - dt.timedelta(days=30), signed_on=today - dt.timedelta(days=40)))
            db.session.add(ServiceActivation(collectivity=coll, service_slug="cadastre", enabled=True))
            for role in ("mayor", "secretary"):
                u = User(email=f"{role}@{key}.test.example.org", full_name=f"{role.title()} {name}", status="active",
                         password_hash=password_hash)
                db.session.add(u)
                db.session.add(Membership(user=u, collectivity=coll, role=role))
                ns.users[f"{role}_{key}"] = u.email
            setattr(ns, key, coll.id)
        db.session.commit()
    yield ns
    with app.app_context():
        db.session.remove()
        ids = [ns.lux, ns.paray, ns.mont]
        with owner_engine(app).begin() as conn:  # every row of those communes, whatever the territory
            for table in reversed(db.metadata.sorted_tables):
                for fk in table.foreign_keys:
                    if fk.column.table.name == "collectivity" and table.name != "collectivity":
                        conn.execute(delete(table).where(fk.parent.in_(ids)))
            conn.execute(text("DELETE FROM collectivity WHERE id IN (%s)" % ",".join(str(i) for i in ids)))


@pytest.fixture
def sign_in(app):
    from tests.conftest import PortalClient

    def _sign_in(email):
        c = PortalClient(app)
        resp = c.login(email)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return c

    return _sign_in


@pytest.fixture
def run_import(app):
    """Import files in system context; returns the report (raises ImportFailed)."""
    from services.cadastre.importer import import_commune

    def _run(paths, **kw):
        with app.app_context():
            return import_commune([str(p) for p in paths], **kw)

    return _run


def square_parcels(insee: str, lon: float, lat: float, n: int = 3, size_deg: float = 0.001, section: str = "ZZ",
                   start: int = 1):
    """A row of ``n`` adjacent synthetic square parcels (Etalab GeoJSON layout) — test geometry, not real data."""
    feats = []
    for k in range(n):
        x0 = lon + k * size_deg
        ring = [[x0, lat], [x0 + size_deg, lat], [x0 + size_deg, lat + size_deg], [x0, lat + size_deg], [x0, lat]]
        num = f"{start + k:04d}"
        idu = f"{insee}000{section}{num}"
        feats.append({"type": "Feature", "id": idu, "geometry": {"type": "Polygon", "coordinates": [ring]},
                      "properties": {"id": idu, "commune": insee, "prefixe": "000", "section": section,
                                     "numero": num, "contenance": 8000 + k, "updated": "2024-01-15"}})
    return {"type": "FeatureCollection", "features": feats}


def write_geojson(path: Path, doc, gz: bool = False) -> Path:
    raw = json.dumps(doc).encode()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


@pytest.fixture
def ab_parcels(app, world, subscribe, run_import, tmp_path):
    """Synthetic parcels in Ailleville (A), Jaucourt (B) and Troyes; the service open to A, B, Troyes and the EPCI."""
    _clear_rtrees(app)
    subscribe("cadastre", world.a, world.b, world.troyes, world.epci)
    places = {world.insee_a: (4.6733, 48.2592), world.insee_b: (4.6640, 48.2630), world.insee_troyes: (4.0744, 48.2973)}
    for insee, (lon, lat) in places.items():
        run_import([write_geojson(tmp_path / f"cadastre-{insee}-parcelles.json", square_parcels(insee, lon, lat))])
    from services.cadastre.owners import import_owners

    with app.app_context():
        for insee, name in ((world.insee_b, "NOMSECRETJAUCOURT"), (world.insee_troyes, "NOMSECRETTROYES")):
            import_owners((
                "parcelle;compte;droit;type;nom_usage;nom_naissance;prenoms;date_naissance;denomination;siren;adresse\n"
                f"{insee}000ZZ0001;+00777;propriétaire;physique;;{name};Fictif;01/01/1970;;;1 rue Fictive\n"
            ).encode(), insee)
    return SimpleNamespace(a=f"{world.insee_a}000ZZ0001", b=f"{world.insee_b}000ZZ0001",
                           troyes=f"{world.insee_troyes}000ZZ0001", places=places)
