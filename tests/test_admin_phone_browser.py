"""Every page of the organizer console on a 390 px phone, full of data: nothing is wider than
the screen (tables become cards or scroll in their own box; long stories wrap between words)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tracker.contract.requests import ConversationIn
from tracker.corrections import voids
from tracker.event import lookups as events
from tracker.people import organizers
from tracker.store import db as dbm
from tracker.stories import record as conversations

from .conftest import SMALL_EVENT, LiveServer
from .helpers import add_checkins, database_with

pytestmark = [pytest.mark.browser, pytest.mark.live]

PASSWORD = "correct horse battery"
LONG_WORDS = (
    "The onboarding was smooth but the pricing page confused our procurement team for weeks, "
    "and the internationalisation of the invoices was a recurring headache in Portugal. "
)
UNBROKEN = "https://example.org/" + "x" * 120
PAGES = [
    "/admin/",
    "/admin/setup",
    "/admin/stories?show=all",
    "/admin/conversations",
    "/admin/attendees?badge=PHONE1",
    "/admin/data",
    "/admin/audit",
    "/admin/organizers",
    "/admin/privacy",
]
SHOTS = os.environ.get("ADMIN_SHOTS")  # a folder: save a screenshot of each page there


def fill(db, event: dict) -> None:
    """Enough to fill every page: 60 conversations (long stories, an unbroken URL), an
    employee's story, an attendee with a badge and records, voids, audit rows, organizers."""
    ev = events.get_event(db)
    booth = event["stations"]["booth"]
    for i in range(60):
        data = ConversationIn(
            id=uuid.uuid4(),
            station=booth["code"],
            story=(UNBROKEN if i == 3 else LONG_WORDS * (1 + i % 3)),
            nps=i % 11,
            topics=["Pricing"],
            public=True,
            follow_up=i % 10 == 0,
            contact="someone.with.a.very.long.address@example-customer-company.com"
            if i % 10 == 0
            else None,
        )
        author = conversations.Author("staff", booth["id"], staff_name="Maximilian Oberhausen")
        conversations.record(db, ev, data, author)
    cork = events.location_by_slug(db, ev["id"], "cork")
    now = dbm.utcnow()
    with dbm.write(db):
        who = db.execute(
            "INSERT INTO attendees (event_id, token, badge, created_at) VALUES (?, ?, ?, ?)",
            [ev["id"], uuid.uuid4().hex, "PHONE1", now],
        ).lastrowid
        db.execute(
            "INSERT INTO conversations (uuid, station_id, location_id, source, story, public,"
            " captured_at, received_at, counted) VALUES (?, NULL, ?, 'employee', ?, 1, ?, ?, 0)",
            [str(uuid.uuid4()), cork["id"], LONG_WORDS, now, now],
        )
        db.execute(
            "INSERT INTO conversations (uuid, station_id, attendee_id, source, story, public,"
            " captured_at, received_at) VALUES (?, ?, ?, 'attendee', ?, 1, ?, ?)",
            [str(uuid.uuid4()), booth["id"], who, LONG_WORDS, now, now],
        )
    add_checkins(db, booth["id"], 5)
    add_checkins(db, booth["id"], 2, attendee_id=who)
    first = db.execute("SELECT uuid FROM conversations ORDER BY id LIMIT 1").fetchone()[0]
    voids.void(db, ev["id"], "conversations", first, "Ann", "a test entry " + "x" * 80)
    organizers.create(db, "Ann", PASSWORD)
    organizers.create(db, "Bartholomew Featherstonehaugh-Worthington", PASSWORD)


def sign_in(page, url: str) -> None:
    page.goto(f"{url}/admin/login")
    page.fill("#name", "Ann")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/admin/")


@pytest.fixture(scope="module")
def filled_server(tmp_path_factory):
    """One server for the module, on the small event filled with `fill`: the pages only read."""
    path = tmp_path_factory.mktemp("admin-phone") / "tracker.db"
    db, event = database_with(path, SMALL_EVENT)
    event["stations"] = {s["slug"]: s for s in events.stations(db, event["id"])}
    fill(db, event)
    server = LiveServer(path).start()
    yield server
    server.stop(kill=True)
    db.close()


@pytest.mark.parametrize("width,height", [(390, 844), (1920, 1080)])
def test_every_admin_page_fits_the_screen(browser, filled_server, width, height):
    context = browser.new_context(
        viewport={"width": width, "height": height},
        has_touch=width < 800,
        is_mobile=width < 800,
    )
    page = context.new_page()
    try:
        sign_in(page, filled_server.url)
        for path in PAGES:
            page.goto(filled_server.url + path)
            assert page.locator("h1, .figures").first.is_visible(), path
            if SHOTS:
                name = path.strip("/").split("?")[0].replace("/", "-") or "admin"
                Path(SHOTS).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"{path} is {scroll} px wide on a {width} px screen"
        # A story wraps between words: no line of it ends in the middle of one.
        page.goto(filled_server.url + "/admin/stories?show=all")
        broken = page.evaluate(
            """() => [...document.querySelectorAll('td.story')].filter(td => !td.textContent.includes('https://'))
                .some(td => td.scrollWidth > td.clientWidth + 1)"""
        )
        assert not broken
    finally:
        context.close()
