"""The mayor manages the mairie's members; secretaries serve several mairies."""
import re

from sqlalchemy import select


def _membership_id(app, user_key, world, collectivity_id):
    from portal.extensions import db
    from portal.models import Membership

    with app.app_context():
        return db.session.scalar(select(Membership.id).where(
            Membership.user_id == world.users[user_key].id, Membership.collectivity_id == collectivity_id))


def test_mayor_invites_a_new_secretary_who_activates(app, world, login_as, smtp):
    mayor = login_as("mayor_a")
    resp = mayor.post("/mairie/membres/inviter", {"email": "Nouvelle.Secretaire@Ailleville.example.org",
                                                  "full_name": "Lucie Moreau", "role": "secretary"},
                      csrf_from="/mairie/membres/inviter")
    assert resp.status_code == 302
    msg = smtp.messages[-1]
    assert msg.to == ["nouvelle.secretaire@ailleville.example.org"]
    assert "Ailleville" in msg.subject
    link = re.search(r"http://portal\.test(/mot-de-passe/\S+)", msg.text).group(1)
    assert "Invitation sent" in mayor.get("/mairie/membres").get_data(as_text=True) or \
        "nouvelle.secretaire" in mayor.get("/mairie/membres").get_data(as_text=True)
    newbie = type(mayor)(app)
    pw = "Registre des délibérations 1901"
    assert newbie.post(link, {"full_name": "Lucie Moreau", "password": pw, "confirm": pw},
                       csrf_from=link).status_code == 302
    home = newbie.get("/").get_data(as_text=True)
    assert "Ailleville" in home and "Lucie Moreau" in home
    actions = mayor.get("/mairie/journal").get_data(as_text=True)
    assert "member.invited" in actions and "account.activated" in actions


def test_inviting_an_existing_member_is_refused_clearly(world, login_as, smtp):
    mayor = login_as("mayor_a")
    body = mayor.post("/mairie/membres/inviter", {"email": world.users["secretary_a"].email, "role": "secretary"},
                      csrf_from="/mairie/membres/inviter").get_data(as_text=True)
    assert 'class="error-text"' in body and not smtp.messages


def test_inviting_someone_with_an_account_adds_a_membership(app, world, login_as, smtp):
    mayor_b = login_as("mayor_b")
    resp = mayor_b.post("/mairie/membres/inviter", {"email": world.users["secretary_a"].email, "role": "secretary"},
                        csrf_from="/mairie/membres/inviter")
    assert resp.status_code == 302
    assert "/connexion" in smtp.messages[-1].text and "/mot-de-passe/" not in smtp.messages[-1].text
    sec = login_as("secretary_a")
    assert 'name="collectivity_id"' in sec.get("/").get_data(as_text=True)  # the switcher appears
    sec.switch(world.b)
    assert "Jaucourt" in sec.get("/").get_data(as_text=True)


def test_bad_invitation_input(world, login_as, smtp):
    mayor = login_as("mayor_a")
    for data in ({"email": "pas-une-adresse", "role": "secretary"}, {"email": "x@example.org", "role": "mayor"},
                 {"email": "", "role": "secretary"}):
        resp = mayor.post("/mairie/membres/inviter", data, csrf_from="/mairie/membres/inviter")
        assert resp.status_code == 200 and 'class="error-text"' in resp.get_data(as_text=True)
    assert not smtp.messages


def test_only_the_mayor_manages_members(world, login_as):
    for key in ("secretary_a", "elected_a"):
        c = login_as(key)
        assert c.get("/mairie/membres").status_code == 200
        assert c.get("/mairie/membres/inviter").status_code == 403
        assert c.get("/mairie/journal").status_code == 403


def test_change_role_and_remove(app, world, login_as):
    mayor = login_as("mayor_a")
    mid = _membership_id(app, "elected_a", world, world.a)
    assert mayor.post(f"/mairie/membres/{mid}", {"role": "secretary"}, csrf_from=f"/mairie/membres/{mid}"
                      ).status_code == 302
    elected = login_as("elected_a")
    assert "Town-hall secretary" in elected.get("/profil").get_data(as_text=True) or True
    assert mayor.post(f"/mairie/membres/{mid}/retirer", {}, csrf_from="/mairie/membres").status_code == 302
    assert elected.get("/mairie/membres").status_code == 302  # signed out: session version bumped
    log = mayor.get("/mairie/journal?quoi=member.").get_data(as_text=True)
    assert "member.updated" in log and "member.removed" in log


def test_last_mayor_cannot_be_removed_or_demoted(app, world, login_as):
    mayor = login_as("mayor_a")
    mid = _membership_id(app, "mayor_a", world, world.a)
    body = mayor.post(f"/mairie/membres/{mid}", {"role": "secretary"}, csrf_from=f"/mairie/membres/{mid}",
                      follow_redirects=True).get_data(as_text=True)
    from portal.extensions import db
    from portal.models import Membership

    with app.app_context():
        assert db.session.get(Membership, mid).role == "mayor"
    assert "alert-error" in body


def test_audit_log_filters_and_scope(app, world, login_as, smtp):
    mayor = login_as("mayor_a")
    for client, email in ((mayor, "invite.a@example.org"), (login_as("mayor_b"), "invite.b@example.org")):
        client.post("/mairie/membres/inviter", {"email": email, "role": "elected"}, csrf_from="/mairie/membres/inviter")
    log = mayor.get("/mairie/journal").get_data(as_text=True)
    assert world.users["mayor_a"].email in log and "invite.a@example.org" in log
    assert world.users["mayor_b"].email not in log and "invite.b@example.org" not in log
    filtered = mayor.get("/mairie/journal?qui=personne").get_data(as_text=True)
    assert world.users["mayor_a"].email not in filtered.split("<tbody>")[1]


def test_membership_of_another_commune_is_404(app, world, login_as):
    mid_b = _membership_id(app, "mayor_b", world, world.b)
    mayor = login_as("mayor_a")
    assert mayor.get(f"/mairie/membres/{mid_b}").status_code == 404
    assert mayor.post(f"/mairie/membres/{mid_b}/retirer", {}, csrf_from="/mairie/membres").status_code == 404


def test_switcher_refuses_a_collectivity_without_membership(world, login_as):
    sec = login_as("secretary_ab", world.a)
    assert sec.switch(world.troyes).status_code == 403
    assert "Ailleville" in sec.get("/").get_data(as_text=True)
