"""Command line: ``flask --app app demo …``, ``territory …``, ``outbox …``, ``users …``."""
from __future__ import annotations

import json
import os

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from .extensions import db

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
def territory_load():
    """Load or refresh the department, communes and EPCI (no accounts, no conventions)."""
    from .demo import load_territory

    counts = load_territory()
    db.session.commit()
    click.echo(f"Loaded {counts['communes']} communes and {counts['epci']} EPCI.")


@outbox_cli.command("flush")
def outbox_flush():
    """Send every due e-mail of the outbox now (retries included)."""
    from .mail import flush

    counts = flush()
    click.echo("Outbox: " + (", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "nothing due"))


@users_cli.command("create-admin")
@click.argument("email")
@click.option("--name", default="", help="Full name.")
def create_admin(email: str, name: str):
    """Create a department administrator and e-mail them an activation link (first install in production)."""
    from flask import current_app

    from .accounts import AccountError, invite
    from .demo import load_territory
    from .models import KIND_DEPARTMENT, Collectivity

    dept = db.session.scalar(select(Collectivity).where(Collectivity.kind == KIND_DEPARTMENT))
    if dept is None:
        load_territory()
        dept = db.session.scalar(select(Collectivity).where(Collectivity.kind == KIND_DEPARTMENT))
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
