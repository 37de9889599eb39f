"""/insights in a real browser against a real server: a tap filters the wall, the kiosk goes back
to its start view when left alone, and a new story arrives without a touch. Screenshots at
1920x1080 and 3840x2160 are written to $INSIGHTS_SHOTS when set, for a person to look at."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tracker.store import db as dbm

from .helpers import sid, wait_for_js
from .test_insights import talk

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture
def stories(live_server, event):
    db = dbm.connect(live_server.db_path)
    booth, stories_at = sid(event, "booth"), sid(event, "stories")
    talk(db, booth, "Pricing finally makes sense", 10, ("Pricing",))
    talk(db, booth, "Support answered in minutes", 9, ("Support",))
    talk(db, stories_at, "Support could be faster", 4, ("Support",))
    talk(db, stories_at, "Demo of the pricing page", 7, ("Pricing", "Support"))
    yield db
    db.close()


def kiosk(browser, width=1920, height=1080):
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=True)
    return context, context.new_page()


def wall(page) -> list[str]:
    return page.eval_on_selector_all("#stories .story .text", "els => els.map(e => e.textContent)")


def test_a_tap_on_a_topic_filters_the_wall_and_idle_goes_back(browser, live_server, stories):
    context, page = kiosk(browser)
    try:
        page.goto(live_server.url + "/insights?idle=2")
        assert len(wall(page)) == 4
        chip = page.locator('.chip[data-filter="topic"][data-value="Pricing"]')
        box = chip.bounding_box()
        assert box["height"] >= 64 and box["width"] >= 64  # a finger, not a mouse
        chip.tap()
        wait_for_js(page, "document.querySelectorAll('#stories .story').length === 2")
        assert sorted(wall(page)) == ["“Demo of the pricing page”", "“Pricing finally makes sense”"]
        assert chip.get_attribute("aria-pressed") == "true"
        assert page.evaluate("trackerInsights.figures().nps.responses") == 2
        # left alone for 2 s: back to everything
        wait_for_js(page, "trackerInsights.resets() === 1", timeout=6000)
        wait_for_js(page, "document.querySelectorAll('#stories .story').length === 4")
        assert chip.get_attribute("aria-pressed") == "false"
        # a location and a band narrow it together; a second tap clears one
        page.locator('.chip[data-filter="location"][data-value="austin"]').tap()
        page.locator('.chip[data-filter="band"][data-value="detractor"]').tap()
        wait_for_js(page, "document.querySelectorAll('#stories .story').length === 1")
        assert wall(page) == ["“Support could be faster”"]
    finally:
        context.close()


def test_a_new_story_arrives_live(browser, live_server, stories, event):
    context, page = kiosk(browser)
    try:
        page.goto(live_server.url + "/insights")
        wait_for_js(page, "document.getElementById('conn').dataset.state === 'live'", 10000)
        talk(stories, sid(event, "demo"), "A brand new story from the demo", 10, ("Pricing",))
        wait_for_js(
            page,
            "[...document.querySelectorAll('#stories .text')]"
            ".some(e => e.textContent.includes('brand new story'))",
            timeout=10000,
        )
    finally:
        context.close()


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (3840, 2160)])
def test_it_fits_the_screen(browser, live_server, stories, width, height):
    context, page = kiosk(browser, width, height)
    try:
        page.goto(live_server.url + "/insights")
        page.wait_for_load_state("networkidle")
        page.evaluate("document.fonts.ready")
        scale = height / 1080
        heights = page.eval_on_selector_all(
            ".chip, .reset", "els => els.map(e => e.getBoundingClientRect().height)"
        )
        assert heights and min(heights) >= 64 * scale - 1
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate("document.documentElement.scrollHeight") <= height
        if os.environ.get("INSIGHTS_SHOTS"):
            page.screenshot(
                path=str(Path(os.environ["INSIGHTS_SHOTS"], f"insights-{width}.png")),
                animations="disabled",  # finished, not caught half-way
            )
    finally:
        context.close()
