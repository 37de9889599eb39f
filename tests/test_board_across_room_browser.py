"""The board from across the room, measured in Chromium at 1280x720, 1920x1080, 3840x2160 and
1080x1920, plain, with `?group=country` and with `?join`, on the demo event at "1,594 / 2,000":

- nothing overlaps: no two pieces of text cover each other (the hourly chart's legend and its
  axis labels included), and the milestone labels stay apart;
- the current hour is labelled on the hourly chart, whatever else is left out;
- no word breaks in the middle (each word's letters are on one line);
- no country's group is split across the columns of the location band;
- the hero figure is at least 72 pt (96 px) with a four-digit total, and every text at least 32 px,
  at 1080p (in proportion to the screen's shorter side elsewhere, as the board's sizes are).
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from tracker.store import db as dbm

from .conftest import DEMO_EVENT, LiveServer
from .helpers import add_checkins, add_conversation, database_with, station_ids, wait_for_js
from .test_board_layout_browser import set_totals, shows_total

pytestmark = [pytest.mark.browser, pytest.mark.live]

SIZES = [(1280, 720), (1920, 1080), (3840, 2160), (1080, 1920)]
QUERIES = ["", "?group=country", "?join=dublin", "?group=country&join=dublin"]
HERO_PX = 96  # 72 pt at 1080p
TEXT_PX = 32  # at 1080p

# Every piece of text on the board as a box: elements with text of their own that show.
MEASURE = """([heroPx, textPx]) => {
  const scale = Math.min(innerWidth, innerHeight) / 1080;
  const problems = [];
  const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden"
    && !e.closest("[hidden], .page-out, #celebrate");
  const label = (e) => (e.id ? "#" + e.id : e.className || e.tagName) + " '" + e.textContent.trim().slice(0, 30) + "'";
  const texts = [];
  for (const e of document.querySelectorAll("#board *")) {
    const own = Array.from(e.childNodes).filter((n) => n.nodeType === 3 && n.textContent.trim());
    if (own.length && shown(e)) texts.push({e, nodes: own});
  }
  // Sizes.
  for (const {e} of texts) {
    const px = parseFloat(getComputedStyle(e).fontSize);
    if (px < textPx * scale - 0.5) problems.push(`${label(e)} is ${px.toFixed(1)} px`);
  }
  const chart = Chart.getChart("chart");
  if (chart.options.font && chart.options.font.size < textPx * scale - 0.5 || Chart.defaults.font.size < textPx * scale - 0.5)
    problems.push(`the chart's text is ${Chart.defaults.font.size} px`);
  const total = parseFloat(getComputedStyle(document.getElementById("total")).fontSize);
  if (total < heroPx * scale - 0.5) problems.push(`the hero figure is ${total.toFixed(1)} px (${(total * 0.75).toFixed(0)} pt)`);
  // Words whole: every word of every text on one line.
  for (const {e, nodes} of texts) {
    for (const node of nodes) {
      const re = /\\S+/g;
      let m;
      while ((m = re.exec(node.textContent))) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set(Array.from(range.getClientRects()).filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (tops.size > 1) problems.push(`${label(e)}: '${m[0]}' breaks across lines`);
      }
    }
  }
  // Overlaps: the text of two elements never covers each other (a parent holds its child).
  const boxes = texts.map(({e, nodes}) => {
    const range = document.createRange();
    range.setStartBefore(nodes[0]);
    range.setEndAfter(nodes[nodes.length - 1]);
    // A text's box is its font's whole height (Noto's 1.36 em), taller than the lines it sits
    // in: the band of its letters is the middle 0.8 em.
    const f = parseFloat(getComputedStyle(e).fontSize);
    const rects = Array.from(range.getClientRects()).filter((r) => r.width > 0 && r.height > 0)
      .map((r) => { const mid = (r.top + r.bottom) / 2;
                    return {left: r.left, right: r.right, top: mid - 0.4 * f, bottom: mid + 0.4 * f}; });
    return {e, rects};
  });
  const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.e.contains(b.e) || b.e.contains(a.e)) continue;
      if (a.rects.some((r) => b.rects.some((s) => hit(r, s))))
        problems.push(`${label(a.e)} overlaps ${label(b.e)}`);
    }
  }
  // The chart: its legend above the plot (never on an axis label), the current hour labelled.
  const canvas = document.getElementById("chart").getBoundingClientRect();
  const legend = document.getElementById("chart-legend");
  if (!legend || !shown(legend)) problems.push("no legend beside the chart");
  else if (legend.getBoundingClientRect().bottom > canvas.top + 1) problems.push("the legend runs into the chart");
  const ticks = chart.scales.x.ticks.map((t) => t.label);
  const hours = window.trackerBoard.snapshot().hours;
  if (ticks.length !== hours.length || !ticks[ticks.length - 1]) problems.push(`the current hour has no label: ${JSON.stringify(ticks)}`);
  const y = chart.scales.y;
  if (y.top < 0 || chart.chartArea.top < 0) problems.push("the chart's top label is cut");
  // Groups: a country's header and its locations in one column of one page.
  const rows = Array.from(document.querySelectorAll("#locations > li"));
  let group = null;
  for (const li of rows) {
    if (li.classList.contains("group")) { group = li; continue; }
    if (group && (li.dataset.column !== group.dataset.column || li.classList.contains("page-out") !== group.classList.contains("page-out")))
      problems.push(`${li.querySelector(".name").textContent} is apart from its country's header`);
  }
  return problems;
}"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo event on a server of its own: engagements over the last hours, a story."""
    path = tmp_path_factory.mktemp("across-room") / "tracker.db"
    db, event = database_with(path, DEMO_EVENT)
    stations = station_ids(db, event)
    now = dbm.parse_iso(dbm.utcnow())
    for hours_ago in range(8):
        at = (now.replace(minute=5) - timedelta(hours=hours_ago)).isoformat()
        add_checkins(db, stations[hours_ago % len(stations)], 3 + hours_ago, at=at)
    add_conversation(db, stations[0], "The team sat with us and fixed our onboarding.", public=True)
    server = LiveServer(path).start()
    yield SimpleNamespace(db=db, event=event, stations=stations, url=server.url)
    server.stop(kill=True)
    db.close()


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_board_reads_from_across_the_room(browser, demo, size):
    set_totals(demo, 1594, 2000)
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    problems = {}
    try:
        for query in QUERIES:
            page = context.new_page()
            page.goto(demo.url + "/board" + query)
            shows_total(page, 1594, 2000)
            wait_for_js(page, "document.fonts.status === 'loaded'")
            found = page.evaluate(MEASURE, [HERO_PX, TEXT_PX])
            if found:
                problems[query or "plain"] = found
            page.close()
    finally:
        context.close()
    assert not problems, "\n".join(f"{q}: {p}" for q, found in problems.items() for p in found)
