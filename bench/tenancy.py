"""What the territory choke point (portal/tenancy.py) adds to each ORM statement, in thread CPU.

    .venv/bin/python bench/tenancy.py [--dsn postgresql://postgres@127.0.0.1:5432/extranet_bench_portal] [-n 500]
    .venv/bin/python bench/tenancy.py --sqlite [--instance /tmp/folder-with-the-demo] [-n 500]
                                      [--pyinstrument LABEL] [--cprofile LABEL]

Inside a test request of the demo's first commune, each statement below is executed ``-n`` times with that
commune's territory active (the listeners add their criteria) and ``-n`` times in system context (no territory: the
listeners return at once; the floor), alternating rounds of 50; the median thread CPU per execution of each, and the
difference, are printed. PostgreSQL reuses a database bench/portal.py has set up (read only: nothing is written or
dropped) and connects as the application role, so row-level security is paid as in production; ``--sqlite`` uses the
demo in a fresh (or given) instance folder. ``--pyinstrument LABEL`` / ``--cprofile LABEL`` profile one statement's
loop with the territory active.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def statements():
    from sqlalchemy import func, select

    from portal.models import Collectivity
    from services.actes.models import Act, ActFile

    return {
        "entities": lambda s: s.scalars(select(Act).order_by(Act.id).limit(10)).all(),
        "columns": lambda s: s.execute(select(Act.id, Act.number, Act.subject).order_by(Act.id).limit(10)).all(),
        "count": lambda s: s.scalar(select(func.count()).select_from(Act)),
        "unscoped": lambda s: s.scalars(select(Collectivity).order_by(Collectivity.id).limit(5)).all(),
        "join": lambda s: s.execute(select(Act.id, ActFile.id).join(ActFile, ActFile.act_id == Act.id)
                                    .order_by(Act.id).limit(10)).all(),
    }


def per_call(fn, session, n: int) -> float:
    t = time.thread_time()
    for _ in range(n):
        fn(session)
    return (time.thread_time() - t) / n


def print_profile_difference(fn, session, n: int, rows: int = 40) -> None:
    """cProfile the loop with the territory and without; print the functions whose own time grew most (µs per
    statement, cProfile's overhead included)."""
    import cProfile
    import pstats

    from portal.tenancy import territory_scope

    def own_times(scoped: bool) -> dict:
        profile = cProfile.Profile()
        if scoped:
            profile.runcall(per_call, fn, session, n)
        else:
            with territory_scope(None):
                profile.runcall(per_call, fn, session, n)
        return {k: (v[1], v[2], v[3]) for k, v in pstats.Stats(profile).stats.items()}  # calls, own, cumulative

    scoped, floor = own_times(True), own_times(False)
    grown = sorted(scoped, key=lambda k: -(scoped[k][1] - floor.get(k, (0, 0, 0))[1]))
    print(f"{'own +µs':>8} {'cum +µs':>8} {'calls+':>7}  function")
    for k in grown[:rows]:
        before = floor.get(k, (0, 0, 0))
        print(f"{(scoped[k][1] - before[1]) / n * 1e6:8.1f} {(scoped[k][2] - before[2]) / n * 1e6:8.1f} "
              f"{(scoped[k][0] - before[0]) / n:7.1f}  {Path(k[0]).name}:{k[1]}({k[2]})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/extranet_bench_portal")
    ap.add_argument("--sqlite", action="store_true")
    ap.add_argument("--instance", help="SQLite: a folder where the demo is already loaded")
    ap.add_argument("-n", type=int, default=500)
    ap.add_argument("--pyinstrument", metavar="LABEL")
    ap.add_argument("--cprofile", metavar="LABEL", help="the functions whose time grows with the territory")
    args = ap.parse_args()
    if args.sqlite:
        from bench.portal_hooks import sqlite_env

        env = sqlite_env(args.instance)
        keys = ("INSTANCE_PATH", "SECRET_KEY")
        for key in ("DATABASE_URL", "DATABASE_OWNER_URL"):
            os.environ.pop(key, None)
    else:
        from bench.portal import setup

        env = setup(args.dsn, tempfile.mkdtemp(prefix="bench-tenancy-"))
        keys = ("DATABASE_URL", "DATABASE_OWNER_URL", "INSTANCE_PATH", "SECRET_KEY")
    os.environ.update({k: env[k] for k in keys})
    os.environ.pop("REDIS_URL", None)
    from sqlalchemy import select

    from portal import create_app
    from portal.extensions import db
    from portal.models import KIND_COMMUNE, Collectivity
    from portal.tenancy import activate, territory_scope

    app = create_app()
    with app.app_context():
        with territory_scope(None):
            commune = db.session.scalars(select(Collectivity).where(Collectivity.kind == KIND_COMMUNE)
                                         .order_by(Collectivity.id)).first()
            insee, commune_id = commune.insee, commune.id
        db.session.remove()
    backend = "SQLite" if args.sqlite else "PostgreSQL (application role)"
    print(f"bench/tenancy.py {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, {backend}, commune {insee}, "
          f"median thread CPU per statement of {args.n} (µs)")
    print(f"{'statement':10} {'territory':>10} {'floor':>8} {'added':>8}")
    with app.test_request_context("/"):
        from flask import g

        g.collectivity = db.session.get(Collectivity, commune_id)
        activate(frozenset({insee}))
        session = db.session()
        for label, fn in statements().items():
            scoped, floor = [], []
            for _ in range(20):
                fn(session)
                with territory_scope(None):
                    fn(session)
            for _ in range(max(1, args.n // 50)):
                scoped.append(per_call(fn, session, 50))
                with territory_scope(None):
                    floor.append(per_call(fn, session, 50))
            s, f = statistics.median(scoped) * 1e6, statistics.median(floor) * 1e6
            print(f"{label:10} {s:10.0f} {f:8.0f} {s - f:8.0f}")
            if args.pyinstrument == label:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0001)
                profiler.start()
                per_call(fn, session, args.n)
                profiler.stop()
                print(profiler.output_text(unicode=True, color=False, show_all=False))
            if args.cprofile == label:
                print_profile_difference(fn, session, args.n)
        session.rollback()
    return 0


if __name__ == "__main__":
    sys.exit(main())
