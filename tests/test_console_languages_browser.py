"""The console in the organizer's language in Chromium (#27): the header's language menu switches
the whole console and keeps the choice; in German (long words) and in Hebrew (right to left)
every page still fits a 390 px phone and a 1920x1080 screen, and Hebrew runs from the right."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tracker.event import lookups as events

from .conftest import SMALL_EVENT, LiveServer
from .helpers import database_with
from .test_admin_phone_browser import PAGES, fill, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.live]

SHOTS = os.environ.get("CONSOLE_SHOTS")  # a folder: screenshots of every page in each language


@pytest.fixture(scope="module")
def filled_server(tmp_path_factory):
    """One server for the module, on the small event filled as the phone test fills it."""
    path = tmp_path_factory.mktemp("console-languages") / "tracker.db"
    db, event = database_with(path, SMALL_EVENT)
    event["stations"] = {s["slug"]: s for s in events.stations(db, event["id"])}
    fill(db, event)
    server = LiveServer(path).start()
    yield server
    server.stop(kill=True)
    db.close()


def test_the_language_menu_switches_the_console_and_keeps_it(browser, filled_server):
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="en-US")
    page = context.new_page()
    try:
        sign_in(page, filled_server.url)
        assert page.locator("html").get_attribute("lang") == "en"
        page.click(".admin-bar .lang-menu summary")
        page.click(".admin-bar .lang-menu a[lang=de]")
        page.wait_for_url("**/admin/?lang=de")
        assert page.locator("html").get_attribute("lang") == "de"
        assert page.locator(".admin-bar nav a[aria-current=page]").inner_text() == "Heute"
        page.click(".admin-bar nav >> text=Gespräche")  # the cookie keeps German
        assert page.locator("h1").inner_text() == "Gespräche"
    finally:
        context.close()


@pytest.mark.parametrize("tag", ["de", "he"])
@pytest.mark.parametrize("width,height", [(390, 844), (1920, 1080)])
def test_every_console_page_fits_in_german_and_hebrew(browser, filled_server, tag, width, height):
    context = browser.new_context(
        viewport={"width": width, "height": height},
        has_touch=width < 800,
        is_mobile=width < 800,
        locale=tag,  # the browser's Accept-Language
    )
    page = context.new_page()
    try:
        sign_in(page, filled_server.url)
        for path in PAGES:
            page.goto(filled_server.url + path)
            assert page.locator("html").get_attribute("lang") == tag, path
            assert page.locator("html").get_attribute("dir") == ("rtl" if tag == "he" else "ltr")
            if SHOTS:
                name = path.strip("/").split("?")[0].replace("/", "-") or "admin"
                Path(SHOTS).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=f"{SHOTS}/{name}-{tag}-{width}.png", full_page=True)
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"{path} in {tag} is {scroll} px wide on a {width} px screen"
        page.goto(filled_server.url + "/admin/")
        page.click(".admin-bar .lang-menu summary")  # the open menu stays on the screen
        menu = page.locator(".admin-bar .lang-menu .languages").bounding_box()
        assert menu and menu["x"] >= 0 and menu["x"] + menu["width"] <= width, menu
        # Right to left: the brand starts at the right, the tables' heads align right.
        if tag == "he":
            box = page.locator(".admin-bar .brand").bounding_box()
            assert box and box["x"] + box["width"] > width * 0.75
            align = page.evaluate("getComputedStyle(document.querySelector('th')).textAlign")
            assert align in ("start", "right")
    finally:
        context.close()
