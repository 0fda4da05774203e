"""``flask alerts …``: what the Celery beat does in production, for the embedded default (no broker, no beat)."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from portal.tenancy import territory_scope


@click.group("alerts", help="Citizen alerts: outbox maintenance.")
def cli():
    pass


@cli.command("flush", help="Send the alerts that are due (scheduled ones, retries) and reclaim rows of dead workers; "
                           "geocode addresses still waiting. Run it every minute from cron without a Celery beat.")
@with_appcontext
def flush_command():
    from . import delivery, geocode

    with territory_scope(None):
        counts = delivery.flush()
        located = geocode.retry_errors()
    click.echo(f"deliveries: {counts or 'nothing due'}; addresses geocoded again: {located}")
