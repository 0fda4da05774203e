"""Performance of the legality control service, each figure against a baseline measured in the same run.

    .venv/bin/python bench/actes.py                     # 100 MB of annexes, a department year (32 000 acts)
    .venv/bin/python bench/actes.py --annex-mb 20 --acts 5000 --requests 100

On a temporary SQLite database and storage folder (or DATABASE_URL):
1. pre-flight checks + PAdES signature + ACTES form (built, XSD-validated) + the multipart body sent to the TdT, for
   an act with ``--annex-mb`` of annexes (PNG scans), vs. ``tar czf`` of the same files + ``xmllint --schema`` of the
   same form (target: ≤ 1.3×);
2. a department year: ``--acts`` acts over the 431 communes of the Aube, one commune holding 2 000 published acts;
   p95 of that commune's list page and of a search (target < 50 ms), and of its public page (target < 100 ms).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] if len(samples) >= 20 else max(samples)


def timed(fn, rounds: int) -> float:
    fn()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _scan(size: int) -> bytes:
    import struct
    import zlib

    from tests.services.actes.fixtures import make_png

    png = make_png()
    noise = os.urandom(size)
    chunk = struct.pack(">I", len(noise)) + b"prVt" + noise + struct.pack(">I", zlib.crc32(b"prVt" + noise))
    return png[:33] + chunk + png[33:]  # after the 8-byte signature and the 25-byte IHDR chunk


def envelope_bench(app, tmp: Path, annex_mb: int, rounds: int) -> None:
    from services.actes import message, signature, tdt
    from services.actes.checks import Deposit, Upload, preflight
    from services.actes.classification import default_xml, parse
    from tests.services.actes.fixtures import make_pdf
    from tests.services.actes.test_signature import pkcs12

    parts = 4
    # Scans are compressed images: their bytes do not deflate (random padding), as a real JPEG/PNG's do not.
    scans = [_scan(annex_mb * 1024 * 1024 // parts) for _ in range(parts)]
    act_pdf = make_pdf("Délibération du conseil municipal")
    p12 = pkcs12("bench")
    matieres = parse(default_xml()).matieres
    folder = tmp / "files"
    folder.mkdir()
    (folder / "acte.pdf").write_bytes(act_pdf)
    for i, s in enumerate(scans):
        (folder / f"annexe-{i}.png").write_bytes(s)
    form = message.ActForm("010", "211000013", dt.date.today(), "2026_014", 1, "DE", "7.1", "Budget primitif",
                           dt.date(2004, 4, 1), ["png"] * parts)
    (folder / "form.xml").write_bytes(message.build_acte(form))
    xsd = ROOT / "services" / "actes" / "data" / "xsd" / "actesv1_1.xsd"

    def ours():
        with app.test_request_context():
            d = Deposit(1, "7.1", "2026_014", dt.date.today(), "Budget primitif", Upload("acte.pdf", act_pdf, "99_DE"),
                        [Upload(f"annexe-{i}.png", s, "99_AU") for i, s in enumerate(scans)])
            report = preflight(d, matieres=matieres, stored_version=None, prefecture_version=None,
                               taken_numbers=set(), today=dt.date.today())
            assert report.ok, report.errors
            signer, _subject, _until = signature.load_signer(p12, "bench")
            signed = signature.sign_pdf(act_pdf, signer, name="Maire", location="Ailleville", reason="bench")
            xml = message.build_acte(form)
            message.validate(xml)
            files = [tdt.FilePart("acte_pdf_file", "a.pdf", signed)] + [
                tdt.FilePart("acte_attachments[]", f"{i}.png", s, "image/png") for i, s in enumerate(scans)]
            tdt.multipart({"api": "1", "number": "2026_014"}, files)

    def baseline():
        subprocess.run(["tar", "czf", str(tmp / "bundle.tgz"), "-C", str(folder), "."], check=True)
        subprocess.run(["xmllint", "--noout", "--schema", str(xsd), str(folder / "form.xml")], check=True,
                       capture_output=True)

    base = timed(baseline, rounds)
    mine = timed(ours, rounds)
    print(f"1. act with {annex_mb} MB of annexes: pre-flight + signature + form + body {mine * 1000:.0f} ms; "
          f"tar czf + xmllint --schema {base * 1000:.0f} ms; ratio {mine / base:.2f} (target ≤ 1.3)")


def seed_year(app, acts: int, big: int):
    """``acts`` acts over every commune of the Aube: Ailleville (10002) holds ``big`` published ones and 10 % more
    individual ones (never published), the rest spread over the 430 others. Returns Ailleville's mayor's e-mail."""
    from sqlalchemy import insert, select

    from portal.extensions import db
    from portal.models import Collectivity, Convention, Membership, ServiceActivation, User
    from portal.security import hash_password
    from services.actes.models import Act

    communes = db.session.execute(select(Collectivity.id, Collectivity.insee)
                                  .where(Collectivity.kind == "commune").order_by(Collectivity.insee)).all()
    ailleville = next(c for c in communes if c.insee == "10002")
    others = [c for c in communes if c.insee != "10002"]
    today = dt.date.today()
    words = ("Budget primitif", "Tarifs de la cantine", "Travaux de voirie", "Subvention aux associations",
             "Convention de mise à disposition", "Arrêté de circulation", "Recrutement d'un agent")
    own_individual = big // 10
    rows = []
    for i in range(acts):
        if i < big + own_individual:
            c, individual = ailleville, i >= big
        else:
            c, individual = others[i % len(others)], i % 6 == 2
        day = today - dt.timedelta(days=i % 365)
        nature = 3 if individual else (1, 2, 4, 5, 6)[i % 5]
        rows.append({"collectivity_id": c.id, "commune_insee": c.insee, "nature": nature, "matiere": "7.1",
                     "number": f"B{i}", "decision_date": day, "subject": f"{words[i % len(words)]} n° {i}",
                     "publication_kind": "individual" if individual else "other", "status": "acknowledged",
                     "status_reason": "", "paper_annexes": False, "poll_failures": 0, "signer_name": "",
                     "tdt_transaction_id": str(100000 + i), "unique_id": f"010-000000000-{day:%Y%m%d}-B{i}-DE",
                     "received_on": day + dt.timedelta(days=1),
                     "published_at": None if individual else dt.datetime.combine(day + dt.timedelta(days=1),
                                                                                 dt.time(12)),
                     "created_at": dt.datetime.now(), "updated_at": dt.datetime.now()})
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(Act), rows[start:start + 5000])
    db.session.commit()
    if db.engine.dialect.name == "postgresql":  # what autovacuum does within a minute of a load this size
        from sqlalchemy import create_engine

        owner = create_engine(os.environ.get("DATABASE_OWNER_URL") or str(db.engine.url))  # ANALYZE: the owner's
        with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE actes_act")
        owner.dispose()
    coll = db.session.get(Collectivity, ailleville.id)
    db.session.add(Convention(number="BENCH", collectivity=coll, status="active", services=["actes"],
                              starts_on=today - dt.timedelta(days=10), signed_on=today - dt.timedelta(days=20)))
    db.session.add(ServiceActivation(collectivity=coll, service_slug="actes", enabled=True))
    user = User(email="maire@bench.example.org", full_name="Maire", status="active",
                password_hash=hash_password("Bench-password-2026!"))
    db.session.add(user)
    db.session.add(Membership(user=user, collectivity=coll, role="mayor"))
    dept = db.session.scalar(select(Collectivity).where(Collectivity.kind == "department"))
    staff = User(email="tdt@bench.example.org", full_name="Équipe TdT", status="active",
                 password_hash=hash_password("Bench-password-2026!"))
    db.session.add(staff)
    db.session.add(Membership(user=staff, collectivity=dept, role="dept_agent"))
    db.session.commit()
    return user.email, staff.email


def _sample(client, url: str, requests: int) -> list[float]:
    client.get(url)  # warm-up (templates compiled, caches filled)
    samples = []
    for _ in range(requests):
        t = time.perf_counter()
        resp = client.get(url)
        samples.append((time.perf_counter() - t) * 1000)
        assert resp.status_code == 200, (url, resp.status_code)
    return samples


def _login(app, email):
    client = app.test_client()
    resp = client.post("/connexion", data={"email": email, "password": "Bench-password-2026!"})
    assert resp.status_code == 302, resp.status_code
    return client


def year_bench(app, acts: int, requests: int, profile: bool) -> None:
    from portal.extensions import db
    from portal.tenancy import territory_scope

    with app.app_context(), territory_scope(None):
        t = time.perf_counter()
        mayor, staff = seed_year(app, acts, 2000)
        print(f"2. {acts} acts seeded in {time.perf_counter() - t:.1f} s (Ailleville: 2 000 published + 200 "
              f"individual; {acts - 2200} over the 430 other communes)")
        db.session.remove()
    client = _login(app, mayor)
    anonymous = app.test_client()
    base = _sample(client, "/profil", requests)
    base_median = statistics.median(base)
    print(f"   baseline: the signed-in profile page, median {base_median:.1f} ms, p95 {p95(base):.1f} ms "
          f"({requests} requests each, after one warm-up)")
    cases = (("list of the commune's acts", client, "/s/actes/", 50),
             ("search « cantine » in the list", client, "/s/actes/?q=cantine", 50),
             ("search of a number", client, "/s/actes/?q=B1999", 50),
             ("public page (2 000 published acts), page 1", anonymous, "/p/actes/10002/", 100),
             ("public page, page 40 (the last)", anonymous, "/p/actes/10002/?page=40", 100),
             ("public search « voirie » + dates", anonymous,
              "/p/actes/10002/?q=voirie&du=2026-01-01&au=2026-12-31", 100))
    for label, who, url, target in cases:
        samples = _sample(who, url, requests)
        verdict = "met" if p95(samples) < target else "NOT met"
        print(f"   {label}: median {statistics.median(samples):.1f} ms, p95 {p95(samples):.1f} ms "
              f"(target p95 < {target} ms: {verdict}; median {statistics.median(samples) / base_median:.2f}× "
              f"the baseline)")
    dept = _login(app, staff)
    few = max(5, requests // 10)
    for label, url in (("department page (statistics of the year)", "/admin/s/actes/"),
                       ("department statistics CSV", "/admin/s/actes/statistiques.csv")):
        samples = _sample(dept, url, few)
        print(f"   {label}: median {statistics.median(samples):.1f} ms, p95 {p95(samples):.1f} ms "
              f"({few} requests, no target)")
    if profile:
        import cProfile
        import pstats

        for url, who in (("/s/actes/?q=cantine", client), ("/p/actes/10002/", anonymous)):
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(50):
                who.get(url)
            prof.disable()
            print(f"--- cProfile of 50 × {url} (cumulative) ---")
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--annex-mb", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--acts", type=int, default=32000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--skip-envelope", action="store_true", help="only the department year")
    ap.add_argument("--skip-year", action="store_true", help="only the act with its annexes")
    ap.add_argument("--profile", action="store_true", help="cProfile of the list search and the public page")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-actes-"))
    os.environ.setdefault("INSTANCE_PATH", str(tmp))
    os.environ.setdefault("SECRET_KEY", "bench")
    database = os.environ.get("DATABASE_URL", "")
    if database:  # a superuser URL: the portal runs as the application role, under row-level security
        from portal.dbroles import use_roles_for

        use_roles_for(database, reset=True)
    from flask_migrate import upgrade

    from portal import create_app
    from portal.demo import load_territory
    from portal.extensions import db
    from portal.tenancy import territory_scope

    overrides = {"WTF_CSRF_ENABLED": False, "ACTES_STORAGE_DIR": str(tmp / "store"), "CELERY_EAGER": True,
                 "RATELIMIT_ENABLED": False}
    if not database:
        overrides["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp}/bench.sqlite3"
    app = create_app(overrides)
    engine = "PostgreSQL as the application role (row-level security)" if database else "SQLite"
    print(f"{dt.datetime.now():%Y-%m-%d %H:%M}; database: {engine}; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")
    with app.app_context(), territory_scope(None):
        upgrade(revision="heads")
        load_territory()
        db.session.commit()
    if not args.skip_envelope:
        envelope_bench(app, tmp, args.annex_mb, args.rounds)
    if not args.skip_year:
        year_bench(app, args.acts, args.requests, args.profile)


if __name__ == "__main__":
    main()
