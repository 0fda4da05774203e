"""`flask demo load` / `demo accounts --json` and the reference data of the Aube."""
import json

from sqlalchemy import func, select


def test_demo_load_is_idempotent_and_accounts_work(app, world, monkeypatch):
    from portal.extensions import db
    from portal.models import Collectivity, Convention, Membership, User

    monkeypatch.setenv("DEMO_PASSWORD", "Mot de passe de démonstration")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "maire@ailleville.example.org" in first.output
    with app.app_context():
        counts = lambda: (db.session.scalar(select(func.count()).select_from(User)),  # noqa: E731
                          db.session.scalar(select(func.count()).select_from(Membership)),
                          db.session.scalar(select(func.count()).select_from(Convention)),
                          db.session.scalar(select(func.count()).select_from(Collectivity)))
        before = counts()
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    with app.app_context():
        assert counts() == before
        assert db.session.scalar(select(func.count()).select_from(Collectivity).where(
            Collectivity.kind == "commune")) == 431
        assert db.session.scalar(select(func.count()).select_from(Collectivity).where(
            Collectivity.kind == "epci")) == 13

    out = runner.invoke(args=["demo", "accounts", "--json"])
    accounts = json.loads(out.output)
    roles = {a["role"] for a in accounts}
    assert {"dept_admin", "dept_agent", "mayor", "secretary", "elected"} <= roles
    for a in accounts:
        assert a["email"] and a["role"]
        assert a["collectivity_insee"] or a["collectivity_siren"] or a["collectivity_kind"] == "department"
    secretary = [a for a in accounts if a["email"] == "secretariat@mairies.example.org"]
    assert len(secretary) == 2
    assert any(a["collectivity_kind"] == "epci" for a in accounts)

    from tests.conftest import PortalClient

    c = PortalClient(app)
    assert c.login("secretariat@mairies.example.org", "Mot de passe de démonstration").status_code == 302
    assert 'name="collectivity_id"' in c.get("/").get_data(as_text=True)


def test_demo_load_prints_a_random_password_when_none_given(app, world, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    out = app.test_cli_runner().invoke(args=["demo", "load"]).output
    assert "Password of every demo account:" in out
    password = out.split("Password of every demo account:")[1].split()[0]
    from tests.conftest import PortalClient

    assert PortalClient(app).login("admin@cd10.example.org", password).status_code == 302


def test_reference_data_is_real(app, world):
    from portal.extensions import db
    from portal.models import Collectivity

    with app.app_context():
        troyes = db.session.scalar(select(Collectivity).where(Collectivity.insee == "10387"))
        assert troyes.name == "Troyes" and troyes.population > 50000 and troyes.boundary_geojson
        assert [e.siren for e in troyes.epcis] == ["200069250"]  # CA Troyes Champagne Métropole
        aix = db.session.scalar(select(Collectivity).where(Collectivity.insee == "10003"))
        assert aix.postal_code_list == ["10160", "10190"]


def test_product_does_not_read_shared_at_runtime():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for path in list((root / "portal").rglob("*.py")) + list((root / "services").rglob("*.py")) + [root / "app.py"]:
        assert "shared/" not in path.read_text(encoding="utf-8"), path


def test_create_admin_sends_an_activation_link(app, world, smtp):
    out = app.test_cli_runner().invoke(args=["users", "create-admin", "DSI@Aube.example.org", "--name", "Anne DSI"])
    assert out.exit_code == 0, out.output
    msg = smtp.messages[-1]
    assert msg.to == ["dsi@aube.example.org"] and "/mot-de-passe/" in msg.text
    again = app.test_cli_runner().invoke(args=["users", "create-admin", "dsi@aube.example.org"])
    assert again.exit_code != 0
    assert "already" in again.output.lower() or "déjà" in again.output.lower()


def test_outbox_flush_command(app, world, smtp):
    out = app.test_cli_runner().invoke(args=["outbox", "flush"])
    assert out.exit_code == 0 and "Outbox" in out.output
