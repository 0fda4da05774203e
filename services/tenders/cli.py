"""``flask tenders …``: maintenance commands."""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from portal.identity import local_wall, today as local_today


@click.group("tenders", help="Public tenders: maintenance.")
def cli():
    pass


@cli.command("close-expired", help="Close the published consultations whose deadline for bids has passed.")
@with_appcontext
def close_expired_command():
    from .operations import close_expired

    n = close_expired()
    click.echo(f"{n} consultation(s) closed.")


DEMO_INSEE = "10002"  # Ailleville (Aube), a demo commune of portal/demo.py


@cli.command("demo", help="Add demo consultations to Ailleville (idempotent): a draft roof repair to resume and a "
                          "published snow-clearing contract on the public page.")
@with_appcontext
def demo_command():
    import datetime as dt
    from decimal import Decimal

    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import Collectivity

    from . import documents, storage
    from .models import Tender, TenderLot

    coll = db.session.scalar(select(Collectivity).where(Collectivity.insee == DEMO_INSEE))
    if coll is None:
        raise click.ClickException("Ailleville (10002) is not loaded: run `flask demo load` first.")
    today = local_today(coll)
    made = 0
    for ref, values in (
        ("DEMO-TOIT", dict(title="Réfection de la toiture de l'église", nature="works", cpv_code="45261000-4",
                           description="Remplacement des tuiles et reprise de la charpente du clocher.",
                           place="Église Saint-Martin, Ailleville", duration_months=3, single_lot_reason="indivisible",
                           amount_ht=Decimal("85000"), step=3, status="draft", lots=[("Toiture", "85000")])),
        ("DEMO-NEIGE", dict(title="Déneigement des voies communales", nature="services", cpv_code="90620000-9",
                            description="Déneigement et salage des 6 km de voies communales, hivers 2026 à 2029.",
                            place="Voies communales d'Ailleville", duration_months=12, renewals=2, renewal_months=12,
                            single_lot_reason="indivisible", amount_ht=Decimal("45000"), step=6, status="published",
                            procedure="mapa", publicity="voluntary", media=["portal", "local_press"],
                            criteria=[{"code": "price", "label": "", "weight": 60},
                                      {"code": "delay", "label": "", "weight": 40}],
                            buyer_siret="21100002300005", contact_email="mairie@ailleville.example.org",
                            lots=[("Déneigement", "45000")])),
    ):
        if db.session.scalar(select(Tender).where(Tender.collectivity_id == coll.id, Tender.reference == ref)):
            continue
        lots = values.pop("lots")
        t = Tender(collectivity_id=coll.id, reference=ref, launch_date=today, **values)
        for n, (title, amount) in enumerate(lots, start=1):
            t.lots.append(TenderLot(number=n, title=title, amount_ht=Decimal(amount)))
        t.collectivity = coll
        if t.status == "published":
            reception = dt.datetime.combine(today + dt.timedelta(days=21), dt.time(12, 0))
            t.questions_deadline, t.reception_deadline = reception - dt.timedelta(days=6), reception
            t.opening_date, t.notification_date = reception.date() + dt.timedelta(days=1), reception.date() + \
                dt.timedelta(days=30)
            t.published_at = local_wall(coll)
        db.session.add(t)
        if t.status == "published":
            db.session.flush()
            storage.replace_dce(db.session, t, documents.dce_zip(t))
        made += 1
    db.session.commit()
    click.echo(f"{made} demo consultation(s) added to {coll.name}.")


@cli.command("cpv-import", help="Load the whole CPV nomenclature from a CSV export of the official EU file (columns "
                                "CODE such as 45261000-4 and FR). All or nothing; written to TENDERS_CPV_FILE.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def cpv_import_command(path):
    from pathlib import Path

    from flask import current_app

    from portal.settings import setting

    from . import cpv

    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    data, errors, count = cpv.convert(text)
    if errors:
        for e in errors[:200]:
            click.echo(e, err=True)
        raise click.ClickException(f"{len(errors)} line(s) rejected out of {count}: nothing was loaded.")
    target = Path(setting("TENDERS_CPV_FILE")
                  or Path(current_app.instance_path) / "tenders" / "cpv.csv.gz")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
    click.echo(f"{count} CPV codes loaded into {target}.")
