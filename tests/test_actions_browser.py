"""The actions page in Chromium: an organizer creates an action from a theme, starts it, gives it
to someone and closes it, on a 390 px phone and at 1920x1080, with no console error; and the
customer's "not resolved" page on a phone, in German."""

from __future__ import annotations

import os
import re

import pytest

from tracker.actions import heard, plan
from tracker.followups import changes as followups

from .conftest import LiveServer
from .helpers import wait_for_js
from .test_accessibility_browser import assert_clean, check
from .test_actions import a_story, a_theme
from .test_heard import customer, owed, speaks

pytestmark = [pytest.mark.browser, pytest.mark.live]
PASSWORD = "correct horse battery"


@pytest.fixture
def organizer_server(db_path, event):
    server = LiveServer(db_path, env={"ADMIN_PASSWORD": PASSWORD}).start()
    yield server
    server.stop(kill=True)  # nothing to drain: the test is over


def watch_console(page) -> list[str]:
    """Every console error and uncaught exception of the page, as text."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def test_an_action_from_a_theme_is_created_assigned_and_closed_in_the_browser(
    browser, organizer_server, db, event
):
    theme = a_theme(db, event, "Prices hard to find")
    story = a_story(db, event)
    plan.create(db, event["id"], theme, "Overdue already", owner="Sam", due_on="2026-01-05")
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    problems = watch_console(page)
    url = organizer_server.url
    try:
        page.goto(f"{url}/admin/login?next=/admin/actions/new%3Ftheme%3D{theme}")
        page.fill("input[name=name]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"**/admin/actions/new?theme={theme}")
        assert "Prices hard to find" in page.text_content("h1")
        page.fill("#title", "Put the price list on the home page, in every language")
        page.fill("#owner", "Ann Murphy")
        page.fill("#due_on", "2030-10-21")
        page.fill("#stories", story["reference"])
        page.click("button:has-text('Save action')")
        page.wait_for_url("**/admin/actions#a-*")
        made = int(re.search(r"#a-(\d+)$", page.url)[1])
        width = "document.documentElement.scrollWidth"
        assert page.evaluate(width) <= 390
        cards = page.locator(".ac")
        assert cards.first.locator(".title").text_content() == "Overdue already"  # overdue first
        card = page.locator(f"#a-{made}")
        card.locator("button", has_text="Start").click()
        wait_for_js(page, f"!!document.querySelector('#a-{made}.st-doing')")
        card = page.locator(f"#a-{made}")
        card.locator("summary").click()
        card.locator("input[name=owner]").fill("kim@example.org")
        card.locator("button", has_text="Save").click()
        wait_for_js(page, "document.body.textContent.includes('gave it to kim@example.org')")
        shots = os.environ.get("SHOTS_DIR")
        if shots:
            page.screenshot(path=f"{shots}/actions-390.png", full_page=True)
            page.set_viewport_size({"width": 1920, "height": 1080})
            page.screenshot(path=f"{shots}/actions-1920.png", full_page=True)
            page.goto(f"{url}/admin/actions/new?theme={theme}")
            page.screenshot(path=f"{shots}/action-new-1920.png", full_page=True)
            page.goto(f"{url}/admin/actions")
        page.locator(f"#a-{made} button", has_text="Close: done").click()
        page.wait_for_load_state("load")
        assert page.locator(f"#a-{made}").count() == 0  # done: off the "not done" list
        page.goto(f"{url}/admin/actions?status=done")
        assert page.locator(f"#a-{made}.st-done").count() == 1
        assert page.evaluate(width) <= 1920
    finally:
        context.close()
    assert problems == []
    stored = plan.get(db, event["id"], made)
    assert (stored["status"], stored["owner"], stored["due_on"]) == (
        "done",
        "kim@example.org",
        "2030-10-21",
    )
    assert [s["reference"] for s in stored["stories"]] == [story["reference"]]
    assert [e["kind"] for e in stored["history"]] == ["created", "status", "owner", "status"]


def test_a_customer_says_not_resolved_on_a_phone_in_german(browser, organizer_server, db, event):
    speaks(db, "cork", "de")
    someone = customer(db, event)
    story = owed(db, event, badge=someone["badge"], owner="Ann")
    sender = heard.Sender(heard.Settings(smtp_host="127.0.0.1"), "live-test-secret", "")
    heard.enqueue(db, sender)
    followups.set_status(db, event["id"], story["id"], "done", actor="Ann")
    heard.enqueue(db, sender)
    (body,) = db.execute("SELECT body FROM customer_messages WHERE kind = 'closed'").fetchone()
    path = re.search(r"(/heard/\S+)", body)[1]
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    problems = watch_console(page)
    try:
        results = {"heard": check(page, organizer_server.url + path)}  # axe: nothing serious
        assert page.get_attribute("html", "lang") == "de"
        shots = os.environ.get("SHOTS_DIR")
        if shots:
            page.screenshot(path=f"{shots}/heard-390.png", full_page=True)
        page.fill("#answer", "Die Preisliste fehlt immer noch")
        page.click("button:has-text('Es ist nicht gelöst')")
        wait_for_js(page, "document.body.textContent.includes('wieder geöffnet')")
        results["heard, said"] = check(page, page.url, action=lambda: None)
        assert_clean(results)
        if shots:
            page.screenshot(path=f"{shots}/heard-done-390.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
    assert problems == []
    status = db.execute("SELECT status FROM conversations WHERE uuid = ?", [story["id"]])
    assert status.fetchone()[0] == "open"
