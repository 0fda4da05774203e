"""Performance of the cemetery service, each figure against a baseline measured in the same run.

    .venv/bin/python bench/cemetery.py                      # 10 000 emplacements, 10 000 concessions
    .venv/bin/python bench/cemetery.py --plots 2000 --requests 100 --browser

On a temporary SQLite database (or DATABASE_URL: a superuser URL of a database whose name contains ``bench``; its
schema is emptied and the portal connects as the application role, under row-level security), the service mounted
through EXTRA_SERVICES when it is not installed. A cemetery of ``--plots`` emplacements (100 allées of 100), each
with a concession, a holder, one or two deceased and their burial:
1. the plan: the GeoJSON of every emplacement with its state, and the compact ``plan.json`` the page draws: size
   (raw and gzip) and time of the response, vs. the bare ``SELECT`` of the geometries + ``json.dumps``; with
   ``--browser``, the time until Chromium has drawn the page's plan (target < 1 s), and, in the same page, the
   compact plan fetched and drawn vs. the former way (the GeoJSON through ``L.geoJSON``);
2. search by name (deceased or holder): p95 of the page (its first 25 hits and the number of matches) over
   ``--requests`` names of 3 to 6 letters (target < 50 ms);
3. the registers of concessions and of operations (``--plots`` lines each) as PDF, asked for, built by the task
   (in-process) and downloaded, vs. bare WeasyPrint on the same HTML (target ≤ 1.2×).
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PASSWORD = "Bench-password-2026!"
NAMES = ("MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS", "MOREAU", "LAURENT",
         "SIMON", "MICHEL", "LEFEBVRE", "LEROY", "ROUX", "DAVID", "BERTRAND", "MOREL", "FOURNIER", "GIRARD")


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] if len(samples) >= 20 else max(samples)


def seed(app, plots: int) -> str:
    """The cemetery of Ailleville with ``plots`` emplacements; returns the secretary's e-mail."""
    from sqlalchemy import insert, select

    from portal.extensions import db
    from portal.models import Collectivity, Convention, Membership, ServiceActivation, User
    from portal.security import hash_password
    from services.cemetery.models import Alley, Cemetery, Concession, Deceased, Operation, Person, Plot, Zone, fold

    insee, rnd, today = "10002", random.Random(7), dt.date.today()
    lon0, lat0, m_lon, m_lat = 4.68, 48.25, 1 / 74_150, 1 / 111_320

    def box(x, y, w, h):
        a, b, c, d = (round(v, 7) for v in (lon0 + x * m_lon, lat0 + y * m_lat, lon0 + (x + w) * m_lon,
                                             lat0 + (y + h) * m_lat))  # as the pages store them (1 cm)
        return {"geometry": {"type": "Polygon", "coordinates": [[[a, b], [c, b], [c, d], [a, d], [a, b]]]},
                "min_lon": a, "min_lat": b, "max_lon": c, "max_lat": d}

    cem = Cemetery(name="Cimetière communal", commune_insee=insee, **box(0, 0, 400, 400))
    db.session.add(cem)
    db.session.flush()
    per_alley = 100
    n_alleys = max(1, plots // per_alley)
    zones = []
    for z in range(max(1, n_alleys // 10)):
        zone = Zone(cemetery_id=cem.id, name=f"Carré {z + 1}", commune_insee=insee, **box(0, z * 40, 400, 38))
        db.session.add(zone)
        zones.append(zone)
    db.session.flush()
    alleys = []
    for a in range(n_alleys):
        zone = zones[min(a // 10, len(zones) - 1)]
        alley = Alley(zone_id=zone.id, name=f"Allée {a + 1}", commune_insee=insee,
                      **box((a % 10) * 40, (a // 10) * 40, 38, 36))
        db.session.add(alley)
        alleys.append(alley)
    db.session.flush()
    rows = []
    for i in range(plots):
        a = alleys[min(i // per_alley, len(alleys) - 1)]
        j = i % per_alley
        rows.append({"alley_id": a.id, "number": str(j + 1), "kind": "concession", "capacity_tenths": 20,
                     "commune_insee": insee, "in_reprise": False, "monument": "", "notes": "",
                     **box((i // per_alley % 10) * 40 + (j % 10) * 3.8, (i // per_alley // 10) * 40 + (j // 10) * 3.6,
                           3, 3)})
    db.session.execute(insert(Plot), rows)
    plot_ids = db.session.scalars(select(Plot.id).order_by(Plot.id)).all()
    concessions, people, bodies = [], [], []
    for n, pid in enumerate(plot_ids):
        kind = ("thirty", "fifty", "temporary", "perpetual")[n % 4]
        start = today - dt.timedelta(days=rnd.randrange(1, 365 * 45))
        years = {"thirty": 30, "fifty": 50, "temporary": 15}.get(kind)
        end = None if years is None else start.replace(year=start.year + years) if not (
            start.month == 2 and start.day == 29) else dt.date(start.year + years, 2, 28)
        concessions.append({"plot_id": pid, "number": f"B-{n:05d}", "kind": kind, "duration_years": years,
                            "starts_on": start, "ends_on": end, "price": 180.0, "scope": "family", "status": "active",
                            "notes": "", "commune_insee": insee, "created_at": dt.datetime.now()})
    db.session.execute(insert(Concession), concessions)
    cids = db.session.execute(select(Concession.id, Concession.plot_id, Concession.starts_on)).all()
    ops = []
    for n, (cid, pid, start) in enumerate(cids):
        family = NAMES[n % len(NAMES)] + ("" if n % 3 else f"-{n % 97}")
        people.append({"concession_id": cid, "role": "holder", "last_name": family, "first_names": "Jeanne",
                       "relationship": "", "address": f"{n % 40 + 1} rue du Lavoir", "postcode": "10200",
                       "city": "Ailleville", "phone": "", "email": "", "deceased": False, "commune_insee": insee,
                       "search_name": fold(f"{family} Jeanne")})
        for k in range(1 + n % 2):
            bodies.append({"plot_id": pid, "last_name": family, "first_names": ("Louis", "Marie")[k],
                           "birth_name": "", "death_date": start + dt.timedelta(days=k * 900), "body": "coffin",
                           "death_place": "", "where_now": "", "commune_insee": insee,
                           "search_name": fold(f"{family} {('Louis', 'Marie')[k]}")})
    db.session.execute(insert(Person), people)
    db.session.execute(insert(Deceased), bodies)
    for did, pid, day in db.session.execute(select(Deceased.id, Deceased.plot_id, Deceased.death_date)).all():
        ops.append({"kind": "inhumation", "plot_id": pid, "deceased_id": did, "on": day + dt.timedelta(days=4),
                    "funeral_operator": "PF de l'Aube", "authorisation_number": f"A-{did}", "destination": "",
                    "notes": "", "recorded_by": "", "commune_insee": insee, "created_at": dt.datetime.now()})
        if len(ops) >= plots:  # the register of operations: as many lines as the other one
            break
    db.session.execute(insert(Operation), ops)
    from services.cemetery.models import bump_plan_versions

    bump_plan_versions(db.session.connection(), {insee})  # bulk inserts bypass the flush that does it
    coll = db.session.scalar(select(Collectivity).where(Collectivity.insee == insee))
    db.session.add(Convention(number="BENCH", collectivity=coll, status="active", services=["cemetery"],
                              starts_on=today - dt.timedelta(days=10), signed_on=today - dt.timedelta(days=20)))
    db.session.add(ServiceActivation(collectivity=coll, service_slug="cemetery", enabled=True))
    user = User(email="secretaire@bench.example.org", full_name="Secrétaire", status="active",
                password_hash=hash_password(PASSWORD))
    db.session.add(user)
    db.session.add(Membership(user=user, collectivity=coll, role="secretary"))
    db.session.commit()
    return user.email


def plan_bench(app, client, rounds: int) -> None:
    from sqlalchemy import select

    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cemetery.models import Plot

    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        resp = client.get("/s/cemetery/plan.geojson")
        times.append(time.perf_counter() - t)
        assert resp.status_code == 200
    body = resp.data
    base = []
    with app.app_context(), territory_scope({"10002"}):
        for _ in range(rounds):
            t = time.perf_counter()
            json.dumps([{"type": "Feature", "geometry": g, "properties": {"id": i}}
                        for i, g in db.session.execute(select(Plot.id, Plot.geometry))], separators=(",", ":"))
            base.append(time.perf_counter() - t)
        db.session.remove()
    compact = []
    for _ in range(rounds):
        t = time.perf_counter()
        resp = client.get("/s/cemetery/plan.json", headers={"Accept-Encoding": "gzip"})
        compact.append(time.perf_counter() - t)
        assert resp.status_code == 200 and resp.headers.get("Content-Encoding") == "gzip"
    small = gzip.decompress(resp.data)
    t = time.perf_counter()
    again = client.get("/s/cemetery/plan.json", headers={"If-None-Match": resp.headers["ETag"]})
    not_modified = time.perf_counter() - t
    assert again.status_code == 304
    mine, bare, packed = statistics.median(times), statistics.median(base), statistics.median(compact)
    print(f"1. plan: {len(json.loads(body)['features'])} features; GeoJSON {len(body) / 1e6:.2f} MB "
          f"({len(gzip.compress(body)) / 1e6:.2f} MB gzip), response {mine * 1000:.0f} ms vs bare select + "
          f"json.dumps of the geometries {bare * 1000:.0f} ms (ratio {mine / bare:.2f}); compact plan.json "
          f"{len(small) / 1e6:.2f} MB ({len(resp.data) / 1e6:.2f} MB sent gzipped), response {packed * 1000:.0f} ms "
          f"(ratio {packed / bare:.2f} to the bare select), 304 with its ETag {not_modified * 1000:.0f} ms")


def browser_bench(app, email: str) -> None:
    import threading

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"])
        page = browser.new_page()
        page.route("https://**", lambda route: route.fulfill(status=204))  # no base layer from outside
        page.goto(f"{url}/connexion")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        with page.expect_navigation():
            page.locator("main form [type=submit]").click()
        samples, fetched = [], []
        for _ in range(4):
            # Not until the "load" event: the base layer's tiles (answered here by Playwright's router, one by one)
            # would be counted; what the secretary waits for is the plan drawn.
            t = time.perf_counter()
            page.goto(f"{url}/s/cemetery/", wait_until="commit")
            page.wait_for_selector("#plan-map[data-loaded]", timeout=30_000)
            samples.append(time.perf_counter() - t)
            fetched.append(page.evaluate("() => performance.getEntriesByType('resource')"
                                         ".filter(e => e.name.includes('plan.json'))[0].responseEnd"))
        samples, fetched = samples[1:], fetched[1:]  # the first load fills the browser's cache of the scripts
        # Baseline in the same browser and run: the former way (the whole GeoJSON through L.geoJSON on a canvas)
        # vs the page's way (compact plan.json, our canvas layer), each fetched and drawn on a fresh map.
        timings = {"geojson": [], "compact": []}
        for _ in range(3):
            for way in ("geojson", "compact"):
                timings[way].append(page.evaluate("""async (way) => {
                    const box = document.createElement('div');
                    box.style.cssText = 'width:800px;height:600px';
                    document.body.appendChild(box);
                    const map = L.map(box).setView([48.2518, 4.6827], 18);
                    const t0 = performance.now();
                    let fetched;
                    if (way === 'geojson') {
                      const r = await fetch('/s/cemetery/plan.geojson', {cache: 'no-store'});
                      const text = await r.text();
                      fetched = performance.now();
                      const layer = L.geoJSON(JSON.parse(text), {renderer: L.canvas(), style: f => ({
                        color: f.properties.c, weight: 1, fillOpacity: 0.55})}).addTo(map);
                      map.fitBounds(layer.getBounds());
                    } else {
                      const r = await fetch('/s/cemetery/plan.json', {cache: 'no-store'});
                      const text = await r.text();
                      fetched = performance.now();
                      await window.cemeteryDrawPlan(map, '/s/cemetery/plan.json', JSON.parse(text));
                    }
                    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
                    const ms = performance.now() - t0, draw = performance.now() - fetched;
                    map.remove(); box.remove();
                    return [ms, draw];
                }""", way))
        browser.close()
    server.shutdown()
    old_way, new_way = (statistics.median(t[0] for t in timings[w]) for w in ("geojson", "compact"))
    old_draw, new_draw = (statistics.median(t[1] for t in timings[w]) for w in ("geojson", "compact"))
    print(f"   in Chromium: from the click to the plan drawn {statistics.median(samples) * 1000:.0f} ms (plan.json "
          f"received at {statistics.median(fetched):.0f} ms; median of 3 after a first load; target < 1 s); fetched "
          f"and drawn on a fresh map in the page: compact {new_way:.0f} ms vs the former GeoJSON + L.geoJSON "
          f"{old_way:.0f} ms (ratio {new_way / old_way:.2f}); of which parsed and drawn once received: compact "
          f"{new_draw:.0f} ms vs GeoJSON {old_draw:.0f} ms (ratio "
          f"{new_draw / old_draw:.2f}; medians of 3)")


def search_bench(client, requests: int) -> None:
    rnd = random.Random(3)
    samples = []
    for _ in range(requests):
        q = rnd.choice(NAMES)[: rnd.randint(3, 6)].lower()
        t = time.perf_counter()
        resp = client.get(f"/s/cemetery/recherche?q={q}")
        samples.append((time.perf_counter() - t) * 1000)
        assert resp.status_code == 200
    base = []
    for _ in range(requests):  # the same page without a query: what the portal's page costs by itself
        t = time.perf_counter()
        client.get("/s/cemetery/recherche")
        base.append((time.perf_counter() - t) * 1000)
    print(f"2. search by name: p95 {p95(samples):.1f} ms, median {statistics.median(samples):.1f} ms over {requests} "
          f"requests (target < 50 ms); the same page without a query: p95 {p95(base):.1f} ms, median "
          f"{statistics.median(base):.1f} ms")


def register_bench(app, client, kind: str, rounds: int) -> None:
    """The register's response vs bare WeasyPrint on the same HTML, alternated ``rounds`` times, best of each (the
    shared VM's load changes from one minute to the next; alternating exposes both to the same load)."""
    from flask import g
    from sqlalchemy import select
    from weasyprint import HTML

    from portal.extensions import db
    from portal.models import Collectivity
    from portal.tenancy import territory_scope
    from services.cemetery import documents

    with app.test_request_context(), territory_scope({"10002"}):
        g.collectivity = db.session.scalar(select(Collectivity).where(Collectivity.insee == "10002"))
        html = documents.register_html(kind)
        db.session.remove()
    HTML(string="<p>warm-up</p>").write_pdf()  # fonts found once per process: not charged to either side
    t = time.perf_counter()
    with app.test_request_context(), territory_scope({"10002"}):
        g.collectivity = db.session.scalar(select(Collectivity).where(Collectivity.insee == "10002"))
        documents.register_html(kind)
        db.session.remove()
    own = time.perf_counter() - t
    mine, bare = [], []
    for _ in range(rounds):
        # the register asked for, built by the task (in-process here: CELERY_EAGER), then downloaded
        t = time.perf_counter()
        asked = client.post(f"/s/cemetery/registres/{kind}/preparer")
        resp = client.get(asked.headers["Location"] + "/fichier")
        mine.append(time.perf_counter() - t)
        assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
        t = time.perf_counter()
        HTML(string=html).write_pdf()
        bare.append(time.perf_counter() - t)
    print(f"3. register of {kind}: {html.count('<tr>') - 1} lines, response {min(mine):.1f} s vs bare WeasyPrint on "
          f"the same HTML {min(bare):.1f} s (best of {rounds}); ratio {min(mine) / min(bare):.2f} (target ≤ 1.2); the "
          f"query and the template alone: {own:.2f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plots", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--browser", action="store_true", help="also time the plan drawn in Chromium")
    ap.add_argument("--no-registers", action="store_true")
    ap.add_argument("--registers-only", action="store_true", help="skip the plan and the search")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-cemetery-"))
    os.environ.setdefault("INSTANCE_PATH", str(tmp))
    os.environ.setdefault("SECRET_KEY", "bench")
    if os.environ.get("DATABASE_URL"):  # a superuser URL: the portal runs as the application role, under RLS
        if "bench" not in os.environ["DATABASE_URL"].rsplit("/", 1)[-1]:
            raise SystemExit("the bench empties the schema of DATABASE_URL: its database name must contain 'bench'")
        from portal.dbroles import use_roles_for

        use_roles_for(os.environ["DATABASE_URL"], reset=True)
    from flask_migrate import upgrade

    from portal import create_app
    from portal.demo import load_territory
    from portal.extensions import db
    from portal.tenancy import territory_scope

    overrides = {"WTF_CSRF_ENABLED": False, "CELERY_EAGER": True}
    if not os.environ.get("DATABASE_URL"):
        overrides["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp}/bench.sqlite3"
    from importlib.metadata import entry_points

    if not any(ep.name == "cemetery" for ep in entry_points(group="extranet.services")):
        overrides["EXTRA_SERVICES"] = ["services.cemetery:service"]
    app = create_app(overrides)
    print(f"{dt.date.today()}, database: {'PostgreSQL' if os.environ.get('DATABASE_URL') else 'SQLite'}; "
          f"{os.cpu_count()} CPUs")
    with app.app_context():
        upgrade(revision="heads")
        load_territory()
        db.session.commit()
        with territory_scope(None):
            t = time.perf_counter()
            email = seed(app, args.plots)
            print(f"   {args.plots} emplacements seeded in {time.perf_counter() - t:.1f} s")
        db.session.remove()
        if os.environ.get("DATABASE_OWNER_URL"):  # the statistics a database in use has (autovacuum's ANALYZE)
            from sqlalchemy import create_engine

            owner = create_engine(os.environ["DATABASE_OWNER_URL"], isolation_level="AUTOCOMMIT")
            with owner.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
            owner.dispose()
    client = app.test_client()
    client.post("/connexion", data={"email": email, "password": PASSWORD})
    if not args.registers_only:
        plan_bench(app, client, args.rounds)
        if args.browser:
            browser_bench(app, email)
        search_bench(client, args.requests)
    if not args.no_registers:
        for kind in ("concessions", "operations"):
            register_bench(app, client, kind, args.rounds)


if __name__ == "__main__":
    main()
