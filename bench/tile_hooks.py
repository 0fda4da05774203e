"""Where a cold tile's time goes, in-process: the portal's tile URL (with a grant, ``CADASTRE_TILE_CACHE_MB=0``) and
the floor of ``bench/tile_floor.py`` asked through their test clients, thread CPU per request and per hook.

    .venv/bin/python bench/tile_hooks.py --database postgresql://postgres@127.0.0.1:5432/extranet_bench_x [-n 300]
                                         [--pyinstrument]

The database is one ``bench/cadastre.py`` left behind (run it first with the same ``--database``: its plan, its
synthetic commune). Thread CPU time does not depend on the machine's load, so it compares code better than a
wall-clock rate on a shared machine; the statements sent to the driver are counted too (territory setting included).
"""
from __future__ import annotations

import argparse
import collections
import math
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database", required=True)
    ap.add_argument("-n", type=int, default=300)
    ap.add_argument("--pyinstrument", action="store_true")
    args = ap.parse_args()
    from portal.dbroles import use_roles_for

    use_roles_for(args.database)
    os.environ["CADASTRE_TILE_CACHE_MB"] = "0"
    os.environ.pop("REDIS_URL", None)
    from bench.portal_hooks import count_statements, instrument
    from portal import create_app, grants
    from portal.extensions import db
    from portal.models import Collectivity
    from services.cadastre import spatial

    app = create_app({"TESTING": False, "SERVER_NAME": None})
    with app.app_context():
        from sqlalchemy import text

        from portal.tenancy import territory_scope

        with territory_scope(None):
            insee, x0, y0 = db.session.execute(text(
                "SELECT commune_insee, ST_X(ST_Transform(ST_Centroid(geom), 4326)), "
                "ST_Y(ST_Transform(ST_Centroid(geom), 4326)) FROM cadastre_parcel WHERE current LIMIT 1")).one()
        coll = db.session.query(Collectivity).filter_by(insee=insee).one()
        with app.test_request_context():
            token = grants.issue("cadastre", coll, {insee})
        dsn = db.engine.url.render_as_string(hide_password=False).replace("postgresql+psycopg://", "postgresql://")
        db.session.remove()
    z = 16
    n = 1 << z
    cx = int((x0 + 180) / 360 * n)
    cy = int((1 - math.asinh(math.tan(math.radians(y0))) / math.pi) / 2 * n)
    tiles = [(cx + dx, cy + dy) for dx in (-2, -1, 0, 1, 2) for dy in (-2, -1, 0, 1, 2)]
    assert spatial.valid_tile(z, cx, cy)

    os.environ.update(TILE_FLOOR_DSN=dsn, TILE_FLOOR_INSEE=insee)
    from bench import tile_floor

    clock: dict = collections.defaultdict(float)
    statements = [0]
    instrument(app, clock)
    for view in app.view_functions.values():  # the wrappers keep the views' marks (grants.accepts_grant)
        view.__dict__.update(getattr(view, "__wrapped__", view).__dict__)
    count_statements(app, statements)
    portal_client, floor_client = app.test_client(), tile_floor.app.test_client()
    ways = {"portal cold": (portal_client, lambda x, y: f"/s/cadastre/tuiles/{z}/{x}/{y}.pbf?grant={token}"),
            "api cold": (portal_client, lambda x, y: f"/api/v1/cadastre/tiles/{z}/{x}/{y}.pbf?grant={token}"),
            "floor": (floor_client, lambda x, y: f"/tiles/{z}/{x}/{y}.pbf")}
    print(f"bench/tile_hooks.py {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, load average "
          f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}, commune {insee}, z{z} tiles around "
          f"({cx}, {cy}); median of {args.n} requests (thread CPU and wall, ms)")
    for name, (client, url) in ways.items():
        for k in range(30):
            resp = client.get(url(*tiles[k % len(tiles)]))
            assert resp.status_code in (200, 204), (name, resp.status_code, resp.data[:200])
        rows, per_hook = [], collections.defaultdict(list)
        for k in range(args.n):
            clock.clear()
            statements[0] = 0
            t, w = time.thread_time(), time.perf_counter()
            client.get(url(*tiles[k % len(tiles)]))
            rows.append((time.thread_time() - t, time.perf_counter() - w, statements[0]))
            for key, v in clock.items():
                per_hook[key].append(v)
        cpu, wall = (statistics.median(r[i] for r in rows) * 1000 for i in (0, 1))
        view = statistics.median(per_hook["VIEW"]) * 1000 if per_hook["VIEW"] else 0.0
        print(f"\n{name}: CPU {cpu:.3f} ms (view {view:.3f}, outside the view {cpu - view:.3f}), wall {wall:.3f} ms; "
              f"{statistics.median(r[2] for r in rows):.0f} statements")
        for key, values in sorted(((k, v) for k, v in per_hook.items() if v), key=lambda kv: -statistics.median(kv[1])):
            med = statistics.median(values) * 1000
            if med >= 0.005 and key != "VIEW":
                print(f"  {med:7.3f}  {key}")
        if args.pyinstrument and name != "floor":
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0001)
            profiler.start()
            for k in range(args.n):
                client.get(url(*tiles[k % len(tiles)]))
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
