"""One TLS client certificate per collectivity: the department uploads each collectivity's S²LOW certificate with its
key (PKCS#12), kept sealed; every transmission of a collectivity's act authenticates with it. The loopback S²LOW maps
the certificate presented to the collectivity's account and refuses any other; an expired certificate stops the act
before anything leaves, with a French reason, and the act can be sent again once the certificate is renewed."""
from __future__ import annotations

import datetime as dt
import html
import io

import pytest
from sqlalchemy import select

from .conftest import act_ids
from .fixtures import PNG, acknowledgement, collectivity_credential
from .test_transmission import _act, _poll
from tests.helpers.clock import legal_today


def _upload(client, coll_id, p12: bytes, password: str = "", **over):
    data = {"prefecture": "PREF010", "arrondissement": "1", "collectivity_nature": "31", "siret": "",
            "login": "mairie", "certificate_holder": "", "paid_by": "department", "credential_password": password,
            "credential": (io.BytesIO(p12), "certificat.p12")}
    data.update(over)
    url = f"/admin/s/actes/collectivites/{coll_id}"
    return client.post(url, data, content_type="multipart/form-data", csrf_from=url)


def _send(client, deposit, app, number="2026_014"):
    resp = deposit(client, annexes=[("plan.png", PNG)], number=number)
    assert resp.status_code == 302, html.unescape(resp.get_data(as_text=True))[-2000:]
    act_id = act_ids(app)[-1]
    assert client.post(f"/s/actes/{act_id}/envoyer", {}, csrf_from=f"/s/actes/{act_id}").status_code == 302
    return act_id


def _account(app, coll_id):
    from portal.extensions import db
    from services.actes.models import TdtAccount

    with app.app_context():
        acc = db.session.scalar(select(TdtAccount).where(TdtAccount.collectivity_id == coll_id))
        return acc.client_credential, acc.client_certificate_expires_on, acc.certificate_expires_on


@pytest.fixture
def accounts(tdt):
    """S²LOW knows two users: Ailleville's and Jaucourt's certificates (the department's is not registered)."""
    tdt.accounts.update({"mairie-ailleville": "ailleville", "mairie-jaucourt": "jaucourt"})
    return tdt


def test_each_commune_sends_and_follows_its_acts_with_its_own_certificate(app, actes_world, login_as, deposit,
                                                                          accounts, tdt_server):
    ca = tdt_server.server.ca
    admin = login_as("dept_admin")
    p12 = collectivity_credential(ca, "mairie-ailleville", password="secret-p12")
    resp = _upload(admin, actes_world.a, p12, password="secret-p12")
    assert resp.status_code == 302, html.unescape(resp.get_data(as_text=True))[-2000:]
    sealed, expires, followed = _account(app, actes_world.a)
    assert sealed and b"PRIVATE KEY" not in sealed and b"mairie-ailleville" not in sealed  # sealed at rest
    assert expires == followed  # the certificate followed (reminders) is the one the transmissions use
    page = html.unescape(admin.get(f"/admin/s/actes/collectivites/{actes_world.a}").get_data(as_text=True))
    assert "propre certificat" in page and "mairie-ailleville" in page

    # Ailleville's act leaves with Ailleville's certificate: S²LOW files it in Ailleville's account.
    act_id = _send(login_as("mayor_a"), deposit, app)
    act = _act(app, act_id)
    assert act["status"] == "posted", act["reason"]
    assert accounts.transactions[act["tx"]]["account"] == "ailleville"
    assert accounts.identities[-1] == "mairie-ailleville"

    # Its status is read with the same certificate (S²LOW shows a user its own transactions only), AR included.
    tx = accounts.transactions[act["tx"]]
    tx["status"], tx["ar"] = 4, acknowledgement("010-211000013-20260101-2026_014-DE", "2026_014",
                                                legal_today().isoformat(), 1, legal_today())
    _poll(app)
    assert _act(app, act_id)["status"] == "acknowledged"
    status_calls = [cn for path, cn in accounts.calls if path.endswith("actes_transac_get_status.php")]
    assert status_calls == ["mairie-ailleville"]  # the status was asked with Ailleville's certificate

    # Jaucourt's certificate is not held: its act goes with the department's, which S²LOW does not know → KO,
    # the act in error with S²LOW's reason, nothing filed in Ailleville's account.
    other = _send(login_as("mayor_b"), deposit, app, number="2026_015")
    act = _act(app, other)
    assert act["status"] == "error" and "authentification" in act["reason"] and act["tx"] is None
    assert len(accounts.transactions) == 1

    # Once Jaucourt's own certificate is installed, the retry goes through, into Jaucourt's account.
    assert _upload(admin, actes_world.b, collectivity_credential(ca, "mairie-jaucourt")).status_code == 302
    mayor_b = login_as("mayor_b")
    assert mayor_b.post(f"/s/actes/{other}/renvoyer", {}, csrf_from=f"/s/actes/{other}").status_code == 302
    act = _act(app, other)
    assert act["status"] == "posted" and accounts.transactions[act["tx"]]["account"] == "jaucourt"


def test_a_certificate_of_another_account_cannot_read_its_transactions(app, actes_world, login_as, deposit,
                                                                       accounts, tdt_server):
    """The peer really checks the certificate: Jaucourt's installed in Ailleville's account by mistake files the
    act in Jaucourt's account, and Ailleville's certificate, installed afterwards, cannot read its status."""
    ca = tdt_server.server.ca
    admin = login_as("dept_admin")
    assert _upload(admin, actes_world.a, collectivity_credential(ca, "mairie-jaucourt")).status_code == 302
    act_id = _send(login_as("mayor_a"), deposit, app)
    tx = _act(app, act_id)["tx"]
    assert accounts.transactions[tx]["account"] == "jaucourt"
    assert _upload(admin, actes_world.a, collectivity_credential(ca, "mairie-ailleville")).status_code == 302
    _poll(app)
    act = _act(app, act_id)
    assert act["status"] == "posted" and act["failures"] == 1  # KO « transaction invalide »: retried later


def test_an_expired_certificate_stops_the_act_with_a_french_reason_and_retry_works_once_renewed(
        app, actes_world, login_as, deposit, accounts, tdt_server):
    from portal.extensions import db
    from services.actes import credentials
    from services.actes.models import TdtAccount

    ca = tdt_server.server.ca
    admin = login_as("dept_admin")
    # The department cannot install an expired certificate: refused by the page, French message, nothing kept.
    old = collectivity_credential(ca, "mairie-ailleville", not_before=dt.datetime(2024, 1, 1),
                                  not_after=dt.datetime(2025, 1, 1))
    resp = _upload(admin, actes_world.a, old)
    assert resp.status_code == 422
    assert "a expiré le 01/01/2025" in html.unescape(resp.get_data(as_text=True))
    assert _account(app, actes_world.a)[0] is None

    # A certificate that expired since it was installed (sealed as the page would have, a year ago).
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    key, cert, _chain = pkcs12.load_key_and_certificates(old, None)
    pem = cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with app.app_context():
        acc = db.session.scalar(select(TdtAccount).where(TdtAccount.collectivity_id == actes_world.a))
        acc.client_credential = credentials.seal(pem, actes_world.a)
        acc.client_certificate_expires_on = dt.date(2025, 1, 1)
        db.session.commit()
    mayor = login_as("mayor_a")
    act_id = _send(mayor, deposit, app)
    act = _act(app, act_id)
    assert act["status"] == "error" and act["tx"] is None and not accounts.transactions
    assert "a expiré le 01/01/2025" in act["reason"] and "rien n'a été envoyé" in act["reason"]
    assert not [r for r in accounts.requests if r[0] == "POST"]  # nothing left
    assert "a expiré le 01/01/2025" in html.unescape(mayor.get(f"/s/actes/{act_id}").get_data(as_text=True))

    # Renewed by the department: the same act is sent again from its page.
    assert _upload(admin, actes_world.a, collectivity_credential(ca, "mairie-ailleville")).status_code == 302
    assert mayor.post(f"/s/actes/{act_id}/renvoyer", {}, csrf_from=f"/s/actes/{act_id}").status_code == 302
    act = _act(app, act_id)
    assert act["status"] == "posted" and accounts.transactions[act["tx"]]["account"] == "ailleville"


def test_bad_certificate_files_are_refused_in_french(app, actes_world, login_as, tdt_server):
    ca = tdt_server.server.ca
    admin = login_as("dept_admin")
    cases = ((collectivity_credential(ca, "mairie-ailleville", password="bon"), "mauvais",
              "ne peut pas être ouvert avec ce mot de passe"),
             (b"not a certificate at all", "", "ne peut pas être ouvert"),
             (ca.issue_cert("x@tdt.test").cert_chain_pems[0].bytes(), "", "le certificat et sa clé privée"))
    for data, password, message in cases:
        resp = _upload(admin, actes_world.a, data, password=password)
        assert resp.status_code == 422
        assert message in html.unescape(resp.get_data(as_text=True)), message
        assert _account(app, actes_world.a)[0] is None


def test_the_sealed_certificate_opens_only_for_its_collectivity(app, actes_world):
    from cryptography.exceptions import InvalidTag

    from services.actes import credentials

    with app.app_context():
        blob = credentials.seal(b"-----BEGIN CERTIFICATE-----", actes_world.a)
        assert credentials.unseal(blob, actes_world.a) == b"-----BEGIN CERTIFICATE-----"
        with pytest.raises(InvalidTag):
            credentials.unseal(blob, actes_world.b)


def test_without_the_department_s_fallback_an_act_without_certificate_is_not_sent(app, actes_world, login_as,
                                                                                  deposit, tdt):
    app.config["ACTES_TDT_DEPARTMENT_FALLBACK"] = False
    act_id = _send(login_as("mayor_a"), deposit, app)
    act = _act(app, act_id)
    assert act["status"] == "error" and "ne détient aucun certificat" in act["reason"] and not tdt.transactions
