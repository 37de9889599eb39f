"""`?join`: a corner of the big screen with a station's QR code and short address, so people
in the room check in from the screen itself. Which station (a view test), and in a real Chromium
that the code scans to the station's page, sits on its own ground and hides no figure."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from tracker.event import lookups as events
from tracker.event import qr

from .conftest import SMALL_EVENT, LiveServer
from .helpers import database_with, decode


def _station_in_corner(client, url: str) -> str | None:
    """The check-in URL the corner's QR code carries, or None without a corner."""
    html = client.get(url).get_data(as_text=True)
    if 'id="join"' not in html:
        return None
    return html.split('data-url="', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize(
    ("url", "station"),
    [
        ("/board/cork?join=1", "demo"),  # the location's first station by name: "Demo corner"
        ("/board/cork?join=booth", "booth"),
        ("/board/cork?join=austin/stories", "stories"),
        ("/board?join=austin/stories", "stories"),
        ("/board?join=cork", "demo"),
        ("/board?join=1", None),  # two locations: which one is not clear, so no corner
        ("/board", None),
        ("/board/cork", None),
        ("/board/cork?join=0", None),
        ("/board/cork?join=nowhere", None),
        ("/board?join=cork/nowhere", None),
    ],
)
def test_join_picks_the_station_or_shows_nothing(client, event, url, station):
    found = _station_in_corner(client, url)
    if station is None:
        assert found is None
    else:
        assert found == qr.station_url(
            client.application.config["PUBLIC_URL"], event["stations"][station]["code"]
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    path = tmp_path_factory.mktemp("board-join") / "tracker.db"
    db, event = database_with(path, SMALL_EVENT)
    stations = {s["slug"]: s for s in events.stations(db, event["id"])}
    live = LiveServer(path).start()
    yield SimpleNamespace(url=live.url, stations=stations)
    live.stop(kill=True)  # nothing to drain: the module is over
    db.close()


# The corner's box never overlaps another panel's: it hides no figure.
OVERLAPS = """() => {
  const join = document.getElementById("join").getBoundingClientRect();
  return Array.from(document.querySelectorAll(".top, #hero, .panel, .ticker"))
    .filter((e) => {
      const r = e.getBoundingClientRect();
      return r.left < join.right - 1 && join.left < r.right - 1 && r.top < join.bottom - 1 && join.top < r.bottom - 1;
    })
    .map((e) => e.id || e.className);
}"""


@pytest.mark.browser
@pytest.mark.live
@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)])
def test_the_corner_scans_to_the_station_and_hides_no_figure(browser, server, size):
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.goto(server.url + "/board/cork?join=1")
        demo = server.stations["demo"]
        corner = page.locator("#join")
        expect(corner).to_be_visible()
        expect(corner).to_contain_text("Scan to check in")
        short = qr.short_url(server.url, demo["short_code"]).split("://", 1)[1]
        expect(page.locator("#join-short")).to_have_text(short)
        code = page.locator("#join-qr")
        box = code.bounding_box()
        assert box and min(box["width"], box["height"]) >= 0.2 * min(width, height), box
        # Dark modules on the corner's own white ground: it scans in the dark theme.
        assert page.eval_on_selector("#join-qr", "e => getComputedStyle(e).backgroundColor") == (
            "rgb(255, 255, 255)"
        )
        assert decode(code.screenshot()) == qr.station_url(server.url, demo["code"])
        assert page.evaluate(OVERLAPS) == []

        page.goto(server.url + "/board?join=austin/stories")
        assert decode(page.locator("#join-qr").screenshot()) == qr.station_url(
            server.url, server.stations["stories"]["code"]
        )
        assert page.evaluate(OVERLAPS) == []

        page.goto(server.url + "/board/cork")
        expect(page.locator("#total")).to_be_visible()
        expect(page.locator("#join")).to_have_count(0)
    finally:
        context.close()
