"""Screens follow the server's truth: the milestones a screen celebrated are kept per run of the
day (the server's milestone epoch, which a rehearsal clear moves), and every board writes time as
its country does."""

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


def test_the_whole_events_board_writes_time_as_its_country_does(browser, live_server, event):
    """An Irish event's board: 24-hour times (English in Ireland), like Cork's own board, while
    Austin's writes 12-hour times."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    wall = context.new_page()
    for path, twelve_hour in (("/board", False), ("/board/cork", False), ("/board/austin", True)):
        wall.goto(live_server.url + path)
        expect(wall.locator("#updated")).to_contain_text("Updated", timeout=SOON)
        text = wall.locator("#updated").text_content()
        assert (" AM" in text or " PM" in text) == twelve_hour, (path, text)
    context.close()
