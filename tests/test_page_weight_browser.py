"""Every attendee and staff page under 60 KB over the wire in every language it speaks, the
first time a phone opens it (a cold cache: the page, its styles, scripts, icon and fonts), in a
Chromium with no Hebrew, Devanagari or CJK font of its own, as on a kiosk or an old phone; the
attendee's check-in page under 30 KB in Latin scripts. The language switcher's names and the
emoji organizers type into topics are drawn with glyphs the page brought (never empty boxes):
this machine has no emoji font either.

Bytes are what Playwright reports per request: the response's headers and (compressed) body.
"""

from __future__ import annotations

import subprocess
from functools import cache
from types import SimpleNamespace

import pytest

from tracker.event import settings
from tracker.event.languages import LANGUAGES

from .conftest import SMALL_EVENT, LiveServer
from .helpers import database_with

pytestmark = [pytest.mark.browser, pytest.mark.live]

BUDGET = 60 * 1024
LATIN_CHECKIN_BUDGET = 30 * 1024
LATIN = ("en", "de", "fr", "es", "pt-BR")
# Topics as organizers type them, emoji and all (a skin tone, a joined sequence, a keycap).
TOPICS = ("Pricing", "☕ Coffee", "🚀 Launch", "Thanks 🙏🏽", "👩‍💻 Devs", "1️⃣ First")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

# The characters of the switcher's names and of the topic chips that are not Latin and that no
# page font that loaded covers: each must then be one of the system's own fonts (fontconfig's
# answer below).
NOT_DRAWN = """() => {
  const faces = Array.from(document.fonts).filter((f) => f.status === "loaded");
  const covered = (ch) => faces.some((f) => f.family.replace(/"/g, "").startsWith("tracker")
    && f.unicodeRange.split(",").some((r) => {
      const [a, b] = r.trim().slice(2).split("-").map((h) => parseInt(h, 16));
      const c = ch.codePointAt(0);
      return c >= a && c <= (b || a);
    }));
  const missing = [];
  // A closed menu's names are not drawn (a staff page's switcher): their fonts come when it opens.
  const shown = document.querySelectorAll(".languages a, .topics .chip span");
  for (const a of Array.from(shown).filter((a) => a.checkVisibility())) {
    for (const ch of a.textContent) if (ch.codePointAt(0) > 0x24F && !covered(ch)) missing.push(ch);
  }
  return missing;
}"""


@cache
def system_has(char: str) -> bool:
    """Whether a font installed on this machine has a glyph for `char` (fontconfig)."""
    found = subprocess.run(
        ["fc-list", f":charset={ord(char):x}", "family"], capture_output=True, text=True, check=True
    )
    return bool(found.stdout.strip())


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    path = tmp_path_factory.mktemp("weight") / "tracker.db"
    db, event = database_with(path, SMALL_EVENT)
    settings.set_topics(db, event["id"], [*TOPICS])
    code = db.execute("SELECT code FROM stations WHERE slug = 'booth'").fetchone()[0]
    server = LiveServer(path).start()
    yield SimpleNamespace(url=server.url, code=code)
    server.stop(kill=True)
    db.close()


def weigh(browser, url: str, state: dict | None = None, wait: str | None = None):
    """Bytes over the wire for a first visit to `url`, and the page's switcher check."""
    context = browser.new_context(storage_state=state, **PHONE)
    try:
        page = context.new_page()
        finished = []
        page.on("requestfinished", lambda request: finished.append(request))
        page.goto(url)
        if wait:
            page.locator(wait).first.wait_for()
        page.wait_for_load_state("networkidle")
        page.evaluate("document.fonts.ready.then(() => true)")
        total = 0
        parts = []
        for request in finished:
            sizes = request.sizes()
            size = sizes["responseHeadersSize"] + sizes["responseBodySize"]
            total += size
            parts.append(f"{size} {request.url.split('/', 3)[-1][:60]}")
        boxes = [c for c in page.evaluate(NOT_DRAWN) if not system_has(c)]
        return total, sorted(parts, key=lambda p: -int(p.split()[0])), boxes
    finally:
        context.close()


def states(browser, day, lang: str) -> tuple[dict, dict]:
    """An attendee who checked in and a staff member signed in, each having chosen `lang`."""
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        page.goto(f"{day.url}/s/{day.code}?lang={lang}")
        page.locator("#stamps li").first.wait_for()
        attendee = context.storage_state()
    finally:
        context.close()
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        page.goto(f"{day.url}/staff?lang={lang}")
        page.select_option("#station", label="Main booth")
        page.fill("#name", "Ann")
        page.fill("#pin", "1111")
        page.click("form.signin button[type=submit]")
        page.wait_for_url("**/staff/capture")
        staff = context.storage_state()
    finally:
        context.close()
    return attendee, staff


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_attendee_and_staff_page_is_light_in_every_language(browser, day, lang):
    attendee, staff = states(browser, day, lang)
    pages = {
        "check-in": weigh(browser, f"{day.url}/s/{day.code}?lang={lang}", attendee, "#stamps li"),
        "passport": weigh(browser, f"{day.url}/me", attendee),
        "employees": weigh(browser, f"{day.url}/tce/cork?lang={lang}"),
        "staff sign-in": weigh(browser, f"{day.url}/staff?lang={lang}"),
        "staff log": weigh(browser, f"{day.url}/staff/capture", staff),
        "my station": weigh(browser, f"{day.url}/staff/mine", staff),
    }
    heavy = {
        name: (total, parts[:5]) for name, (total, parts, _) in pages.items() if total > BUDGET
    }
    assert not heavy, heavy
    if lang in LATIN:
        total, parts, _ = pages["check-in"]
        assert total < LATIN_CHECKIN_BUDGET, parts
    boxes = {name: missing for name, (_, _, missing) in pages.items() if missing}
    assert not boxes, boxes
