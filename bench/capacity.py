"""How many users one host serves: department-scale data, N users each opening a page every 10 s, N stepped up.

    .venv/bin/python bench/capacity.py [--dsn postgresql://postgres@127.0.0.1:5432/extranet_bench_capacity]
                                       [--scale 1.0] [--steps 100,200,400,600,860,1000,1200] [--seconds 60]
                                       [--no-setup]

1. Setup (unless ``--no-setup``): the database of ``--dsn`` (its name must contain "bench") gets its owner and
   application roles, a fresh schema migrated as the owner, the demo (the Aube: 431 communes), then department-scale
   data as the application role: ``2 000 × scale`` accounts (mayors and secretaries spread over the communes, one
   password hash shared) and ``220 000 × scale`` fictitious voters (bench/electoral.py's builder).
2. The portal on gunicorn, ``--workers`` of them (2 × cores + 1 by default, as docs/production.md says;
   ./gunicorn.conf.py), on loopback, connected as the **application role** (row-level security paid as in
   production), Redis off (in-process tasks, as a single host without one).
3. Load, open loop: N users, each opening one page every 10 s on average (exponential think time), so N/10 requests
   a second arrive whatever the answers' speed (no coordinated omission: a latency is counted from the moment the
   request was due). A realistic mix of the pages a signed-in secretary or mayor opens — home 35 %, the electoral
   roll 20 %, a roll search 15 %, the profile 10 %, the API's « me » 10 %, the sign-in page 10 % — with sessions of
   40 secretaries of the demo's two communes whose convention opens the roll. Each step runs ``--seconds``; it
   holds when p95 < 150 ms and no error. The
   steps stop at the first that does not hold; the answer is the largest N that held.

Report: per step N, requests sent, errors, p50/p95/p99 (ms), the load average before and after (the machine is
shared: a step is only as good as the machine was quiet). The client runs on the same 2 cores as the server: it
takes its share, so the figure is a floor for a host whose clients are elsewhere.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import queue
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.portal import PASSWORD, prepare, setup, start_gunicorn  # noqa: E402  (not its hooks: its setup)

TARGET_P95_MS = 150.0
SESSIONS = 40
SERVED = ("10002", "10176")  # the demo's communes with the electoral roll in force (portal/demo.py)
THINK_S = 10.0
MIX = [("home", "/", 35), ("electoral roll", "/s/electoral/", 20), ("roll search", "/s/electoral/?q=MART", 15),
       ("profile", "/profil", 10), ("api me", "/api/v1/me", 10), ("sign-in page", "/connexion", 10)]


def department_data(env: dict, scale: float) -> dict:
    """Accounts and voters at department scale, written as the application role (outside a request: every
    territory, as the loaders do)."""
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DATABASE_OWNER_URL", "INSTANCE_PATH", "SECRET_KEY")})
    from sqlalchemy import create_engine, func, insert, select, text

    from bench.electoral import names, populate
    from portal import create_app
    from portal.extensions import db
    from portal.models import Collectivity, Membership, User
    from portal.security import hash_password

    app = create_app()
    with app.app_context():
        communes = db.session.scalars(select(Collectivity).where(Collectivity.kind == "commune",
                                                                 Collectivity.department_code == "10")
                                      .order_by(Collectivity.insee)).all()
        hashed = hash_password(PASSWORD)
        n_accounts = max(int(2000 * scale), SESSIONS)
        now = dt.datetime.now()
        # The accounts signed in by the load (the first SESSIONS): secretaries of the demo's communes whose
        # convention opens the electoral roll; the others spread over every commune of the department.
        served = [c for c in communes if c.insee in SERVED]

        def commune_of(i):
            return served[i % len(served)] if i < SESSIONS else communes[i % len(communes)]

        users = [dict(email=f"agent{i:05d}@commune-{commune_of(i).insee}.bench.example.org",
                      full_name=f"Agent {i}", password_hash=hashed, status="active", locale="fr", created_at=now,
                      session_version=1) for i in range(n_accounts)]
        ids = db.session.execute(insert(User).returning(User.id), users).scalars().all()
        db.session.execute(insert(Membership), [
            dict(user_id=uid, collectivity_id=commune_of(i).id, role="secretary", extra_permissions=[],
                 created_at=now) for i, uid in enumerate(ids)])
        db.session.commit()
        # The demo's few voters and bureaux make way for the department's (the builder numbers from 1).
        owner = create_engine(env["DATABASE_OWNER_URL"])
        with owner.begin() as conn:
            tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename "
                                       "LIKE 'electoral%'")).scalars().all()
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
        owner.dispose()
        t = time.perf_counter()
        voters, _ = populate(db, scale, random.Random(42), names())
        counts = {"communes": len(communes), "accounts": db.session.scalar(select(func.count(User.id))),
                  "voters": voters, "voters_s": round(time.perf_counter() - t, 1)}
        db.session.remove()
        db.engine.dispose()
    return counts


def sign_in(port: int, emails: list[str]) -> list[str]:
    cookies = []
    for email in emails:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/connexion")
        resp = conn.getresponse()
        body = resp.read().decode()
        jar = resp.getheader("Set-Cookie", "").split(";")[0]
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body).group(1)
        from urllib.parse import urlencode

        conn.request("POST", "/connexion", urlencode({"csrf_token": token, "email": email, "password": PASSWORD}),
                     {"Content-Type": "application/x-www-form-urlencoded", "Cookie": jar})
        resp = conn.getresponse()
        resp.read()
        if resp.status != 302:
            sys.exit(f"sign-in of {email}: {resp.status}")
        cookies.append(resp.getheader("Set-Cookie").split(";")[0])
        conn.close()
    return cookies


def _get(conn: http.client.HTTPConnection, path: str, headers: dict) -> http.client.HTTPResponse:
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    resp.read()
    return resp


def run_step(port: int, cookies: list[str], users: int, seconds: float, senders: int) -> dict:
    """Open loop: arrivals at users/THINK_S per second (Poisson), served by ``senders`` threads with keep-alive."""
    rnd = random.Random(users)
    due: queue.Queue = queue.Queue()
    lat: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    weights = [w for _, _, w in MIX]

    def sender():
        conn = None
        while True:
            item = due.get()
            if item is None:
                return
            at, path, cookie = item
            delay = at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            headers = {"Cookie": cookie} if path != "/connexion" else {}
            try:
                reused = conn is not None
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                try:
                    resp = _get(conn, path, headers)
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    if not reused:
                        raise
                    # The server closed an idle keep-alive connection (gunicorn's keepalive is 2 s, a user thinks
                    # 10 s): a browser opens a new one and sends the request again, so does the bench.
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    resp = _get(conn, path, headers)
                ok = resp.status == 200
            except (OSError, http.client.HTTPException) as exc:
                conn, ok = None, False
                resp = exc
            took = (time.perf_counter() - at) * 1000
            with lock:
                lat.append(took)
                if not ok:
                    errors.append(f"{path}: {getattr(resp, 'status', resp)}")

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(senders)]
    for t in threads:
        t.start()
    load_before = os.getloadavg()[0]
    start = time.perf_counter() + 0.5
    t, n = start, 0
    rate = users / THINK_S
    while t < start + seconds:
        t += rnd.expovariate(rate)
        path = rnd.choices([p for _, p, _ in MIX], weights)[0]
        due.put((t, path, cookies[n % len(cookies)]))
        n += 1
    for _ in threads:
        due.put(None)
    for th in threads:
        th.join()
    lat.sort()

    def pct(p):
        return round(lat[min(len(lat) - 1, int(len(lat) * p))], 1) if lat else None

    return {"users": users, "rate": round(rate, 1), "requests": len(lat), "errors": len(errors),
            "p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99), "load_before": round(load_before, 2),
            "load_after": round(os.getloadavg()[0], 2), "first_errors": errors[:3]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/extranet_bench_capacity")
    ap.add_argument("--scale", type=float, default=1.0, help="of the department's data (1.0: 2 000 accounts, "
                                                             "220 000 voters)")
    ap.add_argument("--steps", default="100,200,400,600,860,1000,1200,1500")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--senders", type=int, default=64, help="client threads (enough never to be the bottleneck)")
    ap.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1,
                    help="gunicorn workers (default as docs/production.md: 2 × cores + 1)")
    ap.add_argument("--no-setup", action="store_true")
    args = ap.parse_args()

    instance = tempfile.mkdtemp(prefix="extranet-bench-capacity-")
    env = setup(args.dsn, instance)
    env["LOG_LEVEL"] = "WARNING"
    if not args.no_setup:
        prepare(env, fresh=True)
        print("department-scale data…", flush=True)
        print("data:", department_data(env, args.scale), flush=True)
    proc, port = start_gunicorn("app:create_app()", env, workers=args.workers)
    try:
        from sqlalchemy import create_engine, text

        engine = create_engine(env["DATABASE_OWNER_URL"])
        with engine.connect() as conn:
            conn.execute(text("SELECT set_config('app.territory', '*', false)"))
            found = conn.execute(text("SELECT email FROM user_account WHERE email LIKE 'agent%' ORDER BY email "
                                      "LIMIT :n"), {"n": SESSIONS}).scalars().all()
        engine.dispose()
        if not found:
            sys.exit("no bench accounts: run without --no-setup first")
        cookies = sign_in(port, found)
        run_step(port, cookies, 50, 5, args.senders)  # warm-up: caches, pools, templates
        held = None
        print(f"{dt.date.today()} {os.cpu_count()} cores, gunicorn {args.workers} workers "
              f"({os.environ.get('GUNICORN_WORKER_CLASS', 'gthread')}), PostgreSQL as the application role, "
              f"scale {args.scale}, {args.seconds:.0f} s a step; target p95 < {TARGET_P95_MS:.0f} ms", flush=True)
        for users in [int(s) for s in args.steps.split(",")]:
            r = run_step(port, cookies, users, args.seconds, args.senders)
            ok = r["errors"] == 0 and r["p95"] is not None and r["p95"] < TARGET_P95_MS
            print(f"N={users:5d}  {r['rate']:6.1f} req/s due  {r['requests']:6d} sent  {r['errors']} errors  "
                  f"p50 {r['p50']} ms  p95 {r['p95']} ms  p99 {r['p99']} ms  load {r['load_before']}→"
                  f"{r['load_after']}  {'holds' if ok else 'does not hold'}"
                  + (f"  {r['first_errors']}" if r["errors"] else ""), flush=True)
            if not ok:
                break
            held = users
        print(f"largest N with p95 < {TARGET_P95_MS:.0f} ms: {held if held is not None else 'none of the steps'}")
    finally:
        proc.terminate()
        proc.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
