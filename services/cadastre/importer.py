"""Import of a commune's cadastral plan: Etalab GeoJSON, DGFiP EDIGEO sheets, any file pyogrio reads.

One call imports one commune as one new **vintage**, all-or-nothing: every file is read and checked first; any
error (truncated gzip, not a FeatureCollection, wrong CRS, duplicate ids, empty file, EDIGEO archive missing part of
a sheet, commune unknown or outside the caller's territory…) raises :class:`ImportFailed` with one message per
problem and leaves the database exactly as before. On success the new vintage replaces the current one in the same
transaction and the report counts parcels added, removed, reshaped and renumbered against it.

The files are read by ``readers.py``, the vintage's label and the comparison come from ``vintages.py``; the steps
below are named in :func:`_import_commune`. Messages are English here (CLI log); the page that starts an import
translates them with the same msgids.
"""
from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import func, select, text, update

from portal.identity import today as local_today
from portal.extensions import db

from .geometry import SRID, as_multipolygon
from .models import Feature, Parcel, Vintage
from .problems import ImportFailed, N_
from .vintages import compare, etalab_millesime, vintage_from_dates
from .readers import FEATURE_LAYER, VINTAGE_RE, first_column, gc_paused, normalise_parcels, read_files, repair

log = logging.getLogger(__name__)



@dataclass
class Report:
    commune: str = ""
    vintage: str = ""
    source: str = ""
    files: list[str] = field(default_factory=list)
    parcels: int = 0
    features: dict = field(default_factory=dict)
    repaired: int = 0
    unrepairable: list[str] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    reshaped: int = 0
    renumbered: int = 0
    previous_vintage: str | None = None
    current: bool = True
    renumbered_pairs: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}

    def lines(self) -> list[str]:
        out = [f"commune {self.commune}, vintage {self.vintage} ({self.source}): {self.parcels} parcels"
               + ("" if self.current else " (older than the current vintage: kept for comparison, not current)")]
        for layer, n in sorted(self.features.items()):
            out.append(f"  {layer}: {n}")
        out.append(f"  invalid geometries repaired: {self.repaired}")
        if self.unrepairable:
            out.append(f"  parcels left out, geometry beyond repair: {', '.join(self.unrepairable)}")
        if self.previous_vintage:
            out.append(f"  against vintage {self.previous_vintage}: {self.added} added, {self.removed} removed, "
                       f"{self.reshaped} reshaped, {self.renumbered} renumbered")
        else:
            out.append("  first vintage of this commune")
        return out


# Reading -----------------------------------------------------------------------------------------------------------

def _bbox_rows(geoms):
    b = shapely.bounds(np.asarray(geoms, dtype=object))
    return b


PARCEL_COLUMNS = (("vintage_id", "integer"), ("current", "boolean"), ("commune_insee", "text"), ("idu", "text"),
                  ("prefixe", "text"), ("section", "text"), ("numero", "text"), ("lieu_dit", "text"),
                  ("contenance", "integer"), ("area", "double precision"), ("repaired", "boolean"),
                  ("minx", "double precision"), ("miny", "double precision"), ("maxx", "double precision"),
                  ("maxy", "double precision"), ("geom", "bytea"))
FEATURE_COLUMNS = (("vintage_id", "integer"), ("current", "boolean"), ("commune_insee", "text"), ("layer", "text"),
                   ("label", "text"), ("area", "double precision"), ("minx", "double precision"),
                   ("miny", "double precision"), ("maxx", "double precision"), ("maxy", "double precision"),
                   ("geom", "bytea"))


def _pg_copy_insert(table: str, columns, rows) -> None:
    """PostgreSQL bulk write inside the session's transaction: ``COPY … FROM STDIN`` (binary) into a temporary
    staging table, then one ``INSERT … SELECT`` into the real table. COPY FROM is refused on tables with row-level
    security, the INSERT is not: the policies (WITH CHECK on ``app.territory``) apply to every row as for any insert,
    so the app may run as a non-superuser role (it needs the TEMPORARY privilege, granted to PUBLIC by default).
    Any error aborts the whole transaction: the import stays all-or-nothing."""
    stage = f"{table}_stage"
    names = ", ".join(c for c, _ in columns)
    select_list = ", ".join(f"ST_GeomFromWKB({c}, {SRID})" if c == "geom" else c for c, _ in columns)
    from portal.dbpool import mark_written

    conn = db.session.connection()
    mark_written(conn)  # written below on the driver's connection, out of SQLAlchemy's sight
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(f"CREATE TEMPORARY TABLE {stage} ({', '.join(f'{c} {t}' for c, t in columns)}) ON COMMIT DROP")
        with cur.copy(f"COPY {stage} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([t for _, t in columns])
            for row in rows:
                copy.write_row(row)
        cur.execute(f"INSERT INTO {table} ({names}) SELECT {select_list} FROM {stage}")
        cur.execute(f"DROP TABLE {stage}")


def import_commune(paths, commune: str | None = None, vintage: str | None = None, *, user_email: str = "system",
                   allowed_communes=None, user=None, on_success=None, source: str | None = None,
                   write_lock=None) -> Report:
    """Import the files as one new vintage of one commune; commits on success, raises ImportFailed otherwise.

    ``allowed_communes``: the INSEE codes the caller administers (None: system context, any commune of the
    collectivity table). ``user``: who asked (audit; default: the signed-in user, or "system").
    ``on_success(report)``: called inside the import's transaction just before its commit (the department page
    marks its job done there, so that the job's state and the imported data commit together). ``source``: what the
    vintage says it comes from, instead of the kind of files (the generated demo plan says ``demo``).
    """
    with gc_paused():
        return _import_commune(paths, commune, vintage, user_email=user_email, allowed_communes=allowed_communes,
                               user=user, on_success=on_success, source=source, write_lock=write_lock)


def _import_commune(paths, commune, vintage, *, user_email, allowed_communes, user, on_success, source,
                    write_lock=None) -> Report:
    """The import's steps: read and check everything, compare with the current vintage, then write in one
    transaction (any failure rolls it all back)."""
    if vintage is not None and not VINTAGE_RE.match(vintage):
        raise ImportFailed([N_("vintage %(vintage)r is not of the form YYYY-MM", vintage=vintage)])
    layers, kind, errors = read_files(paths)
    if errors:
        raise ImportFailed(errors)
    parcels = normalise_parcels(layers["parcelles"], commune)
    # The work on the geometries comes first and holds no transaction, so that imports may run side by side
    # (department_import.py); the database part below runs under ``write_lock`` when one is given (SQLite).
    geoms, repaired, lost = repair(parcels["geometry"], parcels["idu"])
    parcels["geometry"] = geoms
    parcels = parcels[parcels["geometry"].notna()].reset_index(drop=True)
    if parcels.empty:
        raise ImportFailed([N_("no parcel has a usable geometry")])
    report = Report(source=source or kind, files=[Path(p).name for p in paths], parcels=len(parcels),
                    repaired=repaired, unrepairable=lost)
    features, lieux = _other_layers(layers, parcels, report)
    parcels["lieu_dit"] = _lieux_dits(parcels, lieux)
    with write_lock or nullcontext():
        try:
            insee, coll = _target_commune(parcels, commune, allowed_communes)
            label = (vintage or etalab_millesime(paths) or vintage_from_dates(parcels["updated"])
                     or local_today(coll).strftime("%Y-%m"))
            if db.session.scalar(select(Vintage.id).where(Vintage.commune_insee == insee, Vintage.label == label)):
                raise ImportFailed([N_("vintage %(vintage)s of commune %(insee)s is already imported", vintage=label,
                                       insee=insee)])
            report.commune, report.vintage = insee, label
            _compare_with_current(insee, label, parcels, report)
            v = _write_vintage(insee, report, parcels, features, user_email=user_email)
            from portal import audit

            audit.record("cadastre.import", target_type="CadastreVintage", target_id=v.id, collectivity=coll,
                         user=user, commune=insee, vintage=label, parcels=len(parcels), files=report.files)
            if on_success is not None:
                on_success(report)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    from .tilecache import plan_changed

    plan_changed()  # this process's tiles see the new plan at once (the others within tilecache.VERSION_SECONDS)
    _refresh_statistics(len(parcels), len(features))
    log.info("cadastre import: %s", " | ".join(report.lines()))
    return report


def _target_commune(parcels, commune, allowed_communes):
    """The one commune the parcels belong to, checked against ``--commune``, the collectivity table and the caller's
    territory; → (INSEE code, collectivity)."""
    from portal.models import Collectivity

    communes = sorted(set(parcels["commune_insee"]))
    if len(communes) > 1:
        raise ImportFailed([N_("the files hold parcels of several communes (%(communes)s): import one commune at a time",
                               communes=", ".join(communes))])
    insee = communes[0]
    if commune and commune != insee:
        raise ImportFailed([N_("the parcels belong to commune %(insee)s, not to %(commune)s", insee=insee, commune=commune)])
    coll = db.session.scalar(select(Collectivity).where(Collectivity.insee == insee,
                                                        Collectivity.kind == "commune"))
    if coll is None:
        raise ImportFailed([N_("commune %(insee)s is not in the collectivity table of this portal", insee=insee)])
    if allowed_communes is not None and insee not in allowed_communes:
        raise ImportFailed([N_("commune %(insee)s is outside the territory you administer", insee=insee)])
    return insee, coll


def _other_layers(layers, parcels, report: Report):
    """Rows (layer, label, geometry) of the layers besides the parcels, repaired (features beyond repair dropped),
    and the lieux-dits among them. A plan without sections or commune outline (Etalab's parcels alone) gets them
    from its parcels, so that the map shows the commune and its sections before the parcels' zoom."""
    features = []
    lieux = None
    for layer, frames in layers.items():
        if layer == "parcelles":
            continue
        gdf = pd.concat(frames, ignore_index=True)
        gdf = gdf[gdf.geometry.notna()]
        label_col = {"batiments": ("dur",), "sections": ("tex", "code", "section", "id"),
                     "lieux_dits": ("tex", "nom"), "communes": ("tex2", "nom")}[layer]
        labels = first_column(gdf, *label_col)
        labels = labels.fillna("").astype(str) if labels is not None else pd.Series("", index=gdf.index)
        if layer == "batiments":
            labels = labels.map({"01": "dur", "02": "léger"}).fillna("")
        fixed, rep, _ = repair(gdf.geometry.values, [str(i) for i in range(len(gdf))])
        report.repaired += rep
        rows = [(FEATURE_LAYER[layer], lab[:120], g) for lab, g in zip(labels, fixed) if g is not None]
        if layer == "communes" and len(rows) > 1:  # one piece per EDIGEO sheet: one boundary for the commune
            rows = [("commune", rows[0][1], as_multipolygon(shapely.union_all([g for _, _, g in rows])))]
        report.features[FEATURE_LAYER[layer]] = len(rows)
        features.extend(rows)
        if layer == "lieux_dits":
            lieux = rows
    if "sections" not in layers:
        groups = parcels.groupby("section")["geometry"]
        rows = [("section", code, as_multipolygon(shapely.union_all(np.asarray(list(geoms), dtype=object))))
                for code, geoms in groups]
        report.features["section"] = len(rows)
        features.extend(rows)
    if "communes" not in layers:
        outline = shapely.union_all(np.asarray(parcels["geometry"].values, dtype=object))
        features.append(("commune", "", as_multipolygon(outline)))
        report.features["commune"] = 1
    return features, lieux


def _lieux_dits(parcels, lieux) -> list:
    """The lieu-dit each parcel lies in (by a point inside it), None where there is none."""
    names = [None] * len(parcels)
    if lieux:
        tree = shapely.STRtree([g for _, _, g in lieux])
        points = shapely.point_on_surface(np.asarray(parcels["geometry"].values, dtype=object))
        hit_p, hit_l = tree.query(points, predicate="within")
        for p, l in zip(hit_p, hit_l):
            names[p] = lieux[l][1] or None
    return names


def _compare_with_current(insee: str, label: str, parcels, report: Report):
    """Whether the new vintage becomes current (the newest label is) and, against the current one, what changed."""
    existing = db.session.scalars(select(Vintage).where(Vintage.commune_insee == insee)).all()
    current_before = next((v for v in existing if v.current), None)
    report.current = current_before is None or label > current_before.label
    if current_before is not None:
        prev = {i: g for i, g in db.session.execute(
            select(Parcel.idu, Parcel.geom).where(Parcel.vintage_id == current_before.id))}
        diff = compare(prev, dict(zip(parcels["idu"], parcels["geometry"])))
        report.previous_vintage = current_before.label
        report.added, report.removed = diff["added"], diff["removed"]
        report.reshaped, report.renumbered = diff["reshaped"], diff["renumbered"]
        report.renumbered_pairs = diff["renumbered_pairs"]
    elif not existing:
        report.added = len(parcels)
    return current_before


def _write_vintage(insee: str, report: Report, parcels, features, *, user_email: str) -> Vintage:
    """The vintage row, its parcels and features (COPY on PostgreSQL, bulk INSERT and the R*Tree on SQLite); the
    previous current vintage stops being current when this one is."""
    is_current = report.current
    if is_current:
        for model in (Vintage, Parcel, Feature):
            db.session.execute(update(model).where(model.commune_insee == insee, model.current.is_(True))
                               .values(current=False))
    v = Vintage(commune_insee=insee, label=report.vintage, source=report.source, files=report.files,
                imported_by=user_email, current=is_current, parcel_count=len(parcels), report={})
    db.session.add(v)
    db.session.flush()
    if db.engine.dialect.name == "postgresql":
        _copy_rows(v, insee, parcels, features)
    else:
        _insert_rows(v, insee, parcels, features)
        for table in ("cadastre_parcel", "cadastre_feature"):
            db.session.execute(text(
                f"INSERT OR REPLACE INTO {table}_rtree (id, minx, maxx, miny, maxy) "
                f"SELECT id, minx, maxx, miny, maxy FROM {table} WHERE vintage_id = :v"), {"v": v.id})
    v.report = report.as_dict()
    return v


def _copy_rows(v: Vintage, insee: str, parcels, features) -> None:
    """PostgreSQL: parcels and features through COPY (see :func:`_pg_copy_insert`)."""
    n = len(parcels)
    pb = _bbox_rows(parcels["geometry"].values)
    geoms = np.asarray(parcels["geometry"].values, dtype=object)
    contenance = [None if pd.isna(c) else int(c) for c in parcels["contenance"]]
    _pg_copy_insert("cadastre_parcel", PARCEL_COLUMNS, zip(
        [v.id] * n, [v.current] * n, [insee] * n, parcels["idu"].tolist(), parcels["prefixe"].tolist(),
        parcels["section"].tolist(), parcels["numero"].tolist(), parcels["lieu_dit"].tolist(), contenance,
        shapely.area(geoms).tolist(), [False] * n, *pb.T.tolist(), shapely.to_wkb(geoms).tolist()))
    if features:
        fg = np.asarray([g for _, _, g in features], dtype=object)
        fb = _bbox_rows(fg)
        n = len(features)
        _pg_copy_insert("cadastre_feature", FEATURE_COLUMNS, zip(
            [v.id] * n, [v.current] * n, [insee] * n, [f[0] for f in features], [f[1] for f in features],
            shapely.area(fg).tolist(), *fb.T.tolist(), shapely.to_wkb(fg).tolist()))


def _insert_rows(v: Vintage, insee: str, parcels, features) -> None:
    """SQLite: parcels and features through one prepared INSERT run over every row (``executemany`` on the driver),
    the values built column-wise as for COPY: areas, boxes and WKB of all the geometries converted at once (shapely's
    vectorised functions), no per-row type conversion by the ORM."""
    n = len(parcels)
    geoms = _multipolygons(parcels["geometry"].values)
    pb = _bbox_rows(geoms)
    contenance = [None if pd.isna(c) else int(c) for c in parcels["contenance"]]
    _executemany("cadastre_parcel", PARCEL_COLUMNS, zip(
        [v.id] * n, [v.current] * n, [insee] * n, parcels["idu"].tolist(), parcels["prefixe"].tolist(),
        parcels["section"].tolist(), parcels["numero"].tolist(), parcels["lieu_dit"].tolist(), contenance,
        shapely.area(geoms).tolist(), [False] * n, *pb.T.tolist(), shapely.to_wkb(geoms).tolist()))
    if features:
        fg = _multipolygons([g for _, _, g in features])
        fb = _bbox_rows(fg)
        n = len(features)
        _executemany("cadastre_feature", FEATURE_COLUMNS, zip(
            [v.id] * n, [v.current] * n, [insee] * n, [f[0] for f in features], [f[1] for f in features],
            shapely.area(fg).tolist(), *fb.T.tolist(), shapely.to_wkb(fg).tolist()))


def _multipolygons(geoms) -> np.ndarray:
    """The geometries as an array of MultiPolygons (the column's type; a Polygon left by a repair is wrapped)."""
    arr = np.asarray(geoms, dtype=object)
    single = np.flatnonzero(shapely.get_type_id(arr) != 6)  # 6: MultiPolygon
    for k in single:
        arr[k] = as_multipolygon(arr[k])
    return arr


def _executemany(table: str, columns, rows) -> None:
    names = ", ".join(name for name, _ in columns)
    marks = ", ".join("?" for _ in columns)
    db.session.connection().exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(rows))


def _refresh_statistics(parcels_added: int, features_added: int) -> None:
    """PostgreSQL: fresh planner statistics after a sizeable import.

    Without them the planner, seeing a bulk load, may combine the idu index with the (unselective) current flag and
    read the whole table for one parcel. A full ANALYZE (geometry statistics included) costs more than loading a
    small commune, so: full when the table has no statistics yet; when this import is a sizeable part of the table
    (more than 10 %, autovacuum's own threshold), the columns the planner weighs against each other (current,
    commune, idu, vintage, bounding box); smaller imports leave the statistics representative. Geometry statistics
    only tune the && estimate: the GiST index is used either way.
    """
    if db.engine.dialect.name != "postgresql":
        return
    box = "vintage_id, minx, miny, maxx, maxy"
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table, added, cols in (("cadastre_parcel", parcels_added, f"current, commune_insee, idu, {box}"),
                                   ("cadastre_feature", features_added, f"current, layer, commune_insee, {box}")):
            if not added:
                continue
            tuples = conn.exec_driver_sql("SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
                                          (table,)).scalar() or 0
            if tuples <= 0:
                conn.exec_driver_sql(f"ANALYZE {table}")
            elif added > 0.1 * tuples:
                conn.exec_driver_sql(f"ANALYZE {table} ({cols})")


def delete_vintage_rtree(vintage_id: int) -> None:
    """SQLite: drop the R*Tree entries of a vintage's rows (before deleting the vintage)."""
    if db.engine.dialect.name != "sqlite":
        return
    for table in ("cadastre_parcel", "cadastre_feature"):
        db.session.execute(text(f"DELETE FROM {table}_rtree WHERE id IN "
                                f"(SELECT id FROM {table} WHERE vintage_id = :v)"), {"v": vintage_id})


def count_parcels(insee: str) -> int:
    return db.session.scalar(select(func.count()).select_from(Parcel).where(Parcel.commune_insee == insee,
                                                                           Parcel.current.is_(True))) or 0
