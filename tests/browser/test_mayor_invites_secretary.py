"""The walk of a mairie in a real browser: the mayor invites a new secretary, who activates her account, is then
given access to a second mairie and switches to it with the collectivity switcher. Plus the department's pages.

Assertions are on what a person sees (``t()`` gives the French of the catalog for a msgid); screenshots of every
key step go to test-artifacts/screenshots/.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import link_in

NEW_EMAIL = "nouvelle.secretaire@ailleville.test.example.org"
NEW_NAME = "Nadège Lhuillier"
NEW_PASSWORD = "Le lavoir de la place sonne midi"
SMALL_LAPTOP = {"width": 1366, "height": 768}


def wait_for_mail(smtp, to: str, count_before: int, timeout: float = 10.0):
    """The outbox delivers right after the commit; give it a moment, then return the newest message to ``to``."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mine = [m for m in smtp.messages[count_before:] if to in m.to]
        if mine:
            return mine[-1]
        time.sleep(0.05)
    raise AssertionError(f"no e-mail to {to}; caught: {[(m.to, m.subject) for m in smtp.messages]}")


def flash(page):
    return page.locator(".flashes")


def test_mayor_invites_a_secretary_who_then_switches_mairie(world, live_server, smtp, new_page, shot, t, sign_in,
                                                            overflow):
    mayor = new_page()

    # 1. The real login page.
    mayor.goto("/connexion")
    expect(mayor.locator("h1")).to_have_text(t("Sign in", context="page title"))
    expect(mayor.get_by_label(t("E-mail address"))).to_be_visible()
    expect(mayor.get_by_label(t("Password"))).to_be_visible()
    shot(mayor, "01-login")

    # 2. Home of the mayor: the commune, its convention, the services as tiles with their state.
    sign_in(mayor, world.users["mayor_a"].email, world.password)
    expect(mayor).to_have_url(re.compile(r"/$"))
    expect(mayor.locator("main h1")).to_have_text("Ailleville")
    expect(mayor.locator(".convention-box")).to_contain_text(t("Convention %(number)s", number="T-A"))
    expect(mayor.locator("main > h2")).to_contain_text(t("Services"))  # the news panel has its own h2
    sample = mayor.locator(".tile", has_text=t("Sample service"))
    expect(sample).to_contain_text(t("Subscribed"))
    expect(sample.get_by_role("link", name=t("Sample service"))).to_be_visible()
    tiles = mayor.locator(".tile")
    for i in range(tiles.count()):  # every tile says where the collectivity stands with the service
        expect(tiles.nth(i).locator(".badge")).to_be_visible()
    assert overflow(mayor) == 0
    shot(mayor, "02-home-mayor")

    # 3. The members page.
    mayor.get_by_role("navigation", name=t("Main menu")).get_by_role("link", name=t("Members")).click()
    expect(mayor.locator("main h1")).to_have_text(t("Members of %(name)s", name="Ailleville"))
    members = mayor.locator("main table")
    expect(members).to_contain_text(world.users["mayor_a"].email)
    expect(members).to_contain_text(world.users["secretary_ab"].email)
    expect(members).not_to_contain_text(NEW_EMAIL)
    expect(members).not_to_contain_text(world.users["mayor_b"].email)  # another commune's people stay out
    assert overflow(mayor) == 0
    shot(mayor, "03-members")

    # 4. The invitation form: a new person, as secretary.
    mayor.get_by_role("link", name=t("Invite someone")).click()
    expect(mayor.locator("main h1")).to_have_text(t("Invite someone"))
    mayor.get_by_label(t("E-mail address")).fill(NEW_EMAIL)
    mayor.get_by_label(t("First name and last name")).fill(NEW_NAME)
    mayor.get_by_label(t("Role")).select_option("secretary")
    shot(mayor, "04-invite-form")
    sent_before = len(smtp.messages)
    mayor.get_by_role("button", name=t("Send the invitation")).click()
    expect(flash(mayor)).to_contain_text(t("An invitation has been sent to %(email)s.", email=NEW_EMAIL))
    new_row = mayor.locator("main table tr", has_text=NEW_EMAIL)
    expect(new_row).to_contain_text(t("Invitation sent"))
    expect(new_row).to_contain_text(NEW_NAME)
    shot(mayor, "05-members-after-invite")

    # 5. The e-mail, caught by the loopback SMTP server, leads to the live server.
    invitation = wait_for_mail(smtp, NEW_EMAIL, sent_before)
    assert "Ailleville" in invitation.subject
    link = link_in(invitation)
    assert link.startswith(live_server.url + "/"), link

    # 6. The secretary, in her own browser, opens the link and chooses her password.
    secretary = new_page()
    secretary.goto(link)
    expect(secretary.locator("main h1")).to_have_text(t("Activate your account"))
    expect(secretary.locator("main")).to_contain_text(NEW_EMAIL)
    expect(secretary.get_by_label(t("First name and last name"))).to_have_value(NEW_NAME)
    secretary.get_by_label(t("New password")).fill(NEW_PASSWORD)
    secretary.get_by_label(t("Confirm the password")).fill(NEW_PASSWORD)
    assert overflow(secretary) == 0
    shot(secretary, "06-activation")
    secretary.get_by_role("button", name=t("Save my password")).click()

    # 7. She lands signed in, on the home page of Ailleville (one mairie: no switcher yet).
    expect(flash(secretary)).to_contain_text(t("Your password is saved. Welcome!"))
    expect(secretary.locator("main h1")).to_have_text("Ailleville")
    expect(secretary.locator("main")).to_contain_text(NEW_NAME)
    expect(secretary.locator("#collectivity-switch")).to_have_count(0)
    shot(secretary, "07-home-secretary")

    # 8. The mayor of Jaucourt gives her access too: an existing account gets a "new access" e-mail.
    mayor_b = new_page()
    sign_in(mayor_b, world.users["mayor_b"].email, world.password)
    expect(mayor_b.locator("main h1")).to_have_text("Jaucourt")
    mayor_b.goto("/mairie/membres/inviter")
    mayor_b.get_by_label(t("E-mail address")).fill(NEW_EMAIL)
    mayor_b.get_by_label(t("Role")).select_option("secretary")
    sent_before = len(smtp.messages)
    mayor_b.get_by_role("button", name=t("Send the invitation")).click()
    expect(flash(mayor_b)).to_contain_text(t("An invitation has been sent to %(email)s.", email=NEW_EMAIL))
    expect(mayor_b.locator("main table tr", has_text=NEW_EMAIL)).to_contain_text(t("Active"))
    new_access = wait_for_mail(smtp, NEW_EMAIL, sent_before)
    assert "Jaucourt" in new_access.subject
    assert link_in(new_access).startswith(live_server.url + "/")

    # 9. The secretary now sees the collectivity switcher in the header and moves to Jaucourt.
    secretary.reload()
    switcher = secretary.get_by_label(t("Working for"))
    expect(switcher).to_be_visible()
    expect(switcher).to_have_value(str(world.a))
    expect(switcher.locator("option")).to_have_text(["Ailleville", "Jaucourt"])
    assert overflow(secretary) == 0
    shot(secretary, "08-secretary-switcher", full_page=False)
    with secretary.expect_navigation():
        switcher.select_option(label="Jaucourt")  # the script submits on change (the button is for no-JS)
    expect(flash(secretary)).to_contain_text(t("You are now working for %(name)s.", name="Jaucourt"))
    expect(secretary.locator("main h1")).to_have_text("Jaucourt")
    expect(secretary.get_by_label(t("Working for"))).to_have_value(str(world.b))
    expect(secretary.locator("main")).to_contain_text(t("Convention %(number)s", number="T-B"))
    shot(secretary, "09-home-secretary-after-switch")

    # 10. The mayor's audit log tells the story.
    mayor.get_by_role("navigation", name=t("Main menu")).get_by_role("link", name=t("Audit log")).click()
    expect(mayor.locator("main h1")).to_have_text(t("Audit log of %(name)s", name="Ailleville"))
    log = mayor.locator("main table")
    expect(log).to_contain_text("member.invited")
    expect(log).to_contain_text(NEW_EMAIL)
    expect(log).not_to_contain_text("Jaucourt")  # Jaucourt's invitation belongs to Jaucourt's log
    assert overflow(mayor) == 0
    shot(mayor, "10-audit-log-mayor")


def test_department_pages(world, live_server, new_page, shot, t, sign_in, overflow):
    admin = new_page()
    sign_in(admin, world.users["dept_admin"].email, world.password)
    expect(admin.locator("main h1")).to_have_text(t("Collectivities of the department"))
    expect(admin.locator("main table")).to_contain_text("Ailleville")
    assert overflow(admin) == 0
    shot(admin, "11-admin-collectivities")

    admin.get_by_label(t("Search")).fill("Ailleville")
    admin.get_by_role("button", name=t("Search")).click()
    admin.locator("main table").get_by_role("link", name="Ailleville").click()
    expect(admin.locator("main h1")).to_have_text("Ailleville")
    expect(admin.locator("main")).to_contain_text("T-A")
    expect(admin.locator("main")).to_contain_text(world.users["mayor_a"].email)
    assert overflow(admin) == 0
    shot(admin, "12-admin-collectivity")

    admin.get_by_role("navigation", name=t("Main menu")).get_by_role("link", name=t("Audit log")).click()
    expect(admin.locator("main h1")).to_have_text(t("Audit log of the portal"))
    expect(admin.locator("main table")).to_contain_text("auth.login")
    assert overflow(admin) == 0
    shot(admin, "13-admin-audit-log")


def test_commune_without_convention_sees_services_as_not_subscribed(world, live_server, new_page, shot, t, sign_in):
    mayor_c = new_page()
    sign_in(mayor_c, world.users["mayor_c"].email, world.password)
    expect(mayor_c.locator("main h1")).to_have_text("Fravaux")
    expect(mayor_c.locator(".convention-box")).to_contain_text(t("No convention in force"))
    expect(mayor_c.locator(".tile", has_text=t("Sample service"))).to_contain_text(t("Not subscribed"))
    shot(mayor_c, "14-home-not-subscribed")


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 720}, SMALL_LAPTOP, {"width": 1024, "height": 768},
                                      {"width": 390, "height": 844}], ids=["1280x720", "1366x768", "1024x768", "phone"])
def test_pages_fit_a_small_laptop_screen(world, live_server, new_page, shot, sign_in, overflow, sticking_out,
                                        viewport):
    """Nothing sticks out sideways on the screens of a town hall, for a secretary of two mairies (the longest
    header) and for the department's team (the widest tables)."""
    size = f"{viewport['width']}x{viewport['height']}"
    secretary = new_page(viewport)
    sign_in(secretary, world.users["secretary_ab"].email, world.password)
    for path, name in (("/", "home"), ("/mairie/membres", "members"), ("/profil", "profile")):
        secretary.goto(path)
        shot(secretary, f"fit-{size}-secretary-{name}", full_page=False)
        assert overflow(secretary) == 0, (path, sticking_out(secretary))
    admin = new_page(viewport)
    sign_in(admin, world.users["dept_admin"].email, world.password)
    for path, name in (("/admin/collectivites", "collectivities"), (f"/admin/collectivites/{world.a}", "collectivity"),
                       ("/admin/journal", "audit")):
        admin.goto(path)
        shot(admin, f"fit-{size}-admin-{name}", full_page=False)
        assert overflow(admin) == 0, (path, sticking_out(admin))


def test_switcher_waits_for_the_button_when_used_with_the_keyboard(world, live_server, new_page, t, sign_in):
    """Arrow keys walk through the mairies without leaving the page; the visible button confirms."""
    secretary = new_page()
    sign_in(secretary, world.users["secretary_ab"].email, world.password)
    expect(secretary.locator("main h1")).to_have_text("Ailleville")
    switcher = secretary.get_by_label(t("Working for"))
    switcher.focus()
    secretary.keyboard.press("ArrowDown")
    switcher.select_option(label="Jaucourt")  # whatever the platform's arrow key did, Jaucourt is now chosen
    secretary.wait_for_timeout(300)
    expect(secretary.locator("main h1")).to_have_text("Ailleville")  # still there: nothing submitted yet
    button = secretary.get_by_role("button", name=t("Switch"))
    expect(button).to_be_visible()
    with secretary.expect_navigation():
        button.click()
    expect(secretary.locator("main h1")).to_have_text("Jaucourt")


def test_other_pages_look_right(world, live_server, new_page, shot, t, sign_in, overflow):
    """The pages the walk does not cross, including the error states of forms, screenshotted for review."""
    visitor = new_page()
    visitor.goto("/connexion")
    visitor.get_by_label(t("E-mail address")).fill(world.users["mayor_a"].email)
    visitor.get_by_label(t("Password")).fill("not the right password")
    visitor.get_by_role("button", name=t("Sign in")).click()
    expect(visitor.locator("main .alert, main .error-text").first).to_be_visible()
    assert overflow(visitor) == 0
    shot(visitor, "20-login-error")
    visitor.goto("/mot-de-passe-oublie")
    expect(visitor.locator("main h1")).to_have_text(t("Forgot your password?"))
    shot(visitor, "21-forgot-password")
    visitor.goto("/mot-de-passe/not-a-real-token")
    expect(visitor.locator("main h1")).to_have_text(t("Link no longer valid"))
    shot(visitor, "22-link-invalid")

    mayor = new_page()
    sign_in(mayor, world.users["mayor_a"].email, world.password)
    mayor.goto("/mairie/membres/inviter")
    mayor.get_by_label(t("E-mail address")).fill("not an address")
    mayor.get_by_role("button", name=t("Send the invitation")).click()
    expect(mayor.locator("main .field-error")).to_have_count(1)
    shot(mayor, "23-invite-form-error")
    mayor.goto("/mairie/membres")
    mayor.locator("main table tr", has_text=world.users["secretary_a"].email).get_by_role(
        "link", name=t("Change")).click()
    expect(mayor.locator("main h1")).to_have_text("Secretary A")
    assert overflow(mayor) == 0
    shot(mayor, "24-member-edit")
    mayor.goto("/profil")
    mayor.get_by_label(t("Name of the token")).fill("Logiciel de paie")
    mayor.get_by_role("button", name=t("Create a token")).click()
    expect(mayor.locator("#new-token")).to_be_visible()
    assert overflow(mayor) == 0
    shot(mayor, "25-profile-with-token")
    mayor.goto("/profil/mot-de-passe")
    shot(mayor, "26-change-password")
    mayor.goto("/mairie/nowhere")
    expect(mayor.locator("main h1")).to_have_text(t("Page not found"))
    shot(mayor, "27-not-found")

    admin = new_page()
    sign_in(admin, world.users["dept_admin"].email, world.password)
    admin.goto(f"/admin/collectivites/{world.a}")
    admin.get_by_role("link", name=t("Record a convention")).click()
    expect(admin.locator("main h1")).to_have_text(t("New convention"))
    admin.get_by_role("button", name=t("Save the convention")).click()
    expect(admin.locator("main .field-error").first).to_be_visible()
    assert overflow(admin) == 0
    shot(admin, "28-convention-form-error")
    admin.goto(f"/admin/collectivites/{world.epci}")
    admin.locator("main details summary").click()
    assert overflow(admin) == 0
    shot(admin, "29-admin-epci")


def test_switching_from_a_page_about_one_member_leads_home(world, live_server, app, new_page, t, sign_in):
    """The members list stays the members list in the other mairie; a member's own page does not exist there."""
    from portal.extensions import db
    from portal.models import Membership

    with app.app_context():
        mayor_b_membership = db.session.query(Membership).filter_by(user_id=world.users["mayor_b"].id).one().id
        db.session.query(Membership).filter_by(user_id=world.users["secretary_ab"].id).update({"role": "mayor"})
        db.session.commit()
    secretary = new_page()
    sign_in(secretary, world.users["secretary_ab"].email, world.password)
    secretary.goto("/mairie/membres")
    with secretary.expect_navigation():
        secretary.get_by_label(t("Working for")).select_option(label="Jaucourt")
    expect(secretary).to_have_url(re.compile(r"/mairie/membres$"))
    expect(secretary.locator("main h1")).to_have_text(t("Members of %(name)s", name="Jaucourt"))
    secretary.goto(f"/mairie/membres/{mayor_b_membership}")
    with secretary.expect_navigation():
        secretary.get_by_label(t("Working for")).select_option(label="Ailleville")
    expect(secretary.locator("main h1")).to_have_text("Ailleville")
    expect(secretary).to_have_url(re.compile(r"/$"))
