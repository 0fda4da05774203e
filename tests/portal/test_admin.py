"""The department team: collectivities, conventions, services, first accounts, suspensions, audit."""
import re

from sqlalchemy import select


def test_only_department_staff_reach_admin(world, login_as):
    for key in ("mayor_a", "secretary_a", "epci_user"):
        assert login_as(key).get("/admin/collectivites").status_code == 403
    assert login_as("dept_agent").get("/admin/collectivites").status_code == 200
    assert login_as("dept_admin").get("/").status_code == 302  # department home = collectivities


def test_list_and_search_collectivities(world, login_as):
    admin = login_as("dept_admin")
    body = admin.get("/admin/collectivites").get_data(as_text=True)
    # the count under the search form: the Aube's 431 communes and 13 EPCI at least (« collectivit » alone, as
    # before, is in the menu of every page, and the bare digits « 444 » could be in a token or an id)
    count = re.search(r'<p class="muted">(\d+) collectivités</p>', body)
    assert count and int(count.group(1)) >= 431 + 13, count
    assert "Ailleville" in admin.get("/admin/collectivites?q=ailleville").get_data(as_text=True)
    assert "Aix-Villemaur-P" in admin.get("/admin/collectivites?q=aix villemaur").get_data(as_text=True)
    by_insee = admin.get("/admin/collectivites?q=10176").get_data(as_text=True)
    assert "Jaucourt" in by_insee and "Ailleville" not in by_insee
    accents = admin.get("/admin/collectivites?q=ETRELLES").get_data(as_text=True)
    assert "Étrelles-sur-Aube" in accents
    epci = admin.get(f"/admin/collectivites?epci={world.epci}").get_data(as_text=True).split("<tbody>")[1]
    assert "Jaucourt" in epci and ">Troyes<" not in epci
    postal = admin.get("/admin/collectivites?q=10200").get_data(as_text=True)
    assert "Ailleville" in postal


def test_collectivity_page_shows_identity_and_members(world, login_as):
    body = login_as("dept_admin").get(f"/admin/collectivites/{world.a}").get_data(as_text=True)
    # the population in its own cell: the bare digits « 223 » could be in a token or an id of the page
    assert "10002" in body and "211000013" in body and "10200" in body and "<dd>223</dd>" in body
    assert "CC de la Région de Bar sur Aube" in body
    assert world.users["mayor_a"].email in body
    epci = login_as("dept_admin").get(f"/admin/collectivites/{world.epci}").get_data(as_text=True)
    assert "Jaucourt" in epci and "241000405" in epci


def test_record_a_convention_and_enable_a_service(app, world, login_as):
    admin = login_as("dept_admin")
    url = f"/admin/collectivites/{world.c}/conventions/nouvelle"
    resp = admin.post(url, {"number": "CD10-2026-099", "signed_on": "2026-01-10", "starts_on": "2026-01-15",
                            "ends_on": "2028-12-31", "status": "active", "services": ["sample"], "notes": ""},
                      csrf_from=url)
    assert resp.status_code == 302
    mayor_c = login_as("mayor_c")
    assert mayor_c.get("/s/sample/").status_code == 403  # convention covers it, not enabled yet
    detail = f"/admin/collectivites/{world.c}"
    resp = admin.post(f"{detail}/services", {"service": "sample", "enabled": "y"}, csrf_from=detail)
    assert resp.status_code == 302
    assert mayor_c.get("/s/sample/").status_code == 200
    admin.post(f"{detail}/services", {"service": "sample"}, csrf_from=detail)
    assert mayor_c.get("/s/sample/").status_code == 403
    log = admin.get("/admin/journal?collectivite=fravaux").get_data(as_text=True)
    assert "convention.created" in log and "service.enabled" in log and "service.disabled" in log


def test_convention_form_errors(world, login_as):
    admin = login_as("dept_admin")
    url = f"/admin/collectivites/{world.c}/conventions/nouvelle"
    body = admin.post(url, {"number": "X1", "starts_on": "2026-05-01", "ends_on": "2026-01-01", "status": "active"},
                      csrf_from=url).get_data(as_text=True)
    assert body.count('class="error-text"') >= 2  # end before start; active without signature date
    body = admin.post(url, {"number": "T-A", "starts_on": "2026-01-01", "status": "draft"},
                      csrf_from=url).get_data(as_text=True)
    assert 'class="error-text"' in body  # number already used
    assert admin.post(url, {"number": "X2", "starts_on": "pas une date", "status": "draft"},
                      csrf_from=url).status_code == 200


def test_agent_reads_but_does_not_administer(world, login_as):
    agent = login_as("dept_agent")
    assert agent.get(f"/admin/collectivites/{world.a}").status_code == 200
    assert agent.get(f"/admin/collectivites/{world.c}/conventions/nouvelle").status_code == 403
    assert agent.get("/admin/journal").status_code == 403


def test_first_account_gets_activation_link(app, world, login_as, smtp):
    admin = login_as("dept_admin")
    detail = f"/admin/collectivites/{world.c}"
    from portal.extensions import db
    from portal.models import Membership

    with app.app_context():  # Fravaux has a mayor in the world; start from no account
        for m in db.session.scalars(select(Membership).where(Membership.collectivity_id == world.c)):
            db.session.delete(m)
        db.session.commit()
    resp = admin.post(f"{detail}/premier-compte", {"email": "mairie.fravaux@example.org",
                                                    "full_name": "Henri Roux"}, csrf_from=detail)
    assert resp.status_code == 302
    msg = smtp.messages[-1]
    assert msg.to == ["mairie.fravaux@example.org"] and "Fravaux" in msg.subject
    link = re.search(r"http://portal\.test(/mot-de-passe/\S+)", msg.text).group(1)
    mayor = type(admin)(app)
    pw = "Le clocher de Fravaux penche"
    assert mayor.post(link, {"password": pw, "confirm": pw}, csrf_from=link).status_code == 302
    assert "mairie/membres/inviter" in mayor.get("/mairie/membres").get_data(as_text=True)


def test_suspend_and_reactivate(app, world, login_as):
    admin = login_as("dept_admin")
    mayor = login_as("mayor_a")
    uid = world.users["mayor_a"].id
    detail = f"/admin/collectivites/{world.a}"
    assert admin.post(f"/admin/comptes/{uid}/suspendre", {}, csrf_from=detail).status_code == 302
    assert mayor.get("/profil").status_code == 302  # signed out at once
    assert mayor.login(world.users["mayor_a"].email).status_code == 200
    assert admin.post(f"/admin/comptes/{uid}/reactiver", {}, csrf_from=detail).status_code == 302
    assert mayor.login(world.users["mayor_a"].email).status_code == 302
    log = admin.get(f"/admin/journal?quoi=account.&qui={world.users['dept_admin'].email}").get_data(as_text=True)
    assert "account.suspended" in log and "account.reactivated" in log


def test_admin_audit_filters(world, login_as):
    admin = login_as("dept_admin")
    login_as("mayor_a")
    body = admin.get("/admin/journal?quoi=auth.login").get_data(as_text=True)
    assert world.users["mayor_a"].email in body
    assert "auth.login" in body
    empty = admin.get("/admin/journal?quoi=auth.login&du=2000-01-01&au=2000-01-02").get_data(as_text=True)
    assert world.users["mayor_a"].email not in empty.split("<tbody>")[1]
    assert admin.get("/admin/journal?du=n'importe quoi").status_code == 200
