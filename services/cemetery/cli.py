"""``flask --app app cemetery …``: the demo cemetery of Ailleville (loaded by ``flask demo load``)."""
from __future__ import annotations

import datetime as dt
import json

import click
from flask.cli import AppGroup
from sqlalchemy import select
from portal.identity import today as local_today

cli = AppGroup("cemetery", help="Cemetery service.")

DEMO_INSEE = "10002"  # Ailleville, the demo commune of the portal
M_LAT, M_LON = 1 / 111_320, 1 / 74_150  # degrees per metre near 48.25° N


def _box(lon, lat, w, h):
    """A rectangle ``w`` × ``h`` metres whose south-west corner is at (lon, lat), as a GeoJSON polygon."""
    lon, lat = round(lon, 7), round(lat, 7)
    x2, y2 = round(lon + w * M_LON, 7), round(lat + h * M_LAT, 7)
    return {"type": "Polygon", "coordinates": [[[lon, lat], [x2, lat], [x2, y2], [lon, y2], [lon, lat]]]}


@cli.command("demo")
def demo_command():
    """A small fictitious cemetery in Ailleville, inside the commune's real boundary (idempotent)."""
    from portal.extensions import db
    from portal.models import Collectivity, ServiceActivation
    from portal.tenancy import territory_scope

    from . import operations
    from .models import Cemetery, Concession, Deceased, Operation

    coll = db.session.scalar(select(Collectivity).where(Collectivity.insee == DEMO_INSEE))
    if coll is None:
        click.echo("  Ailleville is not loaded: nothing to do.")
        return
    convention = coll.convention_in_force()
    if convention is not None and "cemetery" not in convention.services:
        convention.services = [*convention.services, "cemetery"]
    if not any(a.service_slug == "cemetery" for a in coll.activations):
        db.session.add(ServiceActivation(collectivity=coll, service_slug="cemetery", enabled=True))
    db.session.flush()
    with territory_scope({DEMO_INSEE}):
        if db.session.scalar(select(Cemetery.id)):
            db.session.commit()
            click.echo("  The demo cemetery of Ailleville is already there.")
            return
        import shapely.geometry

        if coll.boundary_geojson:
            centre = shapely.geometry.shape(json.loads(coll.boundary_geojson)).representative_point()
            lon0, lat0 = centre.x, centre.y
        else:
            lon0, lat0 = 4.6840, 48.2510
        today = local_today(coll)
        cem = operations.create_cemetery("Cimetière communal", DEMO_INSEE, "Chemin du cimetière",
                                         _box(lon0, lat0, 60, 40))
        cem.common_ground_years = 5
        for kind, years, price in (("temporary", 15, 90), ("thirty", None, 180), ("fifty", None, 320),
                                   ("perpetual", None, 900)):
            operations.add_tariff(DEMO_INSEE, "concession", kind, years, dt.date(1950, 1, 1), round(price / 5),
                                  "Tarifs historiques (convertis en euros)")
            operations.add_tariff(DEMO_INSEE, "concession", kind, years, dt.date(2015, 1, 1), price,
                                  "Délibération du 12 décembre 2014")
            operations.add_tariff(DEMO_INSEE, "concession", kind, years, dt.date(2024, 1, 1), round(price * 1.15),
                                  "Délibération du 8 décembre 2023")
        operations.add_tariff(DEMO_INSEE, "columbarium", "thirty", None, dt.date(2015, 1, 1), 450, "")
        old = operations.create_zone(cem, "Ancien", _box(lon0 + 2 * M_LON, lat0 + 2 * M_LAT, 30, 36))
        new = operations.create_zone(cem, "Nouveau", _box(lon0 + 34 * M_LON, lat0 + 2 * M_LAT, 24, 36))
        plots = {}
        for zi, (zone, x0) in enumerate(((old, 3), (new, 35))):
            for ai, alley_name in enumerate(("A", "B", "C")):
                ay = 4 + ai * 11
                alley = operations.create_alley(zone, alley_name, _box(lon0 + x0 * M_LON, lat0 + ay * M_LAT,
                                                                       22 if zi == 0 else 20, 9))
                for n in range(1, 9 if zi == 0 else 7):
                    px = lon0 + (x0 + 0.5 + (n - 1) * 2.7) * M_LON
                    plot = operations.create_plot(alley, str(n), "concession" if not (zi == 0 and ai == 2) else
                                                  "common_ground", geometry=_box(px, lat0 + (ay + 1) * M_LAT, 2.2, 3.5))
                    plots[(zone.name, alley_name, n)] = plot
        services = operations.create_alley(new, "Services", _box(lon0 + 35 * M_LON, lat0 + 36 * M_LAT, 20, 3))
        ossuary = operations.create_plot(services, "Ossuaire", "ossuary",
                                         geometry=_box(lon0 + 35.5 * M_LON, lat0 + 36.3 * M_LAT, 3, 2.4))
        garden = operations.create_plot(services, "Jardin", "garden",
                                        geometry=_box(lon0 + 39.5 * M_LON, lat0 + 36.3 * M_LAT, 6, 2.4))
        for n in range(1, 7):
            operations.create_plot(services, f"C{n}", "columbarium", 4,
                                   geometry=_box(lon0 + (46 + (n - 1) * 1.5) * M_LON, lat0 + 36.5 * M_LAT, 1.2, 1.2))
        del ossuary, garden

        def grant(key, kind, start, years=None, holder=("MARTIN", "Jeanne"), bodies=(), beneficiaries=()):
            people = [{"role": "holder", "last_name": holder[0], "first_names": holder[1],
                       "address": "3 rue du Lavoir", "postcode": "10200", "city": "Ailleville"}]
            people += [{"role": "beneficiary", "last_name": b[0], "first_names": b[1], "relationship_": b[2]}
                       for b in beneficiaries]
            c = operations.create_concession(plots[key], kind=kind, starts_on=start, duration_years=years,
                                             people=people)
            for last, first, born, died in bodies:
                d = Deceased(plot=plots[key], last_name=last, first_names=first, birth_date=born, death_date=died,
                             commune_insee=DEMO_INSEE)
                db.session.add(d)
                db.session.add(Operation(kind="inhumation", plot=plots[key], deceased=d,
                                         on=died + dt.timedelta(days=4), funeral_operator="Pompes funèbres de l'Aube",
                                         authorisation_number=f"{died.year}-{len(last)}",
                                         commune_insee=DEMO_INSEE))
            return c

        grant(("Ancien", "A", 1), "perpetual", dt.date(1962, 4, 2), holder=("DURAND", "Paul"),
              bodies=[("DURAND", "Paul", dt.date(1890, 3, 1), dt.date(1962, 3, 28)),
                      ("DURAND", "Marthe", dt.date(1895, 6, 9), dt.date(1978, 11, 2))])
        grant(("Ancien", "A", 2), "thirty", rules_date(today, -30) + dt.timedelta(days=75),  # ends within 3 months
              holder=("LEROY", "Suzanne"), bodies=[("LEROY", "André", dt.date(1921, 1, 5), rules_date(today, -30) + dt.timedelta(days=71))],
              beneficiaries=[("LEROY", "Michel", "fils"), ("PETIT", "Anne", "fille")])
        grant(("Ancien", "A", 3), "fifty", rules_date(today, -50) + dt.timedelta(days=160),  # within 6 months
              holder=("BERNARD", "Louis"), bodies=[("BERNARD", "Germaine", dt.date(1910, 2, 2), rules_date(today, -50) + dt.timedelta(days=156))])
        grant(("Ancien", "A", 4), "temporary", rules_date(today, -16), 15, holder=("MOREAU", "Claire"),
              bodies=[("MOREAU", "Henri", dt.date(1930, 7, 14), rules_date(today, -16))])
        grant(("Ancien", "B", 1), "thirty", rules_date(today, -33), holder=("ROUX", "Denise"),
              bodies=[("ROUX", "Émile", dt.date(1905, 5, 5), rules_date(today, -33))])
        grant(("Ancien", "B", 2), "perpetual", dt.date(1955, 9, 1), holder=("FOURNIER", "Jules"),
              bodies=[("FOURNIER", "Jules", dt.date(1880, 1, 1), dt.date(1955, 8, 27))])
        for n, (last, first, y) in enumerate((("GIRARD", "Marcel", 2016), ("BONNET", "Lucienne", 2019),
                                              ("DUPONT", "Marcel", 2023)), start=1):
            d = Deceased(plot=plots[("Ancien", "C", n)], last_name=last, first_names=first,
                         death_date=dt.date(y, 3, 10), commune_insee=DEMO_INSEE)
            db.session.add(d)
            db.session.add(Operation(kind="inhumation", plot=plots[("Ancien", "C", n)], deceased=d,
                                     on=dt.date(y, 3, 14), commune_insee=DEMO_INSEE))
        grant(("Nouveau", "A", 1), "thirty", dt.date(2018, 6, 1), holder=("LAMBERT", "Sophie"),
              bodies=[("LAMBERT", "Pierre", dt.date(1948, 2, 11), dt.date(2018, 5, 28))])
        grant(("Nouveau", "A", 2), "fifty", dt.date(2021, 10, 4), holder=("FONTAINE", "Marc"))
        db.session.flush()
        reprise = operations.open_reprise(plots[("Ancien", "B", 2)], "abandonment", today)
        operations.complete_step(reprise, "notice", today, today=today)
        db.session.commit()
        click.echo(f"  Ailleville: « {cem.name} », {len(plots) + 8} emplacements, "
                   f"{db.session.query(Concession).count()} concessions.")


def rules_date(today: dt.date, years: int) -> dt.date:
    from .rules import add_years

    return add_years(today, years)
