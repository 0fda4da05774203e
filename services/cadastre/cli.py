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


@cli.command("import-department")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--department", "department", metavar="CODE", required=True, help="Département code (10, 2A, 976…).")
@click.option("--vintage", metavar="YYYY-MM", help="Vintage (millésime); default: the files' (their folders' "
              "millésime, else each commune's latest update date).")
@click.option("--jobs", default=1, show_default=True, help="Communes imported at the same time (worker processes, "
              "from 8 communes per worker): for a host with that many free cores.")
def import_department_command(paths, department, vintage, jobs):
    """Import a whole département: Etalab department files (cadastre-DEP-parcelles.json.gz…) or a folder of EDIGEO
    sheets, one vintage per commune, each commune all-or-nothing. Run it again to resume an interrupted import."""
    from .department_import import DepartmentImportRefused, prepare, run_import

    try:
        run, plan, workdir = prepare(list(paths), department.upper(), vintage)
    except DepartmentImportRefused as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        click.echo("nothing was imported", err=True)
        sys.exit(1)
    already = sum(1 for r in (run.results or {}).values() if r.get("status") in ("done", "skipped"))
    click.echo(f"département {department}: {len(plan.communes)} communes ({plan.kind}, vintage "
               f"{plan.vintage or 'from the files'}); import no. {run.id}" + (f", resumed: {already} already done"
                                                                               if already else ""))
    failures = []
    with click.progressbar(length=len(plan.communes), label="communes", show_pos=True,
                           item_show_func=lambda i: i) as bar:
        bar.update(already)

        def progress(insee, result):
            bar.update(1, insee)
            if result["status"] == "failed":
                failures.append((insee, result["errors"]))

        run = run_import(run, plan, workdir, jobs=jobs, progress=progress)
    for insee, errors in failures:
        for e in errors:
            click.echo(f"commune {insee}: {e}", err=True)
    click.echo(f"{run.done} communes imported, {run.skipped} already there, {run.failed} failed; "
               f"{run.parcels} parcels.")
    if run.failed:
        sys.exit(1)


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
