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
               buyer_siret="21100002300019", contact_email="mairie@ailleville.example.org", published_at=now)
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lots", type=int, default=3)
    ap.add_argument("--attachment-mb", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-tenders-")
    os.environ.setdefault("INSTANCE_PATH", tmp)
    os.environ.setdefault("SECRET_KEY", "bench")
    from flask_migrate import upgrade
    from weasyprint import HTML

    from portal import create_app
    from portal.extensions import db
    from portal.dbroles import use_roles_for

    use_roles_for(os.environ.get("DATABASE_URL", ""))  # PostgreSQL: run as the application role, migrate as owner
    from services.tenders import documents, ending, storage

    overrides = {} if os.environ.get("DATABASE_URL") else {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3"}
    overrides["TENDERS_STORAGE_DIR"] = f"{tmp}/files"
    app = create_app(overrides)
    print({"machine": f"{platform.node()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
           "date": dt.datetime.now().isoformat(timespec="minutes"),
           "database": "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite",
           "lots": args.lots, "attachments": f"2 × {args.attachment_mb} MB", "rounds": args.rounds}, flush=True)
    with app.test_request_context():
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
