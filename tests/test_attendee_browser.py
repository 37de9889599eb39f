"""The attendee's journey in a phone-sized Chromium against a real server process."""

from __future__ import annotations

import re
import sqlite3
import urllib.request
from urllib.parse import urlsplit

import pytest

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
