"""Where the portal's fixed cost per request goes, in-process: thread CPU time per request hook, per page.

    .venv/bin/python bench/portal_hooks.py --dsn postgresql://postgres@127.0.0.1:5432/extranet_bench_portal [--no-setup]
    .venv/bin/python bench/portal_hooks.py --sqlite [--instance /tmp/folder-with-the-demo]
                                           [-n 300] [--pyinstrument /]

Thread CPU time (``time.thread_time``) is what a request costs the process whatever the machine's load, so it
compares runs made on a busy machine better than wall-clock rates do. Each page is asked ``-n`` times through the
test client after a warm-up; per page, the median CPU of the whole request and of each hook (before-request
functions, the user loader, the view, after-request, teardown, template context processors), and the statements
sent to the driver (territory settings included). PostgreSQL connects as the application role (bench/portal.py sets
the database up: row-level security is paid as in production); ``--sqlite`` uses the embedded default with the demo.
``--pyinstrument PATH`` prints pyinstrument's tree for that page (needs ``pip install pyinstrument``).
"""
from __future__ import annotations

import argparse
import collections
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = [("/healthz", None), ("/profil", "session"), ("/api/v1/me", "token"), ("/", "session"),
         ("/s/electoral/", "session"), ("/s/electoral/?q=MART", "session")]


def sqlite_env(instance: str | None) -> dict:
    from bench.portal import PASSWORD, sh

    fresh = instance is None
    instance = instance or tempfile.mkdtemp(prefix="bench-hooks-")
    env = dict(os.environ, INSTANCE_PATH=instance, DEMO_PASSWORD=PASSWORD,
               SECRET_KEY="bench-portal-secret-key-0123456789")
    for key in ("DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL"):
        env.pop(key, None)
    if fresh:
        print(f"migrating and loading the demo in {instance}…", flush=True)
        sh([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade", "heads"], env)
        sh([sys.executable, "-m", "flask", "--app", "app", "demo", "load"], env)
    return env


def instrument(app, clock: dict) -> None:
    """Wrap every hook of ``app`` so that its thread CPU time is added to ``clock[name]``."""
    from portal.extensions import login_manager

    def wrap(name, fn):
        def timed(*a, **kw):
            t = time.thread_time()
            try:
                return fn(*a, **kw)
            finally:
                clock[name] += time.thread_time() - t
        timed.__name__ = getattr(fn, "__name__", name)
        timed.__wrapped__ = fn
        return timed

    for attr in ("before_request_funcs", "after_request_funcs", "teardown_request_funcs",
                 "template_context_processors"):
        for key, funcs in getattr(app, attr).items():
            short = attr.split("_")[0] if attr != "template_context_processors" else "context"
            funcs[:] = [wrap(f"{short}:{key or 'app'}.{getattr(f, '__name__', f)}", f) for f in funcs]
    app.teardown_appcontext_funcs[:] = [wrap(f"appctx:{getattr(f, '__name__', f)}", f)
                                        for f in app.teardown_appcontext_funcs]
    login_manager._user_callback = wrap("user_loader", login_manager._user_callback)
    login_manager._request_callback = wrap("token_loader", login_manager._request_callback)
    for endpoint, fn in list(app.view_functions.items()):
        app.view_functions[endpoint] = wrap("VIEW", fn)


def count_statements(app, counter: list) -> None:
    import psycopg

    original_cursor = psycopg.Cursor.execute

    def cur_exec(self, *a, **kw):
        counter[0] += 1
        return original_cursor(self, *a, **kw)

    psycopg.Cursor.execute = cur_exec  # Connection.execute goes through a cursor too
    from sqlalchemy import event

    from portal.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            @event.listens_for(db.engine, "before_cursor_execute")
            def _count(*_):
                counter[0] += 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/extranet_bench_portal")
    ap.add_argument("--sqlite", action="store_true")
    ap.add_argument("--instance", help="SQLite: a folder where the demo is already loaded")
    ap.add_argument("--no-setup", action="store_true")
    ap.add_argument("-n", type=int, default=300)
    ap.add_argument("--pyinstrument", metavar="PATH")
    args = ap.parse_args()
    if args.sqlite:
        env = sqlite_env(args.instance)
        os.environ.update({k: env[k] for k in ("INSTANCE_PATH", "SECRET_KEY")})
        for key in ("DATABASE_URL", "DATABASE_OWNER_URL"):
            os.environ.pop(key, None)
    else:
        from bench.portal import prepare, setup

        env = setup(args.dsn, tempfile.mkdtemp(prefix="bench-hooks-"))
        prepare(env, fresh=not args.no_setup)
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "DATABASE_OWNER_URL", "INSTANCE_PATH", "SECRET_KEY")})
    os.environ.pop("REDIS_URL", None)
    from bench.portal import clients, credentials, in_process_headers
    from portal import create_app

    app = create_app()
    cookie, api_token = credentials(app)
    by_who = clients(app, cookie)
    clock: dict = collections.defaultdict(float)
    statements = [0]
    instrument(app, clock)
    count_statements(app, statements)
    backend = "SQLite" if args.sqlite else "PostgreSQL (application role)"
    print(f"bench/portal_hooks.py {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, load average "
          f"{os.getloadavg()[0]:.1f}, {backend}, median thread CPU of {args.n} requests (ms)")
    for path, who in PAGES:
        client, h = by_who[who], in_process_headers(who, api_token)
        for _ in range(30):
            assert client.get(path, headers=h).status_code == 200, path
        rows, per_hook = [], collections.defaultdict(list)
        for _ in range(args.n):
            clock.clear()
            statements[0] = 0
            t = time.thread_time()
            client.get(path, headers=h)
            rows.append((time.thread_time() - t, statements[0]))
            for k, v in clock.items():
                per_hook[k].append(v)
        total = statistics.median(r[0] for r in rows) * 1000
        view = statistics.median(per_hook["VIEW"]) * 1000 if per_hook["VIEW"] else 0.0
        print(f"\n{path}: {total:.2f} ms CPU per request, view {view:.2f} ms, outside the view "
              f"{total - view:.2f} ms; {statistics.median(r[1] for r in rows):.0f} statements")
        for name, values in sorted(per_hook.items(), key=lambda kv: -statistics.median(kv[1])):
            med = statistics.median(values) * 1000
            if med >= 0.005 and name != "VIEW":
                print(f"  {med:7.3f}  {name}")
        if args.pyinstrument == path:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0001)
            profiler.start()
            for _ in range(args.n):
                client.get(path, headers=h)
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
