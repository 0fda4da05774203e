"""Attachments and DCE zips live in the file storage (TENDERS_STORAGE_DIR), not in the database: checks at upload
(type by content, size limits), checksum at every read, downloads through the access rules, files that follow the
transaction, and the migration that moves existing rows out of the database."""
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import calendar, fill, new_tender, real_pdf

PDF = real_pdf("plan de la charpente")


def upload(client, tid, data, name):
    token = client.csrf(f"/s/tenders/{tid}/etape/6")
    return client.http.post(f"/s/tenders/{tid}/pieces", data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                            content_type="multipart/form-data", follow_redirects=True)


def attachments(app, tid):
    from portal.extensions import db
    from services.tenders.models import TenderAttachment

    with app.app_context():
        return [(a.id, a.filename, a.storage_key, a.sha256, a.size, a.mimetype)
                for a in db.session.query(TenderAttachment).filter_by(tender_id=tid).order_by(TenderAttachment.id)]


def storage_root(app) -> Path:
    from services.tenders import storage

    with app.app_context():
        return storage.root()


def test_upload_checks_type_by_content_and_sizes(app, tenders_world, login_as, monkeypatch):
    sec = login_as("secretary_a")
    tid = new_tender(sec)
    page = upload(sec, tid, b"Bonjour, ceci n'est pas un PDF", "faux.pdf").get_data(as_text=True)
    assert "ne correspond pas à son extension" in page
    page = upload(sec, tid, b"MZ\x90\x00", "outil.exe").get_data(as_text=True)
    assert "pas accepté" in page
    assert upload(sec, tid, b"", "vide.txt").status_code == 200 and attachments(app, tid) == []

    monkeypatch.setitem(app.config, "TENDERS_MAX_ATTACHMENT_MB", 1)
    monkeypatch.setitem(app.config, "TENDERS_MAX_DCE_MB", 1)
    big = real_pdf(padding=1024 * 1024)
    assert "trop volumineux (1 Mo au plus)" in upload(sec, tid, big, "gros.pdf").get_data(as_text=True)
    upload(sec, tid, real_pdf(padding=600_000), "plan-1.pdf")
    page = upload(sec, tid, real_pdf(padding=600_000), "plan-2.pdf").get_data(as_text=True)
    assert "ne peuvent pas dépasser 1 Mo" in page
    assert [a[1] for a in attachments(app, tid)] == ["plan-1.pdf"]

    # a real text file and an OpenDocument file pass; the content type served is ours, not the browser's
    upload(sec, tid, "Cahier des charges : tuiles plates, pente 45°.\n".encode("utf-8"), "notes.txt")
    [_big, txt] = attachments(app, tid)
    assert txt[5] == "text/plain; charset=utf-8"


def test_files_are_on_disk_with_their_checksum_and_served_through_the_rules(app, tenders_world, login_as, client):
    from sqlalchemy import inspect

    from portal.extensions import db

    mayor = login_as("mayor_a")
    tid = new_tender(mayor)
    fill(mayor, tid, amount="120000", step4=calendar() | {"media": ["portal", "buyer_profile", "boamp"]})
    upload(mayor, tid, PDF, "Plan charpente.pdf")
    [(aid, name, key, digest, size, mimetype)] = attachments(app, tid)
    assert name == "Plan_charpente.pdf" and mimetype == "application/pdf"
    on_disk = storage_root(app) / key
    assert on_disk.read_bytes() == PDF and digest == hashlib.sha256(PDF).hexdigest() and size == len(PDF)
    with app.app_context():  # nothing of the file in the database
        columns = {c["name"] for c in inspect(db.engine).get_columns("tender_attachment")}
        assert "content" not in columns and "dce_zip" not in {c["name"] for c in inspect(db.engine).get_columns(
            "tender")}

    staff = mayor.get(f"/s/tenders/{tid}/pieces/{aid}")
    assert staff.status_code == 200 and staff.data == PDF
    assert 'filename="Plan_charpente.pdf"' in staff.headers["Content-Disposition"]
    assert login_as("elected_a").get(f"/s/tenders/{tid}/pieces/{aid}").data == PDF  # read permission suffices
    assert client.get(f"/p/tenders/{tid}/pieces/{aid}").status_code == 404  # a draft is not public

    mayor.post(f"/s/tenders/{tid}/publier", {"confirm": "1"}, csrf_from=f"/s/tenders/{tid}/recapitulatif")
    public = client.get(f"/p/tenders/{tid}/pieces/{aid}")
    assert public.status_code == 200 and public.data == PDF
    assert "Plan_charpente.pdf" in client.get(f"/p/tenders/{tid}").get_data(as_text=True)
    with app.app_context():
        from services.tenders.models import Tender

        t = db.session.get(Tender, tid)
        dce_file = storage_root(app) / t.dce_key
        assert hashlib.sha256(dce_file.read_bytes()).hexdigest() == t.dce_sha256
    assert client.get(f"/p/tenders/{tid}/dce.zip").data == dce_file.read_bytes()

    # a file altered on disk is refused with a French page, never served nor a 500
    on_disk.write_bytes(PDF.replace(b"charpente", b"CHARPENTE"))
    altered = client.get(f"/p/tenders/{tid}/pieces/{aid}")
    assert altered.status_code == 410 and "Fichier indisponible" in altered.get_data(as_text=True)
    dce_file.write_bytes(b"PK\x03\x04 truncated")
    assert client.get(f"/p/tenders/{tid}/dce.zip").status_code == 410
    dce_file.unlink()
    assert client.get(f"/p/tenders/{tid}/dce.zip").status_code == 410


def test_files_follow_the_transaction(app, tenders_world, login_as):
    from portal.extensions import db
    from services.tenders import storage

    sec = login_as("secretary_a")
    tid = new_tender(sec)
    upload(sec, tid, PDF, "a.pdf")
    upload(sec, tid, PDF, "b.pdf")
    [(aid, _n, key_a, *_r), (_bid, _m, key_b, *_s)] = attachments(app, tid)
    root = storage_root(app)
    sec.post(f"/s/tenders/{tid}/pieces/{aid}/supprimer", {}, csrf_from=f"/s/tenders/{tid}/etape/6")
    assert not (root / key_a).exists() and (root / key_b).exists()
    sec.post(f"/s/tenders/{tid}/supprimer", {}, csrf_from=f"/s/tenders/{tid}/recapitulatif")
    assert not (root / key_b).exists()

    with app.app_context():  # written during a transaction that rolls back: removed
        stored = storage.save_for(db.session, "attachments", 999, b"%PDF-1.4 temporary")
        assert (root / stored.key).exists()
        db.session.rollback()
        assert not (root / stored.key).exists()


# The migration, on a database that still has the files in its rows ------------------------------------------------

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = r'''
import datetime as dt, hashlib, json, os
from pathlib import Path
import sqlalchemy as sa
from alembic import command
from flask import current_app
from portal import create_app
from portal.extensions import db

app = create_app()
out = {}


def row(table, **given):
    """Values for every NOT NULL column without a server default (dummy by type), then the given ones."""
    values = {}
    for c in table.columns:
        if c.primary_key or c.nullable or c.server_default is not None:
            continue
        try:
            t = c.type.python_type
        except NotImplementedError:
            t = str
        values[c.name] = {int: 0, str: "x", dt.datetime: dt.datetime(2026, 1, 1), dt.date: dt.date(2026, 1, 1),
                          bytes: b"", list: [], dict: {}}.get(t, 0)
    values.update(given)
    return values


with app.app_context():
    config = current_app.extensions["migrate"].migrate.get_config()
    command.upgrade(config, "tenders_0002")
    meta = sa.MetaData()
    meta.reflect(db.engine, only=["collectivity", "tender", "tender_attachment"])
    coll, tender, att = meta.tables["collectivity"], meta.tables["tender"], meta.tables["tender_attachment"]
    with db.engine.begin() as conn:
        cid = conn.execute(coll.insert().values(**row(coll, kind="commune", name="Ailleville", insee="10002",
                                                      department_code="10"))).inserted_primary_key[0]
        tid = conn.execute(tender.insert().values(**row(tender, collectivity_id=cid, reference="2026-001",
                                                        status="published", dce_zip=b"PK\x03\x04 old dce")))\
            .inserted_primary_key[0]
        conn.execute(att.insert().values(**row(att, tender_id=tid, filename="plan.pdf",
                                               content=b"%PDF-1.4 plan in the database")))
    command.upgrade(config, "heads")
    with db.engine.connect() as conn:
        a = conn.execute(sa.text("SELECT storage_key, sha256, size FROM tender_attachment")).one()
        t = conn.execute(sa.text("SELECT dce_key, dce_sha256, dce_size FROM tender")).one()
        cols = [c["name"] for c in sa.inspect(conn).get_columns("tender_attachment")]
    root = Path(os.environ["TENDERS_STORAGE_DIR"])
    out["attachment"] = [(root / a[0]).read_bytes().decode(), a[1], a[2], a[0]]
    out["dce"] = [(root / t[0]).read_bytes().decode("latin-1"), t[1], t[2]]
    out["columns"] = cols
    command.downgrade(config, "tenders_0002")
    with db.engine.connect() as conn:
        out["back"] = conn.execute(sa.text("SELECT content FROM tender_attachment")).scalar().decode()
        out["back_dce"] = conn.execute(sa.text("SELECT dce_zip FROM tender")).scalar().decode("latin-1")
print("RESULT " + json.dumps(out))
'''


def test_migration_moves_existing_rows_to_the_storage_and_back(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "EXTRA_SERVICES", "DATABASE_URL"}}
    env.update(INSTANCE_PATH=str(tmp_path), SECRET_KEY="tests-only-secret-key", LOG_LEVEL="WARNING",
               DATABASE_URL=f"sqlite:///{tmp_path / 'm.sqlite3'}", TENDERS_STORAGE_DIR=str(tmp_path / "files"))
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    out = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))[7:])
    body, digest, size, key = out["attachment"]
    assert body == "%PDF-1.4 plan in the database" and key.startswith("attachments/")
    assert digest == hashlib.sha256(body.encode()).hexdigest() and size == len(body)
    assert out["dce"][0] == "PK\x03\x04 old dce" and out["dce"][2] == len("PK\x03\x04 old dce")
    assert "content" not in out["columns"]
    assert out["back"] == body and out["back_dce"] == "PK\x03\x04 old dce"


def _zip(entries: dict[str, bytes]) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in entries.items():
            z.writestr(name, content)
    return buf.getvalue()


def _docx_parts() -> dict[str, bytes]:
    import zipfile

    from docx import Document

    buf = io.BytesIO()
    document = Document()
    document.add_paragraph("Cahier des clauses techniques particulières")
    document.save(buf)
    with zipfile.ZipFile(buf) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_a_zip_bomb_named_docx_is_refused_as_an_attachment(app, tenders_world, login_as):
    sec = login_as("secretary_a")
    tid = new_tender(sec)
    bomb = _zip(_docx_parts() | {"word/media/filler.xml": b" " * (64 * 1024 * 1024)})  # 64 MB out of ~70 KB
    assert len(bomb) < 200 * 1024
    page = upload(sec, tid, bomb, "CCTP.docx").get_data(as_text=True)
    assert attachments(app, tid) == [] and "alert-error" in page


def test_any_zip_renamed_docx_is_refused_and_a_real_docx_passes(app, tenders_world, login_as):
    sec = login_as("secretary_a")
    tid = new_tender(sec)
    page = upload(sec, tid, _zip({"photo.txt": b"pas un document Word"}), "CCTP.docx").get_data(as_text=True)
    assert attachments(app, tid) == [] and "alert-error" in page
    page = upload(sec, tid, b"MZ\x90\x00" + b"\x00" * 100, "plan.dwg").get_data(as_text=True)
    assert attachments(app, tid) == []  # a program is never accepted, even as a format the checks cannot open
    upload(sec, tid, _zip(_docx_parts()), "CCTP.docx")
    [(_aid, name, *_rest, mimetype)] = attachments(app, tid)
    assert name == "CCTP.docx" and mimetype.endswith("wordprocessingml.document")
