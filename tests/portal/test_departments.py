"""Several départements on one instance, an intercommunal operator, and each one's identity and time zone
(DESIGN.md §8): the Aube (the session's) and Mayotte (tests/data/territory/976) side by side, and an operator over
the CC de la Région de Bar-sur-Aube; identities from tests/data/territory/identity-test.toml."""
from __future__ import annotations

import datetime as dt
import logging
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from tests.conftest import PortalClient
from tests.helpers.cross_territory import check_department_matrix
from tests.helpers.territories import DATA, load_department, restore_reference

CCRBA = "241000405"  # CC de la Région de Bar-sur-Aube: Ailleville (10002), Jaucourt (10176)…


@pytest.fixture
def second(app, world, password_hash):
    from portal.extensions import db
    from portal.models import AuditEvent, Collectivity, Convention, Membership, ServiceActivation, User
    from portal.territory import save_operator

    load_department(app, "976")
    old_identity = app.config.get("IDENTITY_FILE")
    app.config["IDENTITY_FILE"] = str(DATA / "identity-test.toml")
    with app.app_context():
        def coll(**kw):
            return db.session.scalar(select(Collectivity).filter_by(**kw))

        dept, mamoudzou = coll(kind="department", department_code="976"), coll(insee="97611")
        troyes = coll(insee="10387")
        today = dt.date.today()
        conv = Convention(number="CD976-2026-001", collectivity=mamoudzou, status="active", services=["sample"],
                          starts_on=today - dt.timedelta(days=10))
        db.session.add(conv)
        db.session.add(ServiceActivation(collectivity=mamoudzou, service_slug="sample", enabled=True))
        operator, _ = save_operator("cc-test", "Syndicat mixte numérique du Barséquanais (essai)", epcis=[CCRBA])
        users = {}
        for key, email, target, role in (
            ("admin976", "admin@cd976.test.example.org", dept, "dept_admin"),
            ("agent976", "agent@cd976.test.example.org", dept, "dept_agent"),
            ("mayor976", "maire@mamoudzou.test.example.org", mamoudzou, "mayor"),
            ("operator_admin", "admin@syndicat.test.example.org", operator, "dept_admin"),
        ):
            u = User(email=email, full_name=key, status="active", password_hash=password_hash)
            db.session.add(u)
            db.session.add(Membership(user=u, collectivity=target, role=role))
            users[key] = u
        db.session.flush()
        # A sign-in of each département's mayor, at a known moment (the journals must not show the other's).
        for user, c in ((users["mayor976"], mamoudzou), (db.session.get(User, world.users["mayor_troyes"].id), troyes)):
            db.session.add(AuditEvent(action="auth.login", user_id=user.id, actor=user.email, collectivity_id=c.id,
                                      at=dt.datetime(2026, 6, 1, 10, 0)))
        db.session.commit()
        ns = SimpleNamespace(dept=dept.id, mamoudzou=mamoudzou.id, operator=operator.id, convention=conv.id,
                             membership=db.session.scalar(select(Membership.id).where(
                                 Membership.user_id == users["mayor976"].id)),
                             users={k: SimpleNamespace(id=u.id, email=u.email) for k, u in users.items()})
    yield ns
    app.config["IDENTITY_FILE"] = old_identity
    restore_reference(app)


def signed_in(app, email):
    client = PortalClient(app)
    assert client.login(email).status_code == 302
    return client


def text(resp):
    return resp.get_data(as_text=True)


def test_each_department_team_lists_its_own_collectivities(app, world, second, login_as):
    mayotte = signed_in(app, second.users["admin976"].email)
    body = text(mayotte.get("/admin/collectivites"))
    assert "Mamoudzou" in body and "Acoua" in body and "Troyes" not in body and "Ailleville" not in body
    assert f'/admin/collectivites/{world.troyes}"' not in text(mayotte.get("/admin/collectivites?q=Troyes"))
    aube = login_as("dept_admin")
    assert f'/admin/collectivites/{second.mamoudzou}"' not in text(aube.get("/admin/collectivites?q=Mamoudzou"))
    assert f'/admin/collectivites/{world.troyes}"' in text(aube.get("/admin/collectivites?q=Troyes"))
    assert mayotte.get(f"/admin/collectivites/{world.troyes}").status_code == 404
    assert aube.get(f"/admin/collectivites/{second.mamoudzou}").status_code == 404
    assert mayotte.get(f"/admin/collectivites/{second.mamoudzou}").status_code == 200


def test_department_matrix(app, world, second, login_as):
    """Every admin route × each team (the Aube's, Mayotte's, the operator's) × the other département's objects."""
    from portal.extensions import db
    from portal.models import Convention, Membership

    with app.app_context():
        conv_troyes = db.session.scalar(select(Convention.id).where(Convention.collectivity_id == world.troyes))
        memb_troyes = db.session.scalar(select(Membership.id).where(
            Membership.user_id == world.users["mayor_troyes"].id))
    objects = {
        "aube": ({"collectivity_id": world.troyes, "convention_id": conv_troyes, "membership_id": memb_troyes,
                  "user_id": world.users["mayor_troyes"].id, "action": "suspendre"},
                 [world.users["mayor_troyes"].email]),
        "mayotte": ({"collectivity_id": second.mamoudzou, "convention_id": second.convention,
                     "membership_id": second.membership, "user_id": second.users["mayor976"].id,
                     "action": "suspendre"},
                    [second.users["mayor976"].email, "CD976-2026-001"]),
    }
    clients = {"aube": login_as("dept_admin"), "mayotte": signed_in(app, second.users["admin976"].email),
               "operator": signed_in(app, second.users["operator_admin"].email)}
    report = check_department_matrix(app, clients, objects, prefixes=("/admin/collectivites", "/admin/comptes",
                                                                      "/admin/journal", "/assistance"))
    report.assert_clean()
    assert len(report.checked) >= 4 * 8
    from portal.models import User

    with app.app_context():  # the suspensions were refused: both mayors still active
        assert db.session.get(User, world.users["mayor_troyes"].id).status == "active"
        assert db.session.get(User, second.users["mayor976"].id).status == "active"


def test_an_intercommunal_operator_administers_its_member_communes(app, world, second):
    client = signed_in(app, second.users["operator_admin"].email)
    home = client.get("/")
    assert home.status_code == 302 and "/admin/collectivites" in home.headers["Location"]
    body = text(client.get("/admin/collectivites"))
    assert "Ailleville" in body and "Jaucourt" in body and "CC de la Région de Bar sur Aube" in body
    assert "Troyes" not in body and "Mamoudzou" not in body
    assert client.get(f"/admin/collectivites/{world.a}").status_code == 200
    assert client.get(f"/admin/collectivites/{world.troyes}").status_code == 404
    form = {"number": "SM-2026-001", "signed_on": "2025-12-15", "starts_on": "2026-01-01", "status": "active",
            "services": ["sample"], "notes": ""}
    resp = client.post(f"/admin/collectivites/{world.a}/conventions/nouvelle", form,
                       csrf_from=f"/admin/collectivites/{world.a}")
    assert resp.status_code == 302, text(resp)[:500]
    assert client.post(f"/admin/collectivites/{world.troyes}/conventions/nouvelle", form,
                       csrf_from=f"/admin/collectivites/{world.a}").status_code == 404


def test_an_operator_across_two_departments(app, world, second):
    """The Métropole du Grand Paris straddles Paris and the Seine-Saint-Denis: an operator over its members has
    both départements' communes, and each département's team administers the EPCI."""
    from portal import tenancy
    from portal.extensions import db
    from portal.models import Collectivity
    from portal.territory import save_operator

    load_department(app, "93")
    load_department(app, "75")
    with app.app_context():
        operator, report = save_operator("mgp-test", "Opérateur d'essai du Grand Paris", epcis=["200054781"])
        db.session.commit()
        assert report["departments"] == ["75", "93"] and report["communes"] == 40
        mgp = db.session.scalar(select(Collectivity.id).where(Collectivity.siren == "200054781"))
        for code in ("75", "93"):
            dept = db.session.scalar(select(Collectivity).filter_by(kind="department", department_code=code))
            ids = set(db.session.scalars(tenancy.administered_ids((dept.id, dept.kind, code))))
            assert mgp in ids
        ids = set(db.session.scalars(tenancy.administered_ids((operator.id, operator.kind, operator.department_code))))
        paris = db.session.scalar(select(Collectivity.id).where(Collectivity.insee == "75056"))
        troyes = world.troyes
        assert paris in ids and mgp in ids and troyes not in ids


def test_operator_errors_change_nothing(app, world, second):
    result = app.test_cli_runner().invoke(args=["territory", "operator", "cc-test", "--name", "X",
                                                "--communes", "10002,99999"])
    assert result.exit_code != 0 and "commune(s) not loaded or no longer current: 99999" in result.output
    result = app.test_cli_runner().invoke(args=["territory", "operator", "cc-test", "--name", "X",
                                                "--epci", "200054781"])
    assert "EPCI 200054781 is not loaded" in result.output
    from portal.extensions import db
    from portal.models import Collectivity

    with app.app_context():
        op = db.session.get(Collectivity, second.operator)
        assert op.name.startswith("Syndicat mixte") and len(op.operated) > 10


# Identity ----------------------------------------------------------------------------------------------------------

def test_the_pages_of_a_second_department_wear_its_identity(app, world, second):
    pages = {}
    mayor = signed_in(app, second.users["mayor976"].email)
    for url in ("/", "/profil", "/mairie/membres", "/mentions-legales"):
        pages[f"mayor {url}"] = mayor.get(url, follow_redirects=True)
    admin = signed_in(app, second.users["admin976"].email)
    for url in ("/admin/collectivites", f"/admin/collectivites/{second.mamoudzou}", "/admin/journal", "/profil"):
        pages[f"admin {url}"] = admin.get(url)
    anonymous = PortalClient(app)
    pages["legal notices"] = anonymous.get("/mentions-legales?d=976")
    pages["css"] = anonymous.get("/p/identite.css?d=976")
    for name, resp in pages.items():
        assert resp.status_code == 200, name
        body = text(resp)
        assert "Aube" not in body, f"« Aube » on the page {name}: {re.findall(r'.{60}Aube.{20}', body)[:2]}"
        if name != "css":
            assert "Extranet des communes de Mayotte" in body, name
            assert "Département de Mayotte — service numérique (essai)" in body, name
    assert "#00628c" in text(pages["css"])
    assert "Portail d&#39;essai de l&#39;extranet des communes de Mayotte." in text(pages["legal notices"])
    assert "extranet@cd976.example.org" in text(pages["legal notices"])


def test_the_operator_wears_its_own_identity(app, world, second):
    client = signed_in(app, second.users["operator_admin"].email)
    body = text(client.get("/admin/collectivites"))
    assert "Plateforme des communes du syndicat (essai)" in body
    assert "#2d6a4f" in text(client.get("/p/identite.css?d=cc-test"))


def test_the_aube_keeps_its_identity(app, world, second, login_as):
    body = text(login_as("mayor_a").get("/"))
    assert "Extranet des collectivités de l&#39;Aube" in body and "Mayotte" not in body


def test_a_wrong_identity_file_is_refused_at_start(app, tmp_path):
    from portal import identity

    bad = tmp_path / "identity.toml"
    bad.write_text('[identities."971"]\ntimezone = "America/Pointe-a-Pitre"\n', encoding="utf-8")
    with pytest.raises(identity.IdentityError, match="unknown time zone « America/Pointe-a-Pitre »"):
        identity._read_file(str(bad))
    bad.write_text('[identities."971"]\ncolour = "blue"\n', encoding="utf-8")
    with pytest.raises(identity.IdentityError, match="colour must be a colour like"):
        identity._read_file(str(bad))


# Time zone ---------------------------------------------------------------------------------------------------------

def test_times_shown_follow_the_departments_time_zone(app, world, second, login_as):
    """The same moment (10:00 UTC on 1 June 2026) is 13:00 in Mayotte and 12:00 (summer time) in the Aube."""
    mayotte = text(signed_in(app, second.users["admin976"].email).get("/admin/journal"))
    assert "01/06/2026 13:00" in mayotte and "01/06/2026 12:00" not in mayotte
    aube = text(login_as("dept_admin").get("/admin/journal"))
    assert "01/06/2026 12:00" in aube and "01/06/2026 13:00" not in aube


def test_deadlines_and_stamps_follow_the_buyers_department(app, world, second):
    from portal import identity
    from portal.extensions import db
    from portal.models import Collectivity
    from services.tenders.deposits import deadline_utc
    from services.tenders.models import Tender

    with app.test_request_context():
        app.config["IDENTITY_FILE"] = str(DATA / "identity-test.toml")
        mamoudzou = db.session.get(Collectivity, second.mamoudzou)
        ailleville = db.session.get(Collectivity, world.a)
        noon = dt.datetime(2026, 12, 10, 12, 0)
        assert deadline_utc(Tender(reception_deadline=noon, collectivity=mamoudzou)).hour == 9  # UTC+3
        assert deadline_utc(Tender(reception_deadline=noon, collectivity=ailleville)).hour == 11  # UTC+1 in winter
        assert identity.from_local(noon, mamoudzou) == dt.datetime(2026, 12, 10, 9, 0)
        assert identity.to_local(dt.datetime(2026, 12, 10, 9, 0), mamoudzou).hour == 12
        assert identity.local_now(mamoudzou).utcoffset() == dt.timedelta(hours=3)
        db.session.rollback()


def test_overseas_departments_default_to_their_zone(app):
    from portal import identity

    with app.app_context():
        assert identity.default_zone_name("971") == "America/Guadeloupe"
        assert identity.default_zone_name("974") == "Indian/Reunion"
        assert identity.default_zone_name("976") == "Indian/Mayotte"
        assert identity.default_zone_name("51") == "Europe/Paris"


def test_log_lines_carry_the_departments_time(app):
    from zoneinfo import ZoneInfo

    from portal import LOG_FORMAT, ZoneFormatter

    formatter = ZoneFormatter(LOG_FORMAT)
    formatter.zone = ZoneInfo("Indian/Mayotte")
    record = logging.LogRecord("portal", logging.INFO, __file__, 1, "hello", None, None)
    record.created = dt.datetime(2026, 12, 7, 6, 0, tzinfo=dt.timezone.utc).timestamp()
    assert formatter.format(record).startswith("2026-12-07T09:00:00.000+03:00 INFO portal: hello")


def test_maps_start_on_the_pages_departement(app, world, second):
    """Before anything is located, a map shows the page's département (its communes' boundaries), not the Aube."""
    from flask import g

    from portal.maps import map_config

    with app.test_request_context():
        g.identity_code = "10"
        (south, west), (north, east) = map_config()["view"]["bounds"]
        assert 47.9 < south < north < 48.8 and 3.3 < west < east < 4.9  # the Aube
    with app.test_request_context():
        g.identity_code = "976"  # no boundaries loaded for Mayotte (tests/data/territory/SOURCES.md): France
        assert map_config()["view"] == {"center": [46.6, 2.5], "zoom": 6}


def test_receipts_name_the_departements_legal_time(app, world, second):
    from portal import identity
    from portal.extensions import db
    from portal.models import Collectivity

    with app.test_request_context():
        assert identity.zone_label(db.session.get(Collectivity, second.mamoudzou)) == "heure de Mayotte"
        assert identity.zone_label(db.session.get(Collectivity, world.a)) == "heure de Paris"


def test_public_pages_wear_the_communes_departement(app, world, second, subscribe):
    """A resident's page (the published acts, services/actes) of a commune of Mayotte and of one of the Aube."""
    from portal.extensions import db
    from portal.models import Collectivity, Convention, ServiceActivation

    subscribe("actes", world.a)
    with app.app_context():
        conv = db.session.get(Convention, second.convention)
        conv.services = ["sample", "actes"]
        db.session.add(ServiceActivation(collectivity=db.session.get(Collectivity, second.mamoudzou),
                                         service_slug="actes", enabled=True))
        db.session.commit()
    anonymous = PortalClient(app)
    mayotte = anonymous.get("/p/actes/97611/")
    assert mayotte.status_code == 200
    body = text(mayotte)
    assert "Extranet des communes de Mayotte" in body and "/p/identite.css?d=976" in body and "Aube" not in body
    aube = text(anonymous.get("/p/actes/10002/"))
    assert "Extranet des collectivités de l&#39;Aube" in aube and "Mayotte" not in aube
