"""Fixtures of the Actes tests: the service opened to communes A (Ailleville), B (Jaucourt), Troyes and the EPCI,
TdT accounts, the loopback S²LOW over TLS with client-certificate authentication, and a deposit helper that goes
through the real page."""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.helpers.clock import legal_today

from .fixtures import make_pdf, start_tdt


@pytest.fixture(scope="session")
def tdt_server():
    folder = Path(tempfile.mkdtemp(prefix="actes-tdt-"))
    server, paths = start_tdt(folder)
    yield SimpleNamespace(server=server, paths=paths, url=f"https://127.0.0.1:{server.server_address[1]}")
    server.shutdown()


@pytest.fixture
def tdt(app, tdt_server, tmp_path):
    """The loopback TdT, reset, and the app configured to use it (client certificate, CA, files under tmp)."""
    tdt_server.server.reset()
    keys = ("ACTES_TDT_URL", "ACTES_TDT_CLIENT_CERT", "ACTES_TDT_CA_FILE", "ACTES_STORAGE_DIR", "ACTES_TDT_LOGIN",
            "ACTES_TDT_PASSWORD", "ACTES_TDT_TIMEOUT", "ACTES_TDT_DEPARTMENT_FALLBACK")
    saved = {k: app.config.get(k) for k in keys}
    app.config.update(ACTES_TDT_URL=tdt_server.url, ACTES_TDT_CLIENT_CERT=str(tdt_server.paths.client),
                      ACTES_TDT_CA_FILE=str(tdt_server.paths.ca), ACTES_STORAGE_DIR=str(tmp_path / "files"),
                      ACTES_TDT_LOGIN="", ACTES_TDT_PASSWORD="", ACTES_TDT_TIMEOUT=5,
                      ACTES_TDT_DEPARTMENT_FALLBACK=True)
    yield tdt_server.server.state
    app.config.update(saved)


@pytest.fixture
def actes_world(app, world, subscribe, tdt):
    from portal.extensions import db
    from services.actes.models import TdtAccount

    subscribe("actes", world.a, world.b, world.troyes, world.epci)
    with app.app_context():
        for cid, siret in ((world.a, "21100001300015"), (world.b, "21101760000017")):
            db.session.add(TdtAccount(collectivity_id=cid, prefecture="PREF010", siret=siret,
                                      certificate_holder="Maire", login="mairie",
                                      # « dans 20 jours » counted from the Aube's date
                                      certificate_expires_on=legal_today() + dt.timedelta(days=20)))
        db.session.commit()
    return world


def deposit_values(**over) -> dict:
    values = {"nature": "1", "matiere": "7.1", "number": "2026_014", "decision_date": legal_today().isoformat(),
              "subject": "Vote du budget primitif 2026", "publication_kind": "other", "act_piece_type": "99_DE",
              "annex_piece_types": "99_AU"}
    values.update(over)
    return values


@pytest.fixture
def deposit(app, actes_world):
    """``deposit(client, act=bytes, annexes=[(name, bytes)], **fields)`` posts the real deposit form."""
    import io

    def _deposit(client, act: bytes | None = None, annexes=(), act_name="deliberation.pdf", **fields):
        data = deposit_values(**fields)
        data["act"] = (io.BytesIO(make_pdf() if act is None else act), act_name)
        data["annexes"] = [(io.BytesIO(content), name) for name, content in annexes]
        return client.post("/s/actes/nouveau", data, content_type="multipart/form-data",
                           csrf_from="/s/actes/nouveau")

    return _deposit


def act_ids(app) -> list[int]:
    from sqlalchemy import select

    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.actes.models import Act

    with app.app_context(), territory_scope(None):
        return list(db.session.scalars(select(Act.id).order_by(Act.id)))


def make_act(app, collectivity_id: int, *, number: str = "2026_001", subject: str = "Objet", nature: int = 1,
             matiere: str = "7.1", publication: str = "other") -> int:
    """An act deposited directly through the operations layer (system context), as a draft with its PDF on disk."""
    from portal.extensions import db
    from portal.models import Collectivity
    from portal.tenancy import territory_scope
    from services.actes import operations
    from services.actes.checks import Deposit, Upload
    from services.actes.schemas import ActFields

    from .fixtures import make_pdf

    with app.test_request_context(), territory_scope(None):
        coll = db.session.get(Collectivity, collectivity_id)
        d = Deposit(nature, matiere, number, legal_today(), subject, Upload("acte.pdf", make_pdf(subject), "99_DE"))
        act, report = operations.create_draft(coll, None, d, ActFields(None, publication, False))
        assert act is not None, report.errors
        db.session.commit()
        return act.id
