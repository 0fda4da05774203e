"""``flask --app app cadastre …``: import a commune's plan, list vintages."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

cli = AppGroup("cadastre", help="Land registry: import parcels, list vintages.")


def _run_import(do_import) -> None:
    """Run one all-or-nothing import and print its report; on refusal print every error and exit 1."""
    from .importer import ImportFailed

    try:
        report = do_import()
    except ImportFailed as exc:
        for err in exc.errors:
            click.echo(f"error: {err}", err=True)
        click.echo("nothing was imported", err=True)
        sys.exit(1)
    for line in report.lines():
        click.echo(line)


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--commune", "commune", metavar="INSEE", help="INSEE code of the commune (checked against the files).")
@click.option("--vintage", metavar="YYYY-MM", help="Vintage (millésime); default: the latest update date in the files.")
def import_command(paths, commune, vintage):
    """Import Etalab GeoJSON layers, EDIGEO sheets (.tar.bz2) or OGR files of ONE commune as a new vintage."""
    from .importer import import_commune

    _run_import(lambda: import_commune(list(paths), commune=commune, vintage=vintage))


@cli.command("vintages")
@click.option("--commune", "commune", metavar="INSEE")
def vintages_command(commune):
    """List the imported vintages."""
    from sqlalchemy import select

    from portal.extensions import db

    from .models import Vintage

    stmt = select(Vintage).order_by(Vintage.commune_insee, Vintage.label)
    if commune:
        stmt = stmt.where(Vintage.commune_insee == commune)
    for v in db.session.scalars(stmt):
        click.echo(f"{v.commune_insee} {v.label} {'current' if v.current else '       '} {v.parcel_count:>7} parcels "
                   f"({v.source}, {v.imported_at:%Y-%m-%d %H:%M})")


@cli.command("import-owners")
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
@click.option("--commune", "commune", metavar="INSEE", required=True, help="INSEE code of the commune.")
def import_owners_command(path, commune):
    """Replace the owners of a commune by those of a CSV (layout: services/cadastre/owners.py)."""
    from pathlib import Path

    from .owners import import_owners

    _run_import(lambda: import_owners(Path(path).read_bytes(), commune))


@cli.command("import-addresses")
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
@click.option("--commune", "commune", metavar="INSEE", help="INSEE code of the commune (checked against the file).")
def import_addresses_command(path, commune):
    """Replace the address points of a commune by a BAN CSV or BAL 1.3 file."""
    from pathlib import Path

    from .addresses import import_addresses

    _run_import(lambda: import_addresses(Path(path).read_bytes(), commune))


@cli.command("demo")
def demo_command():
    """Draw a fictitious plan for the demo communes (Ailleville, Jaucourt) inside their real boundary (idempotent)."""
    from .demo import load_demo_plans

    for line in load_demo_plans():
        click.echo(line)
