"""Browser tests (DESIGN.md §6): Playwright drives Debian's Chromium against the real app served over HTTP.

- ``live_server``: the session ``app`` of tests/conftest.py served by werkzeug on 127.0.0.1 (free port) in a thread.
  While a test runs, ``SERVER_NAME``/``BASE_URL`` point to that address, so links in e-mails and ``url_for`` lead
  back to the live server; they are restored afterwards, so the other tests keep seeing ``portal.test``.
- ``browser`` (session), ``context``/``page`` (per test) and ``new_page()`` for a second person (a fresh context:
  no shared cookies).
- ``shot(page, name)`` saves a full-page screenshot to ``test-artifacts/screenshots/`` (gitignored; CI keeps it).
- ``t(msgid, **kw)``: the text the page shows for a msgid, in the French of the catalog (or the msgid while the
  catalog has no translation), so assertions hold before and after the catalog lands.

Without /usr/bin/chromium the tests are skipped with a reason — except when ``CI=true``: CI must run them, so
they fail instead.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--lang=fr-FR",  # the browser of a French town hall: dates typed as jj/mm/aaaa
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1280, "height": 720}


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _unavailable(reason: str):
    if _in_ci():
        pytest.fail(f"{reason} — CI=true: the browser tests must run in CI", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def _chromium_available():
    """First of all: no Chromium (or no Playwright) → skip every browser test (fail under CI=true)."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"Chromium not found at {CHROMIUM} (install Debian's package: apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright Python package is not installed")


# Live server ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def _live_http(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    host = f"127.0.0.1:{server.server_port}"
    yield SimpleNamespace(host=host, url=f"http://{host}")
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture
def live_server(app, world, _live_http):
    """The live app, its links pointing to itself for the time of one test. Depends on ``world`` so the data
    exists before the first request."""
    saved = {k: app.config.get(k) for k in ("SERVER_NAME", "BASE_URL")}
    app.config.update(SERVER_NAME=_live_http.host, BASE_URL=_live_http.url)
    try:
        yield _live_http
    finally:
        app.config.update(saved)


# Browser -------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser(_chromium_available):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # Playwright gives every launch a fresh temporary profile (user-data-dir), removed on close.
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def basemap_tile():
    """A plain 256×256 PNG served for every tile of the maps' base layer (``MAP_BASEMAP_URL``): the tests load
    nothing from outside, and the maps still show a base layer. ``basemap_tile.requests`` counts the tiles asked."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (236, 233, 226)).save(buf, "PNG")
    return SimpleNamespace(png=buf.getvalue(), requests=[])


@pytest.fixture
def new_page(browser, live_server, app, basemap_tile):
    """``new_page()`` → a page in a fresh browser context (its own cookies): one per person in a test."""
    from portal.maps import basemap_origin

    contexts = []
    origin = basemap_origin(app.config)

    def _tile(route):
        basemap_tile.requests.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=basemap_tile.png)

    def _new(viewport=None):
        ctx = browser.new_context(base_url=live_server.url, viewport=viewport or VIEWPORT, locale="fr-FR",
                                  timezone_id="Europe/Paris")
        ctx.set_default_timeout(10_000)
        if origin:
            ctx.route(f"{origin}/**", _tile)
        contexts.append(ctx)
        return ctx.new_page()

    yield _new
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture(scope="session")
def _screenshot_dir():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def shot(_screenshot_dir):
    def _shot(page, name: str, full_page: bool = True) -> Path:
        path = _screenshot_dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return _shot


@pytest.fixture
def t(app):
    """The French text of a msgid, as the pages render it (Babel's ``%(name)s`` interpolation included)."""
    from flask_babel import force_locale, gettext, pgettext

    def _t(msgid: str, context: str | None = None, **kw) -> str:
        with app.test_request_context(), force_locale("fr"):
            return pgettext(context, msgid, **kw) if context else gettext(msgid, **kw)

    return _t


# Helpers -------------------------------------------------------------------------------------------------------

@pytest.fixture
def sign_in():
    """``sign_in(page, email, password)`` through the real login page."""

    def _sign_in(page, email: str, password: str) -> None:
        page.goto("/connexion")
        page.locator("#email").fill(email)
        page.locator("#password").fill(password)
        with page.expect_navigation():
            page.locator("main form [type=submit]").click()

    return _sign_in


@pytest.fixture
def overflow():
    """``overflow(page)`` → how many CSS pixels the page is wider than its viewport (0: nothing sticks out)."""

    def _overflow(page) -> int:
        return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")

    return _overflow


@pytest.fixture
def sticking_out():
    """``sticking_out(page)`` → the outermost elements whose right edge passes the viewport (for error messages)."""

    def _sticking_out(page) -> list[str]:
        return page.evaluate("""() => {
            const width = document.documentElement.clientWidth, found = [];
            const scrolls = el => { for (let p = el.parentElement; p; p = p.parentElement) {
                if (["auto", "scroll", "hidden"].includes(getComputedStyle(p).overflowX)) return true; } return false; };
            for (const el of document.body.querySelectorAll("*")) {
                const r = el.getBoundingClientRect();
                if (scrolls(el)) continue;  // inside a scrolling box (a wide table): that box scrolls, not the page
                if (r.right > width + 0.5 && !found.some(f => f.contains(el))) found.push(el);
            }
            return found.map(el => el.tagName.toLowerCase() + (el.className ? "." + String(el.className).trim()
                .replace(/\\s+/g, ".") : "") + " → " + Math.round(el.getBoundingClientRect().right) + "px");
        }""")

    return _sticking_out
