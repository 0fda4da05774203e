"""The portal's pages under load (PostgreSQL, the demo), against a floor measured in the same run.

    .venv/bin/python bench/portal.py [--dsn postgresql://postgres@127.0.0.1:5432/extranet_bench_portal]
                                     [--rounds 3] [--seconds 5] [--connections 8] [--no-setup]

1. Setup (unless ``--no-setup``): the database of ``--dsn`` (its name must contain "bench") gets its owner and
   application roles (portal/dbroles.py), a fresh schema migrated as the owner, and the demo (``flask demo load``).
   Everything after connects as the **application role**: row-level security is paid as in production.
2. Capture: each page is asked once through the portal in-process; the statements it sends to the driver (psycopg,
   the territory setting included) and its HTML are kept for the floor; asked once more, each template it renders
   is rendered a second time with its context recorded (:class:`Recorded`), and what the template read is kept as
   plain data. The floor is asked each page in-process and its bytes compared with the portal's (printed).
3. Load: the portal (``app:create_app()``) and the floor (``bench.portal_floor:app``, the same statements, templates
   and data behind a minimal Flask app) each on gunicorn with 2 workers, then ``wrk -c8`` on each page, portal and
   floor alternating, ``--rounds`` times; per page: requests/s and p50/p99, the ratio portal/floor as the median of
   the rounds' ratios (so that the machine's drift hits both sides of each ratio), and the portal's fixed cost:
   its server time per request minus the floor's (2 workers busy: 2000 / req/s ms each), median of the rounds.
4. Profile: 200 requests per page in-process, timed by part: the portal's hooks (everything outside the view
   function), SQL (at the driver, inside and outside the view), the template, the rest of the view.

Needs ``wrk`` (apt-get install wrk).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import pickle
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = [  # (label, path, who): who = None (anonymous), "session" (a mayor signed in), "token" (API token)
    ("healthz", "/healthz", None),
    ("sign-in page", "/connexion", None),
    ("home (mayor)", "/", "session"),
    ("electoral", "/s/electoral/", "session"),
    ("roll search", "/s/electoral/?q=MART", "session"),
    ("api me", "/api/v1/me", "token"),
]
MAYOR = "maire@ailleville.example.org"
PASSWORD = "Bench-password-of-the-demo-1!"


def sh(cmd, env, **kw):
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, **kw)
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def setup(dsn: str, instance: str) -> dict:
    from sqlalchemy.engine import make_url

    from portal.dbroles import ensure_roles, url_string

    admin = make_url(dsn.replace("postgresql://", "postgresql+psycopg://", 1))
    if "bench" not in (admin.database or ""):
        sys.exit("the bench drops the schema of its database: its name must contain 'bench'")
    from sqlalchemy import create_engine, text

    maintenance = create_engine(admin.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with maintenance.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": admin.database}):
            conn.exec_driver_sql(f'CREATE DATABASE "{admin.database}"')
    maintenance.dispose()
    roles = ensure_roles(admin)
    env = dict(os.environ, DATABASE_URL=url_string(roles.app), DATABASE_OWNER_URL=url_string(roles.owner),
               INSTANCE_PATH=instance, DEMO_PASSWORD=PASSWORD, SECRET_KEY="bench-portal-secret-key-0123456789")
    env.pop("REDIS_URL", None)
    env["BENCH_ADMIN_DSN"] = admin.render_as_string(hide_password=False)
    return env


def prepare(env: dict, fresh: bool) -> None:
    from sqlalchemy.engine import make_url

    from portal.dbroles import reset_schema

    if fresh:
        reset_schema(make_url(env["BENCH_ADMIN_DSN"]))
        print("migrating and loading the demo…", flush=True)
        sh([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade", "heads"], env)
        sh([sys.executable, "-m", "flask", "--app", "app", "demo", "load"], env)


def credentials(app) -> tuple[str, str]:
    """A session cookie of the mayor (signed in through the portal) and an API token of the same account."""
    from portal.extensions import db
    from portal.models import User
    from portal.security import create_api_token

    client = app.test_client()
    page = client.get("/connexion")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
    resp = client.post("/connexion", data={"csrf_token": token, "email": MAYOR, "password": PASSWORD})
    assert resp.status_code == 302, resp.status_code
    cookie = client.get_cookie("session").value
    with app.app_context():
        user = db.session.query(User).filter_by(email=MAYOR).one()
        _, clear = create_api_token(user, "bench")
        db.session.commit()
    return cookie, clear


def headers_for(who, cookie, api_token) -> dict:
    if who == "session":
        return {"Cookie": f"session={cookie}"}
    if who == "token":
        return {"Authorization": f"Bearer {api_token}"}
    return {}


def clients(app, cookie) -> dict:
    """In-process clients: anonymous, signed in (the session cookie), for the token (sent as a header)."""
    signed_in = app.test_client()
    signed_in.set_cookie("session", cookie)
    return {None: app.test_client(), "session": signed_in, "token": app.test_client()}


def in_process_headers(who, api_token) -> dict:
    return {"Authorization": f"Bearer {api_token}"} if who == "token" else {}


def capture(app, cookie, api_token) -> dict:
    """Each page once through the portal: the driver's statements and the answer."""
    import psycopg

    pages = {}
    recorded: list = []
    original = psycopg.Cursor.execute

    def recording(self, query, params=None, *a, **kw):
        recorded.append((query if isinstance(query, str) else query.as_string(self), params))
        return original(self, query, params, *a, **kw)

    by_who = clients(app, cookie)
    for _, path, who in PAGES:
        client, h = by_who[who], in_process_headers(who, api_token)
        client.get(path, headers=h)  # warm: caches, prepared statements
        recorded.clear()
        psycopg.Cursor.execute = recording
        try:
            resp = client.get(path, headers=h)
        finally:
            psycopg.Cursor.execute = original
        assert resp.status_code == 200, (path, resp.status_code)
        pages[path] = {"statements": list(recorded), "body": resp.get_data(), "status": resp.status_code,
                       "content_type": resp.content_type}
        pages[path]["renders"], pages[path]["recorded_text"] = record_renders(app, client, path, h)
    pages["__setup__"] = floor_setup(app)
    return pages


# What the page's templates read, as plain data for the floor (bench/portal_floor.py) -------------------------

NATIVE = frozenset({"url_for", "_", "gettext", "ngettext", "pgettext", "npgettext"})  # the floor has its own


def _is_leaf(v) -> bool:
    import decimal
    import enum
    import uuid

    return isinstance(v, (str, bytes, int, float, bool, type(None), decimal.Decimal, dt.date, dt.time, dt.timedelta,
                          enum.Enum, uuid.UUID))


class Recorded:
    """A value of the portal's template context during a second rendering: what the template reads of it (attributes,
    items, text, HTML, truth, length, iteration, calls) is recorded, then made plain by :func:`plain`."""

    __slots__ = ("_v", "_log", "_memo")

    def __init__(self, v, memo):
        object.__setattr__(self, "_v", v)
        object.__setattr__(self, "_memo", memo)
        object.__setattr__(self, "_log", {"attrs": {}, "items": {}, "iter": None, "calls": {}, "text": None,
                                          "html": None, "truth": None, "len": None})

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            if name == "__html__" and hasattr(self._v, "__html__"):
                def html():
                    self._log["html"] = self._v.__html__()
                    return self._log["html"]
                return html
            raise AttributeError(name)
        w = self._log["attrs"][name] = wrap(getattr(self._v, name), self._memo)
        return w

    def __getitem__(self, key):
        w = self._log["items"][key] = wrap(self._v[key], self._memo)
        return w

    def __iter__(self):
        if self._log["iter"] is None:
            self._log["iter"] = [wrap(x, self._memo) for x in self._v]
        return iter(self._log["iter"])

    def __len__(self):
        self._log["len"] = len(self._v)
        return self._log["len"]

    def __bool__(self):
        self._log["truth"] = bool(self._v)
        return self._log["truth"]

    def __str__(self):
        self._log["text"] = str(self._v)
        return self._log["text"]

    def __call__(self, *args, **kwargs):
        from bench.portal_floor import _call_key

        result = self._v(*(unwrap(a) for a in args), **{k: unwrap(v) for k, v in kwargs.items()})
        w = self._log["calls"][_call_key(args, kwargs)] = wrap(result, self._memo)
        return w


def unwrap(v):
    return v._v if isinstance(v, Recorded) else v


def wrap(v, memo: dict):
    from flask_babel.speaklater import LazyString

    if isinstance(v, LazyString):  # translated now; its __html__ says its text is safe
        from markupsafe import Markup

        return Markup(str(v))
    if _is_leaf(v):
        return v
    if type(v) is dict:
        return {k: wrap(x, memo) for k, x in v.items()}
    if isinstance(v, list) or type(v) is tuple:
        return type(v)(wrap(x, memo) for x in v) if type(v) is tuple else [wrap(x, memo) for x in v]
    if type(v) in (set, frozenset) and all(_is_leaf(x) for x in v):
        return v
    found = memo.get(id(v))
    if found is None:
        found = memo[id(v)] = (Recorded(v, memo), v)  # the value kept: its id is not reused meanwhile
    return found[0]


def plain(v, memo: dict):
    """The plain value the floor renders: :class:`bench.portal_floor.Plain`, lists, dicts, or a table of calls."""
    from bench.portal_floor import Calls, Plain

    if isinstance(v, dict):
        return {k: plain(x, memo) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v)(plain(x, memo) for x in v)
    if not isinstance(v, Recorded):
        return v
    if id(v) in memo:
        return memo[id(v)]
    log = v._log
    if log["calls"] and not log["attrs"] and not log["items"]:
        out = memo[id(v)] = Calls({})
        out.answers.update({k: plain(x, memo) for k, x in log["calls"].items()})
        return out
    if log["iter"] is not None and not log["attrs"] and not log["items"] and log["text"] is None:
        out = memo[id(v)] = []
        out.extend(plain(x, memo) for x in log["iter"])
        return out
    out = memo[id(v)] = Plain(truth=log["truth"] if log["truth"] is not None else True)
    out.__dict__.update({k: plain(x, memo) for k, x in log["attrs"].items()})
    out._plain = ({k: plain(x, memo) for k, x in log["items"].items()} if log["items"] else None, log["text"],
                  log["html"], out._plain[3], log["len"],
                  [plain(x, memo) for x in log["iter"]] if log["iter"] is not None else None,
                  {k: plain(x, memo) for k, x in log["calls"].items()} if log["calls"] else None)
    return out


def floor_setup(app) -> dict:
    """What the floor needs to render like the portal: URL rules, template folders, catalogs, custom filters."""
    import jinja2.defaults

    folders = [app.jinja_loader.searchpath[0]] + [bp.jinja_loader.searchpath[0] for bp in app.iter_blueprints()
                                                  if bp.jinja_loader is not None]
    filters = {name: (f.__module__, f.__qualname__) for name, f in app.jinja_env.filters.items()
               if name not in jinja2.defaults.DEFAULT_FILTERS and "<" not in f.__qualname__}
    babel = app.extensions["babel"]
    return {"rules": [(r.rule, r.endpoint, sorted(r.methods)) for r in app.url_map.iter_rules()],
            "template_folders": folders, "filters": filters,
            "translation_folders": list(babel.translation_directories),
            "locale": app.config.get("BABEL_DEFAULT_LOCALE") or "fr",
            "timezone": app.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Paris"}


def record_renders(app, client, path, headers) -> tuple[list, str | None]:
    """The page asked once more; each template it renders is rendered a second time with its context recorded.
    Returns [(template name, plain context)] and the last recorded rendering's text."""
    from flask import template_rendered

    renders, busy = [], [False]

    def on_rendered(sender, template, context, **_):
        if busy[0]:
            return
        busy[0] = True
        try:
            memo: dict = {}
            values = {k: v for k, v in app.jinja_env.globals.items() if k not in NATIVE}
            values.update({k: v for k, v in context.items() if k not in NATIVE})
            recorded = {k: wrap(v, memo) for k, v in values.items()}
            renders.append((template.name, recorded, template.render(recorded)))
        finally:
            busy[0] = False

    template_rendered.connect(on_rendered, app)
    try:
        client.get(path, headers=headers)
    finally:
        template_rendered.disconnect(on_rendered, app)
    out = []
    for name, recorded, _ in renders:
        memo: dict = {}
        out.append((name, {k: plain(v, memo) for k, v in recorded.items()}))
    return out, (renders[-1][2] if renders else None)


def differing(a: bytes, b: bytes) -> str:
    """How far two answers differ: the bytes left once their common start and end are taken away."""
    import difflib

    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    same = sum(block.size for block in matcher.get_matching_blocks())
    first = next(i for i, (x, y) in enumerate(zip(a + b" ", b + b"  ")) if x != y)
    return f"{max(len(a), len(b)) - same} bytes differ, first at {first}: {a[first - 20:first + 40]!r}"


def check_floor(capture_file: Path, env: dict) -> dict:
    """Each page asked once to the floor in-process: its bodies, to compare with the portal's."""
    saved = {k: os.environ.get(k) for k in ("PORTAL_FLOOR_CAPTURE", "PORTAL_FLOOR_DSN")}
    os.environ.update(PORTAL_FLOOR_CAPTURE=str(capture_file),
                      PORTAL_FLOOR_DSN=env["DATABASE_URL"].replace("+psycopg", ""))
    try:
        import importlib

        import bench.portal_floor as floor

        floor = importlib.reload(floor)
        client = floor.app.test_client()
        bodies = {path: client.get(path).get_data() for _, path, _ in PAGES}
        portal_pages = pickle.loads(capture_file.read_bytes())
        for i, (_, path, _) in enumerate(PAGES):  # to compare by hand: diff floor-N.html portal-N.html
            (capture_file.parent / f"floor-{i}.html").write_bytes(bodies[path])
            (capture_file.parent / f"portal-{i}.html").write_bytes(portal_pages[path]["body"])
        return bodies
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def start_gunicorn(spec: str, env: dict, workers: int = 2):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
                             "--log-level", "warning", spec], cwd=ROOT, env=env)
    import urllib.request

    for _ in range(600):  # the workers booted (the port opens before they have loaded the app)
        try:
            if all(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30).status == 200
                   for _ in range(2 * workers)):
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    sys.exit(f"gunicorn {spec} did not start")


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk(port: int, path: str, headers: dict, seconds: int, connections: int, warm_up: bool = False) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run(cmd + [f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    rps = float(found.group(1)) if found else 0.0
    if rps == 0 and not warm_up:
        sys.exit(f"{path}: no answer under load:\n{out}")
    lat = {m.group(1): float(m.group(2)) * _UNIT[m.group(3)]
           for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        sys.exit(f"{path}: {non2xx.group(1)} error answers under load")
    return {"rps": rps, "p50": lat.get("50"), "p99": lat.get("99")}


def profile(app, cookie, api_token, n: int = 200) -> dict:
    """Median per request, in ms: total, hooks (outside the view), SQL (driver), template, rest of the view."""
    import psycopg
    from flask import before_render_template, template_rendered

    clock = {"sql": 0.0, "template": 0.0, "view": 0.0, "sql_in_view": 0.0, "in_view": False, "t0": 0.0}
    original = psycopg.Cursor.execute

    def timed(self, *a, **kw):
        t = time.perf_counter()
        try:
            return original(self, *a, **kw)
        finally:
            d = time.perf_counter() - t
            clock["sql"] += d
            if clock["in_view"]:
                clock["sql_in_view"] += d

    def tpl_start(sender, **_):
        clock["t0"] = time.perf_counter()

    def tpl_end(sender, **_):
        clock["template"] += time.perf_counter() - clock["t0"]

    before_render_template.connect(tpl_start, app)
    template_rendered.connect(tpl_end, app)
    views = dict(app.view_functions)

    def wrap(fn):
        def inner(*a, **kw):
            clock["in_view"] = True
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                clock["view"] += time.perf_counter() - t
                clock["in_view"] = False
        return inner

    for endpoint, fn in views.items():
        app.view_functions[endpoint] = wrap(fn)
    psycopg.Cursor.execute = timed
    by_who = clients(app, cookie)
    out = {}
    try:
        for label, path, who in PAGES:
            client, h = by_who[who], in_process_headers(who, api_token)
            for _ in range(20):
                client.get(path, headers=h)
            rows = []
            for _ in range(n):
                for k in ("sql", "template", "view", "sql_in_view"):
                    clock[k] = 0.0
                t = time.perf_counter()
                client.get(path, headers=h)
                total = time.perf_counter() - t
                rows.append({"total": total, "hooks": total - clock["view"], "sql": clock["sql"],
                             "sql_hooks": clock["sql"] - clock["sql_in_view"], "template": clock["template"],
                             "view_rest": clock["view"] - clock["sql_in_view"] - clock["template"]})
            out[label] = {k: statistics.median(r[k] for r in rows) * 1000 for k in rows[0]}
    finally:
        psycopg.Cursor.execute = original
        app.view_functions.update(views)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/extranet_bench_portal")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--no-setup", action="store_true", help="reuse the database as it is (migrated, demo loaded)")
    ap.add_argument("--skip-load", action="store_true", help="the profile only")
    args = ap.parse_args()
    if shutil.which("wrk") is None and not args.skip_load:
        sys.exit("wrk is not installed (apt-get install wrk)")
    instance = tempfile.mkdtemp(prefix="bench-portal-")
    env = setup(args.dsn, instance)
    prepare(env, fresh=not args.no_setup)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DATABASE_OWNER_URL", "INSTANCE_PATH", "SECRET_KEY")})
    from portal import create_app

    app = create_app()
    cookie, api_token = credentials(app)
    pages = capture(app, cookie, api_token)
    capture_file = Path(instance) / "capture.pickle"
    capture_file.write_bytes(pickle.dumps(pages))
    floor_bodies = check_floor(capture_file, env)
    started = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
    print(f"bench/portal.py {started} UTC, load average {os.getloadavg()[0]:.1f}, PostgreSQL as the application role, "
          f"gunicorn -w 2, wrk -c{args.connections} -d{args.seconds}s, {args.rounds} alternating rounds")
    for label, path, _ in PAGES:
        page, body = pages[path], floor_bodies[path]
        same = "same bytes" if body == page["body"] else f"floor {len(body)} bytes, {differing(body, page['body'])}"
        print(f"  {label:<14} {path:<16} {len(page['statements']):>2} statements, {len(page['body']):>6} bytes, "
              f"{len(page['renders'])} template(s) rendered by the floor too ({same})")
    if not args.skip_load:
        floor_env = dict(env, PORTAL_FLOOR_CAPTURE=str(capture_file),
                         PORTAL_FLOOR_DSN=env["DATABASE_URL"].replace("+psycopg", ""))
        portal, portal_port = start_gunicorn("app:create_app()", env)
        floor, floor_port = start_gunicorn("bench.portal_floor:app", floor_env)
        results = {label: {"portal": [], "floor": []} for label, _, _ in PAGES}
        try:
            for label, path, who in PAGES:  # warm-up, not counted
                wrk(portal_port, path, headers_for(who, cookie, api_token), 3, args.connections, warm_up=True)
                wrk(floor_port, path, {}, 3, args.connections, warm_up=True)
            for r in range(args.rounds):
                for label, path, who in PAGES:
                    h = headers_for(who, cookie, api_token)
                    order = [("portal", portal_port, h), ("floor", floor_port, {})]
                    for side, port, hh in (order if r % 2 == 0 else order[::-1]):
                        results[label][side].append(wrk(port, path, hh, args.seconds, args.connections))
        finally:
            for proc in (portal, floor):
                proc.terminate()
                proc.wait(timeout=30)
        print(f"\n{'page':<14} {'portal req/s':>12} {'p50':>7} {'p99':>7} │ {'floor req/s':>11} {'p50':>7} "
              f"{'p99':>7} │ {'ratio':>5} {'fixed ms':>8}")
        for label, _, _ in PAGES:
            p, f = results[label]["portal"], results[label]["floor"]
            ratio = statistics.median(b["rps"] / a["rps"] for a, b in zip(p, f))
            extra = statistics.median(2000 / a["rps"] - 2000 / b["rps"] for a, b in zip(p, f))  # 2 workers busy
            med = lambda rows, k: statistics.median(x[k] for x in rows)  # noqa: E731
            print(f"{label:<14} {med(p, 'rps'):>12.0f} {med(p, 'p50'):>6.1f}ms {med(p, 'p99'):>5.1f}ms │ "
                  f"{med(f, 'rps'):>11.0f} {med(f, 'p50'):>6.1f}ms {med(f, 'p99'):>5.1f}ms │ {ratio:>5.2f} "
                  f"{extra:>7.2f}")
        print("ratio: floor req/s ÷ portal req/s (median of the rounds); fixed ms: the portal's fixed cost, its "
              "server time per request minus the floor's (2 workers busy: 2000 / req/s), same rounds; the floor "
              "renders the same templates with the same data")
    prof = profile(app, cookie, api_token)
    print(f"\nin-process profile, median of 200 requests (ms): "
          f"{'total':>6} {'hooks':>6} {'(SQL)':>6} {'view SQL':>8} {'template':>8} {'view rest':>9}")
    for label, row in prof.items():
        print(f"  {label:<40}         {row['total']:>6.2f} {row['hooks']:>6.2f} {row['sql_hooks']:>6.2f} "
              f"{row['sql'] - row['sql_hooks']:>8.2f} {row['template']:>8.2f} {row['view_rest']:>9.2f}")
    print("hooks: everything outside the view function (session, sign-in, context, gate, CSRF, headers, metrics, "
          "request id, the test client's WSGI), of which (SQL) at the driver")
    return 0


if __name__ == "__main__":
    sys.exit(main())
