"""The information desk in a real browser: the centre de gestion (a partner) publishes a pinned news item, a
secretary of another commune asks a question in the forum and gets the department's answer by e-mail, marks it as
the solution, and the mayor reads the news on the home page. Screenshots: test-artifacts/screenshots/desk-*.png."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.test_mayor_invites_secretary import wait_for_mail
from tests.conftest import link_in
from tests.services.desk.conftest import category, partners  # noqa: F401 - fixtures of the desk's tests

NEWS_TITLE = "Concours d'adjoint administratif : inscriptions ouvertes"
QUESTION = "Livret de famille perdu : quelle démarche ?"


def test_partner_posts_secretary_asks_department_answers_mayor_reads(world, live_server, smtp, new_page, shot, t,
                                                                    sign_in, overflow, partners, category):  # noqa: F811
    # 1. The centre de gestion publishes a pinned news item for every collectivity.
    cdg = new_page()
    sign_in(cdg, world.users["partner_cdg"].email, world.password)
    expect(cdg.locator(".eyebrow").first).to_have_text(t("Partner of the department"))
    expect(cdg.locator(".tile")).to_have_count(1)  # the desk, nothing else of the portal
    cdg.goto("/s/desk/actualites/nouvelle")
    cdg.get_by_label(t("Title"), exact=True).fill(NEWS_TITLE)
    cdg.get_by_label(t("Message")).fill("<p>Les inscriptions au concours sont ouvertes jusqu'au <strong>15 janvier"
                                        "</strong>.</p><script>alert('x')</script>")
    cdg.get_by_label(t("Pinned at the top of the home page")).check()
    cdg.get_by_label(t("Addressed to")).select_option("all")
    shot(cdg, "desk-01-partner-publishes")
    with cdg.expect_navigation():
        cdg.get_by_role("button", name=t("Publish")).click()
    expect(cdg.locator(".flashes")).to_contain_text(t("The news is published."))
    expect(cdg.locator("article .news-body strong")).to_have_text("15 janvier")
    shot(cdg, "desk-02-news-published")

    # 2. A secretary working for Jaucourt asks a question in the forum.
    secretary = new_page()
    sign_in(secretary, world.users["secretary_ab"].email, world.password)
    secretary.goto("/")
    with secretary.expect_navigation():  # the switcher submits itself on change
        secretary.locator("#collectivity-switch").select_option(str(world.b))
    expect(secretary.locator("#collectivity-switch")).to_have_value(str(world.b))
    secretary.goto("/s/desk/forum")
    secretary.get_by_role("link", name="État civil").click()
    secretary.get_by_role("link", name=t("Ask a question")).click()
    secretary.get_by_label(t("Your question in one line")).fill(QUESTION)
    secretary.get_by_label(t("Details")).fill("Une habitante a perdu son livret de famille. Que faut-il faire ?")
    with secretary.expect_navigation():
        secretary.get_by_role("button", name=t("Ask the question")).click()
    expect(secretary.locator("main h1")).to_contain_text(QUESTION)
    expect(secretary.locator("article").first).to_contain_text("Jaucourt")
    shot(secretary, "desk-03-secretary-asks")

    # 3. The department answers; the secretary, who follows her question, gets an e-mail.
    before = len(smtp.messages)
    admin = new_page()
    sign_in(admin, world.users["dept_admin"].email, world.password)
    admin.get_by_role("navigation", name=t("Main menu")).get_by_role("link", name=t("Forum")).click()
    admin.get_by_role("link", name=QUESTION).click()
    admin.get_by_label(t("Your answer")).fill("Demandez un duplicata à la mairie qui a délivré le livret.")
    with admin.expect_navigation():
        admin.get_by_role("button", name=t("Answer"), exact=True).click()
    expect(admin.locator("article").nth(1)).to_contain_text("duplicata")
    shot(admin, "desk-04-department-answers")
    mail = wait_for_mail(smtp, world.users["secretary_ab"].email, before)
    assert "duplicata" in mail.text

    # 4. The secretary follows the link of the e-mail and marks the answer as the solution.
    secretary.goto(re.sub(r"^https?://[^/]+", "", link_in(mail)))
    with secretary.expect_navigation():
        secretary.get_by_role("button", name=t("This answer is the solution")).click()
    expect(secretary.locator(".forum-solution")).to_contain_text("duplicata")
    expect(secretary.locator("main h1")).to_contain_text(t("Solved"))
    shot(secretary, "desk-05-solution")

    # 5. The mayor of Ailleville reads the news on the home page.
    mayor = new_page()
    sign_in(mayor, world.users["mayor_a"].email, world.password)
    panel = mayor.locator(".news-panel")
    expect(panel).to_contain_text(NEWS_TITLE)
    expect(panel.locator(".news-unread")).to_have_count(1)
    expect(panel.locator("script")).to_have_count(0)
    assert overflow(mayor) == 0
    shot(mayor, "desk-06-mayor-home-news")
    with mayor.expect_navigation():
        panel.get_by_role("button", name=t("Mark as read")).click()
    expect(mayor.locator(".news-panel .news-unread")).to_have_count(0)
    shot(mayor, "desk-07-mayor-news-read")
