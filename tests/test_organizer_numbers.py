"""An organizer types numbers as their own locale writes them, and gets a clear error on their own
page otherwise (never a bare 400 written for attendees)."""

from __future__ import annotations

import pytest
from babel import Locale

from tracker.event import lookups as events
from tracker.web.admin.forms import whole_number


@pytest.mark.parametrize(
    ("text", "locale", "value"),
    [
        ("1.000", "de", 1000),
        ("1,000", "en", 1000),
        ("1000", "de", 1000),
        ("2 500", "fr", 2500),
        ("2\u202f500", "fr", 2500),
        ("10,00,000", "hi", 1_000_000),
        (" 12.345 ", "pt_BR", 12345),
    ],
)
def test_whole_numbers_as_each_locale_writes_them(text, locale, value):
    assert whole_number(text, Locale.parse(locale)) == value


@pytest.mark.parametrize(
    ("text", "locale"),
    [("1.000", "en"), ("1,000", "de"), ("1,5", "fr"), ("lots", "en"), ("", "de")],
)
def test_anything_else_says_how_to_write_it(text, locale):
    with pytest.raises(ValueError, match="whole number, e.g."):
        whole_number(text, Locale.parse(locale))


def test_a_german_organizer_types_1_000_and_an_english_one_1_000(admin, db):
    german = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}
    r = admin.post("/admin/setup/event", data={"name": "Tag", "goal": "1.500"}, headers=german)
    assert r.status_code == 302
    assert events.get_event(db)["goal"] == 1500
    page = admin.get("/admin/setup", headers=german).get_data(as_text=True)
    assert 'value="1.500"' in page  # shown back the way she writes it
    english = {"Accept-Language": "en-US,en;q=0.9"}
    r = admin.post("/admin/setup/event", data={"name": "Day", "goal": "2,000"}, headers=english)
    assert events.get_event(db)["goal"] == 2000


def test_a_goal_in_the_wrong_locale_is_an_error_on_the_organizers_page(admin, db):
    before = events.get_event(db)
    r = admin.post(
        "/admin/setup/event",
        data={"name": "Renamed", "goal": "1.000"},
        headers={"Accept-Language": "en-GB"},
        follow_redirects=True,
    )
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "Setup" in page
    assert "whole number, e.g. 1,000 or 1000" in page
    after = events.get_event(db)
    assert (after["goal"], after["name"]) == (before["goal"], before["name"])
