"""Backups (portal/ops/backup.py): the demo backed up, restored into an empty database and folders, compared table by
table and file by file; bad archives (truncated, tampered, encrypted for another key), a restore over data, the
retention and the copy. Runs on SQLite, and on PostgreSQL when DATABASE_URL is set (a second database is the
restore target, a third the verification's scratch database, both with the suite's owner/application roles)."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.conftest import owner_engine, using_postgres

# Written after the dump is taken (the run's own row goes from "running" to "ok"): compared apart.
CHANGES_AFTER_DUMP = {"ops_backup_run"}


def _pg_database(suffix: str):
    """A fresh database ``<test db>_<suffix>`` with PostGIS and its owner/application roles: (app URL, owner URL)."""
    from portal.config import _database_url
    from portal.dbroles import ensure_roles, reset_schema, url_string
    from tests.conftest import _ensure_pg_database

    admin = make_url(_database_url(None)).set(database=f"{make_url(_database_url(None)).database}_{suffix}")
    _ensure_pg_database(admin)
    roles = ensure_roles(admin)
    reset_schema(admin)
    return url_string(roles.app), url_string(roles.owner)


@pytest.fixture
def target(tmp_path):
    """Configuration of an empty instance: database, instance folder, the prints folder outside it."""
    inst = tmp_path / "restored-instance"
    over = {"INSTANCE_PATH": str(inst), "ELECTORAL_PRINT_DIR": str(tmp_path / "restored-prints"),
            "BACKUP_DIR": str(tmp_path / "restored-backups")}
    if using_postgres():
        app_url, owner_url = _pg_database("restore")
        over.update(SQLALCHEMY_DATABASE_URI=app_url, DATABASE_OWNER_URL=owner_url)
    else:
        over["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{inst}/extranet.sqlite3"
    return over


@pytest.fixture
def backed_up(app, world, tmp_path, monkeypatch):
    """The demo loaded in the session's database, a print run in a folder outside the instance, and a backup."""
    monkeypatch.setitem(app.config, "BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.setitem(app.config, "ELECTORAL_PRINT_DIR", str(tmp_path / "prints"))
    monkeypatch.setitem(app.config, "BACKUP_COPY_DIR", str(tmp_path / "second-disk"))
    if using_postgres():
        scratch, scratch_owner = _pg_database("scratch")
        monkeypatch.setitem(app.config, "BACKUP_SCRATCH_DATABASE_URL", scratch_owner)
    monkeypatch.setenv("DEMO_PASSWORD", "Demo-password-for-tests-1!")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    prints = tmp_path / "prints" / "run-1"
    prints.mkdir(parents=True)
    (prints / "emargement.pdf").write_bytes(b"%PDF-1.7 fictitious print run\n" * 50)
    result = runner.invoke(args=["ops", "backup"])
    assert result.exit_code == 0, result.output
    archives = sorted((tmp_path / "backups").glob("extranet-*.tar.gz"))
    assert len(archives) == 1
    return archives[0]


def _engine_seeing_all(url: str):
    engine = create_engine(url, poolclass=NullPool)
    if engine.dialect.name == "postgresql":
        @event.listens_for(engine, "begin")
        def _all(conn):
            conn.exec_driver_sql("SELECT set_config('app.territory', '*', true), set_config('app.viewer', '*', true)")
    return engine


def _tables_and_rows(engine) -> dict[str, list[str]]:
    out = {}
    with engine.connect() as conn:
        names = inspect(conn).get_table_names()
        if engine.dialect.name == "postgresql":
            names = [n for n in names if n != "spatial_ref_sys"]  # PostGIS's, installed with the extension
        for name in names:
            try:
                rows = conn.execute(text(f'SELECT * FROM "{name}"')).all()
            except Exception:  # noqa: BLE001 - SQLite virtual tables of a module this build lacks
                conn.rollback()
                continue
            out[name] = sorted(repr(tuple(r)) for r in rows)
    return out


def _files(root: Path, skip: set[Path]) -> dict[str, str]:
    out = {}
    for path in root.rglob("*"):
        if path.is_file() and not any(s == path or s in path.parents for s in skip) and not path.name.endswith(".tmp"):
            out[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _live_skip(app) -> set[Path]:
    inst = Path(app.instance_path)
    db_file = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database or ""
    return {Path(app.config["BACKUP_DIR"]), *(Path(db_file + s) for s in ("", "-journal", "-wal", "-shm"))} | \
        {p for p in inst.glob("*.sqlite3*")}


def test_backup_then_restore_into_empty_database_and_folders_is_identical(app, backed_up, target, tmp_path):
    from portal import create_app

    original_rows = _tables_and_rows(owner_engine(app))
    original_files = _files(Path(app.instance_path), _live_skip(app))
    original_prints = _files(tmp_path / "prints", set())
    assert original_prints and len(original_rows) > 40
    assert sum(len(v) for v in original_rows.values()) > 1000  # the demo: communes, accounts, services' data

    restored = create_app({"TESTING": True, "EXTRA_SERVICES": ["tests.portal.sample_service:service"], **target})
    result = restored.test_cli_runner().invoke(args=["ops", "restore", str(backed_up)])
    assert result.exit_code == 0, result.output
    assert "Restored" in result.output

    restored_url = target.get("DATABASE_OWNER_URL") or target["SQLALCHEMY_DATABASE_URI"]
    engine = _engine_seeing_all(restored_url)
    try:
        restored_rows = _tables_and_rows(engine)
    finally:
        engine.dispose()
    assert set(restored_rows) == set(original_rows)
    for table in original_rows:
        if table not in CHANGES_AFTER_DUMP:
            assert restored_rows[table] == original_rows[table], f"table {table} differs after the restore"
    assert len(restored_rows["ops_backup_run"]) == len(original_rows["ops_backup_run"])
    restored_inst = Path(target["INSTANCE_PATH"])
    restored_files = _files(restored_inst, {restored_inst / "extranet.sqlite3", Path(target["BACKUP_DIR"])})
    assert restored_files == original_files
    assert _files(Path(target["ELECTORAL_PRINT_DIR"]), set()) == original_prints

    # The restored instance is usable: the application role reads it (grants given after the restore).
    with restored.app_context():
        from portal.extensions import db
        from portal.models import User

        assert db.session.query(User).count() == len(
            [r for r in original_rows["user_account"]])
        db.session.remove()
        db.engine.dispose()

    # A second restore is refused: the database is no longer empty.
    again = restored.test_cli_runner().invoke(args=["ops", "restore", str(backed_up)])
    assert again.exit_code != 0
    assert "the database is not empty" in again.output


def test_verify_restores_into_scratch_and_records_the_result(app, backed_up):
    from portal.extensions import db
    from portal.ops.models import BackupRun

    result = app.test_cli_runner().invoke(args=["ops", "verify", str(backed_up)])
    assert result.exit_code == 0, result.output
    assert "Archive verified" in result.output
    with app.app_context():
        run = db.session.query(BackupRun).one()
        assert (run.status, run.verification, run.archive) == ("ok", "ok", backed_up.name)
        assert run.size == backed_up.stat().st_size and run.files >= 1 and run.rows > 1000
    copy = Path(app.config["BACKUP_COPY_DIR"]) / backed_up.name
    assert copy.read_bytes() == backed_up.read_bytes()


def _verify(app, archive, *extra):
    return app.test_cli_runner().invoke(args=["ops", "verify", str(archive), *extra])


def test_truncated_archive_is_refused_clearly(app, backed_up, tmp_path):
    cut = tmp_path / "cut" / backed_up.name
    cut.parent.mkdir()
    data = backed_up.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    result = _verify(app, cut)
    assert result.exit_code != 0
    assert "is truncated or damaged" in result.output


def test_tampered_member_is_refused_by_its_checksum(app, backed_up, tmp_path):
    tampered = tmp_path / "tampered" / backed_up.name
    tampered.parent.mkdir()
    with tarfile.open(backed_up, "r:gz") as src, tarfile.open(tampered, "w:gz") as dst:
        changed = None
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if changed is None and member.name.startswith("files/instance/") and data:
                data, changed = data[:-1] + bytes([data[-1] ^ 1]), member.name  # one bit flipped
            dst.addfile(member, io.BytesIO(data))
    assert changed
    result = _verify(app, tampered)
    assert result.exit_code != 0
    assert f"was tampered with or damaged: {changed} does not match its checksum" in result.output


def test_archive_not_recorded_as_written_is_reported(app, backed_up):
    """The run keeps the archive's SHA-256: an archive replaced by another one made elsewhere is not taken as it."""
    from portal.extensions import db
    from portal.ops.models import BackupRun

    with app.app_context():
        run = db.session.query(BackupRun).one()
        run.sha256 = "0" * 64
        db.session.commit()
    _verify(app, backed_up)
    with app.app_context():
        run = db.session.query(BackupRun).one()
        assert run.verification == "failed" and "differs from the one written" in run.verification_detail


def test_encrypted_archive_needs_its_own_key(app, world, tmp_path, monkeypatch):
    from pyrage import x25519

    key, other = x25519.Identity.generate(), x25519.Identity.generate()
    (tmp_path / "key.txt").write_text(f"# created for the test\n{key}\n")
    (tmp_path / "other.txt").write_text(f"{other}\n")
    monkeypatch.setitem(app.config, "BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.setitem(app.config, "BACKUP_AGE_RECIPIENT", str(key.to_public()))
    if using_postgres():
        monkeypatch.setitem(app.config, "BACKUP_SCRATCH_DATABASE_URL", _pg_database("scratch")[1])
    result = app.test_cli_runner().invoke(args=["ops", "backup"])
    assert result.exit_code == 0, result.output
    archive = next((tmp_path / "backups").glob("extranet-*.tar.gz.age"))
    assert archive.read_bytes().startswith(b"age-encryption.org/v1")
    assert b"manifest.json" not in archive.read_bytes()

    without = _verify(app, archive)
    assert without.exit_code != 0 and "the archive is encrypted: give the age identity file" in without.output
    wrong = _verify(app, archive, "--identity", str(tmp_path / "other.txt"))
    assert wrong.exit_code != 0 and "is encrypted for another key" in wrong.output
    right = _verify(app, archive, "--identity", str(tmp_path / "key.txt"))
    assert right.exit_code == 0, right.output


def test_restore_refuses_folders_that_hold_files(app, backed_up, target):
    from portal import create_app

    inst = Path(target["INSTANCE_PATH"])
    (inst / "tenders" / "files").mkdir(parents=True)
    (inst / "tenders" / "files" / "left-over.pdf").write_bytes(b"%PDF")
    restored = create_app({"TESTING": True, "EXTRA_SERVICES": ["tests.portal.sample_service:service"], **target})
    result = restored.test_cli_runner().invoke(args=["ops", "restore", str(backed_up)])
    assert result.exit_code != 0
    assert "is not empty" in result.output and "left-over.pdf" in result.output
    with restored.app_context():  # nothing was written into the database
        from portal.ops.backup import database_counts

        if using_postgres():
            assert database_counts() == {}
        else:
            assert not (inst / "extranet.sqlite3").exists()


def test_retention_keeps_7_daily_4_weekly_12_monthly():
    from portal.ops.backup import kept

    start = dt.datetime(2026, 12, 7, 2, 30)
    stamps = [start - dt.timedelta(days=d) for d in range(400)]  # one archive a night for 400 nights
    stamps += [start - dt.timedelta(hours=1)]  # a manual backup the same day, earlier
    keep = kept(sorted(stamps, reverse=True), 7, 4, 12)
    days = {t.date() for t in keep}
    assert all(start.date() - dt.timedelta(days=d) in days for d in range(7))
    assert start - dt.timedelta(hours=1) not in keep  # one per day: the newest of the day
    weeks = {t.isocalendar()[:2] for t in keep}
    assert len({(start - dt.timedelta(weeks=w)).isocalendar()[:2] for w in range(4)} - weeks) == 0
    months = {(t.year, t.month) for t in keep}
    assert len(months) == 12 and min(months) == (2026, 1)
    assert len(keep) <= 7 + 4 + 12
    assert min(keep) >= dt.datetime(2026, 1, 1)


def test_retention_removes_archives_on_disk(app, tmp_path, monkeypatch):
    from portal.ops.backup import apply_retention

    monkeypatch.setitem(app.config, "BACKUP_KEEP_DAILY", 2)
    monkeypatch.setitem(app.config, "BACKUP_KEEP_WEEKLY", 0)
    monkeypatch.setitem(app.config, "BACKUP_KEEP_MONTHLY", 0)
    for day in (1, 2, 3):
        (tmp_path / f"extranet-202612{day:02d}T023000Z.tar.gz").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("kept: not an archive")
    with app.app_context():
        removed = apply_retention(tmp_path)
    assert removed == ["extranet-20261201T023000Z.tar.gz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extranet-20261202T023000Z.tar.gz",
                                                          "extranet-20261203T023000Z.tar.gz", "notes.txt"]


def test_manifest_lists_every_member_with_its_checksum(backed_up):
    with tarfile.open(backed_up, "r:gz") as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
        assert names[-1] == "manifest.json"
        for name in names[:-1]:
            data = tar.extractfile(name).read()
            assert manifest["members"][name] == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    assert {f["name"] for f in manifest["folders"]} >= {"instance", "ELECTORAL_PRINT_DIR"}
    assert "files/ELECTORAL_PRINT_DIR/run-1/emargement.pdf" in manifest["members"]
    assert manifest["database"]["backend"] == ("postgresql" if using_postgres() else "sqlite")
    assert manifest["database"]["tables"]["collectivity"] > 400
    assert not any("backups/" in n for n in names)
    assert os.path.basename(manifest["database"]["file"]) in ("extranet.dump", "extranet.sqlite3")


@pytest.mark.skipif(not using_postgres(), reason="roles exist on PostgreSQL only (CI's second run)")
def test_roles_are_added_on_request_without_passwords(app, world, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "BACKUP_DIR", str(tmp_path / "backups"))
    result = app.test_cli_runner().invoke(args=["ops", "backup", "--roles"])
    assert result.exit_code == 0, result.output
    archive = next((tmp_path / "backups").glob("extranet-*.tar.gz"))
    with tarfile.open(archive, "r:gz") as tar:
        roles = tar.extractfile("database/roles.sql").read().decode()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    app_role = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).username
    assert f"CREATE ROLE {app_role};" in roles and "PASSWORD" not in roles.upper().replace("NO-ROLE-PASSWORDS", "")
    assert manifest["database"]["roles"] == "database/roles.sql"
    assert manifest["database"]["role"] == make_url(app.config["DATABASE_OWNER_URL"]).username
