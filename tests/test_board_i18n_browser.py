"""The big screen in the languages of its locations, in a real Chromium: a location's board
speaks the location's language (else the event's; `?lang=` wins), writes numbers as that
language does, mirrors for Hebrew, and draws every script in its one self-hosted typeface."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from babel.support import Translations
from playwright.sync_api import expect

from tracker.store import db as dbm

from .conftest import DEMO_EVENT, ROOT, LiveServer
from .helpers import add_conversation, database_with, wait_for_js

pytestmark = [pytest.mark.browser, pytest.mark.live]

JAPANESE = "日本の皆さんと話せて、とても良い一日でした。"
HEBREW = "שיחה מצוינת עם הצוות, למדנו הרבה."


def translated(locale: str, message: str) -> str:
    return Translations.load(ROOT / "tracker" / "translations", [locale]).gettext(message)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo event (Berlin speaks German) with Sydney speaking Hebrew, 1,594 engagements,
    and a Hebrew and a Japanese story in the ticker (the two stories count too)."""
    path = tmp_path_factory.mktemp("board-i18n") / "tracker.db"
    db, event = database_with(path, DEMO_EVENT)
    stations = [row[0] for row in db.execute("SELECT id FROM stations ORDER BY id")]
    with dbm.write(db):
        db.execute("UPDATE locations SET language = 'he' WHERE slug = 'sydney'")
        db.execute("UPDATE events SET goal = 2000")
        db.execute("UPDATE station_totals SET checkins = 0, conversations = 0")
        db.execute("UPDATE station_totals SET checkins = 1592 WHERE station_id = ?", [stations[0]])
    add_conversation(db, stations[1], HEBREW, public=True)
    add_conversation(db, stations[2], JAPANESE, public=True)
    server = LiveServer(path).start()
    yield SimpleNamespace(url=server.url)
    server.stop(kill=True)  # nothing to drain: the module is over
    db.close()


@pytest.fixture(scope="module")
def wall(browser, demo):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    yield context.new_page()
    context.close()


def test_a_location_board_speaks_its_language_and_writes_its_numbers(wall, demo):
    wall.goto(demo.url + "/board/berlin")
    assert wall.evaluate("[document.documentElement.lang, document.documentElement.dir]") == [
        "de",
        "ltr",
    ]
    expect(wall.locator("#total")).to_have_text("1.594")
    expect(wall.locator("#goal-state")).to_have_text(translated("de", "of the goal"))
    expect(wall.locator("#scope-caption")).to_have_text(
        translated("de", "meaningful engagements across all locations")
    )
    expect(wall.locator("#hours-title")).to_have_text(translated("de", "Per hour"))
    expect(wall.locator("#conn-text")).to_have_text(translated("de", "Live"))
    assert translated("de", "of the goal") != "of the goal"

    wall.goto(demo.url + "/board")  # the event's board speaks the event's language
    assert wall.evaluate("document.documentElement.lang") == "en"
    expect(wall.locator("#total")).to_have_text("1,594")


def test_a_hebrew_board_reads_right_to_left(wall, demo):
    wall.goto(demo.url + "/board/sydney")
    assert wall.evaluate("[document.documentElement.lang, document.documentElement.dir]") == [
        "he",
        "rtl",
    ]
    expect(wall.locator("#goal-state")).to_have_text(translated("he", "of the goal"))
    # Mirrored: the column of locations on the left, the total right of the percentage.
    boxes = wall.evaluate(
        """() => Object.fromEntries(["#hero", ".locations", "#total", "#percent"].map((s) => {
          const r = document.querySelector(s).getBoundingClientRect();
          return [s, [r.left, r.right]];
        }))"""
    )
    assert boxes[".locations"][1] < boxes["#hero"][0], boxes
    assert boxes["#percent"][1] < boxes["#total"][0], boxes


def test_every_script_in_one_self_hosted_typeface(wall, demo):
    wall.goto(demo.url + "/board")
    # Both stories' glyphs are fetched, whichever the ticker shows now.
    wait_for_js(
        wall,
        """document.fonts.check('32px "Noto Sans JP"', '日本')
           && document.fonts.check('32px "Noto Sans Hebrew"', 'שיחה')
           && Array.from(document.fonts).some((f) => f.family.replace(/"/g, "") === "Noto Sans JP"
                                                   && f.status === "loaded")""",
        timeout=10000,
    )
    family = wall.evaluate("getComputedStyle(document.body).fontFamily")
    assert family.startswith('"Noto Sans"'), family
    assert wall.evaluate("Chart.defaults.font.family") == family


def test_lang_in_the_url_wins_and_japanese_han_comes_first(browser, demo):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = context.new_page()
        page.goto(demo.url + "/board/berlin?lang=ja")
        assert page.evaluate("document.documentElement.lang") == "ja"
        expect(page.locator("#goal-state")).to_have_text(translated("ja", "of the goal"))
        family = page.evaluate("getComputedStyle(document.body).fontFamily")
        assert family.index("Noto Sans JP") < family.index("Noto Sans SC"), family
        page.goto(demo.url + "/board?lang=zh-Hans")
        family = page.evaluate("getComputedStyle(document.body).fontFamily")
        assert family.index("Noto Sans SC") < family.index("Noto Sans JP"), family
    finally:
        context.close()
