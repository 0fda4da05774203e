"""``flask actes …``: operators' commands of the Actes service.

- ``flask actes message FILE``: what an ACTES message holds (type, identifiers, dates, files, whether the current
  schema accepts it) as JSON; exit status 1 with ``{"error": …}`` when the file is not a message we can read.
- ``flask actes poll``: what the beat task does, once (statuses of acts in flight, préfecture documents).
"""
from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from portal.tenancy import territory_scope

from . import message

cli = AppGroup("actes", help="Legality control: ACTES messages, transmission to the TdT.")


@cli.command("message")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def message_command(path: str) -> None:
    """Print what the ACTES message in PATH holds, as JSON."""
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        msg = message.read(data)
    except message.MessageError as exc:
        click.echo(json.dumps({"file": path, "error": str(exc)}, ensure_ascii=False, indent=2))
        sys.exit(1)
    click.echo(json.dumps({"file": path, **msg.as_dict()}, ensure_ascii=False, indent=2))


@cli.command("poll")
def poll_command() -> None:
    """Ask the TdT for the statuses of the acts in flight and the préfecture's new documents."""
    from . import transmission

    with territory_scope(None):
        click.echo(json.dumps(transmission.poll_due()))
