"""QR sheets people can use: a short code a person can type, and one page per station on A4
and on Letter whatever the names' length."""

from __future__ import annotations

import re

import pytest

from tracker.event import lookups as events
from tracker.event import setup as eventsetup
from tracker.security import BADGE_ALPHABET

LONG = "Customer Experience Demonstration Corner for Enterprise Analytics Integrations X"


def test_every_station_has_a_short_code_from_an_alphabet_without_look_alikes(db, event):
    codes = [s["short_code"] for s in events.stations(db, event["id"], active_only=False)]
    assert len(set(codes)) == len(codes) == 3
    for code in codes:
        assert len(code) == 6 and set(code) <= set(BADGE_ALPHABET)
        assert not set(code) & set("0O1IL2Z5S8B")


def test_a_new_station_gets_one_too(db, event):
    cork = events.location_by_slug(db, event["id"], "cork")
    station_id, _ = eventsetup.upsert_station(db, cork["id"], "new", "New", "booth", "1234")
    row = db.execute("SELECT short_code FROM stations WHERE id = ?", [station_id]).fetchone()
    assert row[0] and len(row[0]) == 6


def test_the_short_address_leads_to_the_check_in_page_however_it_is_typed(client, db, event):
    booth = event["stations"]["booth"]
    short = events.station_by_code(db, booth["code"])["short_code"]
    typed = f" {short[:3].lower()}-{short[3:]} "
    r = client.get(f"/j/{typed}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/s/{booth['code']}")
    assert client.get(r.headers["Location"]).status_code == 200


def test_an_unknown_short_code_gets_a_page_that_says_what_to_do(client):
    r = client.get("/j/AAAAAA")
    assert r.status_code == 404
    page = r.get_data(as_text=True)
    assert "six characters" in page and "AAAAAA" in page and "<html" in page


def test_the_sheet_shows_the_short_address_under_the_qr_code(client, event, db):
    booth = events.station_by_code(db, event["stations"]["booth"]["code"])
    page = client.get("/sheets/cork").get_data(as_text=True)
    assert f"/j/{booth['short_code']}" in page


@pytest.mark.browser
@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_a_sheet_with_80_character_names_prints_one_page_per_station(
    browser, client, db, event, paper
):
    eventsetup.rename(db, "events", event["id"], LONG[:80])
    cork = events.location_by_slug(db, event["id"], "cork")
    eventsetup.rename(db, "locations", cork["id"], LONG[::-1][:80].title())
    for station in events.stations(db, event["id"]):
        if station["location_id"] == cork["id"]:
            eventsetup.rename(db, "stations", station["id"], LONG[:80])
    stations = sum(1 for s in events.stations(db, event["id"]) if s["location_id"] == cork["id"])
    html = client.get("/sheets/cork").get_data(as_text=True)
    page = browser.new_page()
    try:
        page.set_content(html)
        pdf = page.pdf(format=paper, print_background=True)
    finally:
        page.close()
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert pages == stations + 1 == 3  # and the employees' page, last
    # Every word of the names is on the sheet: nothing was cut to make it fit.
    assert html.count(LONG[:80]) >= 2


def test_a_sheet_speaks_its_locations_language(client, db, event):
    eventsetup.upsert_location(
        db, event["id"], "cork", "Cork", "Cork", "IE", "Europe/Dublin", language="de"
    )
    page = client.get("/sheets/cork").get_data(as_text=True)
    assert '<html lang="de"' in page
    assert "Richten Sie die Kamera Ihres Smartphones hierauf" in page
    assert "Point your phone camera" not in page
    assert 'lang="fr"' in client.get("/sheets/cork?lang=fr").get_data(as_text=True)


def test_an_unknown_short_code_is_explained_in_the_phones_language(client):
    r = client.get("/j/AAAAAA", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert r.status_code == 404 and "Ningún puesto tiene el código AAAAAA" in r.get_data(
        as_text=True
    )


def test_guessing_short_codes_is_slowed_per_address(make_app):
    client = make_app(RATELIMIT_ENABLED=True).test_client()
    answers = [client.get(f"/j/AAAAA{c}").status_code for c in "ACDEFGHJKMNPQRTUVWXY34"]
    assert answers[:20] == [404] * 20 and set(answers[20:]) == {429}
