"""Fixtures of the electoral rolls tests. Every person here is FICTITIOUS (names invented for the tests)."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from .fixtures import add_voter  # noqa: F401 - shared with the browser tests


@pytest.fixture
def elec(app, world, subscribe, add_voter):
    """Electoral rolls open to Ailleville (A), Jaucourt (B), Troyes and the EPCI; a bureau, a street, an election
    and fictitious voters in A and B."""
    from portal.extensions import db
    from services.electoral.models import Election, PollingStation, StreetBureau

    subscribe("electoral", world.a, world.b, world.troyes, world.epci)
    ids = SimpleNamespace()
    with app.app_context():
        ba = PollingStation(commune_insee=world.insee_a, number="1", name="Mairie d'Ailleville",
                            address="1 rue de la Mairie, 10200 Ailleville")
        ba2 = PollingStation(commune_insee=world.insee_a, number="2", name="Salle des fêtes",
                             address="Place de l'Église, 10200 Ailleville")
        bb = PollingStation(commune_insee=world.insee_b, number="1", name="Mairie de Jaucourt-Secretbureau")
        db.session.add_all([ba, ba2, bb])
        db.session.flush()
        db.session.add(StreetBureau(commune_insee=world.insee_a, street_key="rue des vignes",
                                    street_label="Rue des Vignes", bureau=ba2))
        ea = Election(commune_insee=world.insee_a, kind="municipal", title="Municipales 2026 (fictif)",
                      first_round=dt.date(2026, 3, 15), second_round=dt.date(2026, 3, 22),
                      lists=["general", "municipal"])
        eb = Election(commune_insee=world.insee_b, kind="municipal", title="Municipales Jaucourt-Secretelection",
                      first_round=dt.date(2026, 3, 15), lists=["general", "municipal"])
        db.session.add_all([ea, eb])
        db.session.commit()
        ids.bureau_a, ids.bureau_a2, ids.bureau_b, ids.election_a, ids.election_b = ba.id, ba2.id, bb.id, ea.id, eb.id
    ids.voter_a = add_voter(world.insee_a, "MARTIN", "Élodie Anne", "1980-05-04", ids.bureau_a,
                            street_number="3", street_type="rue", street_name="de la Mairie", ine="123456789")
    ids.voter_a2 = add_voter(world.insee_a, "ÉTIENNE", "Paul", "1975-01-02", ids.bureau_a, sex="M")
    ids.voter_b = add_voter(world.insee_b, "SECRETNOMB", "Zoé", "1990-07-08", ids.bureau_b,
                            street_name="Chemin Secretrueb", ine="987654321")
    return ids
