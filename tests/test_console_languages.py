"""The organizer's console and its report in the organizer's language (#27): every console page,
signed in, answers in German and in Hebrew (right to left) with none of its English navigation
left; the console follows the switcher, then its cookie, then the browser, then the event; flash
messages and form errors speak it too."""

from __future__ import annotations

import re

import pytest

from tests.helpers import add_checkins, add_conversation
from tracker.store import db as dbm

# Every page of the console an organizer opens from its navigation (and the forms behind it).
CONSOLE_PAGES = (
    "/admin/",
    "/admin/setup",
    "/admin/stories?show=all",
    "/admin/conversations",
    "/admin/follow-ups",
    "/admin/themes",
    "/admin/actions",
    "/admin/attendees",
    "/admin/data",
    "/admin/privacy",
    "/admin/audit",
    "/admin/organizers",
    "/admin/status",
)
# The navigation in English, each as a link's whole text: none of it may be left in another
# language (Follow-ups is not here: German says Follow-ups too).
ENGLISH_NAVIGATION = (
    ">Today<",
    ">Setup<",
    ">Stories<",
    ">Conversations<",
    ">Data<",
    ">Report<",
    ">Attendees<",
    ">Audit<",
    ">Organizers<",
    ">Sign out<",
)
GERMAN_NAVIGATION = (">Heute<", ">Einrichtung<", ">Geschichten<", ">Gespräche<", ">Abmelden<")
HEBREW_NAVIGATION = (">היום<", ">הגדרה<", ">סיפורים<", ">שיחות<", ">יציאה<")


@pytest.fixture
def day(db, event, booth):
    """A day with something on every page: check-ins, a public detractor's story owed a
    follow-up, and the badge of one attendee."""
    add_checkins(db, booth["id"], 3)
    add_conversation(db, booth["id"], story="The queue was far too long", nps=4, public=True)
    with dbm.write(db):
        db.execute(
            "UPDATE conversations SET follow_up = 1, contact = 'ana@example.com', status = 'open'"
        )
    return db.execute("SELECT badge FROM attendees ORDER BY id LIMIT 1").fetchone()[0]


def html(admin, path: str, language: str) -> str:
    response = admin.get(path, headers={"Accept-Language": language})
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


@pytest.mark.parametrize("path", CONSOLE_PAGES)
def test_each_console_page_speaks_german(admin, day, path):
    page = html(admin, path, "de-DE,de;q=0.9,en;q=0.5")
    assert '<html lang="de" dir="ltr">' in page
    left = [english for english in ENGLISH_NAVIGATION if english in page]
    assert not left, (path, left)
    assert all(german in page for german in GERMAN_NAVIGATION), path


@pytest.mark.parametrize("path", CONSOLE_PAGES)
def test_each_console_page_speaks_hebrew_right_to_left(admin, day, path):
    page = html(admin, path, "he-IL,he;q=0.9")
    assert '<html lang="he" dir="rtl">' in page
    left = [english for english in ENGLISH_NAVIGATION if english in page]
    assert not left, (path, left)
    assert all(hebrew in page for hebrew in HEBREW_NAVIGATION), path


def test_the_pages_own_words_and_numbers_follow_the_language(admin, db, event, day):
    goal = 12345
    with dbm.write(db):
        db.execute("UPDATE events SET goal = ? WHERE id = ?", [goal, event["id"]])
    today = html(admin, "/admin/", "de")
    assert "von 12.345 Interaktionen" in today and "Neueste Gespräche" in today
    assert "of 12,345 engagements" not in today
    follow_ups = html(admin, "/admin/follow-ups", "de")
    assert "Überfällig, wenn nicht bestätigt innerhalb von" in follow_ups
    assert "History and notes" not in follow_ups
    found = html(admin, f"/admin/attendees?badge={day}", "he")
    assert "בטלו את מה שלא אמור להיספר" in found and f"תג {day}" in found


def test_the_switcher_wins_over_the_browser_and_is_kept(admin, event, day):
    first = admin.get("/admin/setup?lang=ja", headers={"Accept-Language": "de"})
    assert '<html lang="ja"' in first.get_data(as_text=True)
    assert "lang=ja" in first.headers.get("Set-Cookie", "")
    # The header offers every language, each a link that switches to it.
    assert re.search(r'<details class="lang-menu">', first.get_data(as_text=True))
    assert 'href="?lang=he" lang="he"' in first.get_data(as_text=True)
    later = html(admin, "/admin/stories", "de")  # the cookie, not the browser
    assert '<html lang="ja"' in later and ">ストーリー<" in later


def test_without_a_choice_the_console_takes_the_event_language_then_english(admin, db, event):
    response = admin.get("/admin/")
    assert '<html lang="en"' in response.get_data(as_text=True)
    assert "Accept-Language" in response.headers.get("Vary", "")
    with dbm.write(db):
        db.execute("UPDATE events SET language = 'fr' WHERE id = ?", [event["id"]])
    assert '<html lang="fr"' in admin.get("/admin/").get_data(as_text=True)
    # The organizer's own browser comes before the event's language.
    assert '<html lang="es"' in html(admin, "/admin/", "es-MX,es;q=0.9")


def test_flash_messages_and_form_errors_speak_the_language(admin, db, event):
    german = {"Accept-Language": "de"}
    r = admin.post(
        "/admin/setup/event",
        data={"name": "Tag", "goal": "1,5"},
        headers=german,
        follow_redirects=True,
    )
    page = r.get_data(as_text=True)
    assert "Das Ziel ist eine ganze Zahl, z. B. 1.000 oder 1000" in page
    r = admin.post("/admin/setup/topics", data={"topics": "Preise\nSupport"}, headers=german)
    page = admin.get(r.headers["Location"], headers=german).get_data(as_text=True)
    assert "Themen gespeichert." in page
    hebrew = {"Accept-Language": "he"}
    r = admin.post("/admin/privacy", data={"badge": "NOPE42"}, headers=hebrew)
    page = admin.get(r.headers["Location"], headers=hebrew).get_data(as_text=True)
    assert "לאף משתתף אין את התג &#39;NOPE42&#39;." in page


def test_the_sign_in_page_speaks_the_browsers_language(app, client):
    app.config["ADMIN_PASSWORD"] = "a long enough password"
    app.config["WTF_CSRF_ENABLED"] = False
    page = client.get("/admin/login", headers={"Accept-Language": "pt-BR"}).get_data(as_text=True)
    assert '<html lang="pt-BR"' in page and "Acesso de organizadores" in page
    r = client.post(
        "/admin/login",
        data={"name": "admin", "password": "wrong"},
        headers={"Accept-Language": "hi"},
    )
    assert r.status_code == 401 and "यह नाम और पासवर्ड मेल नहीं खाते।" in r.get_data(as_text=True)


def test_the_report_speaks_german(admin, db, event, day):
    page = html(admin, "/admin/report", "de-DE,de;q=0.9")
    assert '<html lang="de" dir="ltr">' in page
    for german in (
        "Was Kundinnen und Kunden uns gesagt haben",
        "Nach Standort",
        "Häufigste Themen",
    ):
        assert german in page, german
    for english in ("What customers told us", "By location", "Top topics", "Still owed, oldest"):
        assert english not in page, english
    # The hours are labelled with German weekdays ("Mo. 14:00"), as Babel abbreviates them.
    assert re.search(r">(Mo|Di|Mi|Do|Fr|Sa|So)\. \d\d:00<", page)


def test_the_report_reads_right_to_left_in_hebrew(admin, day):
    page = html(admin, "/admin/report", "he")
    assert '<html lang="he" dir="rtl">' in page and "לפי אתר" in page


def test_flask_report_writes_the_language_asked_for(app, tmp_path, day):
    out = tmp_path / "report.html"
    result = app.test_cli_runner().invoke(args=["report", "--out", str(out), "--lang", "ja"])
    assert result.exit_code == 0, result.output
    assert '<html lang="ja"' in out.read_text(encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["report", "--out", str(out)])
    assert '<html lang="en"' in out.read_text(encoding="utf-8")  # the event's language
