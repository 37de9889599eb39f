"""Languages: which one a page speaks, the catalogues, and a right-to-left phone in a browser."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from tracker.event import setup as eventsetup
from tracker.event.languages import LANGUAGES, babel_name
from tracker.web import i18n

from .conftest import PINS, ROOT
from .helpers import csrf_token, wait_for_js

TRANSLATIONS = ROOT / "tracker" / "translations"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
GERMAN_NPS = "Wie wahrscheinlich ist es, dass Sie uns einem Freund oder Kollegen weiterempfehlen?"


def pybabel(*args: str) -> None:
    """`pybabel -q <args>` run from the project's folder, in this process (no subprocess)."""
    with contextlib.chdir(ROOT):
        status = CommandLineInterface().run(["pybabel", "-q", *args])
    assert not status, f"pybabel {args[0]} failed ({status})"


@pytest.fixture(scope="module", autouse=True)
def compiled():
    """The .mo files the server reads, made from the .po files as they are now."""
    pybabel("compile", "-d", str(TRANSLATIONS))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> dict:
    """A fresh extraction of every string, as scripts/translations makes it: msgid -> message."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    pybabel(
        "extract",
        "-F", "tracker/babel.cfg",
        "-k", "lazy_gettext",
        "-k", "_plural:1,2",
        "-o", str(pot),
        "tracker",
        "templates",
    )  # fmt: skip
    return messages(pot)


def messages(path: Path) -> dict:
    with path.open("rb") as f:
        return {m.id: m for m in read_po(f) if m.id}


def catalogue(tag: str) -> dict:
    return messages(TRANSLATIONS / babel_name(tag) / "LC_MESSAGES" / "messages.po")


def page(client, path: str, **headers) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def browser_catalogue(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="i18n">(.*?)</script>', html, re.S)
    assert found, "no browser catalogue"
    return json.loads(found.group(1))


# ---------------------------------------------------------------- which language a page speaks


def test_english_stays_the_default(client, event):
    html = page(client, f"/s/{event['stations']['booth']['code']}")
    assert '<html lang="en" dir="ltr">' in html
    assert "How likely are you to recommend us to a friend or colleague?" in html


def test_a_german_phone_gets_german_check_in_and_passport_pages(client, event):
    code = event["stations"]["booth"]["code"]
    german = {"Accept-Language": "de-DE,de;q=0.9"}
    html = page(client, f"/s/{code}", **german)
    assert '<html lang="de" dir="ltr">' in html
    assert GERMAN_NPS in html and "Jetzt einchecken" in html
    assert (
        browser_catalogue(html)["checked_in"] == "Sie sind eingecheckt: %(station)s, %(location)s"
    )

    client.post("/api/checkins", json={"station": code}, headers=german)
    html = page(client, "/me", **german)
    assert '<html lang="de"' in html
    assert "Ihr Pass" in html and "1 Station besucht" in html


def test_the_best_of_the_phones_languages_wins(client, event):
    code = event["stations"]["booth"]["code"]
    # Swiss German falls back to German (RFC 4647 lookup); a language we lack is skipped.
    html = page(client, f"/s/{code}", **{"Accept-Language": "sw, de-CH;q=0.8, fr;q=0.5"})
    assert '<html lang="de"' in html
    html = page(client, f"/s/{code}", **{"Accept-Language": "pt-PT, es;q=0.5"})
    assert '<html lang="pt-BR"' in html


def test_hebrew_reads_right_to_left(client, event):
    html = page(client, f"/s/{event['stations']['booth']['code']}", **{"Accept-Language": "he"})
    assert '<html lang="he" dir="rtl">' in html
    assert "עד כמה סביר שתמליצו עלינו לחבר או לעמית?" in html


def test_the_switcher_changes_the_language_and_it_sticks(client, event):
    code = event["stations"]["booth"]["code"]
    html = page(client, f"/s/{code}")
    for tag, name in LANGUAGES.items():
        assert f'href="?lang={tag}"' in html and name in html
    response = client.get(f"/s/{code}?lang=fr", headers={"Accept-Language": "de"})
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=fr;") and "SameSite=Lax" in cookie
    assert "Max-Age=31536000" in cookie
    assert '<html lang="fr"' in response.get_data(as_text=True)
    # Later pages, without the parameter and whatever the phone asks for, stay French.
    html = page(client, "/me", **{"Accept-Language": "de"})
    assert '<html lang="fr"' in html and "Votre passeport" in html
    assert '<html lang="fr"' in page(client, "/staff")
    # A language we do not speak changes nothing.
    assert '<html lang="fr"' in page(client, f"/s/{code}?lang=xx")


def test_staff_keep_the_language_they_signed_in_with(client, db, event):
    eventsetup.upsert_location(
        db, event["id"], "cork", "Cork", "Cork", "IE", "Europe/Dublin", language="de"
    )
    # Before signing in, no location is known: the event's language (English).
    html = page(client, "/staff")
    assert '<html lang="en"' in html and "Staff sign-in" in html
    booth = event["stations"]["booth"]
    form = {"csrf_token": csrf_token(html), "station": str(booth["id"]), "name": "Ann"}
    # A wrong PIN answers in the sign-in page's language, not the office's.
    wrong = client.post("/staff", data={**form, "pin": "0000", "lang": "en"})
    assert '<html lang="en"' in wrong.get_data(as_text=True)
    client.post("/staff", data={**form, "pin": PINS["booth"], "lang": "en"})
    # Signed in, the staff pages stay in the language they signed in with (they switched to the
    # office's German before, #27).
    html = page(client, "/staff/capture")
    assert '<html lang="en"' in html and "Sign out" in html
    assert browser_catalogue(html)["all_synced"] == "All synced"
    # The phone's language does not move a staff page; the switcher does, and it sticks.
    assert '<html lang="en"' in page(client, "/staff/mine", **{"Accept-Language": "ja"})
    assert '<html lang="de"' in page(client, "/staff/mine?lang=de")
    assert "Abmelden" in page(client, "/staff/capture")
    assert "Braucht Aufmerksamkeit" in page(client, "/staff/capture")


def test_staff_who_chose_a_language_before_signing_in_keep_it(client, event):
    html = page(client, "/staff?lang=ja")
    booth = event["stations"]["booth"]
    client.post(
        "/staff",
        data={
            "csrf_token": csrf_token(html),
            "station": str(booth["id"]),
            "name": "Ann",
            "pin": PINS["booth"],
            "lang": "ja",
        },
    )
    client.delete_cookie("lang")  # even where the device forgets the choice
    assert '<html lang="ja"' in page(client, "/staff/capture")


def test_an_attendee_page_of_a_location_speaks_its_language(client, db, event):
    eventsetup.upsert_location(
        db, event["id"], "cork", "Cork", "Cork", "IE", "Europe/Dublin", language="hi"
    )
    html = page(client, f"/s/{event['stations']['booth']['code']}")
    assert '<html lang="hi"' in html
    # The phone's own language comes first.
    html = page(client, f"/s/{event['stations']['booth']['code']}", **{"Accept-Language": "ja"})
    assert '<html lang="ja"' in html


def test_the_error_page_speaks_the_phones_language(client):
    response = client.get("/s/not-a-code", headers={"Accept-Language": "es-MX"})
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and '<html lang="es"' in html
    assert "Este código QR no pertenece a ninguna estación activa de este evento." in html


# ---------------------------------------------------------------- the catalogues


def test_the_committed_template_matches_a_fresh_extraction(fresh):
    committed = messages(TRANSLATIONS / "messages.pot")
    assert set(committed) == set(fresh), "stale catalogue: run scripts/translations"


@pytest.mark.parametrize("tag", list(LANGUAGES))
def test_every_string_is_in_every_catalogue_and_translated(fresh, tag):
    po = catalogue(tag)
    missing = [m for m in fresh if m not in po]
    assert not missing, f"{tag}: run scripts/translations; missing {missing[:5]}"
    if tag == "en":
        return  # English is the msgids themselves
    for msgid in fresh:
        message = po[msgid]
        assert not message.fuzzy, (tag, msgid)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert strings and all(s.strip() for s in strings), (tag, msgid, "untranslated")
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for s in strings:
            assert set(PLACEHOLDER.findall(s)) == wanted, (tag, msgid, s)


@pytest.mark.parametrize("tag", [t for t in LANGUAGES if t != "en"])
def test_the_browser_catalogues_are_translated(client, db, event, tag):
    texts = set()
    for m in catalogue(tag).values():
        texts.update(m.string if isinstance(m.string, tuple) else (m.string,))
    english = browser_catalogue(page(client, f"/s/{event['stations']['booth']['code']}?lang=en"))
    attendee = browser_catalogue(
        page(client, f"/s/{event['stations']['booth']['code']}?lang={tag}")
    )
    client.post(
        "/staff",
        data={
            "csrf_token": csrf_token(page(client, "/staff")),
            "station": str(event["stations"]["booth"]["id"]),
            "pin": PINS["booth"],
            "name": "Ann",
        },
    )
    staff = browser_catalogue(page(client, f"/staff/capture?lang={tag}"))
    assert set(attendee) == set(english) and "all_synced" in staff
    for key, value in {**attendee, **staff}.items():
        forms = value.values() if isinstance(value, dict) else [value]
        assert all(form in texts for form in forms), (tag, key, value)
        if isinstance(value, dict):
            assert "other" in value, (tag, key)


def test_the_browser_catalogue_is_sent_as_utf8_and_cannot_close_its_block(client, event):
    """Devanagari in 3 bytes a character, not a 6-byte \\u escape (a non-Latin page's weight);
    what could end the <script> block stays escaped."""
    html = page(client, f"/s/{event['stations']['booth']['code']}?lang=hi")
    block = re.search(r'id="i18n">(.*?)</script>', html, re.S).group(1)
    assert re.search("[\u0900-\u097f]", block) and not re.search(r"\\u09[0-7]", block)
    sent = i18n.catalogue({"name": "</script><b>&'\u202e"})
    assert json.loads(sent) == {"name": "</script><b>&'\u202e"}
    assert not set("<>&'") & set(sent.replace('{"name": "', "").rstrip('"}'))


def test_numbers_follow_the_language(client, db, event):
    db.execute("UPDATE events SET goal = 12500 WHERE id = ?", [event["id"]])
    db.conn.commit()
    client.post("/api/checkins", json={"station": event["stations"]["booth"]["code"]})
    assert "1 of 12,500 engagements" in page(client, "/me?lang=en")
    assert "1 von 12.500 Interaktionen" in page(client, "/me?lang=de")
    assert "12.500" not in page(client, "/me?lang=hi") and "12,500" in page(client, "/me?lang=hi")


# ---------------------------------------------------------------- a Hebrew phone in a browser


@pytest.mark.browser
@pytest.mark.live
def test_a_hebrew_phone_checks_in_right_to_left(live_server, browser, event):
    context = browser.new_context(
        locale="he-IL", viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    try:
        phone = context.new_page()
        phone.goto(f"{live_server.url}/s/{event['stations']['booth']['code']}")
        # The confirmation is made by attendee.js from the browser catalogue.
        phone.locator("#status").filter(has_text="ביצעתם צ׳ק-אין ב־Main booth, Cork").wait_for()
        assert phone.locator("#visited").inner_text() == "1 עמדה שביקרתם בה"
        assert phone.evaluate("document.documentElement.dir") == "rtl"
        # The main column's text sits against its right edge.
        wait_for_js(phone, "document.querySelector('#lead').textContent.length > 0")
        edges = phone.evaluate(
            """() => {
                const main = document.querySelector('main').getBoundingClientRect();
                const range = document.createRange();
                range.selectNodeContents(document.querySelector('.eyebrow'));
                const text = range.getBoundingClientRect();
                const pad = parseFloat(getComputedStyle(document.querySelector('main')).paddingRight);
                return {mainRight: main.right - pad, mainLeft: main.left, right: text.right, left: text.left,
                        align: getComputedStyle(document.querySelector('#lead')).textAlign};
            }"""
        )
        assert abs(edges["right"] - edges["mainRight"]) < 2, edges
        assert edges["left"] > edges["mainLeft"] + 40, edges
    finally:
        context.close()
