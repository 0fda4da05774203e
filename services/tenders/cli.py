"""``flask tenders …``: maintenance commands."""
from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("tenders", help="Public tenders: maintenance.")
def cli():
    pass


@cli.command("close-expired", help="Close the published consultations whose deadline for bids has passed.")
@with_appcontext
def close_expired_command():
    from .views import close_expired

    n = close_expired()
    click.echo(f"{n} consultation(s) closed.")
