"""Two tablets, one conversation: the second edit is never silently dropped. It goes to
"Needs attention" beside the version the server holds, and "Keep mine" puts it on the server."""

from __future__ import annotations

import pytest

from .helpers import wait_for_js
from .test_staff_browser import log, signed_in, stored, until, wait_synced

pytestmark = [pytest.mark.browser, pytest.mark.live]
DESKTOP = {"viewport": {"width": 1024, "height": 768}}


def edit_from_mine(page, base: str, story: str, nps: int) -> None:
    page.goto(base + "/staff/mine")
    page.click("#synced-list a:has-text('Edit')")
    wait_for_js(page, "document.getElementById('story').value !== ''")
    page.fill("#story", story)
    page.click(f".nps-scale input[value='{nps}'] + span")


def test_the_second_tablets_edit_waits_beside_the_stored_one(browser, live_server, db):
    base = live_server.url
    with signed_in(browser, base, **DESKTOP) as (_, tablet_a):
        log(tablet_a, "Loved the demo", nps=8)
        wait_synced(tablet_a)
        with signed_in(browser, base, **DESKTOP) as (_, tablet_b):
            # Both open the same version, then each saves a change of its own.
            edit_from_mine(tablet_a, base, "Loved the demo, wants a trial", 8)
            edit_from_mine(tablet_b, base, "Loved the demo", 6)
            tablet_a.click("#save")
            until(tablet_a, lambda: stored(db)[0]["revision"] == 2, "tablet A's edit")
            tablet_b.click("#save")
            tablet_b.wait_for_selector("#attention:not([hidden])", timeout=15000)
            item = tablet_b.locator("#attention-list li")
            assert "another device" in item.locator(".error").text_content()
            assert "wants a trial" in item.locator(".theirs").text_content()
            assert (stored(db)[0]["story"], stored(db)[0]["nps"]) == (
                "Loved the demo, wants a trial",
                8,
            )
            item.locator("button:has-text('Keep mine')").click()
            until(tablet_b, lambda: stored(db)[0]["nps"] == 6, "tablet B's version")
            wait_synced(tablet_b)
            assert (stored(db)[0]["story"], stored(db)[0]["revision"]) == ("Loved the demo", 3)
