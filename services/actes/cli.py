"""``flask actes …``: operators' commands of the Actes service.

- ``flask actes message FILE``: what an ACTES message holds (type, identifiers, dates, files, whether the current
  schema accepts it) as JSON; exit status 1 with ``{"error": …}`` when the file is not a message we can read.
- ``flask actes poll``: what the beat task does, once (statuses of acts in flight, préfecture documents).
- ``flask actes demo``: TdT accounts of the demo communes and, for Ailleville, a délibération received by the
  préfecture and published (stamped PDF on its public page) and a draft to send (idempotent).
"""
from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup, with_appcontext

from portal.identity import today as local_today
from portal.models import utcnow
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


DEMO_INSEE = "10002"  # Ailleville (Aube), a demo commune of portal/demo.py
DEMO_ACTS = (("2026_001", "Vote du budget primitif 2026", "7.1", True),
             ("2026_002", "Tarifs de la salle des fêtes au 1er janvier", "7.2", False))


@cli.command("demo", help="TdT accounts of Ailleville and Jaucourt; two délibérations of Ailleville, one received "
                          "by the préfecture and published, one draft (idempotent).")
@with_appcontext
def demo_command() -> None:
    import datetime as dt

    from sqlalchemy import select
    from weasyprint import HTML

    from portal.extensions import db
    from portal.models import Collectivity

    from . import operations, stamp
    from .checks import Deposit, Upload
    from .models import Act, TdtAccount
    from .schemas import ActFields

    today = local_today()
    with territory_scope(None):
        for insee, siret in ((DEMO_INSEE, "21100001300015"), ("10176", "21101760000017")):
            coll = db.session.scalar(select(Collectivity).where(Collectivity.insee == insee))
            if coll is None:
                raise click.ClickException(f"{insee} is not loaded: run `flask demo load` first.")
            if operations.account_of(coll) is None:
                db.session.add(TdtAccount(collectivity_id=coll.id, prefecture="PREF010", siret=siret,
                                          certificate_holder="Secrétariat de mairie", login=f"mairie-{insee}",
                                          certificate_expires_on=today + dt.timedelta(days=45)))
        coll = db.session.scalar(select(Collectivity).where(Collectivity.insee == DEMO_INSEE))
        made = 0
        for number, subject, matiere, received in DEMO_ACTS:
            if db.session.scalar(select(Act).where(Act.collectivity_id == coll.id, Act.number == number)):
                continue
            pdf = HTML(string=f"<h1>Commune d'Ailleville</h1><h2>Délibération n° {number}</h2><p>{subject}.</p>"
                              "<p>Le conseil municipal, après en avoir délibéré, adopte à l'unanimité.</p>").write_pdf()
            act, report = operations.create_draft(coll, None, Deposit(1, matiere, number, today, subject,
                                                                      Upload("deliberation.pdf", pdf, "99_DE")),
                                                  ActFields(today, "other", False))
            if act is None:
                raise click.ClickException("; ".join(p.message for p in report.errors))
            if received:
                act.unique_id = f"010-{coll.siren}-{today:%Y%m%d}-{number}-DE"
                act.received_on, act.published_at, act.tdt_transaction_id = today, utcnow(), "demo"
                operations.set_status(act, "acknowledged", "demo")
                operations.add_file(act, "stamped", f"{act.unique_id}-tamponne.pdf",
                                     stamp.stamp_pdf(pdf, stamp.stamp_lines(act.unique_id, today, today)),
                                     mimetype="application/pdf")
            made += 1
        db.session.commit()
    click.echo(f"Actes: {made} demo act(s) added to Ailleville; TdT accounts of Ailleville and Jaucourt.")
