"""``flask electoral …``: demo data (fictitious voters), polling stations from the REU open data."""
from __future__ import annotations

import datetime as dt
import random

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from portal.identity import today as local_today
from portal.extensions import db
from portal.tenancy import territory_scope

from .models import Election, Movement, PollingStation, StreetBureau, Voter

DEMO_COMMUNES = ("10002", "10176", "10160")
DEMO_NOTE = "Électeur FICTIF — données de démonstration générées (Faker), aucune personne réelle"


@click.group("electoral", help="Electoral rolls: demo data, polling stations from the REU open data.")
def cli():
    pass


def fake_voter(fake, rnd, insee: str, city: str, postal_code: str, streets: list[str], today: dt.date) -> Voter:
    sex = rnd.choice("MF")
    born = fake.date_of_birth(minimum_age=18, maximum_age=98)
    v = Voter(commune_insee=insee, birth_name=fake.last_name().upper(),
              first_names=" ".join(fake.first_name_male() if sex == "M" else fake.first_name_female()
                                   for _ in range(rnd.choice((1, 1, 2, 3)))),
              sex=sex, birth_date=born, birth_place=fake.city(), birth_department=f"{rnd.randint(1, 95):02d}",
              street_number=str(rnd.randint(1, 60)), street_type="", street_name=rnd.choice(streets),
              postal_code=postal_code, city=city.upper(), ine=str(rnd.randint(100000000, 999999999)),
              on_general=True, status="registered")
    if sex == "F" and rnd.random() < 0.4:
        v.usage_name = fake.last_name().upper()
    if rnd.random() < 0.03:
        v.nationality = rnd.choice(("BELGE", "ITALIENNE", "PORTUGAISE", "ALLEMANDE"))
        v.on_general, v.on_eu, v.on_municipal = False, True, True
    v.refresh_search()
    return v


def load_demo_commune(commune, voters: int, seed: int = 10) -> int:
    """Bureaux, street table, an upcoming election and ``voters`` FICTITIOUS voters for one commune (idempotent:
    a commune that already has voters is left alone). Returns the number of voters created."""
    from faker import Faker

    insee = commune.insee
    with territory_scope({insee}):
        if db.session.scalar(select(func.count()).select_from(Voter)):
            return 0
        fake = Faker("fr_FR")
        fake.seed_instance(seed + int(insee))
        rnd = random.Random(seed + int(insee))
        postal = (commune.postal_codes or "").split("|")[0]
        n_bureaux = max(1, min(25, voters // 1400 + (1 if voters >= 1000 else 0)))
        bureaux = [PollingStation(commune_insee=insee, number=str(i + 1),
                                  name="Mairie" if i == 0 else f"Bureau {i + 1}",
                                  address=f"Mairie, {postal} {commune.name}" if i == 0 else f"{postal} {commune.name}")
                   for i in range(n_bureaux)]
        db.session.add_all(bureaux)
        streets = sorted({f"{rnd.choice(('Rue', 'Route', 'Chemin', 'Place', 'Impasse'))} {fake.street_name().split(' ', 1)[-1]}"
                          for _ in range(max(6, voters // 40))})
        db.session.flush()
        for i, street in enumerate(streets):
            db.session.add(StreetBureau(commune_insee=insee, street_key=_fold(street), street_label=street,
                                        bureau=bureaux[i % n_bureaux]))
        street_bureau = {s: bureaux[i % n_bureaux] for i, s in enumerate(streets)}
        today = local_today()
        for _ in range(voters):
            v = fake_voter(fake, rnd, insee, commune.name, postal, streets, today)
            v.bureau = street_bureau[v.street_name]
            db.session.add(v)
            db.session.add(Movement(voter=v, commune_insee=insee, kind="registration", reason="demo",
                                    effective_on=today - dt.timedelta(days=rnd.randint(30, 3000)), author="demo",
                                    note=DEMO_NOTE))
        db.session.add(Election(commune_insee=insee, kind="presidential",
                                title="Élection présidentielle 2027 (dates indicatives, démonstration)",
                                first_round=dt.date(2027, 4, 11), second_round=dt.date(2027, 4, 25),
                                lists=["general"]))
        db.session.commit()
    return voters


def _fold(text):
    from portal.models import fold

    return fold(text)


@cli.command("demo")
@click.option("--voters", default=0, type=int, help="Voters per commune (default: 75 % of its population).")
@click.argument("insee", nargs=-1)
@with_appcontext
def demo(voters, insee):
    """Add FICTITIOUS voters, bureaux and an upcoming election to the demo communes (or the INSEE codes given)."""
    from portal.models import Collectivity

    for code in insee or DEMO_COMMUNES:
        commune = db.session.scalar(select(Collectivity).where(Collectivity.insee == code))
        if commune is None:
            raise click.ClickException(f"unknown commune {code}")
        n = voters or max(20, int((commune.population or 100) * 0.75))
        created = load_demo_commune(commune, n)
        click.echo(f"{commune.name} ({code}): {created} fictitious voters" if created
                   else f"{commune.name} ({code}): already has voters, left alone")


@cli.command("reu-bureaux")
@click.argument("insee")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="REU address table (CSV); default: the sample shipped with the service.")
@with_appcontext
def reu_bureaux(insee, path):
    """Create or update the polling stations of a commune, located from the REU open data."""
    from .reu import SAMPLE, bureaux_from_reu

    with open(path or SAMPLE, encoding="utf-8") as fh:
        found = bureaux_from_reu(fh.read(), insee)
    if not found:
        raise click.ClickException(f"no polling station of {insee} in the file")
    with territory_scope({insee}):
        for b in found:
            row = db.session.scalar(select(PollingStation).where(PollingStation.number == b.number))
            if row is None:
                row = PollingStation(commune_insee=insee, number=b.number, name=f"Bureau {b.number}")
                db.session.add(row)
            row.latitude, row.longitude = b.latitude, b.longitude
        db.session.commit()
    click.echo(f"{insee}: {len(found)} polling stations ({sum(b.addresses for b in found)} addresses)")
