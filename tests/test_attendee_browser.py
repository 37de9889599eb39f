"""The attendee's journey in a phone-sized Chromium against a real server process."""

from __future__ import annotations

import re
import sqlite3
import urllib.request
from urllib.parse import urlsplit

import pytest

from tracker.store import db as dbm
from tracker.stories.text import reference
from tracker.web.identity import ATTENDEE_COOKIE

from .helpers import decode

pytestmark = [pytest.mark.browser, pytest.mark.live]

PAGE_BUDGET = 30 * 1024


def scan(server_url: str, code: str) -> str:
    """What a phone camera reads from the station's printed QR code."""
    with urllib.request.urlopen(f"{server_url}/qr/{code}.png", timeout=5) as r:
        return decode(r.read())


def wire_bytes(requests: list) -> int:
    total = 0
    for request in requests:
        sizes = request.sizes()
        total += sum(sizes[k] for k in sizes)
    return total


def test_phone_scans_two_stations_and_tells_a_story(live_server, phone, event):
    seen = []
    phone.on("requestfinished", lambda request: seen.append(request))
    url = scan(live_server.url, event["stations"]["booth"]["code"])
    assert url == f"{live_server.url}/s/{event['stations']['booth']['code']}"

    phone.goto(url)
    status = phone.locator("#status")
    status.filter(has_text="You're checked in at Main booth, Cork").wait_for()
    assert phone.locator("#stamps li").count() == 1
    assert phone.locator("#total").inner_text() == "1"
    assert phone.locator("#goal").inner_text() == "20"
    badge = phone.locator("#badge").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{6}", badge)
    phone.wait_for_load_state("networkidle")
    first_visit = list(seen)
    assert {urlsplit(r.url).netloc for r in first_visit} == {urlsplit(live_server.url).netloc}
    assert wire_bytes(first_visit) < PAGE_BUDGET, [r.url for r in first_visit]

    phone.goto(scan(live_server.url, event["stations"]["demo"]["code"]))
    status.filter(has_text="You're checked in at Demo corner, Cork").wait_for()
    assert phone.locator("#stamps li").all_inner_texts() == ["Main booth Cork", "Demo corner Cork"]
    assert phone.locator("#total").inner_text() == "2"

    # Opening the same station again is a repeat: stored, shown, not counted.
    phone.goto(url)
    status.filter(has_text="You've already visited Main booth, Cork").wait_for()
    assert phone.locator("#total").inner_text() == "2"

    phone.fill("#story-text", "The demo finally showed me how to fix our onboarding.")
    phone.locator(".scores label", has_text=re.compile(r"^9$")).click()
    phone.check("#follow-up")
    phone.fill("#contact", "ann@example.org")
    phone.click("#story-form button[type=submit]")
    phone.locator("#thanks").wait_for(state="visible", timeout=10_000)
    reference = phone.locator("#reference").inner_text()
    assert re.fullmatch(r"T-\d+", reference)
    assert "We heard you — reference" in phone.locator("#thanks h2").inner_text()

    with sqlite3.connect(live_server.db_path) as conn:
        assert conn.execute("SELECT sum(counted), count(*) FROM checkins").fetchone() == (2, 3)
        assert conn.execute(
            "SELECT source, nps, follow_up, contact FROM conversations"
        ).fetchall() == [("attendee", 9, 1, "ann@example.org")]

    # The passport's badge QR code, as rendered on the phone, scans back to the badge code.
    phone.goto(f"{live_server.url}/me")
    assert decode(phone.locator("img.badge-qr").screenshot()) == badge
    assert "2 stations visited" in phone.locator("main").inner_text()


def test_with_javascript_off_one_button_checks_in(live_server, browser, event):
    context = browser.new_context(viewport={"width": 360, "height": 740}, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/s/{event['stations']['stories']['code']}")
        with sqlite3.connect(live_server.db_path) as conn:
            assert conn.execute("SELECT count(*) FROM checkins").fetchone()[0] == 0
        page.get_by_role("button", name="Check me in").click()
        page.locator("#status", has_text="You're checked in at Story corner, Austin").wait_for()
        assert page.locator("#stamps li").all_inner_texts() == ["Story corner Austin"]
        with sqlite3.connect(live_server.db_path) as conn:
            assert conn.execute("SELECT count(*) FROM checkins").fetchone()[0] == 1
    finally:
        context.close()


def test_unknown_station_shows_a_friendly_page(live_server, phone):
    response = phone.goto(f"{live_server.url}/s/not-a-real-code")
    assert response.status == 404
    assert "We can't find that" in phone.locator("h1").inner_text()


def lose_first_answer(page, pattern: str) -> list:
    """Route `pattern` so that its first request reaches the server but its answer (and any
    cookie in it) never reaches the page; the page's own retries of it fail too."""
    reached = []

    def handle(route):
        if not reached:
            # route.fetch() keeps the answer's Set-Cookie in the context: lose that too.
            cookies = page.context.cookies()
            reached.append(route.fetch().status)
            page.context.clear_cookies()
            page.context.add_cookies(cookies)
        route.abort()

    page.route(pattern, handle)
    return reached


def station_rows(db_path, station_id: int) -> tuple:
    database = dbm.connect(db_path)
    try:
        return database.execute(
            "SELECT (SELECT count(*) FROM attendees),"
            " (SELECT count(*) FROM checkins WHERE station_id = :s),"
            " (SELECT coalesce(sum(counted), 0) FROM checkins WHERE station_id = :s)",
            {"s": station_id},
        ).fetchone()
    finally:
        database.close()


def test_reload_after_a_lost_first_answer_counts_once(live_server, phone, event):
    booth = event["stations"]["booth"]
    url = f"{live_server.url}/s/{booth['code']}"
    reached = lose_first_answer(phone, "**/api/checkins")
    with phone.expect_event("requestfailed", lambda r: r.url.endswith("/api/checkins")):
        phone.goto(url)
    assert reached == [201]
    assert station_rows(live_server.db_path, booth["id"]) == (1, 1, 1)
    assert not [c for c in phone.context.cookies() if c["name"] == ATTENDEE_COOKIE]

    phone.unroute("**/api/checkins")
    phone.reload()
    phone.locator("#status", has_text="You're checked in at Main booth, Cork").wait_for()
    # The reload sent the kept id again: one person, one check-in, counted once.
    assert station_rows(live_server.db_path, booth["id"]) == (1, 1, 1)
    assert phone.locator("#total").inner_text() == "1"
    assert phone.locator("#stamps li").all_inner_texts() == ["Main booth Cork"]
    assert phone.evaluate("Object.keys(localStorage)") == []

    # Nothing is pending any more: another station checks in as usual, and the booth again is
    # a repeat under a new id (not the kept one, which would show as counted).
    phone.goto(f"{live_server.url}/s/{event['stations']['demo']['code']}")
    phone.locator("#status", has_text="You're checked in at Demo corner, Cork").wait_for()
    phone.goto(url)
    phone.locator("#status", has_text="You've already visited Main booth, Cork").wait_for()
    assert station_rows(live_server.db_path, booth["id"]) == (1, 2, 1)
    assert station_rows(live_server.db_path, event["stations"]["demo"]["id"]) == (1, 1, 1)
    assert phone.evaluate("Object.keys(localStorage)") == []


STORY_API = "**/api/conversations/*"
SAVED = "Saved on your phone — we'll send it when you're back online."
OUTBOX_SIZE = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("tracker-attendee");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const count = open.result.transaction("outbox").objectStore("outbox").count();
    count.onsuccess = () => { open.result.close(); resolve(count.result); };
  };
})"""


def stories(db_path) -> list[tuple[int, str, str]]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT id, uuid, story FROM conversations ORDER BY id").fetchall()


def checked_in(page, live_server, station: dict, text: str) -> None:
    """Open the station page, wait for the check-in, and type a story (not sent yet)."""
    page.goto(f"{live_server.url}/s/{station['code']}")
    page.locator("#status", has_text="checked in at").or_(
        page.locator("#status", has_text="already visited")
    ).wait_for()
    page.fill("#story-text", text)


def assert_thanked_once(page, db_path, text: str) -> None:
    page.locator("#thanks").wait_for(state="visible", timeout=10_000)
    rows = stories(db_path)
    assert [story for _, _, story in rows] == [text]
    # The reference shown is the one of the record stored the first time.
    assert page.locator("#reference").inner_text() == reference(rows[0][0])
    assert page.evaluate(OUTBOX_SIZE) == 0
    assert page.evaluate("Object.keys(localStorage)") == []


def test_story_resent_after_a_reload_is_stored_once(live_server, phone, event):
    """Reload during the send: the story reached the server, its answer did not. The reload
    sends the waiting story again by itself, under the same id."""
    checked_in(phone, live_server, event["stations"]["booth"], "Loved the live demo.")
    reached = lose_first_answer(phone, STORY_API)
    with phone.expect_event("requestfailed", lambda r: "/api/conversations/" in r.url):
        phone.click("#story-form button[type=submit]")
    assert reached == [201]
    phone.locator("#story-status", has_text=SAVED).wait_for()
    assert phone.evaluate(OUTBOX_SIZE) == 1

    phone.unroute(STORY_API)
    phone.reload()
    assert_thanked_once(phone, live_server.db_path, "Loved the live demo.")
    phone.locator("#status", has_text="You've already visited Main booth, Cork").wait_for()
    assert phone.locator("#story").is_hidden()


def test_story_typed_offline_arrives_once(live_server, phone, event):
    """The network drops at the exact moment of sending: the story waits on the phone, says
    so, and goes by itself (once) when the phone is back online."""
    text = "Typed in the basement where there is no signal."
    checked_in(phone, live_server, event["stations"]["demo"], text)
    phone.locator(".scores label", has_text=re.compile(r"^7$")).click()
    dropped = []

    def drop_network(route):
        dropped.append(route.request.method)
        phone.context.set_offline(True)
        route.abort("internetdisconnected")

    phone.route(STORY_API, drop_network)
    phone.click("#story-form button[type=submit]")
    phone.locator("#story-status", has_text=SAVED).wait_for()
    assert dropped == ["PUT"]
    assert stories(live_server.db_path) == []
    assert phone.locator("#story-text").input_value() == text
    assert phone.evaluate(OUTBOX_SIZE) == 1

    phone.unroute(STORY_API)
    phone.context.set_offline(False)  # the `online` event sends it
    assert_thanked_once(phone, live_server.db_path, text)
    with sqlite3.connect(live_server.db_path) as conn:
        assert conn.execute("SELECT nps, source FROM conversations").fetchall() == [(7, "attendee")]

    # A later load has nothing left to send.
    phone.reload()
    phone.locator("#status", has_text="You've already visited Demo corner, Cork").wait_for()
    phone.wait_for_load_state("networkidle")
    assert len(stories(live_server.db_path)) == 1
    assert phone.locator("#story-text").input_value() == ""


def test_a_waiting_story_is_sent_from_the_passport_page(live_server, phone, event):
    text = "Sent from the passport page."
    checked_in(phone, live_server, event["stations"]["booth"], text)
    phone.route(STORY_API, lambda route: route.abort("internetdisconnected"))
    phone.click("#story-form button[type=submit]")
    phone.locator("#story-status", has_text=SAVED).wait_for()

    phone.unroute(STORY_API)
    phone.goto(f"{live_server.url}/me")
    note = phone.locator("#sent-note", has_text="arrived: reference")
    note.wait_for(timeout=10_000)
    rows = stories(live_server.db_path)
    assert [story for _, _, story in rows] == [text]
    assert reference(rows[0][0]) in note.inner_text()
    assert phone.evaluate(OUTBOX_SIZE) == 0


def test_a_double_send_stores_once(live_server, phone, event):
    text = "Tapped twice in a hurry."
    checked_in(phone, live_server, event["stations"]["booth"], text)
    phone.evaluate(
        "() => { const f = document.getElementById('story-form');"
        " f.requestSubmit(); f.requestSubmit(); }"
    )
    assert_thanked_once(phone, live_server.db_path, text)


def test_a_refused_story_keeps_its_text_and_leaves_the_outbox(live_server, phone, event):
    text = "The server will refuse this one first."
    checked_in(phone, live_server, event["stations"]["booth"], text)
    refused = []

    def refuse(route):
        refused.append(route.request.post_data_json["id"])
        route.fulfill(status=422, json={"detail": "That story cannot be taken."})

    phone.route(STORY_API, refuse)
    phone.click("#story-form button[type=submit]")
    phone.locator("#story-status", has_text="That story cannot be taken.").wait_for()
    assert phone.locator("#story-text").input_value() == text
    assert phone.evaluate(OUTBOX_SIZE) == 0

    phone.unroute(STORY_API)
    phone.click("#story-form button[type=submit]")
    assert_thanked_once(phone, live_server.db_path, text)
    assert stories(live_server.db_path)[0][1] != refused[0]  # a new id: nothing is under the old


def test_without_storage_the_page_checks_in_as_before(live_server, browser, event):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    # Like a private window that refuses storage: touching localStorage or IndexedDB throws.
    context.add_init_script(
        "for (const name of ['localStorage', 'indexedDB'])"
        " Object.defineProperty(window, name, {get() {"
        " throw new DOMException('denied', 'SecurityError'); }});"
    )
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    try:
        page.goto(f"{live_server.url}/s/{event['stations']['booth']['code']}")
        page.locator("#status", has_text="You're checked in at Main booth, Cork").wait_for()
        page.fill("#story-text", "Quick and easy.")
        page.click("#story-form button[type=submit]")
        page.locator("#thanks").wait_for(state="visible", timeout=10_000)
    finally:
        context.close()
    assert errors == []
    assert station_rows(live_server.db_path, event["stations"]["booth"]["id"]) == (1, 1, 1)
    assert [story for _, _, story in stories(live_server.db_path)] == ["Quick and easy."]
