"""``flask ops backup | restore ARCHIVE | verify ARCHIVE | list``."""
from __future__ import annotations

import click
from flask.cli import AppGroup

cli = AppGroup("ops", help="Operations: backups, restore, verification.")


def _fail(exc) -> None:
    raise click.ClickException(str(exc))


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
    if then_verify:
        try:
            done = verify(result.archive)
        except BackupError as exc:
            _fail(f"verification failed: {exc}")
        click.echo(f"Verified: {done['tables']} tables, {done['rows']} rows, {done['files']} files identical.")


@cli.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False))
@click.option("--identity", type=click.Path(dir_okay=False), help="age identity file of an encrypted archive.")
def restore_command(archive: str, identity: str | None):
    """Restore ARCHIVE into this instance's empty database and folders (stop the portal and workers first)."""
    from .backup import BackupError, restore

    try:
        done = restore(archive, identity)
    except BackupError as exc:
        _fail(exc)
    click.echo(f"Restored {done['tables']} tables ({done['rows']} rows) and {done['files']} files. Start the "
               "portal and its workers again; run `flask db upgrade heads` if this version is newer.")


@cli.command("verify")
@click.argument("archive", type=click.Path(dir_okay=False))
@click.option("--identity", type=click.Path(dir_okay=False), help="age identity file of an encrypted archive.")
@click.option("--scratch-url", help="PostgreSQL scratch database (default BACKUP_SCRATCH_DATABASE_URL).")
def verify_command(archive: str, identity: str | None, scratch_url: str | None):
    """Restore ARCHIVE into a scratch database and folder, compare row counts and checksums."""
    from .backup import BackupError, verify

    try:
        done = verify(archive, identity, scratch_url)
    except BackupError as exc:
        _fail(exc)
    click.echo(f"Archive verified: {done['tables']} tables, {done['rows']} rows and {done['files']} files match "
               f"the manifest (taken {done['created_at']}).")


@cli.command("list")
def list_command():
    """The archives of BACKUP_DIR, newest first."""
    from .backup import archives_in, backup_dir

    for stamp, path in archives_in(backup_dir()):
        click.echo(f"{path.name}  {path.stat().st_size:>12} bytes  {stamp:%Y-%m-%d %H:%M} UTC")
