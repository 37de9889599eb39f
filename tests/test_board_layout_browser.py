"""The big screen's layout in a real Chromium, on the demo event (12 locations in 6 countries):
every figure, caption and location fits its box at every screen size and total, nothing
scrolls, and every location is on screen or on one of the pages the board turns by itself.
Bengaluru's board speaks Hindi (its location's language): the words and numbers of another
language must fit too.

One server and one page per screen serve the whole module; a test sets the totals straight in
`station_totals` (what the scoreboard reads) and waits for the board to follow over its socket.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from tracker.store import db as dbm

from .conftest import DEMO_EVENT, LiveServer
from .helpers import add_conversation, database_with, station_ids, wait_for_js

pytestmark = [pytest.mark.browser, pytest.mark.live]

SIZES = [(1280, 720), (1920, 1080), (3840, 2160), (1080, 1920)]
BOARDS = ["/board", "/board/bengaluru"]
# (total, goal): a first engagement, "1,594 / 2,000" (79%), past the goal (123%), and seven digits.
TOTALS = [(1, 1000), (1594, 2000), (12345, 10000), (1234567, 2000000)]
DEMO_LOCATIONS = {
    "Dublin HQ",
    "Cork",
    "London",
    "Manchester",
    "Edinburgh",
    "New York",
    "Austin",
    "San Francisco",
    "Berlin",
    "Munich",
    "Bengaluru",
    "Sydney",
}

# Every box that must hold its text: wider content than its box is a cut figure or word.
FITS = """() => {
  const problems = [];
  const W = innerWidth, H = innerHeight;
  const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
  const label = (e) => (e.id ? "#" + e.id : e.className || e.tagName) + " '" +
                       e.textContent.trim().slice(0, 40) + "'";
  const within = (e, box, what) => {
    const r = e.getBoundingClientRect(), b = box.getBoundingClientRect();
    if (r.left < b.left - 1 || r.right > b.right + 1 || r.top < b.top - 1 || r.bottom > b.bottom + 1)
      problems.push(`${label(e)} sticks out of ${what}: ${[r.left, r.top, r.right, r.bottom].map(Math.round)}`
                    + ` vs ${[b.left, b.top, b.right, b.bottom].map(Math.round)}`);
  };
  const fits = (e) => {
    if (!shown(e)) return;
    if (e.scrollWidth > e.clientWidth + 1)
      problems.push(`${label(e)} is wider than its box: ${e.scrollWidth} > ${e.clientWidth}`);
    within(e, document.documentElement, "the screen");
  };
  const all = (sel) => Array.from(document.querySelectorAll(sel)).filter(shown);
  all("#figures, #figures .big, #figures .caption, .progress, .marks span, .top h1, .status, .panel h2")
    .forEach(fits);
  all("#figures .figure, .progress, .marks span").forEach((e) => within(e, document.getElementById("hero"), "the hero"));
  all("#locations > li").forEach((row) => {
    fits(row);
    within(row, document.getElementById("locations"), "the location list");
    Array.from(row.children).filter((c) => !c.classList.contains("track")).forEach((c) => { fits(c); within(c, row, "its row"); });
  });
  all("#leaders > li").forEach((row) => {
    fits(row);
    within(row, document.getElementById("leaders"), "the leaderboard");
    Array.from(row.children).forEach((c) => { fits(c); within(c, row, "its row"); });
  });
  all("#hero, .panel, .ticker, #story").forEach((e) => {
    if (e.scrollHeight > e.clientHeight + 1)
      problems.push(`${label(e)} is taller than its box: ${e.scrollHeight} > ${e.clientHeight}`);
    within(e, document.documentElement, "the screen");
  });
  const big = document.getElementById("celebrate-big");
  if (shown(big)) fits(big);
  const page = document.scrollingElement;
  if (page.scrollHeight > H || page.scrollWidth > W)
    problems.push(`the page scrolls: ${page.scrollWidth}x${page.scrollHeight} in ${W}x${H}`);
  if (/more locations/.test(document.body.textContent)) problems.push("a '+ N more locations' row");
  return problems;
}"""

# The names on each page of the location list, turning the pages with the board's own pager.
PAGED_NAMES = """() => {
  const board = window.trackerBoard;
  const list = document.getElementById("locations");
  const box = list.getBoundingClientRect();
  const pages = [];
  for (let n = 0; n < board.pages().count; n++) {
    board.showPage(n);
    pages.push(Array.from(list.querySelectorAll("li.row")).filter((li) => {
      if (!li.getClientRects().length) return false;
      const r = li.getBoundingClientRect();
      return r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
    }).map((li) => li.querySelector(".name").textContent));
  }
  board.showPage(0);
  return {pages, marker: document.getElementById("locations-pager").textContent,
          markerShown: !document.getElementById("locations-pager").hidden};
}"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo event on a server of its own, with one story in the ticker."""
    path = tmp_path_factory.mktemp("board-layout") / "tracker.db"
    db, event = database_with(path, DEMO_EVENT)
    stations = station_ids(db, event)
    add_conversation(
        db,
        stations[0],
        "The team sat with us for an hour and fixed our onboarding flow on the spot. " * 3,
        public=True,
    )
    server = LiveServer(path).start()
    yield SimpleNamespace(db=db, event=event, stations=stations, url=server.url)
    server.stop(kill=True)  # nothing to drain: the module is over
    db.close()


@pytest.fixture(scope="module")
def screens(browser, demo):
    """One page per screen size and board, kept open for the whole module."""
    contexts, pages = [], {}
    for width, height in SIZES:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        for board in BOARDS:
            page = context.new_page()
            page.goto(demo.url + board)
            pages[(width, height, board)] = page
    for page in pages.values():
        expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    yield pages
    for context in contexts:
        context.close()  # before the server stops, so its graceful stop waits on no socket


def set_totals(demo, totals: dict[int, int] | int, goal: int = 1000) -> None:
    """Station totals straight in the maintained table: a dict {station index: total}, or a
    grand total spread unevenly over every station (the biggest share to the first)."""
    if isinstance(totals, int):
        weights = [i % 7 + 1 for i in range(len(demo.stations))]
        shares = [totals * w // sum(weights) for w in weights]
        shares[0] += totals - sum(shares)
        totals = dict(enumerate(shares))
    with dbm.write(demo.db):
        demo.db.execute("UPDATE events SET goal = ? WHERE id = ?", [goal, demo.event["id"]])
        demo.db.execute("UPDATE station_totals SET checkins = 0, conversations = 0")
        for i, n in totals.items():
            demo.db.execute(
                "UPDATE station_totals SET checkins = ? WHERE station_id = ?",
                [n, demo.stations[i]],
            )


def shows_total(page, total: int, goal: int) -> None:
    """The board shows these figures (written as its language writes them: 1,234,567 in
    English, 12,34,567 in Hindi)."""
    digits = "textContent.replace(/\\D/g, '')"
    wait_for_js(
        page,
        f"document.getElementById('total').{digits} === '{total}'"
        f" && document.getElementById('goal').{digits} === '{goal}'",
        timeout=5000,
    )


@pytest.mark.parametrize(("total", "goal"), TOTALS, ids=[f"{t}of{g}" for t, g in TOTALS])
def test_every_figure_and_location_fits_every_screen(screens, demo, total, goal):
    set_totals(demo, total, goal)
    problems = {}
    for (width, height, board), page in screens.items():
        shows_total(page, total, goal)
        percent = page.locator("#percent").text_content()
        assert percent == f"{total * 100 // goal}%"
        found = page.evaluate(FITS)
        if found:
            problems[f"{width}x{height}{board}"] = found
    assert not problems, problems


@pytest.mark.parametrize("board", BOARDS)
def test_every_location_is_on_screen_or_on_a_page_with_its_country_and_time(screens, demo, board):
    set_totals(demo, 1594, 2000)
    for width, height in SIZES:
        page = screens[(width, height, board)]
        shows_total(page, 1594, 2000)
        seen = page.evaluate(PAGED_NAMES)
        names = [name for names in seen["pages"] for name in names]
        assert sorted(names) == sorted(DEMO_LOCATIONS), (width, height, seen)
        if len(seen["pages"]) > 1:
            assert seen["markerShown"] and seen["marker"] == f"1/{len(seen['pages'])}"
        rows = page.locator("#locations li.row")
        assert rows.count() == 12
        for i in range(12):
            row = rows.nth(i)
            assert re.fullmatch(r"[A-Z]{2}", row.locator(".cc").text_content())
            # The location's clock as its country writes it: 14:05, or 2:05 PM in the US.
            clock = row.locator(".local-time").text_content()
            assert re.fullmatch(r"\d{1,2}:\d\d(\W?[ap]\.?m\.?)?", clock, re.I), clock


def test_secondary_text_reads_from_ten_metres_in_one_typeface(screens, demo):
    page = screens[(1920, 1080, "/board")]
    sizes = page.evaluate(
        """() => {
        const out = {};
        for (const sel of [".figure .caption", ".bars .cc", ".bars .local-time", ".bars .name",
                           ".leaders-list .at", ".leaders-list .name", ".story", ".status",
                           ".panel h2", ".nps-parts dt", ".marks span", "#locations-pager"]) {
          const e = document.querySelector(sel);
          out[sel] = e ? parseFloat(getComputedStyle(e).fontSize) : null;
        }
        out.chart = Chart.defaults.font.size;
        return out;
      }"""
    )
    small = {sel: px for sel, px in sizes.items() if px is None or px < 32}
    assert not small, sizes
    fonts = page.evaluate(
        """() => {
        const body = getComputedStyle(document.body).fontFamily;
        const root = getComputedStyle(document.documentElement).getPropertyValue("--font").trim();
        const odd = Array.from(document.querySelectorAll("#board *, #celebrate *"))
          .map((e) => getComputedStyle(e).fontFamily).filter((f) => f !== body);
        return {body, root, odd, chart: Chart.defaults.font.family};
      }"""
    )
    assert fonts["odd"] == [] and fonts["chart"] == fonts["body"], fonts
    assert fonts["root"].replace(" ", "") == fonts["body"].replace(" ", ""), fonts
    # At 4K everything doubles.
    k4 = screens[(3840, 2160, "/board")]
    caption = k4.eval_on_selector(
        ".figure .caption", "e => parseFloat(getComputedStyle(e).fontSize)"
    )
    assert caption >= 64


def test_tied_stations_share_a_rank_and_show_their_location_whole(screens, demo):
    # Three stations of three locations: 50, 50, 40; the rest at zero are no leaders.
    first, second, third = 0, 10, 20
    set_totals(demo, {first: 50, second: 50, third: 40})
    for (width, height, board), page in screens.items():
        if board != "/board":
            continue
        shows_total(page, 140, 1000)
        ranks = page.locator("#leaders .rank").all_text_contents()
        assert ranks == ["1", "1", "3"], (width, height, ranks)
        wheres = page.locator("#leaders .at").all_text_contents()
        assert len(wheres) == 3 and all(wheres), wheres
        assert page.evaluate(FITS) == [], (width, height)


def test_at_zero_no_bar_stub_and_no_list_of_the_same_station(screens, demo):
    set_totals(demo, 0)
    page = screens[(1920, 1080, "/board")]
    shows_total(page, 0, 1000)
    expect(page.locator("#leaders li")).to_have_count(1)
    expect(page.locator("#leaders li")).to_have_text(re.compile(r"No engagements yet"))
    fill = page.eval_on_selector(
        "#fill", "e => [e.getBoundingClientRect().width, getComputedStyle(e).visibility]"
    )
    assert fill[0] == 0 or fill[1] == "hidden", fill
    bars = page.eval_on_selector_all(
        "#locations .track span", "es => es.map(e => e.getBoundingClientRect().width)"
    )
    assert bars and set(bars) == {0}, bars
    assert page.evaluate(FITS) == []


def test_locations_grouped_by_country_with_subtotals_and_pages_turned_by_themselves(browser, demo):
    set_totals(demo, 1594, 2000)
    # A portrait screen: its single column of locations and headers takes pages.
    context = browser.new_context(viewport={"width": 1080, "height": 1920})
    try:
        page = context.new_page()
        page.goto(demo.url + "/board?group=country&page=3")
        shows_total(page, 1594, 2000)
        groups = page.evaluate(
            """() => {
            const out = [];
            let group = null;
            for (const li of document.querySelectorAll("#locations > li")) {
              if (li.classList.contains("group")) {
                group = {country: li.dataset.country, name: li.querySelector(".country").textContent,
                         subtotal: li.querySelector(".count").textContent, rows: []};
                out.push(group);
              } else {
                group.rows.push({country: li.dataset.country, count: li.querySelector(".count").textContent});
              }
            }
            return out;
          }"""
        )
        assert [g["country"] for g in groups].count("IE") == 1 and len(groups) == 6, groups
        assert {g["name"] for g in groups} >= {"Ireland", "United States", "India"}
        for g in groups:
            assert all(r["country"] == g["country"] for r in g["rows"]), g
            subtotal = sum(int(r["count"].replace(",", "")) for r in g["rows"])
            assert int(g["subtotal"].replace(",", "")) == subtotal, g
        subtotals = [int(g["subtotal"].replace(",", "")) for g in groups]
        assert subtotals == sorted(subtotals, reverse=True)
        assert page.evaluate(FITS) == []
        # A country's header never ends a page on its own.
        pages = page.evaluate(
            """() => {
            const board = window.trackerBoard, out = [];
            for (let n = 0; n < board.pages().count; n++) {
              board.showPage(n);
              const shown = Array.from(document.querySelectorAll("#locations > li"))
                .filter((li) => li.getClientRects().length);
              out.push(shown.map((li) => li.classList.contains("group") ? "group" : "row"));
            }
            board.showPage(0);
            return out;
          }"""
        )
        assert len(pages) > 1 and all(p[-1] == "row" for p in pages), pages
        # The board turns its pages by itself (here every 3 s).
        wait_for_js(page, "window.trackerBoard.pages().at === 1", timeout=5000)
        expect(page.locator("#locations-pager")).to_have_text(f"2/{len(pages)}")
    finally:
        context.close()


TWENTY_FOUR = """() => {
  const handler = window.trackerBoard.socket.listeners("scoreboard")[0];
  const s = structuredClone(window.trackerBoard.snapshot());
  s.locations = s.locations.concat(s.locations.map((l) => (
    {...l, slug: l.slug + "-2", name: l.name + " Two", total: Math.floor(l.total / 2)})));
  handler(s);
}"""


def test_the_demo_locations_are_all_on_a_full_hd_screen_at_once(screens, demo):
    set_totals(demo, 1594, 2000)
    page = screens[(1920, 1080, "/board")]
    shows_total(page, 1594, 2000)
    assert page.evaluate("window.trackerBoard.pages().count") == 1
    expect(page.locator("#locations-pager")).to_be_hidden()
    assert page.evaluate(FITS) == []


# At 16:9 an event's 24 locations show at once, in a band of three columns of single-line rows
# (names never cut); on a portrait screen they take pages.
@pytest.mark.parametrize(
    ("size", "at_once"), [((1920, 1080), True), ((3840, 2160), True), ((1080, 1920), False)]
)
def test_twenty_four_locations(screens, demo, size, at_once):
    set_totals(demo, 1594, 2000)
    page = screens[(*size, "/board")]
    shows_total(page, 1594, 2000)
    page.evaluate(TWENTY_FOUR)
    seen = page.evaluate(PAGED_NAMES)
    names = [name for names in seen["pages"] for name in names]
    assert len(names) == 24 and set(names) == DEMO_LOCATIONS | {f"{n} Two" for n in DEMO_LOCATIONS}
    assert page.evaluate(FITS) == []
    if at_once:
        assert len(seen["pages"]) == 1 and not seen["markerShown"], seen
        rows = page.evaluate(
            """() => Array.from(document.querySelectorAll("#locations li.row")).map((li) => {
              const name = li.querySelector(".name"), r = li.getBoundingClientRect();
              return {name: name.textContent, size: parseFloat(getComputedStyle(name).fontSize),
                      sub: parseFloat(getComputedStyle(li.querySelector(".sub")).fontSize),
                      lines: Math.round(name.getBoundingClientRect().height /
                                        parseFloat(getComputedStyle(name).lineHeight)),
                      cut: name.scrollWidth > name.clientWidth + 1, top: Math.round(r.top)};
            })"""
        )
        scale = size[1] / 1080
        assert all(r["size"] >= 32 * scale and r["sub"] >= 32 * scale for r in rows), rows
        assert not any(r["cut"] for r in rows), rows
        assert all(r["lines"] == 1 for r in rows), rows  # the demo's names fit on one line
        assert len({r["top"] for r in rows}) == 8, rows  # three columns of eight
        # The other panels stay on screen.
        for panel in ("#hero", "#nps", ".hours", ".leaders", ".ticker"):
            expect(page.locator(panel)).to_be_visible()
    else:
        assert len(seen["pages"]) > 1 and seen["markerShown"], seen
    page.reload()  # back to what the server says, for the tests after this one
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
