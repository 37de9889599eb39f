"""The staff page in a real Chromium against a real server: capture online and offline (Plan B)."""

from __future__ import annotations

import json
import uuid as uuidlib
from contextlib import contextmanager

import pytest
import requests

from .conftest import CHROMIUM, CHROMIUM_ARGS, PINS
from .helpers import csrf_token, phone_session, wait_for_js, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.live]

PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}


def stored(db) -> list[dict]:
    return [dict(r) for r in db.query("SELECT * FROM conversations ORDER BY id")]


def station_total(db, station_id: int) -> int:
    return db.execute(
        "SELECT conversations FROM station_totals WHERE station_id = ?", [station_id]
    ).fetchone()[0]


def sign_in(page, base: str, station: str = "Main booth", pin: str = PINS["booth"]) -> None:
    page.goto(base + "/staff")
    page.select_option("#location", label="Cork")
    page.select_option("#station", label=station)
    page.fill("#name", "Ann")
    page.fill("#pin", pin)
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/capture")
    # The service worker takes control (clients.claim) once it has cached the shell.
    wait_for_js(page, "navigator.serviceWorker.controller !== null", timeout=10000)


@contextmanager
def signed_in(browser, base: str, init_script: str | None = None, **options):
    """A new browser context (a phone unless `options` say otherwise; `init_script` runs in every
    page before the page's own) and a page in it, signed in at Main booth; closed at the end,
    however the test ends."""
    context = browser.new_context(**(options or PHONE))
    if init_script is not None:
        context.add_init_script(init_script)
    page = context.new_page()
    try:
        sign_in(page, base)
        yield context, page
    finally:
        context.close()


def log(page, story: str, nps: int | None = None, badge: str = "") -> None:
    page.fill("#badge", badge)
    page.fill("#story", story)
    if nps is not None:
        page.click(f".nps-scale input[value='{nps}'] + span")
    page.click("#save")
    wait_for_js(page, "document.getElementById('story').value === ''")


def wait_waiting(page, n: int) -> None:
    """Until the badge says n conversations are waiting to sync."""
    wait_for_js(page, f"document.getElementById('waiting').dataset.count === '{n}'", timeout=10000)


def until(page, check, what: str, timeout: float = 10) -> None:
    """Poll the database while the page syncs in the background; between polls the page's
    events (and the test's routes) are served."""
    wait_until(check, timeout, what, poll=0.1, pause=lambda s: page.wait_for_timeout(s * 1000))


def wait_synced(page, timeout: float = 10000) -> None:
    wait_for_js(page, "document.getElementById('waiting').dataset.count === '0'", timeout=timeout)


def test_three_online_five_offline_reload_offline_then_exactly_eight(
    browser, live_server, db, event
):
    booth = event["stations"]["booth"]
    before = station_total(db, booth["id"])
    with signed_in(browser, live_server.url) as (context, page):
        for i in range(3):
            log(page, f"online story {i}", nps=i + 7)
        until(page, lambda: len(stored(db)) == 3, "three online records")
        wait_synced(page)
        assert len(stored(db)) == 3

        context.set_offline(True)
        wait_for_js(page, "document.getElementById('net').dataset.state === 'offline'")
        for i in range(5):
            log(page, f"offline story {i}", nps=i)
        wait_waiting(page, 5)
        assert page.text_content("#waiting") == "5 waiting to sync"
        assert len(stored(db)) == 3

        response = page.reload()
        assert response is not None and response.from_service_worker
        wait_for_js(page, "document.getElementById('waiting').dataset.count === '5'")
        assert page.text_content("#net") == "Offline"
        assert page.is_visible("#story")
        # The stylesheets came from the cache too (the shared one is linked without a version).
        assert "system-ui" in page.evaluate("getComputedStyle(document.body).fontFamily")
        assert (
            page.evaluate("getComputedStyle(document.querySelector('.save-bar')).position")
            == "fixed"
        )

        context.set_offline(False)
        until(page, lambda: len(stored(db)) >= 8, "eight records")
        wait_synced(page)
        rows = stored(db)
        assert len(rows) == 8
        assert sorted(r["story"] for r in rows) == sorted(
            [f"online story {i}" for i in range(3)] + [f"offline story {i}" for i in range(5)]
        )
        assert len({r["uuid"] for r in rows}) == 8
        assert station_total(db, booth["id"]) == before + 8
        offline = [r for r in rows if r["story"].startswith("offline")]
        # Saved on the device before the server received it.
        assert all(r["captured_at"] < r["received_at"] for r in offline)
        assert page.text_content("#net") == "Online"


def test_double_tap_and_a_retried_request_make_one_record(browser, live_server, db):
    # The service worker is blocked here so Playwright sees (and can cut) every request.
    context = browser.new_context(**PHONE, service_workers="block")
    page = context.new_page()
    try:
        page.goto(live_server.url + "/staff")
        page.select_option("#station", label="Main booth")
        page.fill("#name", "Ann")
        page.fill("#pin", PINS["booth"])
        page.click("button[type=submit]")
        page.wait_for_url("**/staff/capture")

        page.fill("#story", "double tapped")
        page.dblclick("#save")
        ready = "document.getElementById('story').value === '' && !document.getElementById('save').disabled"
        wait_for_js(page, ready)
        page.evaluate(  # two submits in the same tick, as a fast double tap can do
            "() => { const f = document.getElementById('capture');"
            " f.elements.story.value = 'submitted twice'; f.requestSubmit(); f.requestSubmit(); }"
        )
        wait_for_js(page, ready)
        until(page, lambda: len(stored(db)) >= 2, "two records")
        wait_synced(page)
        assert sorted(r["story"] for r in stored(db)) == ["double tapped", "submitted twice"]

        # The server stores the next one, but the reply is lost on the way back.
        cut = {"n": 0}

        def lose_reply(route):
            route.fetch()
            cut["n"] += 1
            route.abort("connectionreset")

        page.route("**/api/conversations/*", lose_reply, times=1)
        log(page, "reply lost once")
        wait_for_js(page, "document.getElementById('net').dataset.state === 'offline'")
        assert cut["n"] == 1
        assert [r["story"] for r in stored(db)].count("reply lost once") == 1
        wait_waiting(page, 1)
        page.evaluate("window.dispatchEvent(new Event('online'))")  # next flush retries
        wait_synced(page)
        assert [r["story"] for r in stored(db)].count("reply lost once") == 1
        assert len(stored(db)) == 3
    finally:
        context.close()


def test_offline_save_survives_closing_the_browser_and_syncs_after(
    browser, live_server, db, tmp_path
):
    profile = tmp_path / "profile"

    def open_profile():
        return browser.browser_type.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, **PHONE
        )

    first = open_profile()
    try:
        page = first.new_page()
        sign_in(page, live_server.url)
        first.set_offline(True)
        log(page, "kept through a browser restart", nps=10)
        wait_waiting(page, 1)
    finally:
        first.close()
    assert stored(db) == []

    second = open_profile()
    try:
        page = second.new_page()
        page.goto(live_server.url + "/staff/capture")
        until(page, lambda: len(stored(db)) == 1, "the record saved before the restart")
        wait_synced(page)
        rows = stored(db)
        assert [(r["story"], r["nps"], r["staff_name"]) for r in rows] == [
            ("kept through a browser restart", 10, "Ann")
        ]
    finally:
        second.close()


def test_invalid_data_goes_to_needs_attention_and_html_shows_as_text(browser, live_server, db):
    with signed_in(browser, live_server.url) as (context, page):
        story = '<img src=x onerror="window.__pwned = 1"><b>bold</b>'
        # A badge-shaped code nobody has, saved offline (online, the page refuses it at once).
        context.set_offline(True)
        log(page, story, badge="CCCC33")
        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        page.wait_for_selector("#attention:not([hidden])")
        assert page.text_content("#attention-list .text") == story
        assert "CCCC33" in page.text_content("#attention-list .error")
        wait_waiting(page, 0)
        assert page.text_content("#waiting") == "1 needs attention"
        assert page.is_visible("#attention-alert")
        assert stored(db) == []

        page.click("#attention-list button:has-text('Fix')")
        assert page.input_value("#story") == story
        page.fill("#badge", "")
        page.click("#save")
        until(page, lambda: len(stored(db)) == 1, "the fixed record")
        wait_synced(page)
        page.wait_for_selector("#attention", state="hidden")
        assert [r["story"] for r in stored(db)] == [story]

        # Waiting items on "My station" are shown as text too.
        context.set_offline(True)
        log(page, "<script>window.__pwned = 2</script>second")
        page.goto(live_server.url + "/staff/mine")
        page.wait_for_selector("#pending:not([hidden])")
        assert (
            page.text_content("#pending-list .text") == "<script>window.__pwned = 2</script>second"
        )
        context.set_offline(False)
        until(page, lambda: len(stored(db)) == 2, "the second record")
        wait_synced(page)
        page.reload()
        texts = page.locator("#synced-list .text").all_text_contents()
        assert sorted(texts) == sorted([story, "<script>window.__pwned = 2</script>second"])
        assert page.locator("#synced-list img").count() == 0
        assert page.evaluate("window.__pwned") is None


def test_edit_from_my_station_changes_the_record_once(browser, live_server, db):
    desktop = {"width": 1024, "height": 768}
    with signed_in(browser, live_server.url, viewport=desktop) as (context, page):
        log(page, "first version", nps=3)
        wait_synced(page)
        page.goto(live_server.url + "/staff/mine")
        page.click("#synced-list a:has-text('Edit')")
        wait_for_js(page, "document.getElementById('story').value === 'first version'")
        page.fill("#story", "second version")
        page.click(".nps-scale input[value='9'] + span")
        page.click("#save")
        until(page, lambda: stored(db)[0]["updated_at"] is not None, "the edit to arrive")
        wait_synced(page)
        rows = stored(db)
        assert [(r["story"], r["nps"]) for r in rows] == [("second version", 9)]
        assert rows[0]["updated_at"]


def test_real_server_refuses_huge_body_form_body_and_foreign_origin(live_server, db, event):
    s = phone_session()
    html = s.get(live_server.url + "/staff").text
    token = csrf_token(html)
    booth = str(event["stations"]["booth"]["id"])
    r = s.post(
        live_server.url + "/staff",
        data={"csrf_token": token, "station": booth, "pin": PINS["booth"], "name": "Ann"},
        allow_redirects=False,
    )
    assert r.status_code == 302
    url = live_server.url + "/api/conversations"
    body = {"id": str(uuidlib.uuid4()), "story": "x" * (10 * 1024 * 1024)}
    huge = s.post(url, data=json.dumps(body), headers={"Content-Type": "application/json"})
    assert huge.status_code == 413 and huge.json()["error"] == "body_too_large"
    small = {"id": str(uuidlib.uuid4()), "story": "ok"}
    assert s.post(url, data=small).status_code == 415
    assert s.post(url, json=small, headers={"Origin": "https://evil.example"}).status_code == 403
    assert requests.post(url, json=small).status_code == 401  # no session
    assert stored(db) == []
    assert s.post(url, json=small).status_code == 201
