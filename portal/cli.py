"""Command line: ``flask --app app demo …``, ``territory …``, ``outbox …``, ``users …``."""
from __future__ import annotations

import json
import os
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from .extensions import db
from .models import KIND_DEPARTMENT, Collectivity

demo_cli = AppGroup("demo", help="Demo department (the Aube) and demo accounts.")
territory_cli = AppGroup("territory", help="Reference data: department, communes, EPCI.")
outbox_cli = AppGroup("outbox", help="E-mail outbox.")
users_cli = AppGroup("users", help="Accounts.")


def _kept_demo_password() -> str:
    """Without DEMO_PASSWORD, one random password is drawn once and kept in instance/, so that restarting the demo
    does not change the password people were given."""
    import secrets
    from pathlib import Path

    from flask import current_app

    path = Path(current_app.config["INSTANCE_PATH"]) / "demo_password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path.read_text().strip()


@demo_cli.command("load")
def demo_load():
    """Load the Aube, conventions and one demo account of every role (idempotent).

    Every demo account gets the password of DEMO_PASSWORD, or a random one printed here.
    """
    from .demo import DEMO_ACCOUNTS, load_demo

    given = os.environ.get("DEMO_PASSWORD")
    password = load_demo(given or _kept_demo_password())
    db.session.commit()
    click.echo("Demo department loaded: Aube (10), its communes and EPCI, 4 conventions.")
    # A service's CLI group may have an idempotent ``demo`` command: it adds that service's demo data.
    from .registry import registry

    ctx = click.get_current_context()
    for service in registry.all():
        command = service.cli.commands.get("demo") if service.cli is not None else None
        if command is not None:
            click.echo(f"Demo data of the service « {service.slug} »:")
            ctx.invoke(command)
            db.session.commit()
    click.echo("Demo accounts (password: %s):" % ("from DEMO_PASSWORD" if given else password))
    seen = set()
    for acc in DEMO_ACCOUNTS:
        label = f"  {acc.email:<36} {acc.role:<11} {acc.collectivity[0]} {acc.collectivity[1]}"
        click.echo(label if acc.email not in seen else label.replace(acc.email, " " * len(acc.email)))
        seen.add(acc.email)
    if not given:
        click.echo(f"\n  Password of every demo account: {password}\n")


@demo_cli.command("accounts")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (one object per membership).")
def demo_accounts(as_json: bool):
    """List the demo accounts."""
    from .demo import demo_accounts_json

    rows = demo_accounts_json()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        for r in rows:
            click.echo(f"{r['email']:<36} {r['role']:<11} {r['collectivity_code']:<10} {r['collectivity_name']}")


@territory_cli.command("load")
@click.option("--department", "code", default=None, metavar="CODE",
              help="Département code (01…95, 2A, 2B, 971…976); default: DEPARTMENT_CODE.")
@click.option("--from", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder holding the official files of the département (layout of portal/data/aube/).")
@click.option("--department-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="decoupage-departement-CODE.json (geo.api.gouv.fr).")
@click.option("--communes-csv", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="communes-CODE.csv (INSEE COG with SIREN, postal codes and EPCI).")
@click.option("--communes-json", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="decoupage-communes-CODE.json (geo.api.gouv.fr).")
@click.option("--epci-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="decoupage-epci-CODE.json (geo.api.gouv.fr).")
@click.option("--boundaries", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="communes-CODE-….geojson (optional).")
@click.option("--dry-run", is_flag=True, help="Check the files and print the report; change nothing.")
def territory_load(code, directory, department_file, communes_csv, communes_json, epci_file, boundaries, dry_run):
    """Load or refresh a département's communes and EPCI from the official files (no accounts, no conventions).

    Without --from nor files, the embedded demo département (the Aube, 10) is loaded. Every file is checked before
    anything is written; the load is one transaction, with a report of what changed.
    """
    from flask import current_app

    from . import audit
    from .demo import DATA_DIR
    from .territory import TerritoryFileError, load_department

    code = (code or current_app.config["DEPARTMENT_CODE"]).upper()
    files = {"department": department_file, "communes_csv": communes_csv, "communes_json": communes_json,
             "epci": epci_file, "boundaries": boundaries}
    if directory is None and not any(files.values()):
        if code != "10":
            raise click.UsageError(f"give the official files of département {code} (--from DIR or one option per "
                                   "file); only the demo département (the Aube, 10) is embedded.")
        directory = DATA_DIR
    try:
        report = load_department(code, directory, **files)
        if not dry_run:
            dept = db.session.scalar(select(Collectivity).filter_by(kind=KIND_DEPARTMENT, department_code=code))
            audit.record("territory.loaded", target=dept, collectivity=dept, department=code,
                         count=report.communes, added=len(report.added), renamed=len(report.renamed),
                         merged=len(report.merged), historical=len(report.historical))
    except TerritoryFileError as exc:
        db.session.rollback()
        current_app.logger.warning("territory of département %s refused: %s", code, exc)
        raise click.ClickException(f"nothing was changed — {exc}") from None
    except BaseException:
        db.session.rollback()
        raise
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    for line in report.lines():
        click.echo(line)
    click.echo("Dry run: nothing was changed." if dry_run else "Loaded.")


@territory_cli.command("operator")
@click.argument("code")
@click.option("--name", required=True, help="Its name, e.g. « Syndicat mixte du numérique du Pays d'Othe ».")
@click.option("--epci", "epcis", multiple=True, metavar="SIREN", help="An EPCI whose member communes it serves "
              "(repeatable).")
@click.option("--communes", default="", metavar="INSEE,…", help="Communes it serves, comma-separated.")
@click.option("--siren", default=None, help="Its own SIREN (a syndicat mixte's).")
def territory_operator(code, name, epcis, communes, siren):
    """Create or refresh an intercommunal operator CODE: a communauté de communes or syndicat mixte whose staff
    administer the member communes of EPCI (or a list of communes), possibly across départements, as a department
    team does. Load the départements first; then `flask users create-admin EMAIL --operator CODE`."""
    from . import audit
    from .territory import OperatorError, save_operator

    try:
        operator, report = save_operator(code, name, list(epcis), communes.split(","), siren)
        audit.record("operator.saved", target=operator, collectivity=operator, name=operator.name,
                     communes=report["communes"], added=report["added"], removed=report["removed"])
    except OperatorError as exc:
        db.session.rollback()
        raise click.ClickException(f"nothing was changed — {exc}") from None
    db.session.commit()
    click.echo(f"Operator {operator.operator_code} « {operator.name} » {'created' if report['created'] else 'updated'}"
               f": {report['communes']} communes (départements {', '.join(report['departments'])}), "
               f"+{report['added']} −{report['removed']}.")


@outbox_cli.command("flush")
def outbox_flush():
    """Send every due e-mail of the outbox now (retries included)."""
    from .mail import flush

    counts = flush()
    click.echo("Outbox: " + (", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "nothing due"))


@users_cli.command("create-admin")
@click.argument("email")
@click.option("--name", default="", help="Full name.")
@click.option("--department", "code", default=None, help="Département code (default: DEPARTMENT_CODE).")
@click.option("--operator", default=None, metavar="CODE", help="An intercommunal operator's code instead.")
def create_admin(email: str, name: str, code: str | None, operator: str | None):
    """Create a department (or intercommunal operator) administrator and e-mail them an activation link."""
    from flask import current_app

    from .accounts import AccountError, invite
    from .demo import load_territory
    from .models import KIND_OPERATOR

    if operator:
        dept = db.session.scalar(select(Collectivity).where(Collectivity.kind == KIND_OPERATOR,
                                                            Collectivity.operator_code == operator.lower()))
        if dept is None:
            raise click.ClickException(f"no operator {operator} (flask territory operator {operator} …)")
    else:
        code = (code or current_app.config["DEPARTMENT_CODE"]).upper()
        dept = db.session.scalar(select(Collectivity).filter_by(kind=KIND_DEPARTMENT, department_code=code))
        if dept is None and code == "10":
            load_territory()  # the demo département, embedded
            dept = db.session.scalar(select(Collectivity).filter_by(kind=KIND_DEPARTMENT, department_code=code))
        if dept is None:
            raise click.ClickException(f"département {code} is not loaded (flask territory load --department {code} "
                                       "--from DIR)")
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        try:
            invite(email.strip().lower(), name, dept, "dept_admin", None, purpose="activation")
        except AccountError as exc:
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
    click.echo(f"Account {email} created; the activation link was e-mailed (see the outbox without MAIL_SERVER).")


def register_cli(app: Flask) -> None:
    for group in (demo_cli, territory_cli, outbox_cli, users_cli):
        app.cli.add_command(group)
