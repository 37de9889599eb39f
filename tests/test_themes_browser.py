"""Themes in Chromium against a real server, whose own background task finds them: stories told
in four languages are themed within seconds, /insights shows the themes (a tap filters the wall)
and the report opens with "What customers told us", with no console error; on a 390 px phone
and at 1920x1080. Screenshots go to $SHOTS_DIR when set, for a person to look at."""

from __future__ import annotations

import os
import uuid

import pytest

from tracker.contract.requests import ConversationIn
from tracker.store import db as dbm
from tracker.stories import record

from .conftest import LiveServer
from .helpers import wait_for_js, wait_until
from .theme_stories import STORIES

pytestmark = [pytest.mark.browser, pytest.mark.live]
PASSWORD = "correct horse battery"


@pytest.fixture
def themed_server(db_path, event):
    server = LiveServer(db_path, env={"ADMIN_PASSWORD": PASSWORD}).start()
    db = dbm.connect(db_path)
    station = event["stations"]["booth"]
    author = record.Author(source="staff", station_id=station["id"], staff_name="Ann")
    for _subject, _language, text, score in STORIES:
        data = ConversationIn(id=uuid.uuid4(), story=text, nps=score, public=True)
        record.record(db, event, data, author)

    # The server's themes task (a child process) reads them within seconds: nobody asks it to.
    def count(sql: str) -> int:
        return int(db.execute(sql).fetchone()[0])

    placed = "SELECT count(*) FROM theme_stories WHERE theme_id IS NOT NULL"
    wait_until(lambda: count(placed) >= 100, timeout=120, what="the server's themes task")
    named = "SELECT count(*) FROM themes WHERE public_label IS NOT NULL"
    wait_until(lambda: count(named) >= 8, timeout=60, what="public names")
    yield server
    db.close()
    server.stop(kill=True)


def watch_console(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


@pytest.mark.parametrize("size", [(1920, 1080), (390, 844)])
def test_insights_and_report_show_themes(browser, themed_server, size):
    width, height = size
    context = browser.new_context(
        viewport={"width": width, "height": height}, has_touch=True, is_mobile=width < 600
    )
    page = context.new_page()
    problems = watch_console(page)
    shots = os.environ.get("SHOTS_DIR")
    try:
        page.goto(themed_server.url + "/insights")
        chips = page.locator('#chips-theme .chip[data-filter="theme"]')
        assert chips.count() >= 8
        assert page.locator("#talk-detractors li").count() >= 1
        assert page.locator("#talk-promoters li").count() >= 1
        if shots:
            page.screenshot(path=f"{shots}/insights-themes-{width}.png")
        first = chips.first
        value = first.get_attribute("data-value")
        size_of = page.evaluate(
            f"trackerInsights.figures().choices.themes.find(t => String(t.id) === '{value}').size"
        )
        first.tap()
        wait_for_js(page, f"trackerInsights.state().theme === '{value}'")
        wait_for_js(page, f"trackerInsights.figures().filters.theme === {value}")
        assert first.get_attribute("aria-pressed") == "true"
        shown = page.locator("#stories .story").count()
        assert 0 < shown <= size_of
        page.goto(f"{themed_server.url}/admin/login?next=/admin/report")
        page.fill("input[name=name]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/admin/report")
        section = page.locator("#what-customers-told-us")
        assert section.locator("h2").text_content() == "What customers told us"
        assert section.locator(".theme").count() >= 5
        assert section.locator(".theme").first.locator(".story").count() == 3
        if shots:
            page.screenshot(path=f"{shots}/report-themes-{width}.png")
        page.goto(themed_server.url + "/admin/themes")
        assert page.locator(".th").count() >= 8
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        if shots:
            page.screenshot(path=f"{shots}/admin-themes-{width}.png")
        assert problems == []
    finally:
        context.close()
