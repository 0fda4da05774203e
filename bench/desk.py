"""Benchmark of the information desk at department scale.

    .venv/bin/python bench/desk.py [--scale 1.0] [--database postgresql://postgres@127.0.0.1:5432/extranet_desk_bench]
                                   [--requests 300] [--skip search,home,digest]

Data (scale 1.0): the Aube's 431 communes and 13 EPCI, 2 000 accounts (one membership each), 20 000 news items
(addressed to all, communes, one EPCI's members or a list), 20 000 forum threads of 5 messages (100 000 messages),
20 000 library documents (one folder a commune, read by the commune alone, its EPCI's members or everyone; each with
the text of a few-page PDF) and 1 000 fiches juridiques, all in the search index.

1. **Search**: ``services.desk.search.search`` as a commune would (audience filter on), over French words typed
   with and without accents and plurals; p95 in-process (the query, the filter, the ORM rows).
2. **Home page**: ``GET /`` with the news panel for a signed-in mayor, through gunicorn (2 workers), p95; printed
   beside ``GET /profil`` of the same person (a portal page without the news) as the ratio asked.
3. **Digest**: the digests of every account through the outbox (rows written, then delivered by the outbox's own
   delivery to an SMTP server on loopback) vs a bare ``smtplib`` loop sending the same messages over one connection.

The database is SQLite in a temporary folder unless --database is given: a superuser URL of a database whose name
contains "bench" (its schema is dropped and rebuilt); the portal then runs as the non-superuser application role of
``portal/dbroles.py`` (row-level security in force), migrations and ANALYZE as the owner role. Nothing here is used
by the tests.
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import smtplib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORDS = ("délibération conseil municipal budget urbanisme permis construire élections bureau vote état civil "
         "mariage naissance concours adjoint administratif recrutement marché public voirie école cantine "
         "cimetière concession eau assainissement préfecture circulaire formation atelier").split()
QUERIES = ("deliberations", "délibération budget", "élections", "permis de construire", "concours adjoint",
           "cimetières concession", "assainissement", "circulaire préfecture")
PASSWORD = "Bench-desk-password-2026"


def p95(values):
    values = sorted(values)
    return values[max(0, math.ceil(0.95 * len(values)) - 1)] * 1000


SYLLABLES = "ba be bi bo bu da de di do du la le li lo lu ma me mi mo mu ra re ri ro ru ta te ti to tu".split()


def word(rnd):
    """A word of the domain now and then (3 %), else one of ~27 000 pseudo-words: a vocabulary where a query word
    is in a few per cent of the texts, as in real writing."""
    if rnd.random() < 0.03:
        return rnd.choice(WORDS)
    return "".join(rnd.choice(SYLLABLES) for _ in range(3))


def sentence(rnd, n):
    return " ".join(word(rnd) for _ in range(n)).capitalize() + "."


def _accounts(n: int, communes) -> list[dict]:
    """``n`` active accounts, one membership each (the first of each commune its mayor)."""
    from sqlalchemy import insert

    from portal.extensions import db
    from portal.models import Membership, User
    from portal.security import hash_password

    hashed = hash_password(PASSWORD)
    users = [{"id": i + 1, "email": f"bench{i}@mairie.example.org", "full_name": f"Agent {i}", "status": "active",
              "password_hash": hashed, "session_version": 1, "created_at": dt.datetime(2026, 1, 1)} for i in range(n)]
    db.session.execute(insert(User), users)
    db.session.execute(insert(Membership), [
        {"user_id": u["id"], "collectivity_id": communes[i % len(communes)][0],
         "role": "mayor" if i < len(communes) else "secretary", "extra_permissions": [],
         "created_at": dt.datetime(2026, 1, 1)} for i, u in enumerate(users)])
    return users


def populate(app, scale: float, rnd: random.Random) -> dict:
    """Accounts, news, threads and their search entries, written with Core inserts (minutes, not hours)."""
    from sqlalchemy import insert, select, text

    from portal.audiences import Audience
    from portal.extensions import db
    from portal.models import Collectivity
    from services.desk import search
    from services.desk.models import ForumCategory, ForumPost, ForumThread, NewsItem, SearchEntry

    communes = db.session.execute(select(Collectivity.id, Collectivity.insee)
                                  .where(Collectivity.kind == "commune")).all()
    epcis = list(db.session.scalars(select(Collectivity.id).where(Collectivity.kind == "epci")))
    dept = db.session.scalar(select(Collectivity.id).where(Collectivity.kind == "department"))
    users = _accounts(int(2000 * scale), communes)
    db.session.add(ForumCategory(id=1, name="Questions", description="", position=1))
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    audiences, news, threads, posts, entries = [], [], [], [], []
    n_news, n_threads = int(20000 * scale), int(20000 * scale)
    for i in range(n_news + n_threads):
        kind = rnd.choices(("all", "communes", "epci_members", "list"), (60, 20, 15, 5))[0]
        audiences.append({"id": i + 1, "kind": kind, "epci_id": rnd.choice(epcis) if kind == "epci_members" else None})
    db.session.execute(insert(Audience), audiences)
    db.session.execute(text("INSERT INTO audience_member (audience_id, collectivity_id) VALUES (:a, :c)"),
                       [{"a": a["id"], "c": rnd.choice(communes)[0]} for a in audiences if a["kind"] == "list"])
    for i in range(n_news):
        at = now - dt.timedelta(minutes=37 * i)
        title, body = sentence(rnd, 6), sentence(rnd, 40)
        news.append({"id": i + 1, "title": title, "body_html": f"<p>{body}</p>", "pinned": i % 500 == 0,
                     "published_at": at, "updated_at": at, "document_url": "", "document_title": "",
                     "audience_id": i + 1, "publisher_id": dept})
        entries.append({"kind": "news", "ref_id": i + 1, "title": title, "body": body, "published_at": at,
                        "audience_id": i + 1, "publisher_id": dept})
    db.session.execute(insert(NewsItem), news)
    for j in range(n_threads):
        at = now - dt.timedelta(minutes=29 * j)
        author = rnd.choice(communes)[0]
        title = sentence(rnd, 6)
        threads.append({"id": j + 1, "category_id": 1, "title": title, "created_at": at, "last_post_at": at,
                        "locked": False, "hidden": False, "audience_id": n_news + j + 1, "publisher_id": author})
        bodies = [sentence(rnd, 25) for _ in range(5)]
        posts += [{"thread_id": j + 1, "collectivity_id": author, "body_html": f"<p>{b}</p>", "created_at": at,
                   "hidden": False} for b in bodies]
        entries.append({"kind": "thread", "ref_id": j + 1, "title": title, "body": "\n".join(bodies),
                        "published_at": at, "audience_id": n_news + j + 1, "publisher_id": author})
    db.session.execute(insert(ForumThread), threads)
    db.session.execute(insert(ForumPost), posts)
    n_docs, n_sheets = _library(rnd, communes, epcis, dept, len(audiences), now, entries, scale)
    db.session.execute(insert(SearchEntry), entries)
    if db.engine.dialect.name == "sqlite":
        rows = db.session.execute(select(SearchEntry.id, SearchEntry.title, SearchEntry.body)).all()
        db.session.execute(text(f"INSERT INTO {search.FTS} (rowid, terms) VALUES (:id, :t)"),
                           [{"id": r.id, "t": search.terms(f"{r.title} {r.body}")} for r in rows])
    else:
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('user_account', 'id'), 100000)"))
        db.session.commit()
        _analyze()
    db.session.commit()
    return {"users": len(users), "news": len(news), "threads": len(threads), "posts": len(posts),
            "documents": n_docs, "sheets": n_sheets, "mayor": users[0]["email"]}


def _library(rnd, communes, epcis, dept, first_audience, now, entries, scale):
    """One folder per commune (its own audience row, shared with its documents), documents and their search entries
    (title, file name and the text of a PDF), fiches juridiques addressed to all or to the communes."""
    from sqlalchemy import insert, text

    from portal.audiences import Audience
    from portal.extensions import db
    from services.desk.library_models import LegalSheet, LibraryDocument, LibraryFolder, SheetVersion

    audiences, members, folders = [], [], []
    next_id = first_audience + 1
    for k, (cid, _insee) in enumerate(communes):
        readers = rnd.choices(("list", "epci_members", "all"), (30, 40, 30))[0]
        audiences.append({"id": next_id, "kind": readers,
                          "epci_id": rnd.choice(epcis) if readers == "epci_members" else None})
        if readers == "list":
            members.append({"a": next_id, "c": cid})
        folders.append({"id": k + 1, "name": "Délibérations", "description": "", "created_at": now,
                        "audience_id": next_id, "publisher_id": cid})
        next_id += 1
    n_docs, n_sheets = int(20000 * scale), int(1000 * scale)
    sheet_audiences = [{"id": next_id + i, "kind": rnd.choice(("all", "communes")), "epci_id": None}
                       for i in range(n_sheets)]
    db.session.execute(insert(Audience), audiences + sheet_audiences)
    if members:
        db.session.execute(text("INSERT INTO audience_member (audience_id, collectivity_id) VALUES (:a, :c)"),
                           members)
    db.session.execute(insert(LibraryFolder), folders)
    documents = []
    for i in range(n_docs):
        folder = folders[i % len(folders)]
        at = now - dt.timedelta(minutes=41 * i)
        title = sentence(rnd, 5)
        documents.append({"id": i + 1, "folder_id": folder["id"], "title": title, "description": "",
                          "category": "deliberation", "created_at": at, "updated_at": at, "current_version": 1,
                          "audience_id": folder["audience_id"], "publisher_id": folder["publisher_id"]})
        entries.append({"kind": "document", "ref_id": i + 1, "title": title,
                        "body": f"deliberation-{i}.pdf\n" + " ".join(sentence(rnd, 20) for _ in range(10)),
                        "published_at": at, "audience_id": folder["audience_id"],
                        "publisher_id": folder["publisher_id"]})
    db.session.execute(insert(LibraryDocument), documents)
    sheets, versions = [], []
    for i, aud in enumerate(sheet_audiences):
        title, body = sentence(rnd, 6), " ".join(sentence(rnd, 20) for _ in range(8))
        sheets.append({"id": i + 1, "theme": "etat_civil", "title": title, "body_html": f"<p>{body}</p>",
                       "legal_refs": "Code civil, art. 63", "updated_on": now.date(), "created_at": now,
                       "current_version": 1, "audience_id": aud["id"], "publisher_id": dept})
        versions.append({"sheet_id": i + 1, "number": 1, "title": title, "body_html": f"<p>{body}</p>",
                         "legal_refs": "Code civil, art. 63", "change_note": "", "created_at": now})
        entries.append({"kind": "sheet", "ref_id": i + 1, "title": title, "body": body + "\nCode civil, art. 63",
                        "published_at": now, "audience_id": aud["id"], "publisher_id": dept})
    db.session.execute(insert(LegalSheet), sheets)
    db.session.execute(insert(SheetVersion), versions)
    return n_docs, n_sheets


def _analyze() -> None:
    """Statistics of the tables just filled, as autovacuum keeps them on a running database (as the tables' owner:
    the application role may not)."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(os.environ["DATABASE_OWNER_URL"], poolclass=NullPool)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def bench_search(app, rounds: int, rnd: random.Random) -> None:
    from flask import g
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import Collectivity
    from services.desk import search

    communes = list(db.session.scalars(select(Collectivity.id).where(Collectivity.kind == "commune")))
    times, found = [], 0
    for i in range(rounds):
        with app.test_request_context("/s/desk/recherche"):
            g.collectivity, g.permissions = db.session.get(Collectivity, rnd.choice(communes)), {"desk.read"}
            start = time.perf_counter()
            found += len(search.search(QUERIES[i % len(QUERIES)]))
            times.append(time.perf_counter() - start)
        db.session.remove()
    print(f"search: {rounds} queries as random communes, {found / rounds:.0f} results each on average, "
          f"p95 {p95(times):.1f} ms (median {sorted(times)[len(times) // 2] * 1000:.1f} ms)")


def bench_home(env: dict, mayor: str, rounds: int) -> None:
    import re

    import requests

    from bench.cadastre import start_gunicorn

    server, port = start_gunicorn("app:create_app()", **env)
    try:
        base = f"http://127.0.0.1:{port}"
        http = requests.Session()
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                          http.get(f"{base}/connexion").text).group(1)
        resp = http.post(f"{base}/connexion", data={"email": mayor, "password": PASSWORD, "csrf_token": token},
                         allow_redirects=False)
        assert resp.status_code == 302, resp.text[:500]
        assert "news-panel" in http.get(f"{base}/").text
        timings = {}
        for path in ("/", "/profil"):
            for _ in range(20):
                http.get(base + path)
            times = []
            for _ in range(rounds):
                start = time.perf_counter()
                http.get(base + path).raise_for_status()
                times.append(time.perf_counter() - start)
            timings[path] = p95(times)
        print(f"home page with news (gunicorn, 2 workers): p95 {timings['/']:.1f} ms; the profile page of the same "
              f"person (no news) {timings['/profil']:.1f} ms; ratio {timings['/'] / timings['/profil']:.2f}")
    finally:
        server.terminate()
        server.wait(10)


def bench_digest(app) -> None:
    from aiosmtpd.controller import Controller
    from sqlalchemy import select

    from portal import mail
    from portal.extensions import db
    from portal.models import OutgoingEmail
    from services.desk import digest

    class Sink:
        count = 0

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
            Sink.count += 1
            return "250 OK"

    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, CELERY_EAGER=True)
    try:
        with app.test_request_context(base_url="http://bench.example.org"):
            start = time.perf_counter()
            counts = digest.send_digests()
            queued = time.perf_counter() - start
            flushed = mail.flush()
            total = time.perf_counter() - start
        delivered = Sink.count  # what the SMTP server received (eager tasks deliver before flush() is reached)
        rows = db.session.scalars(select(OutgoingEmail)).all()
        statuses = {status: sum(1 for r in rows if r.status == status) for status in {r.status for r in rows}}
        sender = app.config["MAIL_SENDER"]
        messages = [mail.build_message(r, sender) for r in rows]
        Sink.count = 0
        start = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for m in messages:
                smtp.send_message(m)
        bare = time.perf_counter() - start
        n = counts["sent"]
        print(f"digest: {n} digests written in {queued:.1f} s, {delivered} received by the SMTP server (outbox rows "
              f"by status {statuses}, left for flush() {flushed}); "
              f"{n / total:.0f} msg/s end to end vs bare smtplib {len(messages) / bare:.0f} msg/s "
              f"({100 * (n / total) / (len(messages) / bare):.0f} %)")
    finally:
        controller.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database", default="")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--skip", default="")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    folder = Path(tempfile.mkdtemp(prefix="desk-bench-"))
    if args.database and "bench" not in args.database.rsplit("/", 1)[-1]:
        raise SystemExit("the bench drops the schema of --database: its name must contain 'bench'")
    env = {"INSTANCE_PATH": str(folder), "SECRET_KEY": "bench-desk", "DATABASE_URL": args.database}
    os.environ.update(env)
    if args.database:  # a superuser URL: the portal runs as the application role (portal/dbroles.py)
        from portal.dbroles import use_roles_for

        use_roles_for(args.database, reset=True)
        env.update(DATABASE_URL=os.environ["DATABASE_URL"], DATABASE_OWNER_URL=os.environ["DATABASE_OWNER_URL"])
    from flask_migrate import upgrade
    from sqlalchemy import text

    from portal import create_app
    from portal.demo import load_territory
    from portal.extensions import db

    app = create_app({"TESTING": False, "CELERY_EAGER": True, "SERVER_NAME": None})
    rnd = random.Random(13)
    with app.app_context():
        upgrade(revision="heads")  # PostgreSQL: as the owner role, on the schema use_roles_for emptied
        load_territory()
        db.session.commit()
        start = time.perf_counter()
        sizes = populate(app, args.scale, rnd)
        print(f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores; "
              f"{db.engine.dialect.name} as {db.engine.url.username or 'file'}: {sizes['users']} accounts, "
              f"{sizes['news']} news, {sizes['threads']} threads, {sizes['posts']} messages, {sizes['documents']} "
              f"documents, {sizes['sheets']} fiches loaded in {time.perf_counter() - start:.0f} s")
        db.session.execute(text("SELECT 1"))
        if "search" not in skip:
            bench_search(app, args.requests, rnd)
        if "home" not in skip:
            bench_home({k: v for k, v in env.items() if v}, sizes["mayor"], args.requests)
        if "digest" not in skip:
            bench_digest(app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
