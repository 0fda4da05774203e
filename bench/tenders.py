"""Performance of the tenders service's document work (issue #5), each figure against a baseline measured in the
same run on the same machine.

    .venv/bin/python bench/tenders.py              # 3 lots, 2 attachments of 5 MB, 5 rounds
    .venv/bin/python bench/tenders.py --lots 10 --rounds 3

On a temporary SQLite database and storage folder (or DATABASE_URL), with one published consultation:
1. DCE zip (every document as PDF + .docx + .odt, the attachments, deflated) built by ``documents.dce_zip`` vs. the
   bare WeasyPrint render of the same documents' HTML (the PDFs alone): the ratio is what the editable formats and
   the zip add;
2. a correction notice as the view does it (validation, notice, DCE rebuilt and written to the storage, commit) vs.
   the DCE build alone: the ratio is the cost of everything but the documents;
3. reading a stored 5 MB attachment with its SHA-256 and size checked (``storage.read``) vs. a plain read of the
   same file: the ratio is the price of checking every download.

With ``--deposits`` (issue #16), instead:
4. ``--companies`` (50) company accounts deposit a ``--bid-mb`` (20 MB) PDF each, all within the last minute before
   the deadline, through gunicorn (2 workers, the production server) on loopback: every bid must be in the register
   with its receipt e-mail in the outbox; p95 of the time from sending to the receipt page; throughput (bytes per
   second over the whole rush) vs. a bare loop sealing the same bytes with the same encryption (RSA-OAEP +
   AES-256-GCM, ``sealing.seal``) and writing them with fsync — the floor of any sealed deposit;
5. the opening of ``--open-bids`` (100) deposits of ``--bid-mb`` MB (``opening.open_bids``: key released, every file
   read, decrypted and checked against its SHA-256, minutes recorded) vs. a bare loop reading and decrypting the same
   sealed files (``sealing.unseal``).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(fn, rounds: int) -> float:
    """Median wall time of ``rounds`` calls, in seconds (one warm-up call first)."""
    fn()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def make_tender(db, lots: int, attachment_mb: int):
    from portal.models import Collectivity
    from services.tenders import documents, storage
    from services.tenders.models import Tender, TenderAttachment, TenderLot

    coll = Collectivity(kind="commune", name="Ailleville", search_name="ailleville", insee="10002",
                        department_code="10")
    db.session.add(coll)
    db.session.flush()
    now = dt.datetime.now().replace(second=0, microsecond=0)
    reception = now + dt.timedelta(days=30)
    t = Tender(collectivity_id=coll.id, reference="BENCH-001", status="published", title="Réfection des écoles",
               description="Travaux de couverture, de menuiserie et de peinture dans les deux écoles. " * 5,
               nature="works", cpv_code="45000000-7", place="Écoles communales", duration_months=6,
               single_lot_reason="", amount_ht=Decimal(300000), launch_date=now.date(), procedure="mapa",
               publicity="boamp_or_jal", media=["portal", "buyer_profile", "boamp"],
               questions_deadline=reception - dt.timedelta(days=6), reception_deadline=reception,
               opening_date=reception.date() + dt.timedelta(days=1),
               notification_date=reception.date() + dt.timedelta(days=30),
               criteria=[{"code": "price", "label": "", "weight": 60}, {"code": "technical", "label": "", "weight": 40}],
               buyer_siret="21100002300005", contact_email="mairie@ailleville.example.org", published_at=now)
    t.collectivity = coll
    for n in range(1, lots + 1):
        t.lots.append(TenderLot(number=n, title=f"Lot {n}", amount_ht=Decimal(300000) / lots))
    db.session.add(t)
    db.session.flush()
    for n in (1, 2):
        data = b"%PDF-1.4\n" + os.urandom(attachment_mb * 1024 * 1024) + b"\n%%EOF\n"
        s = storage.save("attachments", t.id, data)
        t.attachments.append(TenderAttachment(filename=f"plan-{n}.pdf", mimetype="application/pdf",
                                              storage_key=s.key, sha256=s.sha256, size=s.size))
    storage.replace_dce(db.session, t, documents.dce_zip(t))
    db.session.commit()
    return t


def big_pdf(mb: int, seed: int) -> bytes:
    """A PDF that a parser opens, ``mb`` MB large (a blank page and an incompressible embedded stream)."""
    import io

    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, NameObject

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    stream = DecodedStreamObject()
    stream.set_data(os.urandom(mb * 1024 * 1024 - 2048) + seed.to_bytes(4, "big"))
    writer.add_metadata({"/Title": f"Offre {seed}"})
    writer._root_object[NameObject("/BenchPayload")] = writer._add_object(stream)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def _stream_seal(sealing, public_pem, tid, data, sink=None, chunk=1024 * 1024):
    """Seal ``data`` as the deposit does, in werkzeug-sized chunks, into ``sink`` (or nowhere)."""
    writer = sealing.SealingWriter(public_pem, tid, sink or (lambda b: None))
    view = memoryview(data)
    for start in range(0, len(data), chunk):
        writer.write(view[start:start + chunk])
    return writer.finish()


def _write_fsync(path, data) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _check(app, storage, data) -> None:
    with app.app_context():
        storage.check_attachment(data, "offre.pdf")


def _multipart_body(fields: dict, file: tuple[str, str, bytes]) -> tuple[str, bytes]:
    """(Content-Type, body) of a form with ``fields`` and one PDF ``file`` (field name, file name, bytes), encoded as
    a browser (or requests' ``files=``) encodes it."""
    boundary = os.urandom(16).hex()
    out = bytearray()
    for name, value in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    name, filename, data = file
    out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/pdf\r\n\r\n").encode()
    out += data
    out += f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", bytes(out)


def _cookie_header(cookies: dict) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def workers_cpu(server) -> float:
    """CPU seconds (user + system) used so far by the gunicorn workers of ``server`` (children of its master): what
    the deposits cost the server, whatever else the shared machine runs meanwhile."""
    total = 0
    for pid in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def p95(values):
    values = sorted(v for v in values if v is not None) or [float("nan")]
    return values[max(0, int(round(0.95 * len(values))) - 1)]


def bench_deposits(args, tmp: str) -> None:
    import re
    import threading
    from http.client import HTTPConnection, HTTPException
    from zoneinfo import ZoneInfo

    import requests
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from bench.cadastre import start_gunicorn
    from portal import create_app
    from portal.extensions import db
    from portal.models import OutgoingEmail
    from portal.audiences import audience_scope  # noqa: I001 - after portal.models: its mappers name Collectivity
    from portal.security import hash_password
    from services.tenders import deposits, opening, sealing, storage
    from services.tenders.companies import Company

    env = {"INSTANCE_PATH": tmp, "SECRET_KEY": "bench", "TENDERS_STORAGE_DIR": f"{tmp}/files",
           "TENDERS_MAX_ATTACHMENT_MB": str(args.bid_mb + 5), "TENDERS_SEAL_KEY": os.environ["TENDERS_SEAL_KEY"],
           "RATELIMIT_ENABLED": "false", "CELERY_EAGER": "0"}
    if not os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.update(env)
    app = create_app({"SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"]} if "sqlite" in env.get(
        "DATABASE_URL", "") else {})
    password = "Offre-de-la-derniere-minute-2026"
    with app.test_request_context(), audience_scope(None):  # set-up in the system context (tenders_0008_tender_rls)
        upgrade(revision="heads")
        t = make_tender(db, 1, 1)
        t.reception_deadline = (dt.datetime.now(ZoneInfo("Europe/Paris")).replace(tzinfo=None, microsecond=0)
                                + dt.timedelta(days=1))  # moved to one minute away once all are signed in
        pw = hash_password(password)
        emails = [f"offres-{n}@entreprise-{n}.example.org" for n in range(args.companies)]
        for n, email in enumerate(emails):
            db.session.add(Company(name=f"Entreprise {n}", siret="73282932000074", email=email, password_hash=pw,
                                   confirmed_at=dt.datetime(2026, 1, 1)))
        key = deposits.consultation_key(t)  # made at the first deposit; made here so the rush measures deposits
        db.session.commit()
        tid, public_pem, deadline = t.id, key.public_pem, deposits.deadline_utc(t)
    files = [big_pdf(args.bid_mb, n) for n in range(args.companies)]
    total = sum(len(f) for f in files)

    # What one file costs, piece by piece (why the former bare loop reached only 18 MB/s): the SHA-256, the AES-GCM
    # (one-shot as the first deposit code did, then streamed in 64 KB chunks as werkzeug hands them over), the
    # write with one fsync, the content check (PDF parsed) — each alone, on the first file.
    import hashlib

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    sample, parts = files[0], {}
    mb = len(sample) / 1e6
    for name, fn in (
            ("sha256", lambda: hashlib.sha256(sample).digest()),
            ("aes-gcm one-shot", lambda: AESGCM(AESGCM.generate_key(256)).encrypt(os.urandom(12), sample, b"")),
            ("seal streamed (sha256 + aes-gcm, 1 MB blocks)", lambda: _stream_seal(sealing, public_pem, tid, sample)),
            ("write + fsync", lambda: _write_fsync(Path(tmp) / "probe", sample)),
            ("content check (PDF parsed)", lambda: _check(app, storage, sample))):
        parts[name] = f"{mb / timed(fn, 3):.0f} MB/s"
    print(f"   per-file costs ({mb:.0f} MB, load {os.getloadavg()[0]:.1f}): {parts}", flush=True)

    # Baseline: the same bytes sealed the same way (streamed) and written with one fsync each, one after the other.
    bare_dir = Path(tmp) / "bare"
    bare_dir.mkdir()
    start, bare_cpu = time.perf_counter(), time.process_time()
    for n, data in enumerate(files):
        with open(bare_dir / str(n), "wb") as f:
            _stream_seal(sealing, public_pem, tid, data, f.write)
            f.flush()
            os.fsync(f.fileno())
    bare, bare_cpu = time.perf_counter() - start, time.process_time() - bare_cpu

    server, port = start_gunicorn("app:create_app()", **env)
    base = f"http://127.0.0.1:{port}"
    try:
        sessions = []
        for email in emails:
            http = requests.Session()
            signin = http.get(f"{base}/p/tenders/entreprises/connexion").text
            token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', signin).group(1)
            resp = http.post(f"{base}/p/tenders/entreprises/connexion",
                             data={"email": email, "password": password, "csrf_token": token}, allow_redirects=False)
            assert resp.status_code == 302, resp.text[:300]
            page = http.get(f"{base}/p/tenders/{tid}/depot").text
            http.close()  # a fresh connection for the deposit: gthread closes idle keep-alive ones after 2 s
            sessions.append((http, re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)))
        with app.app_context():  # the companies are signed in: the deadline is now one minute away
            from services.tenders.models import Tender

            t = db.session.get(Tender, tid)
            t.reception_deadline = (dt.datetime.now(ZoneInfo("Europe/Paris")).replace(tzinfo=None, microsecond=0)
                                    + dt.timedelta(seconds=60))
            db.session.commit()
            deadline = deposits.deadline_utc(t)
        # Each company's request is encoded before the rush (a multipart body as a browser sends it: the token,
        # the lot, the file) and sent from those bytes with http.client — one sendall, as a remote client's
        # kernel would stream it. Encoding 50 bodies of 20 MB inside the timed window (requests' files=) and
        # sending them through its layers cost the load generator, on the same 2 cores as the server, CPU that a
        # real company's own machine spends; the rush measured the generator as much as the portal.
        bodies = [_multipart_body({"csrf_token": token, "lot": "1"},
                                  ("financiere_1", f"offre-{i}.pdf", files[i])) for i, (_h, token) in enumerate(sessions)]
        left = (deadline - dt.datetime.now(dt.timezone.utc)).total_seconds()
        barrier = threading.Barrier(len(sessions))
        times, failures = [None] * len(sessions), []

        answered, acked = [None] * len(sessions), [None] * len(sessions)

        def send(i):
            http, _token = sessions[i]
            content_type, body = bodies[i]
            cookies = {c.name: c.value for c in http.cookies}
            conn = HTTPConnection("127.0.0.1", port, timeout=300)
            barrier.wait()
            t0 = time.perf_counter()
            try:
                conn.request("POST", f"/p/tenders/{tid}/depot", body=body, headers={
                    "Content-Type": content_type, "Cookie": _cookie_header(cookies)})
                resp = conn.getresponse()
                resp.read()
                # the deposit is acknowledged (time-stamped, sealed, committed, receipt e-mail queued) by the 302;
                # the page showing the receipt is a second request, queued behind the uploads in progress
                acked[i] = time.perf_counter() - t0
                answered[i] = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
                status, text = resp.status, ""
                if status == 302:
                    for header in resp.headers.get_all("Set-Cookie") or []:  # the session now holds the message
                        name, _eq, value = header.split(";", 1)[0].partition("=")
                        cookies[name.strip()] = value.strip()
                    conn.request("GET", resp.headers["Location"], headers={"Cookie": _cookie_header(cookies)})
                    resp = conn.getresponse()
                    status, text = resp.status, resp.read().decode("utf-8", "replace")
            except (OSError, HTTPException) as exc:  # counted as lost
                failures.append((i, "no answer", repr(exc)[:200]))
                return
            finally:
                conn.close()
            times[i] = time.perf_counter() - t0
            if status != 200 or "alert-success" not in text:  # refused, or received out of time
                m = re.search(r'alert-(?:error|warning)[^>]*>(.*?)<', text, re.S)
                failures.append((i, status, (m.group(1).strip() if m else text[:120])[:160]))

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(sessions))]
        wall, server_cpu, client_cpu = time.perf_counter(), workers_cpu(server), time.process_time()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall, server_cpu = time.perf_counter() - wall, workers_cpu(server) - server_cpu
        client_cpu = time.process_time() - client_cpu
    finally:
        server.terminate()
        server.wait(10)
    with app.app_context():
        received = db.session.scalar(select(func.count(deposits.Bid.id)).where(deposits.Bid.tender_id == tid,
                                                                               deposits.Bid.late.is_(False)))
        kept_late = db.session.scalar(select(func.count(deposits.Bid.id)).where(deposits.Bid.tender_id == tid,
                                                                                deposits.Bid.late.is_(True)))
        receipts = db.session.scalar(select(func.count(OutgoingEmail.id))
                                     .where(OutgoingEmail.subject.like("%Accusé de réception%")))
        stamped = dict(db.session.execute(select(Company.email, deposits.Bid.received_at).join(
            deposits.Bid, deposits.Bid.company_id == Company.id).where(deposits.Bid.tender_id == tid)).all())
        late = sum(1 for at in stamped.values() if at.replace(tzinfo=dt.timezone.utc) >= deadline)
    # the receipt's delay after the last byte: answer seen by the company − server time-stamp of its last byte
    after_last = [(answered[i] - stamped[email]).total_seconds() for i, email in enumerate(emails)
                  if email in stamped and answered[i]]
    throughput, floor = total / wall, total / bare
    print(f"4. {args.companies} deposits of {args.bid_mb} MB through gunicorn ({os.environ.get('GUNICORN_WORKER_CLASS', 'gthread')}, "
          f"2 workers × {os.environ.get('GUNICORN_THREADS', '4')} threads), started {left:.0f} s before the "
          f"deadline: {received} received in time, {kept_late} received out of time (kept, marked late; {late} "
          f"stamped at or after the deadline), {receipts} receipts in the outbox, {len(failures)} not in time "
          f"{failures[:3]}; time from sending to the acknowledgement (302) p95 "
          f"{p95(acked):.2f} s, to the receipt page p95 "
          f"{p95(times):.2f} s (max {max(v for v in times if v is not None):.2f} s); acknowledgement after the last byte p95 "
          f"{p95(after_last):.2f} s (max {max(after_last):.2f} s); throughput {throughput / 1e6:.1f} MB/s vs bare streamed seal + write "
          f"{floor / 1e6:.1f} MB/s: {100 * throughput / floor:.0f} %; CPU per deposit: server {1000 * server_cpu / len(sessions):.0f} ms vs "
          f"bare loop {1000 * bare_cpu / len(files):.0f} ms per file (the bench's own sending: "
          f"{1000 * client_cpu / len(sessions):.0f} ms per deposit); load {os.getloadavg()[0]:.1f}", flush=True)

    # 5. Opening of --open-bids deposits (made in-process, time-stamped before the deadline)
    with app.test_request_context(), audience_scope(None):  # set-up in the system context (tenders_0008_tender_rls)
        from services.tenders.models import Tender

        t = db.session.get(Tender, tid)
        extra = args.open_bids - received
        more = [Company(name=f"Entreprise {n}", siret="73282932000074", email=f"ouverture-{n}@example.org",
                        password_hash=pw, confirmed_at=dt.datetime(2026, 1, 1)) for n in range(max(0, extra))]
        db.session.add_all(more)
        db.session.commit()
        for n, c in enumerate(more):
            deposits.deposit(t, c, [("offre", f"offre-{n}.pdf", files[n % len(files)])],
                             at=deadline - dt.timedelta(seconds=1))
            db.session.commit()
        t.reception_deadline = dt.datetime.now(ZoneInfo("Europe/Paris")).replace(tzinfo=None) - dt.timedelta(
            seconds=1)
        db.session.commit()
        bids = opening.valid_bids(t)
        sealed = [f for b in bids for f in b.files]
        size = sum(f.size for f in sealed)
        key = deposits.consultation_key(t)
        private = sealing.private_key(tid, key.private_sealed, deposits.deadline_utc(t), deposits.now_utc())
        start = time.perf_counter()
        for f in sealed:
            sealing.unseal(private, storage.path_of(f.storage_key).read_bytes(), tid, f.sha256)
        bare_open = time.perf_counter() - start
        start = time.perf_counter()
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            prof = cProfile.Profile()
            opened = prof.runcall(opening.open_bids, t, None)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        else:
            opened = opening.open_bids(t, None)
        db.session.commit()
        full_open = time.perf_counter() - start
        flagged = sum(1 for f in sealed if f.check != "ok")
        opened_at = opened.opened_at
    print(f"5. opening {len(bids)} bids ({size / 1e9:.2f} GB): {full_open:.2f} s ({flagged} flagged, opened "
          f"{opened_at:%H:%M:%S} UTC) vs bare read + decrypt {bare_open:.2f} s: ratio "
          f"{full_open / bare_open:.2f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--deposits", action="store_true", help="the deposit rush and the opening (4 and 5) only")
    ap.add_argument("--companies", type=int, default=50)
    ap.add_argument("--bid-mb", type=int, default=20)
    ap.add_argument("--open-bids", type=int, default=100)
    ap.add_argument("--lots", type=int, default=3)
    ap.add_argument("--attachment-mb", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-tenders-")
    if args.deposits:
        import base64

        os.environ.setdefault("TENDERS_SEAL_KEY", base64.b64encode(os.urandom(32)).decode())
        print({"machine": f"{platform.node()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
               "date": dt.datetime.now().isoformat(timespec="minutes"),
               "database": "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite",
               "companies": args.companies, "bid": f"{args.bid_mb} MB", "opening": args.open_bids}, flush=True)
        bench_deposits(args, tmp)
        return
    os.environ.setdefault("INSTANCE_PATH", tmp)
    os.environ.setdefault("SECRET_KEY", "bench")
    from flask_migrate import upgrade
    from weasyprint import HTML

    from portal import create_app
    from portal.extensions import db
    from portal.dbroles import use_roles_for
    from portal.models import Collectivity  # noqa: F401 - before portal.audiences: its mappers name Collectivity
    from portal.audiences import audience_scope  # noqa: I001

    use_roles_for(os.environ.get("DATABASE_URL", ""))  # PostgreSQL: run as the application role, migrate as owner
    from services.tenders import documents, ending, storage

    overrides = {} if os.environ.get("DATABASE_URL") else {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3"}
    overrides["TENDERS_STORAGE_DIR"] = f"{tmp}/files"
    app = create_app(overrides)
    print({"machine": f"{platform.node()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
           "date": dt.datetime.now().isoformat(timespec="minutes"),
           "database": "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite",
           "lots": args.lots, "attachments": f"2 × {args.attachment_mb} MB", "rounds": args.rounds}, flush=True)
    with app.test_request_context(), audience_scope(None):  # set-up in the system context (tenders_0008_tender_rls)
        upgrade(revision="heads")
        t = make_tender(db, args.lots, args.attachment_mb)
        docs = documents.all_docs(t)
        html = [documents.to_html(d) for d in docs]

        bare = timed(lambda: [HTML(string=h).write_pdf() for h in html], args.rounds)
        dce = timed(lambda: documents.dce_zip(t), args.rounds)
        print(f"1. DCE zip ({len(docs)} documents × 3 formats + attachments): {dce:.2f} s; bare WeasyPrint PDFs "
              f"{bare:.2f} s; ratio {dce / bare:.2f}", flush=True)

        step = [0]

        def correction():
            step[0] += 1
            form = {"reception_deadline": (t.reception_deadline + dt.timedelta(days=1)).isoformat(),
                    "reason": f"Report n° {step[0]}"}
            c, errors = ending.correct(t, form, None)
            assert not errors, errors
            db.session.flush()
            storage.replace_dce(db.session, t, documents.dce_zip(t))
            db.session.commit()

        corr = timed(correction, args.rounds)
        dce_after = timed(lambda: documents.dce_zip(t), args.rounds)  # more documents now: one notice per round
        print(f"2. correction notice end to end: {corr:.2f} s; DCE build alone {dce_after:.2f} s; ratio "
              f"{corr / dce_after:.2f}", flush=True)

        a = t.attachments[0]
        path = storage.path_of(a.storage_key)
        checked = timed(lambda: storage.read(a.storage_key, a.sha256, a.size), args.rounds * 4)
        plain = timed(path.read_bytes, args.rounds * 4)
        print(f"3. read of a {a.size / 1e6:.1f} MB attachment with checksum: {checked * 1000:.1f} ms; plain read "
              f"{plain * 1000:.1f} ms; ratio {checked / plain:.2f}", flush=True)


if __name__ == "__main__":
    main()
