"""The big screen in a real Chromium against a real server process."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from tracker.event import setup as eventsetup

from .conftest import LiveServer
from .helpers import add_checkins, add_conversation, sid, wait_for_js

pytestmark = [pytest.mark.browser, pytest.mark.live]

HD = {"width": 1920, "height": 1080}
# How long a test waits for the screen to follow a change: generous, for a loaded machine (how
# fast it follows is measured by `scripts/bench board`, not asserted here).
SOON = 10_000


@pytest.fixture
def wall(browser, live_server):
    """A 1920x1080 screen; each test gets fresh storage (nothing celebrated yet).

    It closes before the server stops, so the server's graceful stop never waits on its socket.
    """
    context = browser.new_context(viewport=HD)
    yield context.new_page()
    context.close()


def checkin(live_server, event, slug: str = "booth") -> None:
    r = requests.post(
        live_server.url + "/api/checkins",
        json={"station": event["stations"][slug]["code"]},
        timeout=5,
    )
    assert r.status_code == 201, r.text


def test_the_board_follows_checkins_and_celebrates_each_milestone_once(
    wall, live_server, db, event
):
    wall.goto(live_server.url + "/board")
    expect(wall.locator("#total")).to_have_text("0")
    expect(wall.locator("#goal")).to_have_text("20")
    expect(wall.locator("#conn")).to_have_attribute("data-state", "live")
    expect(wall.locator("#celebrate")).to_be_hidden()

    checkin(live_server, event)
    expect(wall.locator("#total")).to_have_text("1", timeout=SOON)
    expect(wall.locator("#updated")).to_contain_text("Updated")

    for _ in range(4):
        checkin(live_server, event, "stories")
    expect(wall.locator("#total")).to_have_text("5", timeout=SOON)
    expect(wall.locator("#celebrate")).to_be_visible(timeout=SOON)
    expect(wall.locator("#celebrate-big")).to_have_text("25%")
    expect(wall.locator("#marks .mark.reached")).to_have_count(1)
    expect(wall.locator("#percent")).to_have_text("25%")
    leader = wall.locator("#leaders li").first
    expect(leader).to_contain_text("Story corner")
    expect(leader).to_contain_text("4")

    # The same screen reloaded (a scheduled reload, a power cut) does not celebrate it again:
    # neither with the snapshot in the page nor with the one the link sends on connect (shown
    # once the board's snapshot is no longer the page's: each is stamped when it was made).
    wall.reload()
    expect(wall.locator("#total")).to_have_text("5")
    wait_for_js(
        wall,
        "window.trackerBoard !== undefined && trackerBoard.snapshot().updated_at !=="
        " JSON.parse(document.getElementById('snapshot').textContent).updated_at",
    )
    assert wall.locator("#celebrate").is_hidden()

    add_checkins(db, sid(event, "demo"), 15)  # straight to the goal, from another process
    expect(wall.locator("#total")).to_have_text("20", timeout=SOON)
    expect(wall.locator("#celebrate-big")).to_have_text("Goal reached!", timeout=SOON)
    expect(wall.locator("#goal-state")).to_have_text("Goal reached!")
    expect(wall.locator("#board")).to_have_class(re.compile(r"\breached\b"))
    expect(wall.locator("#marks .mark.reached")).to_have_count(4)


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160)])
def test_the_board_reads_from_across_the_room_without_scrollbars(
    browser, live_server, db, event, theme, size
):
    add_checkins(db, sid(event, "booth"), 12)
    add_conversation(db, sid(event, "stories"), "Great people " * 30, nps=9, public=True)
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/board?theme={theme}")
        expect(page.locator("#total")).to_have_text("13")
        assert page.evaluate("document.documentElement.className") == f"theme-{theme}"
        scale = height / 1080
        for figure in ("#total", "#percent", "#nps-score"):
            px = page.eval_on_selector(figure, "e => parseFloat(getComputedStyle(e).fontSize)")
            assert px >= 96 * scale, (figure, px)  # 72 pt at 1080p, scaled with the screen
        sizes = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.scrollHeight,"
            " innerWidth, innerHeight]"
        )
        assert sizes[0] <= sizes[2] and sizes[1] <= sizes[3], sizes
        expect(page.locator("#chart")).to_be_visible()
        assert page.evaluate("Chart.getChart(document.getElementById('chart')) !== undefined")
    finally:
        context.close()


def test_stories_are_shown_as_text_never_as_html(wall, live_server, db, event):
    story = '<img src=x onerror="window.pwned=1">Loved <b>it</b>'
    add_conversation(db, sid(event, "stories"), story, public=True)
    add_conversation(db, sid(event, "booth"), "a private remark", public=False)
    wall.goto(live_server.url + "/board")
    expect(wall.locator("#story-text")).to_have_text(story)
    expect(wall.locator("#story-by")).to_have_text("Story corner, Austin")
    assert wall.locator(".ticker img, .ticker b").count() == 0
    assert wall.evaluate("window.pwned") is None
    assert "a private remark" not in wall.content()


def test_a_location_board_shows_its_own_count_and_the_event_total(wall, live_server, db, event):
    add_checkins(db, sid(event, "stories"), 3)
    add_checkins(db, sid(event, "booth"), 5)
    wall.goto(live_server.url + "/board/austin?theme=light")
    expect(wall.locator("#location-total")).to_have_text("3")
    expect(wall.locator("#total")).to_have_text("8")
    expect(wall.locator("#location-name")).to_have_text("Austin")
    expect(wall.locator("#locations li.here")).to_contain_text("Austin")
    add_checkins(db, sid(event, "stories"), 1)
    expect(wall.locator("#location-total")).to_have_text("4", timeout=SOON)
    expect(wall.locator("#total")).to_have_text("9")


def test_when_the_link_drops_the_numbers_stay_and_the_board_resyncs(wall, db_path, db, event):
    server = LiveServer(db_path).start()
    try:
        add_checkins(db, sid(event, "booth"), 2)
        wall.goto(server.url + "/board")
        expect(wall.locator("#total")).to_have_text("2")
        expect(wall.locator("#conn")).to_have_attribute("data-state", "live")
        server.stop(kill=True)  # the link drops
        expect(wall.locator("#conn")).to_have_attribute("data-state", "reconnecting", timeout=5000)
        expect(wall.locator("#total")).to_have_text("2")  # the last good numbers stay

        add_checkins(db, sid(event, "booth"), 3)  # written while the screen is cut off
        server = LiveServer(db_path, port=server.port).start()
        expect(wall.locator("#conn")).to_have_attribute("data-state", "live", timeout=15000)
        expect(wall.locator("#total")).to_have_text("5", timeout=SOON)
    finally:
        wall.context.close()
        server.stop(kill=True)


def test_a_board_running_for_days_keeps_its_dom_and_chart_bounded(wall, live_server):
    wall.goto(live_server.url + "/board")
    expect(wall.locator("#conn")).to_have_attribute("data-state", "live")
    counts = wall.evaluate(
        """() => {
        const socket = window.trackerBoard.socket;
        const handler = socket.listeners('scoreboard')[0];
        const base = window.trackerBoard.snapshot();
        const nodes = [];
        for (let i = 1; i <= 600; i++) {
          const s = structuredClone(base);
          s.total = i; s.checkins = i;
          s.recent = Array.from({length: 10}, (_, k) => (
            {story: 'story ' + i + '/' + k, station: 'Main booth', location: 'Cork', at: ''}));
          handler(s);
          if (i === 100 || i === 600) nodes.push(document.getElementsByTagName('*').length);
        }
        const chart = Chart.getChart(document.getElementById('chart'));
        return {nodes, bars: chart.data.labels.length, charts: Object.keys(Chart.instances).length,
                total: document.getElementById('total').textContent};
      }"""
    )
    assert counts["total"] == "600"
    assert counts["nodes"][0] == counts["nodes"][1], counts
    assert counts["charts"] == 1 and counts["bars"] <= 24


def test_a_location_closed_while_its_screen_shows_says_so_within_seconds(
    wall, live_server, db, event
):
    from tracker.event import lookups as events

    checkin(live_server, event)  # cork's booth
    wall.goto(live_server.url + "/board/cork")
    expect(wall.locator("#conn")).to_have_attribute("data-state", "live")
    expect(wall.locator("#closed-note")).to_be_hidden()
    cork = events.location_by_slug(db, event["id"], "cork")
    eventsetup.set_active(db, "locations", cork["id"], False, "Ann")
    expect(wall.locator("#closed-note")).to_be_visible(timeout=SOON)
    expect(wall.locator("#closed-note")).to_contain_text("Cork is closed")
    expect(wall.locator("#total")).to_have_text("1")  # the event's figures stay on screen
