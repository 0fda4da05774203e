"""Fixtures of the tenders tests: a subscribed world and a helper that walks the wizard through HTTP."""
import datetime as dt
import io

import pytest

from tests.helpers.clock import legal_today

SIRET_A = "21100002300005"  # shape of a commune's SIRET (14 digits, Luhn key right); not checked against SIRENE

ROOF = {
    1: {"title": "Réfection de la toiture de l'église", "description": "Remplacement des tuiles et de la charpente abîmées.",
        "nature": "works", "cpv_code": "45261000", "place": "Église Saint-Martin, Ailleville",
        "duration_months": "3", "renewals": "0", "renewal_months": "0", "lots": "",
        "single_lot_reason": "indivisible"},
    2: {"lot_1": "85 000"},
    3: {},
    5: {"weight_price": "60", "weight_technical": "40"},
    6: {"buyer_siret": SIRET_A, "contact_email": "mairie@ailleville.test.example.org"},
}


@pytest.fixture
def tenders_world(world, subscribe):
    subscribe("tenders", world.a, world.b, world.troyes, world.epci)
    return world


def calendar(days=30):
    # counted from the Aube's date, as the product reads it (the host's, in UTC, is still yesterday from 23:00 UTC):
    # the wizard's minimum delays are in whole days
    reception = dt.datetime.combine(legal_today() + dt.timedelta(days=days), dt.time(12, 0))
    return {"media": ["portal", "buyer_profile"],
            "questions_deadline": (reception - dt.timedelta(days=6)).strftime("%Y-%m-%dT%H:%M"),
            "reception_deadline": reception.strftime("%Y-%m-%dT%H:%M"),
            "opening_date": (reception.date() + dt.timedelta(days=1)).isoformat(),
            "notification_date": (reception.date() + dt.timedelta(days=30)).isoformat()}


def new_tender(client) -> int:
    resp = client.post("/s/tenders/nouveau", {}, csrf_from="/s/tenders/")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return int(resp.headers["Location"].split("/s/tenders/")[1].split("/")[0])


def fill(client, tid, data=None, amount="85 000", step4=None):
    data = {k: dict(v) for k, v in (data or ROOF).items()}
    data[2] = {"lot_1": amount}
    data[4] = step4 or calendar()
    for step in range(1, 7):
        resp = client.post(f"/s/tenders/{tid}/etape/{step}", data[step] | {"action": "next"},
                           csrf_from=f"/s/tenders/{tid}/etape/1")
        assert resp.status_code == 302, (step, resp.get_data(as_text=True)[-3000:])
    return tid


@pytest.fixture
def published(app, tenders_world, login_as):
    """A roof repair of 120 000 € HT (MAPA with BOAMP/JAL notice) published by the mayor of A."""
    mayor = login_as("mayor_a")
    tid = new_tender(mayor)
    cal = calendar() | {"media": ["portal", "buyer_profile", "boamp"]}
    fill(mayor, tid, amount="120000", step4=cal)
    resp = mayor.post(f"/s/tenders/{tid}/publier", {"confirm": "1"}, csrf_from=f"/s/tenders/{tid}/recapitulatif")
    assert resp.status_code == 302
    return mayor, tid


def real_pdf(title: str = "plan de la charpente", padding: int = 0) -> bytes:
    """A PDF that a parser opens (one blank A4 page); ``padding`` bytes of metadata make it as large as needed."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_metadata({"/Title": title, **({"/Keywords": "0" * padding} if padding else {})})
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()
