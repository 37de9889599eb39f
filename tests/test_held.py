"""Never refuse a real phone; never count what cannot be trusted. Behind one venue address
thousands of real phones share one IP: what one address produces past its allowance is accepted
and held (stored, answered as usual, counted nowhere) until an organizer trusts that network or
voids it. In-process: the domain, then HTTP through Flask's test client."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
import uuid

import pytest

from tracker.checkins import record as checkins
from tracker.contract.requests import ConversationIn
from tracker.corrections import holds, rehearsal, voids
from tracker.event import file as eventfile
from tracker.event import lookups as events
from tracker.event import setup as eventsetup
from tracker.figures import exports, insights, report, scoreboard, today
from tracker.people import organizers
from tracker.store import audit
from tracker.store import db as dbm
from tracker.stories import moderation
from tracker.stories import record as conversations
from tracker.stories.record import Author
from tracker.web import api_checkins

from .conftest import SMALL_EVENT

NAT = "203.0.113.5"  # the venue's guest wifi, as the server sees every phone behind it
PASSWORD = "correct horse battery"


def board(db) -> dict:
    """What the big screens show."""
    snap = scoreboard.snapshot(db, events.get_event(db))
    return {
        "total": snap["total"],
        "checkins": snap["checkins"],
        "conversations": snap["conversations"],
        "nps": snap["nps"],
        "recent": [r["story"] for r in snap["recent"]],
        "hours": sum(h["total"] for h in snap["hours"]),
    }


def totals_from_rows(db) -> dict:
    """The counting rules applied to the rows themselves: what the maintained totals must say."""
    (first,) = db.execute(
        "SELECT count(*) FROM checkins WHERE counted = 1 AND voided_at IS NULL"
        " AND held_from IS NULL"
    ).fetchone()
    (stories,) = db.execute(
        "SELECT count(*) FROM conversations WHERE counted = 1 AND voided_at IS NULL"
        " AND held_from IS NULL AND station_id IS NOT NULL"
    ).fetchone()
    return {"checkins": first, "conversations": stories}


def maintained(db) -> dict:
    row = db.execute("SELECT total(checkins), total(conversations) FROM station_totals").fetchone()
    quarters = db.execute(
        "SELECT total(checkins), total(conversations) FROM station_quarters"
    ).fetchone()
    assert tuple(quarters) == tuple(row), "quarter-hour buckets and totals disagree"
    return {"checkins": int(row[0]), "conversations": int(row[1])}


def tell(db, who: dict, station: dict, nps: int = 10, public: bool = True) -> dict:
    author = Author("attendee", station["id"], attendee_id=who["id"])
    data = ConversationIn(
        id=uuid.uuid4(), station=station["code"], story="Best ever", nps=nps, public=public
    )
    record, _ = conversations.record(db, events.get_event(db), data, author)
    return record


# ------------------------------------------------------------------ the counting rules


def test_a_held_check_in_is_answered_as_usual_and_counted_nowhere(db, event, booth):
    held = checkins.check_in(db, event, booth["code"], None, client_ip=NAT, held_from=NAT)
    assert held.created and held.held and held.checkin["counted"] is True  # a first visit
    assert [s["slug"] for s in held.passport["stations"]] == ["booth"]  # on the passport
    assert held.progress["total"] == 0
    assert board(db)["total"] == 0 and board(db)["hours"] == 0
    assert maintained(db) == totals_from_rows(db) == {"checkins": 0, "conversations": 0}
    row = db.execute("SELECT held_from FROM attendees WHERE id = ?", [held.attendee["id"]])
    assert row.fetchone()[0] == NAT  # a phone first seen held is held as a whole


def test_a_held_phone_passes_its_mark_to_what_it_records_and_its_stories(db, event, booth):
    demo = event["stations"]["demo"]
    phone = checkins.check_in(db, event, booth["code"], None, client_ip=NAT, held_from=NAT)
    token = phone.attendee["token"]
    later = checkins.check_in(db, event, demo["code"], token)  # nobody decided: its own mark
    assert later.held
    story = tell(db, phone.attendee, booth, nps=10)
    moderation.decide(db, event["id"], story["id"], "approve", "Ann")  # approval alone: no
    snap = board(db)
    assert (snap["total"], snap["hours"], snap["recent"]) == (0, 0, [])
    assert snap["nps"]["responses"] == 0
    assert maintained(db) == totals_from_rows(db)


def test_a_story_counts_only_where_its_check_in_counts(db, event, booth):
    """A phone that counts, whose check-in at one station was held (it went faster than a
    person walks): its story there is held, its story at a counted station counts."""
    demo = event["stations"]["demo"]
    phone = checkins.check_in(db, event, booth["code"], None, client_ip=NAT)
    token = phone.attendee["token"]
    assert checkins.check_in(db, event, demo["code"], token, held_from=NAT).held
    tell(db, phone.attendee, booth, nps=10)
    tell(db, phone.attendee, demo, nps=0)
    snap = board(db)
    assert (snap["checkins"], snap["conversations"]) == (1, 1)
    assert snap["nps"]["promoters"] == 1 and snap["nps"]["detractors"] == 0
    assert maintained(db) == totals_from_rows(db)


def test_trusting_a_network_makes_everything_held_from_it_count_and_totals_add_up(db, event, booth):
    demo = event["stations"]["demo"]
    checkins.check_in(db, event, booth["code"], None, client_ip="198.51.100.1")  # counts
    phones = [
        checkins.check_in(db, event, booth["code"], None, client_ip=NAT, held_from=NAT)
        for _ in range(5)
    ]
    for p in phones:
        checkins.check_in(db, event, demo["code"], p.attendee["token"])
        checkins.check_in(db, event, demo["code"], p.attendee["token"])  # a repeat
    tell(db, phones[0].attendee, booth, nps=9)
    other = checkins.check_in(db, event, booth["code"], None, held_from="192.0.2.99")
    assert board(db)["total"] == 1
    assert holds.totals(db, event["id"]) == {"checkins": 11, "conversations": 1}
    listed = {h["address"]: h for h in holds.held(db, event["id"])}
    assert listed[NAT]["held"] == 11 and listed[NAT]["checkins"] == 10
    assert listed[NAT]["stories"] == 1 and listed[NAT]["phones"] == 5
    assert listed[NAT]["repeats"] == 5

    changed = holds.trust(db, event["id"], "203.0.113.0/24", "Ann")
    assert changed == {"checkins": 15, "conversations": 1, "attendees": 5}
    snap = board(db)
    assert (snap["checkins"], snap["conversations"]) == (11, 1)
    assert snap["nps"]["promoters"] == 1
    assert maintained(db) == totals_from_rows(db) == {"checkins": 11, "conversations": 1}
    assert [h["address"] for h in holds.held(db, event["id"])] == ["192.0.2.99"]
    assert other.held  # another network stays held
    assert holds.networks(events.get_event(db)["networks"])[0].compressed == "203.0.113.0/24"
    (entry,) = audit.entries(db, event["id"], action="network.trust")
    assert entry["actor"] == "Ann" and entry["subject"] == "203.0.113.0/24"
    # Trusted for the rest of the event: a phone's later check-ins count.
    third = event["stations"]["stories"]
    again = checkins.check_in(db, event, third["code"], phones[1].attendee["token"])
    assert not again.held and board(db)["checkins"] == 12


def test_voiding_held_records_and_restoring_them(db, event, booth):
    phones = [
        checkins.check_in(db, event, booth["code"], None, client_ip=NAT, held_from=NAT)
        for _ in range(3)
    ]
    tell(db, phones[0].attendee, booth)
    with pytest.raises(voids.NeedsReason):
        holds.void_held(db, event["id"], NAT, "Ann", " ")
    changed = holds.void_held(db, event["id"], NAT, "Ann", "scripted")
    assert changed == {"checkins": 3, "conversations": 1, "attendees": 3}
    (entry,) = audit.entries(db, event["id"], action="held.void")
    assert json.loads(entry["after"])["reason"] == "scripted"
    # What a voided phone records later arrives voided (and held).
    later = checkins.check_in(
        db, event, event["stations"]["demo"]["code"], phones[1].attendee["token"]
    )
    stored = db.execute(
        "SELECT voided_at IS NOT NULL, held_from FROM checkins WHERE uuid = ?",
        [later.checkin["id"]],
    ).fetchone()
    assert tuple(stored) == (1, NAT)
    assert holds.totals(db, event["id"]) == {"checkins": 0, "conversations": 0}
    # Trusting the network now counts nothing voided.
    holds.trust(db, event["id"], NAT, "Ann")
    assert board(db)["total"] == 0 and maintained(db) == totals_from_rows(db)


def test_restore_brings_held_records_back_held(db, event, booth):
    for _ in range(2):
        checkins.check_in(db, event, booth["code"], None, client_ip=NAT, held_from=NAT)
    single = checkins.check_in(db, event, booth["code"], None, client_ip=NAT, held_from=NAT)
    holds.void_held(db, event["id"], NAT, "Ann", "looked odd")
    voids.restore(db, event["id"], "checkins", single.checkin["id"], "Ann")
    assert holds.totals(db, event["id"]) == {"checkins": 1, "conversations": 0}
    changed = holds.restore_held(db, event["id"], NAT, "Ann")
    assert changed["checkins"] == 2 and changed["attendees"] == 3
    assert holds.totals(db, event["id"]) == {"checkins": 3, "conversations": 0}
    assert board(db)["total"] == 0  # held again, not counted
    assert maintained(db) == totals_from_rows(db)


def test_rehearsal_clear_leaves_held_records_held_and_totals_true(db, event, booth):
    real = checkins.check_in(db, event, booth["code"], None, client_ip="198.51.100.1")
    checkins.check_in(db, event, booth["code"], None, client_ip=NAT, held_from=NAT)
    checkins.check_in(db, event, booth["code"], None, rehearsal=True)
    checkins.check_in(db, event, booth["code"], None, rehearsal=True, held_from=NAT)
    assert board(db)["checkins"] == 2
    removed = rehearsal.clear(db, event["id"], "Ann")
    assert removed["checkins"] == 2
    assert board(db)["checkins"] == 1 and maintained(db) == totals_from_rows(db)
    assert holds.totals(db, event["id"]) == {"checkins": 1, "conversations": 0}
    assert real.checkin["counted"]
    last = db.execute(
        "SELECT last_activity_at FROM station_totals WHERE station_id = ?", [booth["id"]]
    ).fetchone()[0]
    assert last is not None


def test_exports_carry_the_held_mark(db, event, booth):
    checkins.check_in(db, event, booth["code"], None, client_ip="198.51.100.1")
    phone = checkins.check_in(db, event, booth["code"], None, client_ip=NAT, held_from=NAT)
    tell(db, phone.attendee, booth)
    for kind in ("checkins", "conversations"):
        text = "".join(exports.csv_stream(db, kind, event["id"])).lstrip("\ufeff")
        rows = list(csv.DictReader(io.StringIO(text)))
        marks = sorted((r["held"], r["held_from"]) for r in rows)
        expected = [("0", ""), ("1", NAT)] if kind == "checkins" else [("1", NAT)]
        assert marks == expected, kind
        records = json.loads("".join(exports.json_stream(db, kind, event["id"])))
        assert sorted(r["held_from"] or "" for r in records) == [m[1] for m in expected]


def test_the_report_today_and_insights_leave_held_records_out(db, event, booth):
    real = checkins.check_in(db, event, booth["code"], None, client_ip="198.51.100.1")
    tell(db, real.attendee, booth, nps=3, public=False)
    phones = [
        checkins.check_in(db, event, booth["code"], None, client_ip=NAT, held_from=NAT)
        for _ in range(4)
    ]
    for p in phones:
        story = tell(db, p.attendee, booth, nps=10)
        moderation.decide(db, event["id"], story["id"], "approve", "Ann")
    ev = events.get_event(db)
    built = report.build(db, ev)
    assert built["progress"]["total"] == 2
    assert built["nps"]["distribution"][10] == 0 and built["nps"]["distribution"][3] == 1
    assert built["customer_nps"]["responses"] == 1
    figures = insights.figures(db, ev)
    assert figures["nps"]["responses"] == 1 and figures["stories"] == []
    page = today.overview(db, ev)
    assert page["progress"]["total"] == 2
    assert [(h["address"], h["held"], h["phones"]) for h in page["held"]] == [(NAT, 8, 4)]


# ------------------------------------------------------------------ the venue's networks


def _event_data(**extra) -> dict:
    import tomllib

    data = tomllib.loads(SMALL_EVENT.read_text())
    data["event"].update(extra)
    return data


def test_the_event_file_declares_networks_and_a_reload_adds_to_them(db, event):
    spec = eventfile.parse_event(
        _event_data(networks=["203.0.113.0/24", "198.51.100.7/32", " 198.51.100.7 "])
    )
    assert spec.event.networks == ["203.0.113.0/24", "198.51.100.7"]
    eventsetup.load_event(db, spec)
    assert json.loads(events.get_event(db)["networks"]) == ["203.0.113.0/24", "198.51.100.7"]
    holds.trust(db, event["id"], "192.0.2.0/28", "Ann")  # on the day
    eventsetup.load_event(db, eventfile.parse_event(_event_data(networks=["2001:db8:5::/48"])))
    eventsetup.load_event(db, eventfile.parse_event(_event_data()))  # none listed: kept
    assert json.loads(events.get_event(db)["networks"]) == [
        "203.0.113.0/24",
        "198.51.100.7",
        "192.0.2.0/28",
        "2001:db8:5::/48",
    ]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [("wifi", "is not an address or a network"), ("10.0.0.0/4", "wider than /8")],
)
def test_a_network_that_is_none_or_too_wide_is_refused_naming_it(entry, problem):
    with pytest.raises(eventfile.EventFileError) as caught:
        eventfile.parse_event(_event_data(networks=[entry]), source="event.toml")
    assert "event.toml: event > networks:" in str(caught.value) and problem in str(caught.value)


def test_an_ipv6_phone_is_held_by_its_64_and_trusting_that_releases_it(db, event, booth):
    assert holds.key_of("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert holds.key_of("::ffff:203.0.113.5") == NAT
    key = holds.key_of("2001:db8:1:2:bbbb::9")
    checkins.check_in(db, event, booth["code"], None, held_from=key)
    holds.trust(db, event["id"], key, "Ann")
    assert board(db)["checkins"] == 1
    assert holds.trusted(events.get_event(db)["networks"], "2001:db8:1:2:cccc::3")
    assert not holds.trusted(events.get_event(db)["networks"], "2001:db8:1:3::3")


# ------------------------------------------------------------------ over HTTP


@pytest.fixture
def venue(make_app):
    """The app as shipped (rate limits and holds on, default allowances), its allowances'
    clock standing still: a test's scans all fall in the same instant however slowly a loaded
    machine runs them (70 scans taking over a second refilled a 61st allowance once)."""
    app = make_app(RATELIMIT_ENABLED=True, WTF_CSRF_ENABLED=False)
    now = time.monotonic()
    app.extensions[api_checkins.EXTENSION] = api_checkins.Allowances(clock=lambda: now)
    return app


def phone_at(app, address: str = NAT):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def sign_in(app, db):
    organizers.create(db, "Ann", PASSWORD)
    client = phone_at(app, "192.0.2.200")
    r = client.post("/admin/login", data={"name": "Ann", "password": PASSWORD})
    assert r.status_code == 302
    return client


PHONES, SCANS = 2000, ("booth", "demo", "stories")


def test_2000_new_phones_behind_one_address_scanning_3_times_see_no_refusal(venue, db, event):
    """A keynote exit behind the venue's NAT: 2,000 new phones, 3 scans each (the second and
    third with the phone's own cookie) within a minute. Every scan is answered 201 with its
    passport; what the address cannot plausibly make is held; trusting the network from the
    Today page makes all 6,000 count."""
    codes = [event["stations"][slug]["code"] for slug in SCANS]
    phones = [phone_at(venue) for _ in range(PHONES)]
    answers: dict[int, int] = {}
    started = time.monotonic()
    for code in codes:
        for p in phones:
            with p.post("/api/checkins", json={"station": code}) as r:  # done: its connection too
                answers[r.status_code] = answers.get(r.status_code, 0) + 1
                assert r.json["counted"] is True  # every scan is a first visit, held or not
    elapsed = time.monotonic() - started
    assert answers == {201: PHONES * len(SCANS)}, answers  # 0 refusals
    counted = board(db)["checkins"]
    held = holds.totals(db, event["id"])["checkins"]
    print(f"\n{PHONES * len(SCANS)} scans in {elapsed:.1f} s: {counted} counted, {held} held")
    # The address's allowance: a minute's worth at once, then 60 a minute.
    assert 60 <= counted <= 60 + int(elapsed) + 1
    assert counted + held == PHONES * len(SCANS)
    assert maintained(db) == totals_from_rows(db)

    organizer = sign_in(venue, db)
    page = organizer.get("/admin/").get_data(as_text=True)
    assert f"{held:,} held</strong> from <code>{NAT}</code>" in page
    r = organizer.post("/admin/held", data={"address": NAT, "action": "trust"})
    assert r.status_code == 302
    assert board(db)["checkins"] == PHONES * len(SCANS)
    assert maintained(db) == totals_from_rows(db) == {"checkins": 6000, "conversations": 0}
    assert "held</strong> from" not in organizer.get("/admin/").get_data(as_text=True)
    # New phones from the trusted network are not held.
    assert phone_at(venue).post("/api/checkins", json={"station": codes[0]}).status_code == 201
    assert board(db)["checkins"] == 6001


def test_a_declared_network_is_never_held(venue, db, event):
    eventsetup.load_event(db, eventfile.parse_event(_event_data(networks=["203.0.113.0/24"])))
    code = event["stations"]["booth"]["code"]
    for i in range(150):  # well past a minute's allowance of new phones from one address
        r = phone_at(venue, f"203.0.113.{i % 3 + 1}").post("/api/checkins", json={"station": code})
        assert r.status_code == 201
    assert board(db)["checkins"] == 150 and holds.totals(db, event["id"])["checkins"] == 0


def test_networks_saved_on_the_setup_page_release_what_they_held(venue, db, event):
    code = event["stations"]["booth"]["code"]
    for _ in range(70):
        assert phone_at(venue).post("/api/checkins", json={"station": code}).status_code == 201
    assert board(db)["checkins"] == 60
    organizer = sign_in(venue, db)
    refused = organizer.post("/admin/setup/networks", data={"networks": "guest wifi"})
    assert refused.status_code == 302
    assert json.loads(events.get_event(db)["networks"]) == []
    r = organizer.post(
        "/admin/setup/networks", data={"networks": "# the hall\n203.0.113.0/24  # guest wifi\n"}
    )
    assert r.status_code == 302
    assert board(db)["checkins"] == 70
    page = organizer.get("/admin/setup").get_data(as_text=True)
    assert "203.0.113.0/24</textarea>" in page
    assert audit.entries(db, event["id"], action="event.networks")


def test_held_records_are_voided_from_the_today_page(venue, db, event):
    code = event["stations"]["booth"]["code"]
    for _ in range(65):
        phone_at(venue).post("/api/checkins", json={"station": code})
    organizer = sign_in(venue, db)
    organizer.post("/admin/held", data={"address": NAT, "action": "void"})  # no reason
    assert holds.totals(db, event["id"])["checkins"] == 5
    organizer.post("/admin/held", data={"address": NAT, "action": "void", "reason": "a bot"})
    assert holds.totals(db, event["id"])["checkins"] == 0
    assert board(db)["checkins"] == 60
    organizer.post("/admin/held", data={"address": NAT, "action": "restore"})
    assert holds.totals(db, event["id"])["checkins"] == 5
    actions = [e["action"] for e in audit.entries(db, event["id"], action="held")]
    assert actions == ["held.restore", "held.void"]


def test_a_phone_faster_than_a_person_walks_is_held_not_refused(venue, db, event):
    """A phone with its own cookie visiting stations faster than HOLD_STATIONS (3 a minute):
    the fourth station in a minute is held, and its answer is the usual one."""
    venue.config["HOLD_STATIONS"] = "2 per minute"
    phone = phone_at(venue, "198.51.100.20")
    statuses = [
        phone.post("/api/checkins", json={"station": event["stations"][s]["code"]}).status_code
        for s in SCANS
    ]
    assert statuses == [201, 201, 201]
    assert board(db)["checkins"] == 2
    assert [h["address"] for h in holds.held(db, event["id"])] == ["198.51.100.20"]


def test_the_check_in_form_without_javascript_holds_too(venue, db, event):
    code = event["stations"]["booth"]["code"]
    venue.config["HOLD_NEW_IDENTITIES"] = "1 per minute"
    for _ in range(3):
        r = phone_at(venue).post(f"/s/{code}", data={"id": str(uuid.uuid4())})
        assert r.status_code == 201
    assert board(db)["checkins"] == 1 and holds.totals(db, event["id"])["checkins"] == 2


def test_with_rate_limits_off_nothing_is_held(make_app, db, event):
    app = make_app(RATELIMIT_ENABLED=False)
    code = event["stations"]["booth"]["code"]
    for _ in range(80):
        phone_at(app).post("/api/checkins", json={"station": code})
    assert board(db)["checkins"] == 80


# ------------------------------------------------------------------ a script's gain


def test_a_script_on_one_address_gains_a_bounded_number(venue, db, event):
    """Six threads, fifteen seconds of the allowances' clock: each loop a new identity checked
    in at ten stations (its cookie kept after the first) and five public NPS-10 stories. The
    counted check-ins are bounded by HOLD_CHECKINS (60 at once, then 60 a minute: 75 in 15 s),
    the counted stories by the counted check-ins (one per station where the check-in counts);
    held ones count nowhere and the ticker shows none."""
    hall = {
        "slug": "hall",
        "name": "Hall",
        "city": "Cork",
        "country": "IE",
        "timezone": "Europe/Dublin",
        "stations": [{"slug": f"s{i}", "name": f"Stand {i}", "pin": "4444"} for i in range(10)],
    }
    data = _event_data()
    data["locations"].append(hall)
    eventsetup.load_event(db, eventfile.parse_event(data))
    stations = [s for s in events.stations(db, event["id"]) if s["location_slug"] == "hall"]
    codes = [s["code"] for s in stations]
    # Fifteen seconds of allowances in three of the wall clock: the clock runs five times fast.
    real_start = time.monotonic()
    venue.extensions[api_checkins.EXTENSION] = api_checkins.Allowances(
        clock=lambda: real_start + 5 * (time.monotonic() - real_start)
    )
    before = board(db)
    stop = real_start + 3
    answers: dict[int, int] = {}
    lock = threading.Lock()

    def count(status: int) -> None:
        with lock:
            answers[status] = answers.get(status, 0) + 1

    def script() -> None:
        while time.monotonic() < stop:
            phone = phone_at(venue)  # a fresh cookie jar every loop
            for code in codes:
                with phone.post("/api/checkins", json={"station": code}) as r:
                    count(r.status_code)
            for code in codes[:5]:
                body = {"id": str(uuid.uuid4()), "station": code, "story": "Best ever"}
                story = {**body, "nps": 10, "public": True}
                with phone.post("/api/conversations", json=story) as r:
                    count(r.status_code)
        dbm.close_thread_dbs()

    workers = [threading.Thread(target=script) for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    after = board(db)
    grew = after["total"] - before["total"]
    held = holds.totals(db, event["id"])
    print(f"\nscript: answers {answers}; counted +{grew}; held {held}")
    assert answers.get(201, 0) > 0 and answers.get(429, 0) < sum(answers.values()) / 2
    assert after["checkins"] - before["checkins"] <= 75 + 1
    assert after["conversations"] - before["conversations"] <= after["checkins"]
    assert grew <= 2 * (75 + 1)
    assert held["checkins"] > 0
    assert after["recent"] == []
    assert maintained(db) == totals_from_rows(db)


# ------------------------------------------------------------------ schema 8 on a day's data


def test_a_schema_7_database_keeps_its_totals_and_holds_from_then_on(tmp_path):
    from .test_db import old_database

    old = old_database(tmp_path / "old.db", 7)
    with dbm.write(old):
        old.execute(
            "INSERT INTO checkins (uuid, station_id, attendee_id, counted, scanned_at,"
            " received_at) VALUES ('c-1', 1, 1, 1, ?, ?)",
            [dbm.utcnow(), dbm.utcnow()],
        )
    before = maintained(old)
    assert dbm.migrate(old) == dbm.SCHEMA_VERSION
    assert maintained(old) == before == totals_from_rows(old) == {"checkins": 1, "conversations": 0}
    event = events.get_event(old, "day")
    assert events.get_event(old, "day")["networks"] == "[]"
    code = old.execute("SELECT code FROM stations WHERE id = 1").fetchone()[0]
    assert checkins.check_in(old, event, code, None, held_from=NAT).held
    assert maintained(old) == totals_from_rows(old) == {"checkins": 1, "conversations": 0}
    old.close()
