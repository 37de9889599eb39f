"""Every page people use, checked in Chromium by axe-core (from npm, static/vendor/axe.min.js):
no serious or critical finding (WCAG 2.x A/AA rules and axe's best practices), and nothing the
page asks for answers 4xx or 5xx (a missing favicon was one in every page's console).

The pages: the attendee's (check-in, passport, a wrong short code), the employees' story page
and its thanks, the staff's (sign-in, Log, My station), the boards (with `?group=country` and
`?join`, dark and light), `/insights`, every page of the console signed in (found from the app's
routes, so a new page is checked without a line here), the report and the QR sheets.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from tracker import create_app

from .conftest import SMALL_EVENT, LiveServer
from .helpers import add_checkins, add_conversation, database_with, wait_for_js

pytestmark = [pytest.mark.browser, pytest.mark.live]

PASSWORD = "correct horse battery staple"
SERIOUS = ("serious", "critical")

# What axe reports of a page, in short: rule, impact, how many nodes and the first few targets.
AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({
    rule: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
    targets: v.nodes.slice(0, 4).map((n) => n.target.join(" ") + " " + (n.failureSummary || "").split("\\n")[1]),
  }));
}"""


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """The small event with a morning's records (stories, scores, a follow-up) on a server of
    its own, with an organizer's password."""
    path = tmp_path_factory.mktemp("a11y") / "tracker.db"
    db, event = database_with(path, SMALL_EVENT)
    stations = {
        row[0]: row[1]
        for row in db.execute(
            "SELECT s.slug, s.id FROM stations s JOIN locations l ON l.id = s.location_id"
            " WHERE l.event_id = ?",
            [event["id"]],
        )
    }
    codes = {
        row[0]: row[1]
        for row in db.execute(
            "SELECT s.slug, s.code FROM stations s JOIN locations l ON l.id = s.location_id"
            " WHERE l.event_id = ?",
            [event["id"]],
        )
    }
    add_checkins(db, stations["booth"], 7)
    add_checkins(db, stations["stories"], 4)
    add_conversation(db, stations["booth"], "They fixed our onboarding on the spot.", 10, True)
    add_conversation(db, stations["demo"], "Pricing page was confusing.", 5, True)
    add_conversation(db, stations["stories"], "Support answered within the hour.", 8, True)
    server = LiveServer(path, env={"ADMIN_PASSWORD": PASSWORD}).start()
    yield SimpleNamespace(url=server.url, codes=codes, db=db, path=path)
    server.stop(kill=True)
    db.close()


def console_pages(path) -> list[str]:
    """Every console page a browser opens: the GET routes under /admin without a parameter,
    less the downloads (CSV, the backup, exports)."""
    app = create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "x"})
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/admin")
        and "GET" in rule.methods
        and not rule.arguments
        and not re.search(r"\.(csv|db|json)$|/login$|/export", rule.rule)
    ) + ["/sheets", "/sheets/cork"]


def check(page, url: str, action=None) -> dict:
    """Open `url` (or do `action`), wait until the page settles, run axe: what failed."""
    failed: list[str] = []

    def answered(response) -> None:
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    page.on("response", answered)
    try:
        if action is None:
            page.goto(url)
        else:
            action()
        page.wait_for_load_state("networkidle")
        page.add_script_tag(url="/static/vendor/axe.min.js")
        found = [v for v in page.evaluate(AXE) if v["impact"] in SERIOUS]
    finally:
        page.remove_listener("response", answered)
    return {"axe": found, "http": failed}


def run(context, url: str, action=None) -> dict:
    page = context.new_page()
    try:
        return check(page, url, action)
    finally:
        page.close()


def assert_clean(results: dict) -> None:
    lines = []
    for url, result in results.items():
        for v in result["axe"]:
            lines.append(f"{url}: {v['impact']} {v['rule']} x{v['count']}: {v['targets']}")
        lines += [f"{url}: {answer}" for answer in result["http"]]
    assert not lines, "\n".join(lines)


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_boards_and_insights(browser, day, theme):
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, base_url=day.url)
    try:
        results = {}
        for path in (
            "/board",
            "/board?group=country",
            "/board?join=cork",
            "/board/cork?join=1",
            "/board/austin?lang=he",
            "/insights",
            "/insights?lang=ja",
        ):
            url = f"{path}{'&' if '?' in path else '?'}theme={theme}"
            page = context.new_page()
            try:

                def open_live(page=page, url=url) -> None:
                    page.goto(url)
                    wait_for_js(
                        page, "document.getElementById('conn').dataset.state === 'live'", 20000
                    )

                results[url] = check(page, url, open_live)
            finally:
                page.close()
        assert_clean(results)
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["en", "he", "hi"])
def test_attendee_and_employee_pages(browser, day, lang):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, base_url=day.url, is_mobile=True, has_touch=True
    )
    try:
        results = {}
        booth = day.codes["booth"]
        page = context.new_page()
        results["checkin"] = check(page, f"/s/{booth}?lang={lang}")
        page.locator("#stamps li").first.wait_for()
        results["me"] = check(page, "/me")
        page.close()
        results["index"] = run(context, "/")
        results["tce"] = run(context, "/tce/cork")
        page = context.new_page()
        page.goto("/tce/cork")
        page.fill("textarea[name=story]", "I answered a customer's call on a Sunday.")
        results["tce thanks"] = check(
            page, "", action=lambda: page.locator("form button[type=submit]").click()
        )
        page.close()
        # A wrong short code is a friendly 404 page: that answer is expected, the rest is not.
        wrong = run(context, "/j/AAAAAA")
        wrong["http"] = [u for u in wrong["http"] if not u.startswith("404 ") or "/j/" not in u]
        results["404"] = wrong
        assert_clean(results)
    finally:
        context.close()


def test_staff_pages(browser, day):
    context = browser.new_context(
        viewport={"width": 820, "height": 1180}, base_url=day.url, has_touch=True
    )
    try:
        results = {}
        page = context.new_page()
        results["sign-in"] = check(page, "/staff")

        def sign_in():
            page.select_option("#station", label="Main booth")
            page.fill("#name", "Ann")
            page.fill("#pin", "1111")
            page.click("form.signin button[type=submit]")
            page.wait_for_url("**/staff/capture")

        results["capture"] = check(page, "", action=sign_in)
        results["mine"] = check(page, "/staff/mine")
        results["capture he"] = check(page, "/staff/capture?lang=he")
        page.close()
        assert_clean(results)
    finally:
        context.close()


def test_console_report_and_sheets_signed_in(browser, day):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=day.url)
    try:
        page = context.new_page()
        results = {"login": check(page, "/admin/login")}
        page.fill("input[name=name]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url("**/admin/")
        for path in console_pages(day.path):
            results[path] = check(page, path)
        page.close()
        assert_clean(results)
        # The report fits a phone: it never scrolls sideways (its wide tables scroll inside).
        phone = browser.new_context(
            storage_state=context.storage_state(),
            viewport={"width": 390, "height": 844},
            base_url=day.url,
            is_mobile=True,
        )
        try:
            report = phone.new_page()
            report.goto("/admin/report")
            width = report.evaluate("[document.scrollingElement.scrollWidth, innerWidth]")
            assert width[0] <= width[1], width
        finally:
            phone.close()
    finally:
        context.close()
