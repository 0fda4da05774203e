"""The department's support mode in a real browser: an agent opens it from the collectivity's page, sees the
commune read-only under a banner that says so, and leaves it."""
from __future__ import annotations

import re

from playwright.sync_api import expect

REASON = "Appel de la secrétaire : la note du lavoir a disparu de la liste"


def test_agent_opens_and_leaves_the_support_mode(world, live_server, add_notes, new_page, shot, t, sign_in, overflow):
    add_notes(**{world.insee_a: "Lavoir communal", world.insee_b: "Four de Jaucourt"})
    agent = new_page({"width": 1366, "height": 768})
    sign_in(agent, world.users["dept_agent"].email, world.password)
    agent.goto(f"/admin/collectivites/{world.a}")
    panel = agent.locator("#support")
    expect(panel.locator("h2")).to_have_text(t("Support mode"))
    panel.get_by_label(t("Reason (shown to the mayor and kept in the audit log)")).fill("aide")
    with agent.expect_navigation():
        panel.get_by_role("button", name=t("Open the support mode")).click()
    expect(agent.locator(".flashes")).to_contain_text(t("The reason must be between 15 and 500 characters long."))
    shot(agent, "support-01-refused")

    panel.get_by_label(t("Reason (shown to the mayor and kept in the audit log)")).fill(REASON)
    panel.get_by_label(t("Duration")).select_option("15")
    with agent.expect_navigation():
        panel.get_by_role("button", name=t("Open the support mode")).click()
    banner = agent.locator(".support-banner")
    expect(banner).to_contain_text(t("Department support mode, read-only."))
    expect(banner).to_contain_text(REASON)
    expect(agent.locator("main h1")).to_have_text("Ailleville")
    shot(agent, "support-02-home")

    agent.locator(".main-nav").get_by_role("link", name=t("Sample service")).click()
    expect(agent.locator("main")).to_contain_text("Lavoir communal")
    expect(agent.locator("main")).not_to_contain_text("Four de Jaucourt")
    assert overflow(agent) == 0
    shot(agent, "support-03-service")

    with agent.expect_navigation():
        banner.get_by_role("button", name=t("Leave the support mode")).click()
    expect(agent).to_have_url(re.compile(rf"/admin/collectivites/{world.a}$"))
    expect(agent.locator(".support-banner")).to_have_count(0)
    expect(agent.locator("#support table")).to_contain_text(REASON)
    shot(agent, "support-04-closed")
