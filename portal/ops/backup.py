"""Backups of an instance: one archive with the database and every file folder, a manifest of SHA-256 checksums.

An archive (``extranet-20261207T023000Z.tar.gz``, ``….tar.gz.age`` when encrypted) holds:

- ``database/extranet.dump`` — ``pg_dump`` custom format, taken as the owner role in one snapshot (the row counts of
  the manifest are counted in that same snapshot), or ``database/extranet.sqlite3`` — SQLite's online backup API;
  ``database/roles.sql`` when roles were asked for (``pg_dumpall --roles-only``, without passwords);
- ``files/<folder>/…`` — the instance folder (uploads of every service kept under it by default: tenders, acts,
  prints, imports, the file outbox, the CPV list, the secret key) and every folder or file a service setting points
  outside it (``TENDERS_STORAGE_DIR``, ``ELECTORAL_PRINT_DIR``…);
- ``manifest.json`` — last: format, time, backend, the Alembic heads, every table's row count, every member's SHA-256.

Restoring (:func:`restore`) writes into an empty database and empty folders only; verifying (:func:`verify`)
restores into a scratch database and folder and compares every table's rows and every file's checksum with the
manifest. A truncated archive, a member that does not match its checksum, an archive encrypted for another key:
each is a :class:`BackupError` with a message saying which.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import io
import json
import logging
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

FORMAT = 1
ARCHIVE_RE = re.compile(r"^extranet-(\d{8}T\d{6}Z)\.tar\.gz(\.age)?$")
AGE_MAGIC = b"age-encryption.org/v1"
SQLITE_SIDE_FILES = ("", "-journal", "-wal", "-shm")
# Files of the instance folder that a fresh install creates by itself: an "empty" instance may hold them.
FRESH_INSTANCE_FILES = {"secret_key", "demo_password"}


class BackupError(Exception):
    """A backup, restore or verification that cannot go on (English message, for operators and logs)."""


@dataclass
class Folder:
    name: str  # "instance", or the setting naming it (TENDERS_STORAGE_DIR…)
    path: Path
    exclude: set[Path] = field(default_factory=set)  # absolute paths left out (database files, the backup folder)
    is_file: bool = False


@dataclass
class Result:
    archive: Path
    size: int
    sha256: str
    rows: int
    files: int
    encrypted: bool
    copies: list[str]
    removed: list[str]
    run_id: int | None = None
    copy_errors: list = field(default_factory=list)  # remote.RemoteError of each destination that refused


# --------------------------------------------------------------------------------------------------- where things are

def config(key: str):
    return current_app.config.get(key)


def instance_path() -> Path:
    return Path(current_app.instance_path).resolve()


def backup_dir() -> Path:
    configured = config("BACKUP_DIR")
    return Path(configured).resolve() if configured else instance_path() / "backups"


def database_url(owner: bool = True):
    """The SQLAlchemy URL backups run with: the owner's (DATABASE_OWNER_URL) on PostgreSQL, else the app's."""
    url = (config("DATABASE_OWNER_URL") if owner else None) or config("SQLALCHEMY_DATABASE_URI")
    return make_url(url)


def normalise_url(url: str) -> str:
    """``postgresql://…`` as the portal's configuration spells it (psycopg 3 driver)."""
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def is_sqlite(url) -> bool:
    return url.get_backend_name() == "sqlite"


def sqlite_path(url) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("the SQLite database is in memory: nothing to back up")
    return Path(url.database).resolve()


def file_folders() -> list[Folder]:
    """Every folder (or file) of the instance's data: the instance folder, and each declared service setting ending
    in ``_DIR`` or ``_FILE`` (plus ``MAIL_OUTBOX_DIR``) that points outside it."""
    from ..settings import declared, setting

    inst = instance_path()
    exclude = {backup_dir()}
    url = database_url(owner=False)
    if is_sqlite(url):
        db_file = sqlite_path(url)
        exclude |= {Path(str(db_file) + suffix) for suffix in SQLITE_SIDE_FILES}
    folders = [Folder("instance", inst, exclude)]
    candidates = [("MAIL_OUTBOX_DIR", config("MAIL_OUTBOX_DIR"))]
    candidates += [(key, setting(key)) for key in sorted(declared()) if key.endswith(("_DIR", "_FILE"))]
    for key, value in candidates:
        if not value:
            continue
        path = Path(str(value)).resolve()
        if path == inst or inst in path.parents:
            continue  # already in the instance folder
        folders.append(Folder(key, path, set(exclude), is_file=key.endswith("_FILE")))
    return folders


# ------------------------------------------------------------------------------------------------------------ helpers

def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _libpq(url) -> tuple[str, dict]:
    """A libpq connection string without the password, and the environment carrying it (not on a command line)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(cmd: list[str], env: dict, what: str) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise BackupError(f"{what}: {cmd[0]} is not installed (Debian: apt-get install postgresql-client)") from exc
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip()[-2000:]}")
    return done


@contextmanager
def _pg(url, territory_all: bool = True):
    """A psycopg connection of ``url`` seeing every territory and audience (row-level security is forced on the owner
    too)."""
    import psycopg

    conninfo, env = _libpq(url)
    conn = psycopg.connect(conninfo, password=env.get("PGPASSWORD"), autocommit=True)
    try:
        if territory_all:
            conn.execute("SELECT set_config('app.territory', '*', false), set_config('app.viewer', '*', false)")
        yield conn
    finally:
        conn.close()


PG_TABLES = """
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
    ORDER BY c.relname"""


def _pg_counts(conn) -> dict[str, int]:
    from psycopg import sql

    names = [r[0] for r in conn.execute(PG_TABLES)]
    return {n: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(n))).fetchone()[0]
            for n in names}


def _sqlite_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        counts = {}
        for n in names:
            try:
                counts[n] = conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]
            except sqlite3.OperationalError:  # a virtual table whose module this build lacks
                continue
        return counts
    finally:
        conn.close()


def _alembic_heads(conn_rows) -> list[str]:
    return sorted(r[0] for r in conn_rows)


# ------------------------------------------------------------------------------------------------------------- backup

@contextmanager
def _lock(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BackupError(f"another backup is running (lock {folder / '.lock'})") from exc
        yield


def _dump_database(work: Path, with_roles: bool) -> dict:
    url = database_url(owner=True)
    (work / "database").mkdir()
    if is_sqlite(url):
        src_path = sqlite_path(url)
        if not src_path.exists():
            raise BackupError(f"the SQLite database {src_path} does not exist")
        target = work / "database" / "extranet.sqlite3"
        src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # a consistent copy, while the portal keeps writing
        finally:
            dst.close()
            src.close()
        counts = _sqlite_counts(target)
        conn = sqlite3.connect(target)
        try:
            heads = _alembic_heads(conn.execute("SELECT version_num FROM alembic_version"))
        finally:
            conn.close()
        return {"backend": "sqlite", "file": "database/extranet.sqlite3", "tables": counts, "heads": heads}
    target = work / "database" / "extranet.dump"
    conninfo, env = _libpq(url)
    # every row, policies forced on the owner included (territories and audiences)
    env["PGOPTIONS"] = "-c app.territory=* -c app.viewer=*"
    with _pg(url) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        counts = _pg_counts(conn)  # in the snapshot pg_dump reads
        heads = _alembic_heads(conn.execute("SELECT version_num FROM alembic_version"))
        server = conn.execute("SHOW server_version").fetchone()[0]
        _run(["pg_dump", "--format=custom", "--compress=6", "--enable-row-security", f"--snapshot={snapshot}",
              f"--file={target}", f"--dbname={conninfo}"], env, "pg_dump")
        conn.execute("COMMIT")
    info = {"backend": "postgresql", "file": "database/extranet.dump", "tables": counts, "heads": heads,
            "server_version": server, "role": url.username}
    if with_roles:
        done = _run(["pg_dumpall", "--roles-only", "--no-role-passwords", f"--dbname={conninfo}"], env,
                    "pg_dumpall --roles-only")
        (work / "database" / "roles.sql").write_text(done.stdout)
        info["roles"] = "database/roles.sql"
    return info


def _add_folders(tar: tarfile.TarFile, members: dict) -> list[dict]:
    folders = []
    for folder in file_folders():
        entry = {"name": folder.name, "path": str(folder.path), "file": folder.is_file}
        folders.append(entry)
        if folder.is_file:
            if folder.path.is_file():
                arc = f"files/{folder.name}"
                members[arc] = _add_file(tar, folder.path, arc)
            continue
        if not folder.path.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(folder.path):
            base = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if (base / d).resolve() not in folder.exclude)
            for name in sorted(filenames):
                path = base / name
                if path.resolve() in folder.exclude or name.endswith(".tmp") or not path.is_file():
                    continue
                arc = f"files/{folder.name}/{path.relative_to(folder.path).as_posix()}"
                members[arc] = _add_file(tar, path, arc)
    return folders


def _add_file(tar: tarfile.TarFile, path: Path, arcname: str) -> dict:
    """Add ``path`` read once: the checksum is of the very bytes archived (a file rewritten meanwhile is caught)."""
    data_hash = hashlib.sha256()
    info = tar.gettarinfo(str(path), arcname)
    info.uid = info.gid = 0
    info.uname = info.gname = ""

    class _Hashing:  # tarfile reads with read(n) only
        def __init__(self, f):
            self.f = f

        def read(self, n=-1):
            chunk = self.f.read(n)
            data_hash.update(chunk)
            return chunk

    with open(path, "rb") as f:
        tar.addfile(info, _Hashing(f))
    return {"sha256": data_hash.hexdigest(), "size": info.size}


def create_backup(with_roles: bool = False, now: dt.datetime | None = None, record: bool = True) -> Result:
    """Write one archive to the backup folder, copy it, apply the retention; record the run (``ops_backup_run``)."""
    from ..extensions import db
    from .models import BackupRun

    now = now or dt.datetime.now(dt.timezone.utc)
    folder = backup_dir()
    run = None
    if record:
        run = BackupRun(started_at=now.replace(tzinfo=None), status="running")
        db.session.add(run)
        db.session.commit()
    try:
        with _lock(folder):
            result = _create(folder, with_roles, now)
    except Exception as exc:
        log.error("backup failed: %s", exc)
        if run is not None:
            db.session.rollback()
            run.status, run.error, run.finished_at = "failed", str(exc)[:4000], _utcnow()
            db.session.commit()
        raise
    if run is not None:
        run.status, run.finished_at = ("copy_failed" if result.copy_errors else "ok"), _utcnow()
        run.error = "; ".join(str(e) for e in result.copy_errors)[:4000]
        run.archive, run.size, run.sha256 = result.archive.name, result.size, result.sha256
        run.encrypted, run.rows, run.files, run.copies = result.encrypted, result.rows, result.files, result.copies
        run.backend = database_url().get_backend_name()
        db.session.commit()
        result.run_id = run.id
    log.info("backup %s written: %d bytes, %d rows, %d files, copies %s, removed by retention %s%s",
             result.archive.name, result.size, result.rows, result.files, result.copies or "none",
             result.removed or "none",
             f"; copy FAILED, archive kept here: {run.error if run else result.copy_errors}" if result.copy_errors
             else "")
    return result


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _create(folder: Path, with_roles: bool, now: dt.datetime) -> Result:
    stamp = now.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    recipient = config("BACKUP_AGE_RECIPIENT") or ""
    name = f"extranet-{stamp}.tar.gz" + (".age" if recipient else "")
    final = folder / name
    if final.exists():
        raise BackupError(f"{final} already exists")
    work = Path(tempfile.mkdtemp(prefix=".work-", dir=folder))
    try:
        database = _dump_database(work, with_roles)
        members: dict[str, dict] = {}
        plain = work / "archive.tar.gz"
        with tarfile.open(plain, "w:gz", compresslevel=1) as tar:
            for path in sorted((work / "database").iterdir()):
                arc = f"database/{path.name}"
                members[arc] = _add_file(tar, path, arc)
            folders = _add_folders(tar, members)
            manifest = {
                "format": FORMAT,
                "created_at": now.astimezone(dt.timezone.utc).isoformat(),
                "host": socket.gethostname(),
                "database": database,
                "folders": folders,
                "members": members,
            }
            data = json.dumps(manifest, indent=1, sort_keys=True).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size, info.mtime = len(data), int(now.timestamp())
            tar.addfile(info, io.BytesIO(data))
        tmp = folder / f".{name}.tmp"
        if recipient:
            import pyrage

            try:
                pyrage.encrypt_file(str(plain), str(tmp), [_recipient(recipient)])
            except pyrage.EncryptError as exc:
                raise BackupError(f"encryption failed: {exc}") from exc
        else:
            shutil.move(plain, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    size, digest = final.stat().st_size, sha256_file(final)
    from .remote import copy_everywhere

    removed = apply_retention(folder)
    copies, removed_there, copy_errors = copy_everywhere(final, digest)  # the local archive stays whatever happens
    rows = sum(database["tables"].values())
    files = sum(1 for k in members if k.startswith("files/"))
    return Result(final, size, digest, rows, files, bool(recipient), copies, removed + removed_there,
                  copy_errors=copy_errors)


def _recipient(text: str):
    from pyrage import x25519

    try:
        return x25519.Recipient.from_str(text.strip())
    except Exception as exc:  # noqa: BLE001 - pyrage raises its own error types
        raise BackupError(f"BACKUP_AGE_RECIPIENT is not an age public key (age1…): {exc}") from exc


# ---------------------------------------------------------------------------------------------------------- retention

def archives_in(folder: Path) -> list[tuple[dt.datetime, Path]]:
    found = []
    if folder.is_dir():
        for path in folder.iterdir():
            m = ARCHIVE_RE.match(path.name)
            if m:
                found.append((dt.datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ"), path))
    return sorted(found, reverse=True)


def kept(stamps: list[dt.datetime], daily: int, weekly: int, monthly: int) -> set[dt.datetime]:
    """Grandfather-father-son: the newest archive of each of the last ``daily`` days, ``weekly`` ISO weeks and
    ``monthly`` months that have one (the newest archive is always kept)."""
    keep = set(stamps[:1])
    for count, period in ((daily, lambda t: t.date()), (weekly, lambda t: t.isocalendar()[:2]),
                          (monthly, lambda t: (t.year, t.month))):
        seen = []
        for t in sorted(stamps, reverse=True):
            p = period(t)
            if p not in seen:
                if len(seen) == count:
                    break
                seen.append(p)
                keep.add(t)
    return keep


def apply_retention(folder: Path) -> list[str]:
    found = archives_in(folder)
    keep = kept([t for t, _ in found], int(config("BACKUP_KEEP_DAILY") or 0), int(config("BACKUP_KEEP_WEEKLY") or 0),
                int(config("BACKUP_KEEP_MONTHLY") or 0))
    removed = []
    for t, path in found:
        if t not in keep:
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


# ------------------------------------------------------------------------------------------------ reading an archive

@dataclass
class Opened:
    root: Path  # extracted members
    manifest: dict


def _identities(identity_file: str | None):
    from pyrage import x25519

    path = identity_file or config("BACKUP_AGE_IDENTITY_FILE")
    if not path:
        raise BackupError("the archive is encrypted: give the age identity file (--identity or "
                          "BACKUP_AGE_IDENTITY_FILE)")
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise BackupError(f"cannot read the identity file {path}: {exc}") from exc
    keys = [line.strip() for line in lines if line.strip().startswith("AGE-SECRET-KEY-")]
    if not keys:
        raise BackupError(f"{path} holds no age identity (AGE-SECRET-KEY-1…)")
    try:
        return [x25519.Identity.from_str(k) for k in keys]
    except Exception as exc:  # noqa: BLE001
        raise BackupError(f"{path}: not a valid age identity: {exc}") from exc


@contextmanager
def open_archive(archive: str | Path, identity_file: str | None = None):
    """Decrypt (if needed), extract and check an archive in a temporary folder; yields :class:`Opened`."""
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(f"{archive}: no such archive")
    scratch = Path(tempfile.mkdtemp(prefix="extranet-restore-"))
    try:
        with open(archive, "rb") as f:
            head = f.read(len(AGE_MAGIC))
        source = archive
        if head == AGE_MAGIC:
            import pyrage

            identities = _identities(identity_file)
            source = scratch / "archive.tar.gz"
            try:
                pyrage.decrypt_file(str(archive), str(source), identities)
            except pyrage.DecryptError as exc:
                if "no matching keys" in str(exc).lower():
                    raise BackupError(f"{archive.name} is encrypted for another key: the identity given does not "
                                      "open it") from exc
                raise BackupError(f"{archive.name} cannot be decrypted (truncated or tampered): {exc}") from exc
        root = scratch / "extracted"
        root.mkdir()
        try:
            with tarfile.open(source, "r:gz") as tar:
                tar.extractall(root, filter="data")
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            raise BackupError(f"{archive.name} is truncated or damaged ({exc}); take another archive") from exc
        manifest_path = root / "manifest.json"
        if not manifest_path.is_file():
            raise BackupError(f"{archive.name} has no manifest: truncated, or not a backup of this portal")
        try:
            manifest = json.loads(manifest_path.read_text())
        except ValueError as exc:
            raise BackupError(f"{archive.name}: the manifest is not readable JSON ({exc})") from exc
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{archive.name}: archive format {manifest.get('format')!r}, expected {FORMAT}")
        problems = []
        for name, expected in sorted(manifest["members"].items()):
            path = root / name
            if not path.is_file():
                problems.append(f"{name} is missing")
            elif path.stat().st_size != expected["size"] or sha256_file(path) != expected["sha256"]:
                problems.append(f"{name} does not match its checksum")
        listed = set(manifest["members"]) | {"manifest.json"}
        extra = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
        problems += [f"{name} is not in the manifest" for name in sorted(set(extra) - listed)]
        if problems:
            shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
            raise BackupError(f"{archive.name} was tampered with or damaged: {shown}")
        yield Opened(root, manifest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# ------------------------------------------------------------------------------------------------------------ restore

def _pg_restore(dump: Path, url, app_role: str | None, tables: dict) -> None:
    conninfo, env = _libpq(url)
    listing = _run(["pg_restore", "--list", str(dump)], env, "pg_restore --list").stdout
    # The extensions (PostGIS…) are the superuser's, installed once in the new database; the schema public exists.
    # Extensions are created if missing (``IF NOT EXISTS``: PostGIS needs a superuser, once, beforehand); their
    # comments belong to whoever installed them, and the schema public exists already.
    wanted = [line for line in listing.splitlines()
              if line and not line.startswith(";") and " COMMENT - EXTENSION " not in line
              and " SCHEMA - public " not in line and " COMMENT - SCHEMA public " not in line
              and not _extension_data(line, tables)]
    list_file = dump.with_suffix(".list")
    list_file.write_text("\n".join(wanted) + "\n")
    try:
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              f"--use-list={list_file}", f"--dbname={conninfo}", str(dump)], env, "pg_restore")
    except BackupError as exc:
        if "extension" in str(exc) and "permission denied" in str(exc):
            raise BackupError(f"{exc} — install the extensions as a superuser in the new database first "
                              "(CREATE EXTENSION postgis), then restore again") from exc
        raise
    if app_role and app_role != url.username:
        from ..dbroles import app_grants_sql

        with _pg(url, territory_all=False) as conn:
            for stmt in app_grants_sql(app_role):
                conn.execute(stmt)
            conn.commit()


def _extension_data(line: str, tables: dict) -> bool:
    """A TABLE DATA entry of a table the extension owns (PostGIS's spatial_ref_sys: its own rows are there)."""
    m = re.search(r" TABLE DATA public (\S+) ", line)
    return bool(m) and m.group(1) not in tables


def _pg_is_empty(url) -> list[str]:
    with _pg(url, territory_all=False) as conn:
        return [r[0] for r in conn.execute(PG_TABLES)]


def _folder_target(entry: dict) -> Path:
    from ..settings import declared, setting

    if entry["name"] == "instance":
        return instance_path()
    key = entry["name"]
    value = config(key) if key == "MAIL_OUTBOX_DIR" else (setting(key) if key in declared() else None)
    if not value:
        raise BackupError(f"the archive holds the folder of {key} ({entry['path']}), but {key} is not set here: "
                          "set it to where these files belong, then restore again")
    return Path(str(value)).resolve()


def _leftovers(entry: dict, target: Path) -> list[str]:
    """What a target folder already holds that a restore would mix with (nothing, for an empty one)."""
    if entry.get("file"):
        return [str(target)] if target.exists() else []
    if not target.exists():
        return []
    ignore = {backup_dir()}
    url = database_url(owner=False)
    if is_sqlite(url):
        db_file = sqlite_path(url)
        ignore |= {Path(str(db_file) + s) for s in SQLITE_SIDE_FILES}
    found = []
    for path in sorted(target.rglob("*")):
        resolved = path.resolve()
        if any(resolved == i or i in resolved.parents for i in ignore) or not path.is_file():
            continue
        if entry["name"] == "instance" and path.parent == target and path.name in FRESH_INSTANCE_FILES:
            continue
        found.append(str(path))
    return found


def check_empty(manifest: dict) -> None:
    """Refuse a restore over data: a database with tables, or a folder with files."""
    url = database_url(owner=True)
    if manifest["database"]["backend"] != url.get_backend_name():
        raise BackupError(f"the archive holds a {manifest['database']['backend']} database; this instance uses "
                          f"{url.get_backend_name()}")
    if is_sqlite(url):
        path = sqlite_path(url)
        tables = list(_sqlite_counts(path)) if path.exists() and path.stat().st_size else []
    else:
        tables = _pg_is_empty(url)
    if tables:
        raise BackupError(f"the database is not empty ({len(tables)} tables, e.g. {', '.join(tables[:3])}): restore "
                          "into a new, empty database (or drop this one's tables yourself first)")
    for entry in manifest["folders"]:
        target = _folder_target(entry)
        left = _leftovers(entry, target)
        if left:
            raise BackupError(f"the folder {target} is not empty ({len(left)} files, e.g. {left[0]}): restore into "
                              "empty folders")


def restore(archive: str | Path, identity_file: str | None = None) -> dict:
    """Restore an archive into this instance's empty database and folders. Returns what was restored."""
    from ..extensions import db

    with open_archive(archive, identity_file) as opened:
        manifest = opened.manifest
        check_empty(manifest)
        url = database_url(owner=True)
        db.session.remove()
        db.engine.dispose()
        dump = opened.root / manifest["database"]["file"]
        if is_sqlite(url):
            target = sqlite_path(url)
            target.parent.mkdir(parents=True, exist_ok=True)
            for suffix in SQLITE_SIDE_FILES:
                Path(str(target) + suffix).unlink(missing_ok=True)
            tmp = target.with_name(target.name + ".restoring")
            shutil.copyfile(dump, tmp)
            os.replace(tmp, target)
        else:
            app_url = make_url(config("SQLALCHEMY_DATABASE_URI"))
            _pg_restore(dump, url, app_url.username, manifest["database"]["tables"])
        files = _restore_folders(opened)
        counts = database_counts()
        differences = compare_counts(manifest["database"]["tables"], counts)
        if differences:
            raise BackupError("restored, but the row counts differ from the manifest: " + "; ".join(differences))
    log.info("restored %s: %d tables, %d rows, %d files", Path(archive).name, len(counts), sum(counts.values()),
             files)
    return {"tables": len(counts), "rows": sum(counts.values()), "files": files}


def _restore_folders(opened: Opened) -> int:
    count = 0
    for entry in opened.manifest["folders"]:
        target = _folder_target(entry)
        source = opened.root / "files" / entry["name"]
        if entry.get("file"):
            if source.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
                count += 1
            continue
        if not source.is_dir():
            continue
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(source.rglob("*")):
            if path.is_file():
                dest = target / path.relative_to(source)
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = dest.with_name(dest.name + ".restoring")
                shutil.copy2(path, tmp)
                os.replace(tmp, dest)
                count += 1
    return count


def database_counts(url=None) -> dict[str, int]:
    url = url or database_url(owner=True)
    if is_sqlite(url):
        return _sqlite_counts(sqlite_path(url))
    with _pg(url) as conn:
        return _pg_counts(conn)


def compare_counts(expected: dict[str, int], found: dict[str, int]) -> list[str]:
    out = []
    for table in sorted(set(expected) | set(found)):
        if expected.get(table) != found.get(table):
            out.append(f"{table}: {expected.get(table, 'absent')} in the archive, {found.get(table, 'absent')} "
                       "restored")
    return out


# ------------------------------------------------------------------------------------------------------------- verify

def _clean_scratch(url) -> None:
    live = make_url(config("DATABASE_OWNER_URL") or config("SQLALCHEMY_DATABASE_URI"))
    if (url.host, url.port, url.database) == (live.host, live.port, live.database):
        raise BackupError("the scratch database is the live database: set BACKUP_SCRATCH_DATABASE_URL to another one")
    with _pg(url, territory_all=False) as conn:
        conn.execute("DROP OWNED BY CURRENT_USER")  # what a previous verification restored
        conn.commit()


def verify(archive: str | Path, identity_file: str | None = None, scratch_url: str | None = None,
           record: bool = True) -> dict:
    """Restore into a scratch database and folder; compare every table's row count and every file's checksum."""
    archive = Path(archive)
    try:
        with open_archive(archive, identity_file) as opened:  # every member checked against its checksum
            manifest = opened.manifest
            dump = opened.root / manifest["database"]["file"]
            if manifest["database"]["backend"] == "sqlite":
                conn = sqlite3.connect(dump)
                try:
                    check = conn.execute("PRAGMA integrity_check").fetchone()[0]
                finally:
                    conn.close()
                if check != "ok":
                    raise BackupError(f"the SQLite database of the archive fails its integrity check: {check}")
                counts = _sqlite_counts(dump)
            else:
                scratch = scratch_url or config("BACKUP_SCRATCH_DATABASE_URL")
                if not scratch:
                    raise BackupError("verifying a PostgreSQL archive needs a scratch database: "
                                      "BACKUP_SCRATCH_DATABASE_URL or --scratch-url")
                url = make_url(normalise_url(scratch))
                _clean_scratch(url)
                _pg_restore(dump, url, None, manifest["database"]["tables"])
                counts = database_counts(url)
                _clean_scratch(url)
            differences = compare_counts(manifest["database"]["tables"], counts)
            if differences:
                raise BackupError("the restored database differs from the manifest: " + "; ".join(differences[:10]))
            files = sum(1 for k in manifest["members"] if k.startswith("files/"))
            result = {"tables": len(counts), "rows": sum(counts.values()), "files": files,
                      "created_at": manifest["created_at"]}
    except BackupError as exc:
        _record_verification(archive, "failed", str(exc), record)
        raise
    _record_verification(archive, "ok", f"{result['tables']} tables, {result['rows']} rows, {files} files", record)
    return result


def _record_verification(archive: Path, status: str, detail: str, record: bool) -> None:
    if not record:
        return
    from sqlalchemy import select

    from ..extensions import db
    from .models import BackupRun

    try:
        run = db.session.scalar(select(BackupRun).where(BackupRun.archive == archive.name)
                                .order_by(BackupRun.id.desc()).limit(1))
    except Exception:  # noqa: BLE001 - verifying on a host whose database is not migrated yet
        db.session.rollback()
        return
    if run is None:
        return
    if run.sha256 and archive.is_file() and sha256_file(archive) != run.sha256 and status == "ok":
        status, detail = "failed", "the archive differs from the one written at backup time (checksum)"
    run.verification, run.verification_detail, run.verified_at = status, detail[:4000], _utcnow()
    db.session.commit()
