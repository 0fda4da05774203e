"""Several départements on one instance: the pages without a collectivity (sign-in, forgotten password) wear the
identity of the host name (DEPARTMENT_HOSTS), and e-mails — those of background tasks included — wear the identity
of the recipient's département (DESIGN.md §8). The Aube and Mayotte (tests/data/territory/976) side by side."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from tests.conftest import PortalClient
from tests.portal.test_departments import second  # noqa: F401 - the Mayotte fixture

MAYOTTE_HOST = "extranet.cd976.test.example.org"


@pytest.fixture
def hosts(app):
    old = app.config.get("DEPARTMENT_HOSTS")
    app.config["DEPARTMENT_HOSTS"] = {MAYOTTE_HOST: "976", "extranet.aube.test.example.org": "10"}
    yield
    app.config["DEPARTMENT_HOSTS"] = old


def _aube_words(body: str) -> list[str]:
    return re.findall(r".{40}Aube.{20}", body)


@pytest.mark.parametrize("url", ["/connexion", "/mot-de-passe-oublie"])
def test_the_sign_in_pages_of_the_second_departments_host_wear_its_identity(app, world, second, hosts, url):  # noqa: F811
    client = PortalClient(app)
    page = client.get(url, base_url=f"https://{MAYOTTE_HOST}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Extranet des communes de Mayotte" in body and "Département de Mayotte — service numérique (essai)" in body
    assert "/p/identite.css?d=976" in body and "/p/identite/logo?d=976" in body
    assert not _aube_words(body), _aube_words(body)
    css = client.get("/p/identite.css?d=976", base_url=f"https://{MAYOTTE_HOST}").get_data(as_text=True)
    assert "#00628c" in css and "#f5a300" in css
    logo = client.get("/p/identite/logo?d=976", base_url=f"https://{MAYOTTE_HOST}")
    assert logo.status_code == 200 and logo.mimetype == "image/svg+xml" and b"Essai Mayotte" in logo.data

    # The same page on the Aube's host (with a port), and on a host of no département: the Aube, the default.
    for base in ("http://extranet.aube.test.example.org:8080", "http://localhost"):
        aube = client.get(url, base_url=base).get_data(as_text=True)
        assert "Extranet des collectivités de l&#39;Aube" in aube and "Mayotte" not in aube, base


def test_a_signed_in_page_wears_the_collectivitys_identity_whatever_the_host(app, world, second, hosts):  # noqa: F811
    """A mayor of the Aube signing in on Mayotte's host: their pages are the Aube's (the collectivity decides)."""
    client, base = PortalClient(app), f"http://{MAYOTTE_HOST}"
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                      client.get("/connexion", base_url=base).get_data(as_text=True)).group(1)
    resp = client.http.post("/connexion", base_url=base, data={
        "email": world.users["mayor_a"].email, "password": world.password, "csrf_token": token})
    assert resp.status_code == 302
    body = client.get("/", base_url=base, follow_redirects=True).get_data(as_text=True)
    assert "Ailleville" in body
    assert "Extranet des collectivités de l&#39;Aube" in body and "Extranet des communes de Mayotte" not in body


def test_department_hosts_configuration(app, monkeypatch):
    from portal import identity
    from portal.config import _hosts

    assert _hosts(" Extranet.CD976.example.org=976 ; extranet.aube.example.org=10,") == {
        "extranet.cd976.example.org": "976", "extranet.aube.example.org": "10"}
    monkeypatch.setitem(app.config, "DEPARTMENT_HOSTS", {"extranet.cd976.example.org": ""})
    with pytest.raises(identity.IdentityError, match="DEPARTMENT_HOSTS: « extranet.cd976.example.org= » is not"):
        identity.check(app)
    monkeypatch.setitem(app.config, "DEPARTMENT_HOSTS", {"extranet.cd976.example.org": "976"})
    identity.check(app)


def test_a_background_tasks_mail_to_a_commune_of_the_second_department_wears_its_identity(app, world, second, smtp):  # noqa: F811
    """The TdT certificate reminders (a beat task, no request): Mamoudzou's go out under Mayotte's name, with its
    footer, and no « Aube » anywhere; Ailleville's, the same run, under the Aube's."""
    from portal import identity
    from portal.extensions import db
    from portal.models import Collectivity
    from portal.tenancy import territory_scope
    from services.actes import tdt_accounts
    from services.actes.models import TdtAccount

    with app.app_context(), territory_scope(None):
        mamoudzou = db.session.get(Collectivity, second.mamoudzou)
        today = identity.today(mamoudzou)
        accounts = [TdtAccount(collectivity_id=second.mamoudzou, certificate_expires_on=today + dt.timedelta(days=5)),
                    TdtAccount(collectivity_id=world.a, certificate_expires_on=today + dt.timedelta(days=5))]
        db.session.add_all(accounts)
        db.session.commit()
        try:
            assert tdt_accounts.send_reminders() == 2
        finally:
            for acc in db.session.scalars(select(TdtAccount).where(TdtAccount.id.in_([a.id for a in accounts]))):
                db.session.delete(acc)
            db.session.commit()
    to_mayotte = [m for m in smtp.messages if m.to[0].endswith("cd976.test.example.org")
                  or m.to[0].endswith("mamoudzou.test.example.org")]
    assert {m.to[0] for m in to_mayotte} == {second.users["admin976"].email, second.users["agent976"].email,
                                             second.users["mayor976"].email}
    for m in to_mayotte:
        assert "Mamoudzou" in m.subject
        assert "Extranet des communes de Mayotte" in m.text
        assert "Département de Mayotte — service numérique (essai)" in m.text
        assert "Extranet des communes de Mayotte" in str(m.msg["From"])
        raw = m.msg.as_string()
        assert "Aube" not in raw, re.findall(r".{40}Aube.{20}", raw)
    to_aube = [m for m in smtp.messages if m not in to_mayotte]
    assert to_aube and all("Extranet des collectivités de l'Aube" in m.text and "Mayotte" not in m.text
                           for m in to_aube)


def test_the_password_reset_mail_wears_the_persons_departement(app, world, second, hosts, smtp):  # noqa: F811
    client = PortalClient(app)
    token = client.csrf("/mot-de-passe-oublie")
    resp = client.http.post("/mot-de-passe-oublie", data={"email": second.users["mayor976"].email,
                                                           "csrf_token": token})
    assert resp.status_code in (200, 302)
    [mail] = [m for m in smtp.messages if m.to == [second.users["mayor976"].email]]
    assert "Extranet des communes de Mayotte" in mail.text and "Aube" not in mail.msg.as_string()


def test_a_residents_alert_wears_its_communes_departement(app, world, second):  # noqa: F811
    """Alerts are built by the alerts service itself (not portal.mail): their sender follows the commune too."""
    from types import SimpleNamespace

    from flask_babel import force_locale

    from services.alerts.messages import build_email
    from services.alerts.models import Alert

    def sender(insee: str, commune: str) -> str:
        alert = Alert(id=1, commune_insee=insee, kind="individual", title="Coupure d'eau", body="Rue du port.",
                      severity="minor", channels=["email"], list_ids=[], legal_basis="")
        with app.app_context(), force_locale("fr"):
            return str(build_email(SimpleNamespace(key="k", address="habitant@example.org"), alert, None,
                                   commune)["From"])

    mayotte, aube = sender("97611", "Mamoudzou"), sender(world.insee_a, "Ailleville")
    assert "Extranet des communes de Mayotte" in mayotte and "Aube" not in mayotte
    assert "Extranet des collectivités de l'Aube" in aube and "Mayotte" not in aube
