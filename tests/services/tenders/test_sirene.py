"""The collectivity's establishments from SIRENE (« Recherche d'entreprises » API): a real HTTP peer on loopback
answers the documented JSON shape; the wizard's step 6 offers the active establishments with their address; when
the register is down or too slow, a French message and the SIRET typed by hand, Luhn key checked."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from tests.helpers.reference import collectivity_restored

from .conftest import new_tender

SIREN = "211000023"


def _answer(siren: str) -> dict:
    """The documented shape of GET /search?q=<SIREN> (fields the adapter reads, plus a few it ignores)."""
    return {"results": [
        {"siren": siren, "nom_complet": "COMMUNE D'AILLEVILLE", "nombre_etablissements": 3,
         "nombre_etablissements_ouverts": 2,
         "siege": {"siret": f"{siren}00005", "adresse": "MAIRIE 2 RUE DE L'EGLISE 10200 AILLEVILLE",
                   "est_siege": True, "etat_administratif": "A", "code_postal": "10200"},
         "matching_etablissements": [
             {"siret": f"{siren}00013", "adresse": "ECOLE PRIMAIRE 1 RUE DES ECOLES 10200 AILLEVILLE",
              "est_siege": False, "etat_administratif": "A"},
             {"siret": f"{siren}00021", "adresse": "ANCIENNE CANTINE 10200 AILLEVILLE", "est_siege": False,
              "etat_administratif": "F"}]},
        {"siren": "999999999", "nom_complet": "AUTRE", "siege": {"siret": "99999999900010", "adresse": "AILLEURS",
                                                                "est_siege": True, "etat_administratif": "A"},
         "matching_etablissements": []}],
        "total_results": 2, "page": 1, "per_page": 5, "total_pages": 1}


class Peer:
    """A loopback HTTP server speaking the API; ``delay`` seconds before each answer."""

    def __init__(self, delay: float = 0.0):
        peer = self
        self.delay, self.queries = delay, []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                url = urlparse(self.path)
                peer.queries.append(parse_qs(url.query))
                time.sleep(peer.delay)
                if url.path != "/search":
                    self.send_error(404)
                    return
                body = json.dumps(_answer(parse_qs(url.query)["q"][0])).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def register(app):
    from services.tenders import sirene

    peer = Peer()
    app.config["TENDERS_SIRENE_URL"] = peer.url
    sirene.forget()
    yield peer
    peer.close()
    app.config["TENDERS_SIRENE_URL"] = "http://127.0.0.1:9"
    sirene.forget()


def test_the_adapter_keeps_the_active_establishments_of_that_siren_and_caches_them(app, register):
    from services.tenders import sirene

    with app.app_context():
        found = sirene.establishments(SIREN)
        assert [(e.siret, e.head_office) for e in found] == [(f"{SIREN}00005", True), (f"{SIREN}00013", False)]
        assert found[0].address == "MAIRIE 2 RUE DE L'EGLISE 10200 AILLEVILLE"
        assert [e.siret for e in sirene.establishments(SIREN, active_only=False)][-1] == f"{SIREN}00021"
        assert len(register.queries) == 1 and register.queries[0]["q"] == [SIREN]  # the rest from the cache


def test_down_or_too_slow_is_unavailable_and_remembered_a_minute(app):
    from services.tenders import sirene

    slow = Peer(delay=1.5)
    try:
        with app.app_context():
            app.config["TENDERS_SIRENE_URL"], app.config["TENDERS_SIRENE_TIMEOUT_S"] = slow.url, 0.3
            sirene.forget()
            started = time.monotonic()
            with pytest.raises(sirene.Unavailable):
                sirene.establishments(SIREN)
            assert time.monotonic() - started < 1.2
            with pytest.raises(sirene.Unavailable):
                sirene.establishments(SIREN)  # remembered: not asked again
            assert len(slow.queries) == 1
            app.config["TENDERS_SIRENE_URL"] = "http://127.0.0.1:9"  # nothing listens: refused at once
            sirene.forget()
            with pytest.raises(sirene.Unavailable):
                sirene.establishments(SIREN)
    finally:
        app.config.pop("TENDERS_SIRENE_TIMEOUT_S", None)
        app.config["TENDERS_SIRENE_URL"] = "http://127.0.0.1:9"
        sirene.forget()
        slow.close()


@pytest.fixture(autouse=True)
def _siren_put_back(app):
    """_with_siren gives Ailleville another SIREN: a collectivity is reference data, kept between tests, and later
    ones read its own (the department's page, the actes' identifiers 010-211000013-…)."""
    with collectivity_restored(app, "10002", "siren"):
        yield


def _with_siren(app, world):
    from portal.extensions import db
    from portal.models import Collectivity

    with app.app_context():
        db.session.get(Collectivity, world.a).siren = SIREN
        db.session.commit()


def test_step_6_offers_the_establishments_and_falls_back_to_typing_when_the_register_is_down(
        app, tenders_world, login_as, register):
    from services.tenders import sirene

    _with_siren(app, tenders_world)
    mayor = login_as("mayor_a")
    tid = new_tender(mayor)
    page = mayor.get(f"/s/tenders/{tid}/etape/6").get_data(as_text=True)
    assert '<select class="input" id="buyer_siret"' in page
    assert "ECOLE PRIMAIRE 1 RUE DES ECOLES" in page and "ANCIENNE CANTINE" not in page
    resp = mayor.post(f"/s/tenders/{tid}/etape/6", {"buyer_siret": f"{SIREN}00013", "action": "stay",
                                                    "contact_email": "mairie@ailleville.test.example.org"},
                      csrf_from=f"/s/tenders/{tid}/etape/6")
    assert resp.status_code == 302
    bad = mayor.post(f"/s/tenders/{tid}/etape/6", {"buyer_siret": f"{SIREN}00013", "buyer_siret_other":
                                                   "21100002300019", "action": "stay",
                                                   "contact_email": "mairie@ailleville.test.example.org"},
                     csrf_from=f"/s/tenders/{tid}/etape/6")
    assert bad.status_code == 422 and "clé de contrôle" in bad.get_data(as_text=True)
    # the register goes down: a French message, the SIRET typed by hand
    register.close()
    sirene.forget()
    page = mayor.get(f"/s/tenders/{tid}/etape/6").get_data(as_text=True)
    assert "Le répertoire SIRENE ne répond pas" in page and 'id="buyer_siret" name="buyer_siret" value="' in page
    ok = mayor.post(f"/s/tenders/{tid}/etape/6", {"buyer_siret": "211 000 023 00021", "action": "stay",
                                                  "contact_email": "mairie@ailleville.test.example.org"},
                    csrf_from=f"/s/tenders/{tid}/etape/6")
    assert ok.status_code == 302
