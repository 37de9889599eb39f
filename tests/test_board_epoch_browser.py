"""A screen that watched the rehearsal celebrates the real day: which milestones were
celebrated is kept under the server's milestone epoch, which a rehearsal clear moves."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tracker.checkins import record as checkins
from tracker.corrections import rehearsal

pytestmark = [pytest.mark.browser, pytest.mark.live]

SOON = 10_000


def test_a_screen_opened_before_the_rehearsal_clear_celebrates_the_day(
    browser, live_server, db, event
):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    wall = context.new_page()
    wall.goto(live_server.url + "/board")
    expect(wall.locator("#conn")).to_have_attribute("data-state", "live")
    code = event["stations"]["booth"]["code"]
    for _ in range(5):  # 25% of the goal of 20, in rehearsal
        checkins.check_in(db, event, code, None, rehearsal=True)
    expect(wall.locator("#celebrate-big")).to_have_text("25%", timeout=SOON)
    rehearsal.clear(db, event["id"])
    expect(wall.locator("#total")).to_have_text("0", timeout=SOON)
    wall.evaluate("document.getElementById('celebrate').hidden = true")
    for _ in range(5):  # the real day reaches 25% again: the same screen celebrates it
        checkins.check_in(db, event, code, None)
    expect(wall.locator("#total")).to_have_text("5", timeout=SOON)
    expect(wall.locator("#celebrate")).to_be_visible(timeout=SOON)
    expect(wall.locator("#celebrate-big")).to_have_text("25%")
    context.close()
