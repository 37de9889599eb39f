"""Loading the event file: the demo, idempotent reloads, and every kind of bad file."""

from __future__ import annotations

import sqlite3
import textwrap

import pytest

from tracker.event import file as eventfile
from tracker.event import lookups as events
from tracker.event import setup as eventsetup
from tracker.people import attendees
from tracker.security import check_secret

from .conftest import DEMO_EVENT, SMALL_EVENT
from .helpers import add_checkins


def load(db, path) -> eventsetup.LoadResult:
    return eventsetup.load_event(db, eventfile.read_event_file(path))


def counts(db) -> dict:
    return {
        t: db[t].count for t in ("events", "locations", "stations", "checkins", "conversations")
    }


def test_demo_event_loads_twelve_locations_in_six_countries(db):
    result = load(db, DEMO_EVENT)
    ev = result.event
    assert (ev["name"], ev["goal"]) == ("Customer Experience Day", 1000)
    locs = events.locations(db, ev["id"])
    assert len(locs) == 12
    assert len({loc["country"] for loc in locs}) == 6
    per_location = {}
    for st in events.stations(db, ev["id"]):
        per_location[st["location_slug"]] = per_location.get(st["location_slug"], 0) + 1
    assert all(3 <= n <= 6 for n in per_location.values())
    # every station without a PIN in the file got one, printed once
    assert len(result.generated_pins) == sum(per_location.values())
    assert all(len(pin) == 6 and pin.isdigit() for _, _, pin in result.generated_pins)


def test_reload_is_idempotent_keeps_codes_and_records(db):
    first = load(db, DEMO_EVENT)
    codes = {
        (s["location_slug"], s["slug"]): s["code"] for s in events.stations(db, first.event["id"])
    }
    station = events.stations(db, first.event["id"])[0]
    person = attendees.create(db, first.event["id"])
    add_checkins(db, station["id"], attendee_id=person["id"], counted=True)
    before = counts(db)
    second = load(db, DEMO_EVENT)
    assert counts(db) == before
    assert second.generated_pins == []
    again = {
        (s["location_slug"], s["slug"]): s["code"] for s in events.stations(db, first.event["id"])
    }
    assert again == codes
    assert db.execute(
        "SELECT checkins FROM station_totals WHERE station_id = ?", [station["id"]]
    ).fetchone() == (1,)


def test_reload_updates_names_goal_and_adds_stations(db, tmp_path):
    load(db, SMALL_EVENT)
    text = (
        SMALL_EVENT.read_text()
        .replace("goal = 20", "goal = 50")
        .replace('"Main booth"', '"Big booth"')
    )
    text += textwrap.dedent(
        """
          [[locations.stations]]
          slug = "lab"
          name = "Lab"
          kind = "demo"
        """
    )
    changed = tmp_path / "changed.toml"
    changed.write_text(text)
    result = load(db, changed)
    assert result.event["goal"] == 50
    names = {s["slug"]: s["name"] for s in events.stations(db, result.event["id"])}
    assert names["booth"] == "Big booth"
    assert "lab" in names
    assert [p[:2] for p in result.generated_pins] == [("austin", "lab")]


def test_pin_in_file_is_stored_hashed(db):
    load(db, SMALL_EVENT)
    pin_hash = db.execute("SELECT pin_hash FROM stations WHERE slug = 'booth'").fetchone()[0]
    assert "1111" not in pin_hash
    assert check_secret(pin_hash, "1111")
    assert not check_secret(pin_hash, "1112")


def test_station_codes_are_long_random_and_unique(db):
    ev = load(db, DEMO_EVENT).event
    codes = [s["code"] for s in events.stations(db, ev["id"])]
    assert len(set(codes)) == len(codes)
    assert all(len(c) >= 16 for c in codes)


BAD_FILES = {
    "unknown time zone": (
        'timezone = "Europe/Dublin"\ntopics',
        'timezone = "Mars/Olympus"\ntopics',
        "unknown time zone",
    ),
    "unknown country": ('country = "IE"', 'country = "XX"', "unknown country code 'XX'"),
    "duplicate station slug": ('slug = "demo"', 'slug = "booth"', "duplicate station slug 'booth'"),
    "duplicate location slug": ('slug = "austin"', 'slug = "cork"', "location slug 'cork'"),
    "missing name": ('name = "Demo corner"\n', "", "name: is required but missing"),
    "goal not a number": ("goal = 20", 'goal = "many"', "goal"),
    "goal zero": ("goal = 20", "goal = 0", "greater than 0"),
    "goal negative": ("goal = 20", "goal = -5", "greater than 0"),
    "goal fraction": ("goal = 20", "goal = 12.5", "goal"),
    "malformed toml": ('name = "Test Day"', 'name = "Test Day', "not valid TOML"),
    "unknown setting": ("goal = 20", "goal = 20\ncolour = 'red'", "colour: is not a known setting"),
    "bad pin": ('pin = "1111"', 'pin = "12"', "pin"),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_bad_file_is_refused_with_where_and_what_and_changes_nothing(db, tmp_path, case):
    old, new, message = BAD_FILES[case]
    load(db, SMALL_EVENT)
    before = counts(db)
    goal_before = events.get_event(db)["goal"]
    text = SMALL_EVENT.read_text()
    assert old in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old, new, 1))
    with pytest.raises(eventfile.EventFileError) as info:
        load(db, bad)
    assert str(bad) in str(info.value)
    assert message in str(info.value)
    assert counts(db) == before
    assert events.get_event(db)["goal"] == goal_before


def test_error_names_the_entry(db, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL_EVENT.read_text().replace('country = "US"', 'country = "USA"'))
    with pytest.raises(eventfile.EventFileError) as info:
        eventfile.read_event_file(bad)
    assert "locations[2] (austin) > country" in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(eventfile.EventFileError, match="no such file"):
        eventfile.read_event_file(tmp_path / "nope.toml")


def test_station_by_code_refuses_inactive_and_unknown(db):
    ev = load(db, SMALL_EVENT).event
    booth = next(s for s in events.stations(db, ev["id"]) if s["slug"] == "booth")
    assert events.station_by_code(db, booth["code"])["name"] == "Main booth"
    eventsetup.set_active(db, "stations", booth["id"], False)
    with pytest.raises(events.UnknownStation):
        events.station_by_code(db, booth["code"])
    with pytest.raises(events.UnknownStation):
        events.station_by_code(db, "not-a-code")


def test_setup_changed_by_another_connection_is_seen_at_once(db, db_path):
    """Events and stations are cached per process, but never past a change from elsewhere."""
    ev = load(db, SMALL_EVENT).event
    booth = next(s for s in events.stations(db, ev["id"]) if s["slug"] == "booth")
    assert events.get_event(db)["goal"] == 20
    assert events.station_by_code(db, booth["code"])["name"] == "Main booth"
    other = sqlite3.connect(db_path)  # another process, say: a plain connection
    with other:
        other.execute("UPDATE events SET goal = 55")
        other.execute("UPDATE stations SET name = 'Front desk' WHERE id = ?", [booth["id"]])
    assert events.get_event(db)["goal"] == 55
    assert events.station_by_code(db, booth["code"])["name"] == "Front desk"
    with other:
        other.execute("UPDATE stations SET active = 0 WHERE id = ?", [booth["id"]])
    with pytest.raises(events.UnknownStation):
        events.station_by_code(db, booth["code"])


def test_cached_rows_are_copies(db):
    load(db, SMALL_EVENT)
    events.get_event(db)["goal"] = 1
    assert events.get_event(db)["goal"] == 20
