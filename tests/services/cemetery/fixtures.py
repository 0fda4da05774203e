"""Factories of the cemetery's data, shared by its tests and its browser test."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace


def box(lon, lat, w=0.00003, h=0.00003):
    return {"type": "Polygon", "coordinates": [[[lon, lat], [lon + w, lat], [lon + w, lat + h], [lon, lat + h],
                                                [lon, lat]]]}


def make_plan(app, insee: str, family: str, *, lon: float = 4.68, lat: float = 48.25) -> SimpleNamespace:
    """A cemetery with one zone, one allée, four emplacements (two concession graves, a grave of the terrain commun,
    the ossuary), tariffs from 2005 and 2024, a thirty-year concession of ``family`` with one deceased, in commune
    ``insee``; written in the commune's territory as the import would. Returns the ids."""
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cemetery import operations
    from services.cemetery.models import Deceased, Operation

    with app.test_request_context(), territory_scope({insee}):
        cem = operations.create_cemetery("Cimetière communal", insee, geometry=box(lon, lat, 0.001, 0.001))
        zone = operations.create_zone(cem, "Ancien")
        alley = operations.create_alley(zone, "A", box(lon, lat, 0.0008, 0.0001))
        p1 = operations.create_plot(alley, "1", "concession", 20, box(lon, lat))
        p2 = operations.create_plot(alley, "2", "concession", 20, box(lon + 0.00004, lat))
        p3 = operations.create_plot(alley, "3", "common_ground", None, box(lon + 0.00008, lat))
        oss = operations.create_plot(alley, "Ossuaire", "ossuary", None, box(lon + 0.00012, lat))
        for kind, years, price in (("temporary", 15, 100), ("thirty", None, 200), ("fifty", None, 300),
                                   ("perpetual", None, 1000)):
            operations.add_tariff(insee, "concession", kind, years, dt.date(2005, 1, 1), price)
            operations.add_tariff(insee, "concession", kind, years, dt.date(2024, 1, 1), price * 1.5)
        c = operations.create_concession(p1, kind="thirty", starts_on=dt.date(2010, 5, 3), people=[
            {"role": "holder", "last_name": family, "first_names": "Jeanne", "address": "1 rue de l'Église",
             "postcode": "10200", "city": "Ailleville", "phone": "0325000000", "email": "jeanne@example.org"},
            {"role": "beneficiary", "last_name": family, "first_names": "Paul", "relationship_": "fils"}])
        d = Deceased(plot=p1, last_name=family, first_names="Louis", death_date=dt.date(2010, 5, 1),
                     commune_insee=insee)
        db.session.add(d)
        db.session.add(Operation(kind="inhumation", plot=p1, deceased=d, on=dt.date(2010, 5, 3),
                                 commune_insee=insee))
        db.session.commit()
        return SimpleNamespace(cemetery=cem.id, zone=zone.id, alley=alley.id, plot=p1.id, free_plot=p2.id,
                               common=p3.id, ossuary=oss.id, concession=c.id, deceased=d.id,
                               holder=c.holders[0].id, insee=insee)
