"""``flask ops backup | restore ARCHIVE | verify ARCHIVE | list``."""
from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import click
from flask.cli import AppGroup

cli = AppGroup("ops", help="Operations: backups, restore, verification.")


def _fail(exc) -> None:
    raise click.ClickException(str(exc))


@contextmanager
def _local(archive: str):
    """``archive`` as a local file: itself, else one of BACKUP_DIR, else fetched from BACKUP_COPY_DIR or the S3
    bucket (a file name or ``s3://bucket/prefix/name``) into a temporary folder, removed afterwards."""
    from .backup import backup_dir
    from .remote import RemoteError, fetch

    path = Path(archive)
    if path.is_file():
        yield path
        return
    if "/" not in archive and (backup_dir() / archive).is_file():
        yield backup_dir() / archive
        return
    scratch = Path(tempfile.mkdtemp(prefix="extranet-fetch-"))
    try:
        try:
            got = fetch(archive, scratch)
        except RemoteError as exc:
            _fail(exc)
        click.echo(f"Fetched {got.name} ({got.stat().st_size} bytes) from its copy.")
        yield got
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@cli.command("backup")
@click.option("--roles", is_flag=True, help="PostgreSQL: add the roles (pg_dumpall --roles-only, no passwords).")
@click.option("--verify", "then_verify", is_flag=True, help="Verify the new archive right away (scratch database).")
def backup_command(roles: bool, then_verify: bool):
    """Write one archive of the database and every file folder to BACKUP_DIR (copy, retention)."""
    from .backup import BackupError, create_backup, verify

    try:
        result = create_backup(with_roles=roles)
    except BackupError as exc:
        _fail(exc)
    click.echo(f"Archive {result.archive} ({result.size} bytes, sha256 {result.sha256}): {result.rows} rows, "
               f"{result.files} files{', encrypted' if result.encrypted else ''}.")
    for copy in result.copies:
        click.echo(f"Copied to {copy}.")
    for name in result.removed:
        click.echo(f"Removed by the retention: {name}.")
    if result.copy_errors:
        _fail("the archive is kept here, but its copy failed: " + "; ".join(str(e) for e in result.copy_errors))
    if then_verify:
        try:
            done = verify(result.archive)
        except BackupError as exc:
            _fail(f"verification failed: {exc}")
        click.echo(f"Verified: {done['tables']} tables, {done['rows']} rows, {done['files']} files identical.")


@cli.command("restore")
@click.argument("archive")
@click.option("--identity", type=click.Path(dir_okay=False), help="age identity file of an encrypted archive.")
def restore_command(archive: str, identity: str | None):
    """Restore ARCHIVE into this instance's empty database and folders (stop the portal and workers first).

    ARCHIVE: a file, or the name of an archive of BACKUP_DIR, BACKUP_COPY_DIR or the S3 bucket (see `flask ops list`)."""
    from .backup import BackupError, restore

    with _local(archive) as path:
        try:
            done = restore(path, identity)
        except BackupError as exc:
            _fail(exc)
    click.echo(f"Restored {done['tables']} tables ({done['rows']} rows) and {done['files']} files. Start the "
               "portal and its workers again; run `flask db upgrade heads` if this version is newer.")


@cli.command("verify")
@click.argument("archive")
@click.option("--identity", type=click.Path(dir_okay=False), help="age identity file of an encrypted archive.")
@click.option("--scratch-url", help="PostgreSQL scratch database (default BACKUP_SCRATCH_DATABASE_URL).")
def verify_command(archive: str, identity: str | None, scratch_url: str | None):
    """Restore ARCHIVE into a scratch database and folder, compare row counts and checksums (ARCHIVE: as restore)."""
    from .backup import BackupError, verify

    with _local(archive) as path:
        try:
            done = verify(path, identity, scratch_url)
        except BackupError as exc:
            _fail(exc)
    click.echo(f"Archive verified: {done['tables']} tables, {done['rows']} rows and {done['files']} files match "
               f"the manifest (taken {done['created_at']}).")


@cli.command("list")
def list_command():
    """The archives of BACKUP_DIR, then of each copy (BACKUP_COPY_DIR, the S3 bucket), newest first."""
    from .backup import archives_in, backup_dir
    from .remote import RemoteError, destinations

    click.echo(f"{backup_dir()}:")
    for stamp, path in archives_in(backup_dir()):
        click.echo(f"  {path.name}  {path.stat().st_size:>12} bytes  {stamp:%Y-%m-%d %H:%M} UTC")
    failed = []
    for dest in destinations():
        click.echo(f"{dest.describe()}:")
        try:
            for a in dest.list():
                click.echo(f"  {a.name}  {a.size:>12} bytes  {a.stamp:%Y-%m-%d %H:%M} UTC")
        except RemoteError as exc:
            failed.append(str(exc))
            click.echo(f"  (cannot be listed: {exc})")
    if failed:
        _fail("; ".join(failed))
