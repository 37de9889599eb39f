"""Between a location node and central, in process, on two real database files: the change
feed (voids, owners, erasures travel down), per-record outcomes and parked records, central's
strict validation, field ownership, clocks, the node's file, and the protocol version."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tracker import create_app
from tracker.actions import heard
from tracker.checkins import record as checkins
from tracker.corrections import erasure, voids
from tracker.figures import scoreboard
from tracker.followups import changes as followups
from tracker.node import central, enrol, forward, link, protocol, pull
from tracker.store import db as dbm
from tracker.store import settings

from .test_heard import SENDER

AT = "2026-10-07T10:00:00.000Z"


@pytest.fixture
def node(db, event):
    """Central's row for an enrolled Cork node (with its location and event)."""
    _, token = enrol.add(db, event, "cork")
    return enrol.authenticate(db, token)


@pytest.fixture
def node_db(tmp_path):
    """A location node's own database file, set up as `start_node` does."""
    database = dbm.connect(tmp_path / "node.db")
    dbm.migrate(database)
    with dbm.write(database):
        pull.set_node_mode(database, True)
        settings.put(database, "node", "1")
    yield database
    database.close()


def pulled(db, node_db, node) -> dict:
    """One pull: central's setup and feed after the node's position, stored on the node."""
    setup = central.setup_for(db, node, "cookie-key", pull.position(node_db))
    pull.apply_setup(node_db, json.loads(json.dumps(setup)))  # as it travels: JSON
    return setup


def forwarded(db, node_db, node) -> dict:
    """One forward: the node's next batch applied on central and acknowledged on the node."""
    covered, records = forward.next_batch(node_db)
    answer = central.apply_records(db, node, json.loads(json.dumps(records)))
    forward.acknowledge(node_db, covered, records, answer)
    return answer


def attendee(token="tok-1", badge="KKKKKK") -> dict:
    return {"token": token, "badge": badge, "created_at": AT}


def checkin(station_id: int, who: dict | None = None, **changes) -> dict:
    return {
        "kind": "checkin",
        "uuid": str(uuid.uuid4()),
        "station_id": station_id,
        "scanned_at": AT,
        "received_at": AT,
        "attendee": who or attendee(),
        **changes,
    }


def story(station_id: int | None, **changes) -> dict:
    return {
        "kind": "conversation",
        "uuid": str(uuid.uuid4()),
        "station_id": station_id,
        "source": "staff",
        "story": "The new dashboard saves me an hour a week.",
        "nps": 9,
        "topics": "[]",
        "captured_at": AT,
        "received_at": AT,
        **changes,
    }


def test_one_bad_record_is_refused_with_its_reason_and_the_rest_of_the_batch_is_applied(
    db, event, node
):
    booth = event["stations"]["booth"]["id"]
    employee = story(None, source="employee", location_id=node["location_id"], nps=None)
    batch = [
        checkin(booth),
        checkin(booth, received_at="garbage"),
        employee,  # an employee's story told at the node's /tce page
        {"kind": "checkin"},
        "not a record",
        checkin(booth, who=attendee("tok-2", "MMMMMM"), scanned_at="2099-01-01T00:00:00Z"),
        story(booth, nps=11),
        story(booth),
    ]
    answer = central.apply_records(db, node, batch)
    reasons = [r.get("reason") for r in answer["results"]]
    assert reasons == [
        None, "invalid_record", None, "invalid_record", "invalid_record", "clock",
        "invalid_record", None,
    ]  # fmt: skip
    assert answer["applied"] == 3 and answer["refused"] == [1, 3, 4, 5, 6]
    assert "received_at" in answer["results"][1]["detail"]
    assert "KeyError" not in json.dumps(answer) and "Error(" not in json.dumps(answer)
    stored = db.execute("SELECT source, counted FROM conversations ORDER BY id").fetchall()
    assert stored == [("employee", 0), ("staff", 1)]
    # Nothing it refused is stored, and every page built from the figures still answers.
    assert db.execute("SELECT count(*) FROM checkins").fetchone()[0] == 1
    assert scoreboard.snapshot(db, event)["total"] == 2
    refusals = central.refusals(db, node["id"])
    assert len(refusals) == 5 and {r["reason"] for r in refusals} == {"invalid_record", "clock"}


def test_central_alone_decides_counted_approval_and_voids(db, event, node):
    booth = event["stations"]["booth"]["id"]
    sneaky = story(booth, counted=1, approval="approved", voided_at=None, public=1,
                   source="attendee", attendee=attendee())  # fmt: skip
    central.apply_records(db, node, [sneaky])
    row = db.execute("SELECT approval, counted FROM conversations").fetchone()
    assert row == ("pending", 1)  # an attendee's public story waits for an organizer


def test_the_feed_brings_central_voids_owners_and_erasures_to_the_node(db, event, node, node_db):
    booth = event["stations"]["booth"]
    pulled(db, node_db, node)
    # Records made at the node reach central ...
    done = checkins.check_in(node_db, event, booth["code"], None)
    told = story(booth["id"], follow_up=1, contact="ann@example.org")
    with dbm.write(node_db):
        pull.set_node_mode(node_db, True)
    answer = central.apply_records(db, node, [told])
    assert answer["applied"] == 1
    covered, records = forward.next_batch(node_db)
    central.apply_records(db, node, records)
    forward.acknowledge(node_db, covered, records, {"results": [{"status": "applied"}]})
    pulled(db, node_db, node)
    # ... then central voids the check-in, gives the follow-up an owner, erases the attendee.
    voids.void(db, event["id"], "checkins", done.checkin["id"], "organizer", "a test scan")
    followups.assign(db, event["id"], told["uuid"], "carla@example.org", "organizer")
    token = done.attendee["token"]
    with dbm.write(db):
        db.execute(
            "UPDATE attendees SET name = 'Ann', email = 'ann@x.org' WHERE token = ?", [token]
        )
    pulled(db, node_db, node)
    assert node_db.execute("SELECT name FROM attendees WHERE token = ?", [token]).fetchone() == (
        "Ann",
    )
    badge = db.execute("SELECT badge FROM attendees WHERE token = ?", [token]).fetchone()[0]
    erasure.erase_attendee(db, event["id"], badge, "organizer")
    pulled(db, node_db, node)
    voided = node_db.execute(
        "SELECT voided_at IS NOT NULL FROM checkins WHERE uuid = ?", [done.checkin["id"]]
    ).fetchone()
    assert voided == (1,)
    owner = node_db.execute(
        "SELECT owner FROM conversations WHERE uuid = ?", [told["uuid"]]
    ).fetchone()
    assert owner == ("carla@example.org",)
    details = node_db.execute(
        "SELECT name, email, erased_at IS NOT NULL FROM attendees WHERE token = ?", [token]
    ).fetchone()
    assert details == (None, None, 1)
    # The node's board now counts what central counts for its location.
    cork = [loc for loc in scoreboard.snapshot(db, event)["locations"] if loc["slug"] == "cork"]
    (node_cork,) = [
        loc for loc in scoreboard.snapshot(node_db, event)["locations"] if loc["slug"] == "cork"
    ]
    assert node_cork["total"] == cork[0]["total"]


def test_a_staff_edit_at_the_node_keeps_the_owner_set_on_central(db, event, node):
    booth = event["stations"]["booth"]["id"]
    told = story(booth, follow_up=1, owner="ann")
    central.apply_records(db, node, [told])
    followups.assign(db, event["id"], told["uuid"], "carla@example.org", "organizer")
    edited = {**told, "story": "Corrected words.", "owner": "ann", "revision": 2}
    assert central.apply_records(db, node, [edited])["applied"] == 1
    row = db.execute("SELECT story, owner FROM conversations").fetchone()
    assert row == ("Corrected words.", "carla@example.org")


def test_an_attendee_clearing_their_details_at_the_node_clears_them_on_central(db, event, node):
    who = {**attendee(), "kind": "attendee", "name": "Ann", "email": "ann@example.org",
           "consent": 1}  # fmt: skip
    central.apply_records(db, node, [who])
    central.apply_records(db, node, [{**who, "name": None, "email": None, "consent": 0}])
    assert db.execute("SELECT name, email, consent FROM attendees").fetchone() == (None, None, 0)


def test_a_deleted_record_leaves_the_node_and_the_feed_never_goes_back(db, event, node, node_db):
    booth = event["stations"]["booth"]
    done = checkins.check_in(db, event, booth["code"], None, rehearsal=True)
    first = pulled(db, node_db, node)
    assert node_db.execute("SELECT count(*) FROM checkins").fetchone() == (1,)
    with dbm.write(db):
        db.execute("DELETE FROM checkins WHERE uuid = ?", [done.checkin["id"]])
    second = pulled(db, node_db, node)
    assert second["changes_through"] > first["changes_through"]
    assert node_db.execute("SELECT count(*) FROM checkins").fetchone() == (0,)
    assert pull.position(node_db) == second["changes_through"]


def test_refused_records_are_parked_on_the_node_until_retried_or_discarded(
    db, event, node, node_db
):
    pulled(db, node_db, node)
    booth = event["stations"]["booth"]
    checkins.check_in(node_db, event, booth["code"], None)
    with dbm.write(node_db):  # a record central will refuse: a station of no location of its
        node_db.execute("UPDATE checkins SET scanned_at = 'yesterday'")
    answer = forwarded(db, node_db, node)
    assert answer["refused"] == [1]  # the attendee went, the check-in did not
    (parked,) = forward.parked(node_db)
    assert parked["kind"] == "checkin" and parked["reason"] == "invalid_record"
    assert forward.backlog(node_db) == {"waiting": 0, "oldest_seconds": 0.0, "parked": 1}
    with dbm.write(node_db):
        node_db.execute(f"UPDATE checkins SET scanned_at = '{AT}'")
    assert forward.retry(node_db) == 1
    assert forwarded(db, node_db, node)["applied"] == 1
    assert forward.parked(node_db) == []
    assert db.execute("SELECT count(*) FROM checkins").fetchone() == (1,)


def test_new_records_go_first_in_a_batch_behind_a_backlog(db, event, node, node_db):
    pulled(db, node_db, node)
    booth = event["stations"]["booth"]
    for _ in range(30):
        checkins.check_in(node_db, event, booth["code"], None)
    newest = checkins.check_in(node_db, event, booth["code"], None)
    covered, records = forward.next_batch(node_db, limit=10)
    uuids = [r.get("uuid") for r in records]
    assert newest.checkin["id"] in uuids[: forward.LIVE]
    assert len(covered) >= len(records)


def test_a_node_clock_ten_minutes_slow_is_corrected_before_its_times_are_sent():
    record = checkin(1, who=attendee())
    moved = protocol.shifted(record, 600.0)
    assert moved["scanned_at"] == "2026-10-07T10:10:00.000Z"
    assert moved["attendee"]["created_at"] == "2026-10-07T10:10:00.000Z"
    assert record["scanned_at"] == AT  # the stored record is not changed


def headers(**values) -> dict:
    base = {protocol.PROTOCOL_HEADER: str(protocol.PROTOCOL), protocol.FILE_HEADER: "file-a",
            protocol.FORWARDED_HEADER: "0"}  # fmt: skip
    return {**base, **values}


def test_a_node_back_on_another_or_older_file_is_refused_and_alarmed_until_accepted(
    db, event, node
):
    central.check_in_node(db, node, headers(**{protocol.FORWARDED_HEADER: "500"}))
    node = enrol.get(db, node["id"])
    with pytest.raises(central.NodeAlarm, match="older copy"):
        central.check_in_node(db, node, headers(**{protocol.FORWARDED_HEADER: "20"}))
    node = enrol.get(db, node["id"])
    with pytest.raises(central.NodeAlarm):  # alarmed: even the right file waits for a decision
        central.check_in_node(db, node, headers(**{protocol.FORWARDED_HEADER: "500"}))
    (listed,) = enrol.nodes(db, event["id"])
    assert "older copy" in listed["alarm"]
    assert central.accept(db, event, node["id"], "organizer")
    node = enrol.get(db, node["id"])
    central.check_in_node(db, node, headers(**{protocol.FILE_HEADER: "file-b"}))
    node = enrol.get(db, node["id"])
    with pytest.raises(central.NodeAlarm, match="another database file"):
        central.check_in_node(db, node, headers(**{protocol.FILE_HEADER: "file-c"}))


def test_a_call_overtaken_on_the_way_is_not_an_older_file(db, event, node):
    """A node's puller and forwarder call at once: the call that read its count first may arrive
    second, reporting fewer records than central holds. Its number (the same node process, an
    earlier call) tells it from an older file, and its figures (its backlog) are not taken over
    the later call's; a later call, another process or a node that numbers nothing, reporting
    fewer, is still alarmed."""

    def call(forwarded: int, report: str | None = None, waiting: int = 0) -> None:
        values = {protocol.FORWARDED_HEADER: str(forwarded), protocol.WAITING_HEADER: str(waiting)}
        if report is not None:
            values[protocol.REPORT_HEADER] = report
        central.check_in_node(db, enrol.get(db, node["id"]), headers(**values))

    call(99, "p1.6", waiting=5)
    call(101, "p1.8", waiting=3)
    call(99, "p1.7", waiting=4)  # read before the call that reported 101, arrived after it
    held = enrol.get(db, node["id"])
    assert (held["alarm"], held["sequence"], held["report"]) == (None, 101, "p1.8")
    assert held["reported_waiting"] == 3
    call(101, "p1.9")

    for later in ("p1.10", "p2.1", None, "p1.x", "p1.\u00b2"):  # an older file, a later call
        with pytest.raises(central.NodeAlarm, match="older copy"):
            call(99, later)
        assert central.accept(db, event, node["id"], "organizer")
        assert enrol.get(db, node["id"])["report"] is None
        call(101, "p1.20")
    with pytest.raises(central.NodeAlarm, match="another database file"):  # numbered or not
        central.check_in_node(
            db,
            enrol.get(db, node["id"]),
            headers(**{protocol.FILE_HEADER: "file-z", protocol.REPORT_HEADER: "p1.19"}),
        )


def test_a_node_numbers_its_calls_in_the_order_it_reads_its_count(tmp_path, node_db, monkeypatch):
    """The forwarder acknowledges each answer (its count rises) while the puller calls too: by
    the calls' numbers, the counts never go down, which central's check above relies on. Reading
    the count is made slow, by a different time each call, so a number not taken with its count
    would be overtaken."""
    path = str(tmp_path / "node.db")
    seen: list[tuple[int, int]] = []

    class Central(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            _, number = protocol.report_of(self.headers[protocol.REPORT_HEADER])
            seen.append((number, int(self.headers[protocol.FORWARDED_HEADER])))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    read, pace = forward.forwarded, random.Random(7)
    monkeypatch.setattr(forward, "forwarded", lambda db: time.sleep(pace.random() / 50) or read(db))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Central)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = {"NODE_UPSTREAM": f"http://127.0.0.1:{server.server_address[1]}", "NODE_TOKEN": "t",
              "DATABASE": path, "SYNCHRONOUS": "NORMAL"}  # fmt: skip
    node_link = link.Link(config)

    def forwarder() -> None:
        own = dbm.connect(path)
        for _ in range(40):
            node_link.request("GET", "/api/node/setup")
            with dbm.write(own):  # acknowledged: as forward.acknowledge counts
                settings.put(own, forward.FORWARDED, read(own) + 1)
        own.close()

    def puller() -> None:
        for _ in range(40):
            node_link.request("GET", "/api/node/setup")

    try:
        callers = [threading.Thread(target=forwarder), threading.Thread(target=puller)]
        for thread in callers:
            thread.start()
        for thread in callers:
            thread.join()
    finally:
        server.shutdown()
        server.server_close()
    assert sorted(n for n, _ in seen) == list(range(1, 81))
    counts = [count for _, count in sorted(seen)]
    assert counts == sorted(counts) and counts[-1] >= 39


def test_another_protocol_is_refused_clearly(db, node):
    with pytest.raises(central.UpgradeRequired, match="protocol"):
        central.check_in_node(db, node, headers(**{protocol.PROTOCOL_HEADER: "1"}))


def test_the_node_api_answers_409_upgrade_required_and_400_for_a_huge_cursor(client, db, event):
    _, token = enrol.add(db, event, "cork")
    auth = {"Authorization": f"Bearer {token}"}
    old = client.get("/api/node/setup", headers=auth)
    assert old.status_code == 409 and old.get_json()["error"] == "upgrade_required"
    current = {**auth, **headers()}
    huge = client.get("/api/node/setup?changes_after=" + "9" * 20, headers=current)
    assert huge.status_code == 400 and huge.get_json()["error"] == "bad_request"
    setup = client.get("/api/node/setup?changes_after=0", headers=current)
    assert setup.status_code == 200 and setup.get_json()["protocol"] == protocol.PROTOCOL
    bad = client.post("/api/node/records", headers=current, json={"records": [{"kind": 1}]})
    assert bad.status_code == 200 and bad.get_json()["results"][0]["reason"] == "invalid_record"


def test_a_node_has_no_second_console(make_app):
    app = make_app(NODE_UPSTREAM="https://central.example.org/", NODE_TOKEN="t")
    page = app.test_client().get("/admin/")
    assert page.status_code == 200
    assert "https://central.example.org/admin/" in page.get_data(as_text=True)
    assert app.test_client().post("/admin/login").status_code == 409


def test_an_organizer_voids_what_one_node_sent_in_a_window_in_one_audited_action(
    db, event, node, app
):
    booth = event["stations"]["booth"]["id"]
    sent = [checkin(booth, who=attendee(f"tok-{i}", f"KKKKK{i}")) for i in range(3)]
    central.apply_records(db, node, [*sent, story(booth)])
    mine = checkins.check_in(db, event, event["stations"]["booth"]["code"], None)
    assert scoreboard.snapshot(db, event)["total"] == 5
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["node", "void", str(node["id"]), "--since", "2000-01-01T00:00:00Z",
              "--until", "2100-01-01T00:00:00Z", "--reason", "a stolen token"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Voided 3 check-ins and 1 conversations" in result.output
    assert scoreboard.snapshot(db, event)["total"] == 1  # central's own check-in stays
    kept = db.execute(
        "SELECT voided_at FROM checkins WHERE uuid = ?", [mine.checkin["id"]]
    ).fetchone()
    assert kept == (None,)
    (action,) = db.execute("SELECT action FROM audit WHERE action = 'node.void'").fetchone()
    assert action == "node.void"


def test_a_record_held_on_central_is_held_on_the_node_too(db, event, node, node_db):
    booth = event["stations"]["booth"]
    held = checkins.check_in(db, event, booth["code"], None, held_from="203.0.113.9")
    pulled(db, node_db, node)
    (node_cork,) = [
        loc for loc in scoreboard.snapshot(node_db, event)["locations"] if loc["slug"] == "cork"
    ]
    assert node_cork["total"] == 0  # held: counted nowhere, on the node either
    with dbm.write(db):
        db.execute("UPDATE checkins SET held_from = NULL WHERE uuid = ?", [held.checkin["id"]])
    pulled(db, node_db, node)
    (node_cork,) = [
        loc for loc in scoreboard.snapshot(node_db, event)["locations"] if loc["slug"] == "cork"
    ]
    assert node_cork["total"] == 1  # trusted on central: it counts on the node


def test_staff_at_a_node_can_name_a_badge_only_central_has_met(client, db, event, node_db):
    _, token = enrol.add(db, event, "cork")
    auth = {"Authorization": f"Bearer {token}", **headers()}
    met = checkins.check_in(db, event, event["stations"]["stories"]["code"], None)  # in Austin
    badge = met.attendee["badge"]
    answer = client.get(f"/api/node/badges/{badge.lower()}", headers=auth)
    assert answer.status_code == 200 and answer.get_json()["token"] == met.attendee["token"]
    assert client.get("/api/node/badges/ZZZZZZ", headers=auth).status_code == 404
    # The node stores them as a pull would: not queued back to central.
    node = enrol.authenticate(db, token)
    pulled(db, node_db, node)
    pull.adopt_attendee(node_db, event["id"], answer.get_json())
    assert node_db.execute("SELECT badge FROM attendees WHERE token = ?",
                           [met.attendee["token"]]).fetchone() == (badge,)  # fmt: skip
    assert node_db.execute("SELECT count(*) FROM outbox").fetchone() == (0,)


def test_a_story_told_at_a_node_is_acknowledged_in_the_language_the_phone_told_it_in(
    db, event, node, node_db, tmp_path
):
    """A phone at a node speaks Japanese; the location speaks English. Central writes the
    customer's acknowledgement in Japanese, as it does for a story told on central itself."""
    pulled(db, node_db, node)
    at_node = create_app(
        {"TESTING": True, "DATABASE": str(tmp_path / "node.db"), "SECRET_KEY": "node-secret",
         "RATELIMIT_ENABLED": False}
    ).test_client()  # fmt: skip
    booth = event["stations"]["booth"]
    assert at_node.post("/api/checkins", json={"station": booth["code"]}).status_code == 201
    told = {"station": booth["code"], "story": "料金がわかりにくい", "follow_up": True,
            "contact": "hanako@example.org"}  # fmt: skip
    answer = at_node.post(
        "/api/conversations",
        json={**told, "id": str(uuid.uuid4())},
        headers={"Accept-Language": "ja-JP,ja;q=0.9,en;q=0.5"},
    )
    assert answer.status_code == 201, answer.text
    assert forwarded(db, node_db, node)["refused"] == []
    assert db.execute("SELECT source, language FROM conversations").fetchall() == [
        ("attendee", "ja")
    ]
    assert heard.enqueue(db, SENDER) == 1
    (subject,) = db.execute("SELECT subject FROM notifications").fetchone()
    assert subject.startswith("ご意見を承りました"), subject


def test_a_nodes_language_is_kept_once_and_a_staff_story_or_a_strange_tag_keeps_none(
    db, event, node
):
    booth = event["stations"]["booth"]["id"]
    theirs = story(booth, source="attendee", language="fr", attendee=attendee())
    staff = story(booth, language="de")
    odd = story(booth, source="attendee", language="xx-unknown", attendee=attendee())
    assert central.apply_records(db, node, [theirs, staff, odd])["applied"] == 3
    # A later revision in another language changes nothing: the story was told in French.
    later = {**theirs, "language": "de", "revision": 2, "story": "Encore une chose"}
    assert central.apply_records(db, node, [later])["applied"] == 1
    hostile = story(booth, source="attendee", language="<b>fr</b>", attendee=attendee())
    answer = central.apply_records(db, node, [hostile])
    assert answer["refused"] == [0] and "language" in answer["results"][0]["detail"]
    languages = dict(db.execute("SELECT uuid, language FROM conversations").fetchall())
    assert languages == {theirs["uuid"]: "fr", staff["uuid"]: None, odd["uuid"]: None}
