"""axe-core runs on every document the browser tests load (tests/browser/conftest.py): the portal's own pages pass,
and a page with violations is reported with its rule and elements."""
from __future__ import annotations


def test_axe_checks_every_page_a_test_visits(world, page, sign_in, axe_watch, live_server):
    sign_in(page, world.users["mayor_a"].email, world.password)
    page.goto("/mairie/membres")
    page.goto("/mairie/journal")
    visited = {url.replace(live_server.url, "") for url in axe_watch.checked}
    assert {"/connexion", "/", "/mairie/membres", "/mairie/journal"} <= visited, visited
    assert axe_watch.violations == []


def test_a_page_with_violations_is_reported_clearly(page, axe_watch):
    page.set_content('<html><body><main><img src="data:,"><a href="#"></a></main></body></html>')
    axe_watch.pending.add(page)
    axe_watch.check(page)
    found, axe_watch.violations = axe_watch.violations, []  # this test's own page: not a failure of the suite
    assert any("[image-alt, critical]" in v and "img" in v for v in found), found
    assert any("html-has-lang" in v for v in found), found


def test_two_navigation_landmarks_never_share_a_name(app, world, login_as):
    """The main menu names the service « Alerte citoyen »; the service's own menu and its sub-menu must not take the
    same name (axe: landmark-unique)."""
    import re

    page = login_as("mayor_a").get("/s/sample/").get_data(as_text=True)
    names = re.findall(r'<nav[^>]*aria-label="([^"]+)"', page)
    assert "Pages du service Sample service" in names
    assert len(names) == len(set(names)), names
