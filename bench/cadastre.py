"""Performance of the land registry.

    .venv/bin/python bench/cadastre.py                                  # department scale: ≈ 1 000 000 parcels
    .venv/bin/python bench/cadastre.py --parcels 60000                  # a quicker run
    .venv/bin/python bench/cadastre.py --database postgresql://postgres@127.0.0.1:5432/extranet_cadastre_bench

Data: the real Etalab parcels of Paray-Vieille-Poste (91479, 2 857 parcels) copied and translated side by side in
Lambert-93 until --parcels is reached; each copy is one synthetic commune (INSEE 9xxxx created in the bench database,
ids rewritten), imported as one GeoJSON file through the service's importer. Nothing real is relabelled: the
geometry is 91479's, moved; the communes are made up for the bench.

Measured, in one run, on an empty database built by the migrations (temporary SQLite file unless --database):
1. import rate (parcels/s) of ``flask cadastre import`` over all the copies; on PostgreSQL also ``ogr2ogr``
   (Debian gdal-bin) loading the same files into the same PostGIS (table ``bench_ogr``), and the ratio;
2. through the HTTP API (gunicorn, 2 workers, on 127.0.0.1, a personal access token of a mayor): p95 of
   GET /api/v1/cadastre/parcels/{id} and of GET …/parcels?lon=…&lat=… (the parcel under a point);
3. vector tiles at zoom 16 in a dense area, the same tiles asked every way, one way after the other for each tile
   (the order turning), HTTP p95 and median through gunicorn (2 workers, loopback): (a) the bare statement — on
   PostGIS the tile's own ``ST_AsMVT`` of its four layers (commune, sections, parcels, buildings) sent from a plain
   psycopg connection as the application role, one transaction per tile (territory setting, query, commit), no HTTP;
   on SQLite the R*Tree query + mapbox-vector-tile encoding; (b) the floor of any Flask service: the same statement
   behind a minimal Flask app on the same gunicorn (``bench/tile_floor.py``; also behind a bare WSGI callable, for
   scale); (c) the portal **cold**: the map's tile URL (template of GET /api/v1/cadastre/tiles, signed with a grant
   of the mayor's territory) on a second portal server started with ``CADASTRE_TILE_CACHE_MB=0`` — the tile cache
   keeps nothing, so every request is a miss (grant checked, plan version, look-up, the tile computed by the
   service under the territory's filter and row-level security); (d) the portal **warm**: the same URL on the portal
   as deployed, each tile asked once before the timed rounds, so every timed request is a cache hit with the grant
   checked — what another user of the territory gets; also the tiles asked with the token each time.
Before the HTTP part, PostgreSQL's statistics are refreshed (ANALYZE), as autovacuum keeps them on a live database.
Targets: ratio import ≤ 1.5; p95 by id and by point < 10 ms; tiles: cold portal / Flask floor − 1 ≤ 0.15,
warm portal / bare statement ≤ 0.5 (judged at p95; medians printed beside).

``--tiles-only`` skips ogr2ogr and the parcel API (2.); ``--compare-with DIR`` also times, in the same rounds, the cold
portal and the Flask floor of another checkout (e.g. ``git archive`` of an older commit), for an old/new comparison.

A commune-scale run (one copy of 91479, a few minutes with the migrations):
    .venv/bin/python bench/cadastre.py --parcels 2857 --database postgresql://postgres@127.0.0.1:5432/extranet_bench_x
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import http.client
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SOURCE = ROOT / "tests" / "data" / "cadastre" / "etalab-geojson" / "cadastre-91479-parcelles.json.gz"


def p95(values):
    values = sorted(values)
    return values[max(0, math.ceil(0.95 * len(values)) - 1)] * 1000


_SERVERS: list = []


def _stop_servers(*_args) -> None:
    """Stop the servers this bench started (also when it fails or is stopped), never anything else."""
    while _SERVERS:
        process = _SERVERS.pop()
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def start_gunicorn(app_spec: str, cwd: Path = ROOT, **env):
    """The production server (gunicorn, 2 workers = the cores) on a free loopback port; → (process, port)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", app_spec], cwd=cwd, env=dict(os.environ, **env))
    _SERVERS.append(server)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.2)
    return server, port


def owner_engine():
    """The schema owner's connection (DDL, ANALYZE), as ``flask db upgrade`` uses it."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    return create_engine(os.environ["DATABASE_OWNER_URL"], poolclass=NullPool)


def build_copies(folder: Path, parcels: int):
    """Write one Etalab GeoJSON per synthetic commune; returns [(insee, path, [(idu, lon, lat)…])…]."""
    from pyproj import Transformer

    src = SOURCE
    doc = json.loads(gzip.decompress(src.read_bytes()))
    to93 = Transformer.from_crs(4326, 2154, always_xy=True)
    to84 = Transformer.from_crs(2154, 4326, always_xy=True)
    feats = doc["features"]
    xs, ys = [], []
    for f in feats:
        for x, y in f["geometry"]["coordinates"][0]:
            xs.append(x)
            ys.append(y)
    minx, miny = to93.transform(min(xs), min(ys))
    maxx, maxy = to93.transform(max(xs), max(ys))
    step_x, step_y = (maxx - minx) + 200, (maxy - miny) + 200
    copies = math.ceil(parcels / len(feats))
    per_row = max(1, int(math.sqrt(copies)))
    out = []
    import numpy as np

    # Lambert-93 once, then translate and back to WGS84 per copy.
    l93 = []
    for f in feats:
        ring = np.array(f["geometry"]["coordinates"][0])
        x, y = to93.transform(ring[:, 0], ring[:, 1])
        l93.append((f, np.column_stack([x, y])))
    for k in range(copies):
        insee = f"9{k:04d}"
        dx, dy = (k % per_row) * step_x, (k // per_row) * step_y
        features, probes = [], []
        for f, ring in l93:
            lon, lat = to84.transform(ring[:, 0] + dx, ring[:, 1] + dy)
            props = dict(f["properties"])
            idu = insee + props["id"][5:]
            props.update(id=idu, commune=insee)
            features.append({"type": "Feature", "id": idu, "properties": props,
                             "geometry": {"type": "Polygon", "coordinates": [np.column_stack([lon, lat]).round(7).tolist()]}})
            if len(probes) < 50 and random.random() < 0.05:
                probes.append(idu)
        path = folder / f"cadastre-{insee}-parcelles.json"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
        out.append((insee, path, probes))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--parcels", type=int, default=1_000_000)
    ap.add_argument("--database", default="")
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--tile-requests", type=int, default=1000,
                    help="tiles fetched each way (a tile takes a few ms: more samples steady its p95)")
    ap.add_argument("--tiles-only", action="store_true",
                    help="measure the tiles only (3.): no ogr2ogr comparison, no parcel API requests")
    ap.add_argument("--compare-with", metavar="DIR", type=Path,
                    help="another checkout of the project (e.g. `git archive` of an older commit): its cold portal and "
                         "its Flask floor are timed in the same rounds, as '… (other)'")
    args = ap.parse_args()
    random.seed(3)
    tmp = Path(tempfile.mkdtemp(prefix="bench-cadastre-"))
    os.environ["INSTANCE_PATH"] = str(tmp)
    if args.database:  # a superuser URL: the portal runs as the application role (portal/dbroles.py)
        from portal.dbroles import use_roles_for

        use_roles_for(args.database, reset=True)
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db

    app = create_app({"TESTING": False, "CELERY_EAGER": True, "SERVER_NAME": None})
    postgres = os.environ["DATABASE_URL"].startswith("postgres")
    with app.app_context():
        upgrade(revision="heads")  # as the owner role; the app connects as the application role
    print(f"machine: {os.cpu_count()} cores; {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; "
          f"backend: {'PostgreSQL+PostGIS' if postgres else 'SQLite + R*Tree'}")
    t0 = time.perf_counter()
    copies = build_copies(tmp, args.parcels)
    total = sum(len(json.loads(p.read_text())["features"]) for _, p, _ in copies[:1]) * len(copies)
    print(f"data: {len(copies)} translated copies of 91479 = {total} parcels, written in {time.perf_counter() - t0:.1f} s")

    from portal.models import Collectivity, Convention, Membership, ServiceActivation, User, fold
    from portal.security import create_api_token, hash_password
    from services.cadastre.importer import import_commune

    with app.app_context():
        for insee, _p, _ in copies:
            db.session.add(Collectivity(kind="commune", insee=insee, name=f"Bench {insee}", search_name=fold(insee),
                                        department_code="9"))
        db.session.commit()
        t0 = time.perf_counter()
        for insee, path, _ in copies:
            import_commune([str(path)], commune=insee, vintage="2023-02")
        ours = time.perf_counter() - t0
    print(f"1. import: {total} parcels in {ours:.1f} s = {total / ours:,.0f} parcels/s (service importer)")
    if postgres and shutil.which("ogr2ogr") and not args.tiles_only:
        from sqlalchemy.engine import make_url

        url = make_url(os.environ["DATABASE_OWNER_URL"])  # ogr2ogr creates its table: the owner's connection
        pg = f"PG:host={url.host or '127.0.0.1'} port={url.port or 5432} dbname={url.database} user={url.username}"
        t0 = time.perf_counter()
        for k, (_insee, path, _) in enumerate(copies):
            cmd = ["ogr2ogr", "-f", "PostgreSQL", pg, str(path), "-nln", "bench_ogr", "-t_srs", "EPSG:2154",
                   "-nlt", "MULTIPOLYGON", "-lco", "GEOMETRY_NAME=geom", "--config", "PG_USE_COPY", "YES"]
            cmd += ["-append"] if k else ["-overwrite"]
            subprocess.run(cmd, check=True, capture_output=True)
        ogr = time.perf_counter() - t0
        print(f"   ogr2ogr into the same PostGIS: {ogr:.1f} s = {total / ogr:,.0f} parcels/s; "
              f"ratio ours/ogr2ogr = {ours / ogr:.2f} (target ≤ 1.5)")
        with owner_engine().begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS bench_ogr")

    # A mayor of the densest copy (the middle one) and a personal access token.
    insee, _path, probes = copies[len(copies) // 2]
    with app.app_context():
        coll = db.session.query(Collectivity).filter_by(insee=insee).one()
        today = dt.date.today()
        db.session.add(Convention(number="BENCH", collectivity=coll, status="active", services=["cadastre"],
                                  starts_on=today - dt.timedelta(days=1), signed_on=today - dt.timedelta(days=2)))
        db.session.add(ServiceActivation(collectivity=coll, service_slug="cadastre", enabled=True))
        user = User(email="bench@bench.example.org", full_name="Bench", status="active",
                    password_hash=hash_password("Bench-password-1234!"))
        db.session.add(user)
        db.session.add(Membership(user=user, collectivity=coll, role="mayor"))
        db.session.flush()
        _tok, token = create_api_token(user, "bench")
        db.session.commit()
        from services.cadastre.geometry import to_wgs84
        from services.cadastre.models import Parcel
        from portal.tenancy import territory_scope

        with territory_scope(None):
            shapes = {p.idu: to_wgs84(p.geom).representative_point()
                      for p in db.session.query(Parcel).filter(Parcel.idu.in_(probes))}
    if postgres:  # statistics of the tables just filled, as autovacuum keeps them on a running database
        with owner_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")  # the tables' owner: the application role may not

    # The production server (gunicorn, 2 workers = the cores), on loopback.
    server, port = start_gunicorn("app:app")
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}"}

    def get(url):
        t = time.perf_counter()
        conn.request("GET", url, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200, (url, resp.status, body[:200])
        return time.perf_counter() - t

    if not args.tiles_only:
        ids = list(shapes)
        for _ in range(20):  # warm-up
            get(f"/api/v1/cadastre/parcels/{random.choice(ids)}")
        by_id = [get(f"/api/v1/cadastre/parcels/{random.choice(ids)}") for _ in range(args.requests)]
        pts = [shapes[random.choice(ids)] for _ in range(args.requests)]
        by_point = [get(f"/api/v1/cadastre/parcels?lon={p.x}&lat={p.y}") for p in pts]
        me = [get("/api/v1/me") for _ in range(args.requests)]
        print(f"2. HTTP API, {args.requests} requests each: parcel by id p95 = {p95(by_id):.1f} ms; "
              f"parcel under a point p95 = {p95(by_point):.1f} ms (target < 10 ms); for scale, the portal alone "
              f"(GET /api/v1/me: token, membership, territory; no service query) p95 = {p95(me):.1f} ms")

    # Zoom-16 tiles around the probes (dense: the commune's centre).
    z = 16
    tiles = set()
    for p in shapes.values():
        n = 1 << z
        x = int((p.x + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(p.y))) / math.pi) / 2 * n)
        tiles.add((x, y))
    tiles = sorted(tiles)
    from services.cadastre import spatial

    # The portal twice on the same gunicorn settings: as deployed (warm: tiles kept per plan version), and with the
    # tile cache holding nothing (cold: CADASTRE_TILE_CACHE_MB=0 — every request takes the path of a miss: grant,
    # plan version, look-up that misses, the tile computed through the service, stored and dropped at once).
    cold_server, cold_port = start_gunicorn("app:app", CADASTRE_TILE_CACHE_MB="0")
    cold_conn = http.client.HTTPConnection("127.0.0.1", cold_port)
    other_cold = other_cold_conn = None
    if args.compare_with:
        other_cold, other_port = start_gunicorn("app:app", cwd=args.compare_with, CADASTRE_TILE_CACHE_MB="0")
        other_cold_conn = http.client.HTTPConnection("127.0.0.1", other_port)

    def template_of(connection):
        """The tile URL template of GET /api/v1/cadastre/tiles, signed with a grant of the mayor's territory."""
        connection.request("GET", "/api/v1/cadastre/tiles", headers=headers)
        resp = connection.getresponse()
        tilejson = json.loads(resp.read())
        assert resp.status == 200, tilejson
        return "/" + tilejson["tiles"][0].split("://", 1)[1].split("/", 1)[1]

    conn.close()  # idle while the second server started: gunicorn may have closed it (the next request reconnects)
    template, cold_template = template_of(conn), template_of(cold_conn)
    other_template = template_of(other_cold_conn) if other_cold_conn else None

    reconnects = [0]

    def fetch(connection, url, hdrs):
        t = time.perf_counter()
        try:
            connection.request("GET", url, headers=hdrs)
            resp = connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError):  # gunicorn closed an idle keep-alive connection
            reconnects[0] += 1
            connection.close()
            t = time.perf_counter()
            connection.request("GET", url, headers=hdrs)
            resp = connection.getresponse()
        resp.read()
        assert resp.status == 200, (url, resp.status)
        return time.perf_counter() - t

    floor = plain = raw = other_floor = None
    if postgres:
        # The floor: the same statement behind a minimal Flask app on the same gunicorn (bench/tile_floor.py).
        with app.app_context():
            dsn = db.engine.url.render_as_string(hide_password=False).replace("postgresql+psycopg://", "postgresql://")
        floor, floor_port = start_gunicorn("bench.tile_floor:app", TILE_FLOOR_DSN=dsn, TILE_FLOOR_INSEE=insee)
        floor_conn = http.client.HTTPConnection("127.0.0.1", floor_port)
        plain, plain_port = start_gunicorn("bench.tile_floor:plain", TILE_FLOOR_DSN=dsn, TILE_FLOOR_INSEE=insee)
        plain_conn = http.client.HTTPConnection("127.0.0.1", plain_port)
        if args.compare_with:
            other_floor, other_floor_port = start_gunicorn("bench.tile_floor:app", cwd=args.compare_with,
                                                           TILE_FLOOR_DSN=dsn, TILE_FLOOR_INSEE=insee)
            other_floor_conn = http.client.HTTPConnection("127.0.0.1", other_floor_port)
        # The bare statement: the very statement of the tile (its four layers), sent from a plain psycopg connection
        # as the application role — no HTTP, no Flask, no SQLAlchemy, no portal —, one transaction per tile as the
        # service needs (territory setting, the query, commit).
        import psycopg

        from bench.tile_floor import in_tile_transaction

        raw = psycopg.connect(dsn)

    def bare(x, y):
        t = time.perf_counter()
        if postgres:
            in_tile_transaction(raw, insee, *spatial.tile_query(z, x, y, {insee}))
        else:
            with app.test_request_context():
                from flask import g

                g.territory = frozenset({insee})
                spatial._tile_python(z, x, y)
                db.session.remove()
        return time.perf_counter() - t

    # Warm: every tile asked once first (on the connection the timed requests use, so on the same worker), then each
    # timed request finds it in that worker's cache — as another user of the territory, or the map opened again
    # after the browser's five minutes, gets it. The grant is checked on each, the plan version known (read at most
    # every tilecache.VERSION_SECONDS per worker).
    for x, y in tiles:
        fetch(conn, template.format(z=z, x=x, y=y), {})
    reconnects[0] = 0
    runs = {"bare": bare,
            "cold": lambda x, y: fetch(cold_conn, cold_template.format(z=z, x=x, y=y), {}),
            "warm": lambda x, y: fetch(conn, template.format(z=z, x=x, y=y), {}),
            "token": lambda x, y: fetch(conn, f"/api/v1/cadastre/tiles/{z}/{x}/{y}.pbf", headers)}
    if postgres:
        runs.update(floor=lambda x, y: fetch(floor_conn, f"/tiles/{z}/{x}/{y}.pbf", {}),
                    plain=lambda x, y: fetch(plain_conn, f"/tiles/{z}/{x}/{y}.pbf", {}))
        if args.compare_with:
            runs.update(other_floor=lambda x, y: fetch(other_floor_conn, f"/tiles/{z}/{x}/{y}.pbf", {}))
    if args.compare_with:
        runs.update(other_cold=lambda x, y: fetch(other_cold_conn, other_template.format(z=z, x=x, y=y), {}))
    # Every way of getting a tile, one after the other for each tile (a warm-up of 20 first), the order turning
    # from one tile to the next, so that all see the same moments of a shared machine and none always follows the
    # same neighbour.
    times = {name: [] for name in runs}
    names = list(runs)
    load_before = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    t_start = time.perf_counter()
    for k in range(20 + args.tile_requests):
        x, y = tiles[k % len(tiles)]
        turn = k % len(names)
        for name in names[turn:] + names[:turn]:
            spent = runs[name](x, y)
            if k >= 20:
                times[name].append(spent)
    spent_all = time.perf_counter() - t_start
    load_after = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    for process in (cold_server, floor, plain, other_cold, other_floor):
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    if raw is not None:
        raw.close()

    def fig(name):
        return f"p95 {p95(times[name]):.2f} / median {statistics.median(times[name]) * 1000:.2f} ms"

    def ratio(a, b, f):
        return f(times[a]) / f(times[b])

    med = statistics.median
    print(f"3. vector tile z{z}: {len(tiles)} distinct dense tiles, {args.tile_requests} requests each way in "
          f"{spent_all:.1f} s, {dt.datetime.now(dt.timezone.utc):%H:%M} UTC, load average {' '.join(load_before)} → "
          f"{' '.join(load_after)}; keep-alive connections opened again during the timed rounds: {reconnects[0]}")
    print(f"   (a) bare {'ST_AsMVT transaction (four layers) from psycopg' if postgres else 'R*Tree + mapbox-vector-tile'}"
          f": {fig('bare')}")
    if postgres:
        print(f"   (b) Flask floor (bench/tile_floor.py, same statement, same gunicorn): {fig('floor')}; "
              f"bare WSGI callable, no Flask: {fig('plain')}")
    print(f"   (c) portal cold (grant URL, CADASTRE_TILE_CACHE_MB=0: every tile computed): {fig('cold')}")
    print(f"   (d) portal warm (grant URL, tile in the worker's cache): {fig('warm')}; "
          f"with the token on every tile (token, user, context loaded; tile cached): {fig('token')}")
    if postgres:
        cold_p95, cold_med = ratio("cold", "floor", p95) - 1, ratio("cold", "floor", med) - 1
        print(f"   cold portal / floor − 1 = {cold_p95:.2f} at p95, {cold_med:.2f} at the median (target ≤ 0.15: "
              f"{'met' if cold_p95 <= 0.15 else 'NOT met'} at p95)")
    if args.compare_with:
        print(f"   (other) {args.compare_with}: portal cold {fig('other_cold')}"
              + (f"; Flask floor {fig('other_floor')}; its cold portal / its floor − 1 = "
                 f"{ratio('other_cold', 'other_floor', p95) - 1:.2f} at p95, "
                 f"{ratio('other_cold', 'other_floor', med) - 1:.2f} at the median" if postgres else "")
              + f"; this cold portal / other cold portal = {ratio('cold', 'other_cold', p95):.2f} at p95, "
              f"{ratio('cold', 'other_cold', med):.2f} at the median")
    warm_p95, warm_med = ratio("warm", "bare", p95), ratio("warm", "bare", med)
    print(f"   warm portal / bare = {warm_p95:.2f} at p95, {warm_med:.2f} at the median (target ≤ 0.5: "
          f"{'met' if warm_p95 <= 0.5 else 'NOT met'} at p95); for scale, cold portal / bare = "
          f"{ratio('cold', 'bare', p95):.2f} at p95" + (f", floor / bare = {ratio('floor', 'bare', p95):.2f}"
                                                         if postgres else ""))
    server.terminate()
    server.wait(timeout=30)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    import atexit
    import signal

    atexit.register(_stop_servers)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # atexit then stops the servers
    main()

