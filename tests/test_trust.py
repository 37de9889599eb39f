"""Every engagement on the big screen is real, and organizers can correct it: the counting rules
for attendees' stories, consent and approval, void and restore, rehearsal, the audit trail."""

from __future__ import annotations

import uuid

import pytest

from tracker.checkins import record as checkins
from tracker.contract.requests import ConversationIn
from tracker.corrections import bursts, rehearsal, voids
from tracker.event import file as eventfile
from tracker.event import lookups as events
from tracker.event import setup as eventsetup
from tracker.figures import scoreboard
from tracker.ops import simulate
from tracker.people import attendees
from tracker.store import audit
from tracker.stories import edits as conversation_edits
from tracker.stories import moderation
from tracker.stories import record as conversations
from tracker.stories.record import Author

from .helpers import csrf_token

PASSWORD = "correct horse battery"


def story(event: dict, station: dict, **fields) -> ConversationIn:
    return ConversationIn(
        id=uuid.uuid4(), station=station["code"], story=fields.pop("story", "Loved it"), **fields
    )


def figures(db) -> dict:
    """What the boards show: the event's total, its parts, NPS and the ticker."""
    snap = scoreboard.snapshot(db, events.get_event(db))
    return {
        "total": snap["total"],
        "checkins": snap["checkins"],
        "conversations": snap["conversations"],
        "nps": snap["nps"],
        "recent": [r["story"] for r in snap["recent"]],
        "hours": sum(h["total"] for h in snap["hours"]),
        "stations": {s["slug"]: s["total"] for loc in snap["locations"] for s in loc["stations"]},
    }


@pytest.fixture
def visitor(db, event, booth) -> dict:
    """An attendee checked in at the booth."""
    result = checkins.check_in(db, event, booth["code"], None, client_ip="192.0.2.7")
    return result.attendee


def tell(db, visitor: dict, station: dict, **fields) -> dict:
    author = Author("attendee", station["id"], attendee_id=visitor["id"])
    record, _ = conversations.record(
        db, events.get_event(db), story(None, station, **fields), author
    )
    return record


# ------------------------------------------------------------------ counting rules


def test_five_stories_of_one_attendee_at_one_station_count_once(db, event, booth, visitor):
    before = figures(db)
    records = [tell(db, visitor, booth, nps=10, story=f"story {i}") for i in range(5)]
    assert [r["counted"] for r in records] == [True, False, False, False, False]
    after = figures(db)
    assert after["total"] == before["total"] + 1
    assert after["conversations"] == before["conversations"] + 1
    assert after["nps"]["responses"] == before["nps"]["responses"] + 1
    assert after["hours"] == before["hours"] + 1
    stored = db.execute("SELECT count(*) FROM conversations").fetchone()[0]
    assert stored == 5  # the others are kept for organizers, not counted


def test_staff_conversations_each_count(db, event, booth, visitor):
    author = Author("staff", booth["id"], staff_name="Ann")
    for _ in range(3):
        conversations.record(
            db, event, story(event, booth, attendee_badge=visitor["badge"], nps=9), author
        )
    assert figures(db)["conversations"] == 3


def test_a_story_at_a_station_never_visited_is_refused(db, event, visitor):
    demo = event["stations"]["demo"]
    with pytest.raises(conversations.NotCheckedIn):
        tell(db, visitor, demo)
    assert db.execute("SELECT count(*) FROM conversations").fetchone() == (0,)


# ------------------------------------------------------------------ consent and approval


def test_a_public_attendee_story_shows_only_after_approval(db, event, booth, visitor):
    record = tell(db, visitor, booth, story="Great people", public=True)
    assert record["approval"] == "pending"
    assert figures(db)["recent"] == []
    assert [s["story"] for s in moderation.stories(db, event["id"], "waiting")] == ["Great people"]
    moderation.decide(db, event["id"], record["id"], "approve", "Ann")
    assert figures(db)["recent"] == ["Great people"]
    moderation.decide(db, event["id"], record["id"], "reject", "Ann")
    assert figures(db)["recent"] == []


def test_no_organizer_action_publishes_a_story_its_teller_kept_private(db, event, booth, visitor):
    record = tell(db, visitor, booth, story="Just for you", public=False)
    done = moderation.decide(db, event["id"], record["id"], "approve", "Ann")
    assert done == {"approval": "approved", "on_screens": False}
    assert figures(db)["recent"] == []
    assert moderation.stories(db, event["id"], "waiting") == []
    assert moderation.stories(db, event["id"], "on-screens") == []


@pytest.mark.parametrize("mode, shows", [("attendees", True), ("all", False)])
def test_staff_stories_go_up_at_once_unless_the_event_moderates_all(db, event, booth, mode, shows):
    db.execute("UPDATE events SET moderation = ? WHERE id = ?", [mode, event["id"]])
    db.conn.commit()
    ev = events.get_event(db)
    author = Author("staff", booth["id"], staff_name="Ann")
    conversations.record(db, ev, story(ev, booth, story="Staff heard this", public=True), author)
    assert (figures(db)["recent"] == ["Staff heard this"]) is shows


def test_the_event_file_sets_moderation(db, tmp_path):
    from .conftest import SMALL_EVENT

    text = SMALL_EVENT.read_text().replace("[event]\n", '[event]\nmoderation = "all"\n', 1)
    (tmp_path / "e.toml").write_text(text)
    loaded = eventsetup.load_event(db, eventfile.read_event_file(tmp_path / "e.toml")).event
    assert loaded["moderation"] == "all"
    (tmp_path / "bad.toml").write_text(text.replace('"all"', '"nobody"'))
    with pytest.raises(eventfile.EventFileError, match="moderation"):
        eventfile.read_event_file(tmp_path / "bad.toml")


# ------------------------------------------------------------------ void and restore


def test_a_voided_checkin_leaves_the_totals_and_a_restore_brings_it_back(db, event, booth):
    before = figures(db)
    result = checkins.check_in(db, event, booth["code"], None)
    with_it = figures(db)
    assert with_it["total"] == before["total"] + 1
    cid = result.checkin["id"]
    with pytest.raises(voids.NeedsReason):
        voids.void(db, event["id"], "checkins", cid, "Ann", "  ")
    assert voids.void(db, event["id"], "checkins", cid, "Ann", "test entry")
    assert not voids.void(db, event["id"], "checkins", cid, "Ann", "again")
    assert figures(db) == before
    row = db.execute("SELECT voided_by, void_reason FROM checkins WHERE uuid = ?", [cid]).fetchone()
    assert row == ("Ann", "test entry")  # still stored, with who and why
    assert voids.restore(db, event["id"], "checkins", cid, "Bo")
    assert figures(db) == with_it
    trail = [(e["actor"], e["action"]) for e in audit.entries(db, event["id"], action="checkin")]
    assert trail == [("Bo", "checkin.restore"), ("Ann", "checkin.void")]
    with pytest.raises(voids.NotFound):
        voids.void(db, event["id"], "checkins", str(uuid.uuid4()), "Ann", "x")


def test_a_voided_story_leaves_totals_nps_and_ticker(db, event, booth):
    before = figures(db)
    author = Author("staff", booth["id"], staff_name="Ann")
    record, _ = conversations.record(
        db, event, story(event, booth, story="Spam spam", nps=10, public=True), author
    )
    assert figures(db)["recent"] == ["Spam spam"]
    voids.void(db, event["id"], "conversations", record["id"], "Ann", "spam")
    assert figures(db) == before
    voids.restore(db, event["id"], "conversations", record["id"], "Ann")
    assert figures(db)["recent"] == ["Spam spam"]
    assert figures(db)["nps"]["promoters"] == 1


def test_voiding_an_attendee_takes_out_everything_they_recorded(db, event, booth, visitor):
    checkins.check_in(db, event, event["stations"]["demo"]["code"], visitor["token"])
    tell(db, visitor, booth, nps=10, public=True)
    staff = Author("staff", booth["id"], staff_name="Ann")
    conversations.record(db, event, story(event, booth, attendee_badge=visitor["badge"]), staff)
    with_them = figures(db)
    changed = voids.void_attendee(db, event["id"], visitor["badge"].lower(), "Ann", "a test phone")
    assert changed == {"checkins": 2, "conversations": 1}
    after = figures(db)
    # What staff logged with their badge is the staff's record and stays.
    assert (after["checkins"], after["conversations"]) == (0, 1)
    voids.restore_attendee(db, event["id"], visitor["badge"], "Ann")
    assert figures(db) == with_them
    actions = [e["action"] for e in audit.entries(db, event["id"])]
    assert actions[:2] == ["attendee.restore", "attendee.void"]


def test_a_flagged_burst_is_voided_in_one_step(db, event, booth):
    for _ in range(4):
        checkins.check_in(db, event, booth["code"], None, client_ip="198.51.100.9")
    checkins.check_in(db, event, booth["code"], None, client_ip="192.0.2.1")
    flagged = bursts.flagged(db, event["id"], threshold=3)
    assert [(b["ip"], b["identities"], b["voided"]) for b in flagged] == [("198.51.100.9", 4, 0)]
    changed = bursts.void_burst(db, event["id"], "198.51.100.9", flagged[0]["window"], "Ann", "bot")
    assert changed["checkins"] == 4
    assert figures(db)["checkins"] == 1
    assert bursts.flagged(db, event["id"], threshold=3)[0]["voided"] == 4
    bursts.restore_burst(db, event["id"], "198.51.100.9", flagged[0]["window"], "Ann")
    assert figures(db)["checkins"] == 5


# ------------------------------------------------------------------ rehearsal


def test_rehearsal_clear_brings_every_total_back_exactly(db, event, booth, visitor):
    tell(db, visitor, booth, nps=6, public=True, story="real")
    before = figures(db)
    before_rows = {
        t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("checkins", "conversations", "attendees")
    }
    simulate.run(db, event, rate=20, minutes=1, wait=False, seed=7)
    assert figures(db)["total"] > before["total"] + 1000
    counts = rehearsal.counts(db, event["id"])
    assert counts["checkins"] == 1200 and counts["conversations"] > 0
    removed = rehearsal.clear(db, event["id"], "Ann")
    assert removed["checkins"] == 1200 and removed["attendees"] > 0
    assert figures(db) == before
    rows = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in before_rows}
    assert rows == before_rows
    hours = db.execute("SELECT sum(checkins), sum(conversations) FROM station_quarters").fetchone()
    assert hours == (before["checkins"], before["conversations"])
    assert audit.entries(db, event["id"])[0]["action"] == "rehearsal.clear"
    assert rehearsal.clear(db, event["id"])["checkins"] == 0


def test_rehearsal_clear_from_the_command_line(app, db, event):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["simulate", "--rate", "2", "--minutes", "1", "--no-wait"])
    assert result.exit_code == 0 and "rehearsal clear" in result.output
    assert figures(db)["total"] > 0
    result = runner.invoke(args=["rehearsal", "clear"])
    assert result.exit_code == 0 and "Removed 120 check-ins" in result.output
    assert figures(db)["total"] == 0


# ------------------------------------------------------------------ the console


@pytest.fixture
def organizer(app, client, db):
    """Ann, signed in with her own account (forms without CSRF tokens for brevity)."""
    from tracker.people import organizers

    organizers.create(db, "Ann", PASSWORD)
    app.config["WTF_CSRF_ENABLED"] = False
    assert (
        client.post("/admin/login", data={"name": "Ann", "password": PASSWORD}).status_code == 302
    )
    return client


def test_the_moderation_queue_approves_in_one_tap_and_is_audited(organizer, db, event, booth):
    visitor = checkins.check_in(db, event, booth["code"], None).attendee
    first = tell(db, visitor, booth, story="First <script>", public=True)
    tell(db, visitor, booth, story="Only for your ears", public=False)
    page = organizer.get("/admin/stories").get_data(as_text=True)
    assert "Waiting for approval (1)" in page
    assert "First &lt;script&gt;" in page and "Only for your ears" not in page
    assert organizer.get("/api/scoreboard").get_json()["recent"] == []
    organizer.post(f"/admin/stories/{first['id']}", data={"action": "approve"})
    recent = organizer.get("/api/scoreboard").get_json()["recent"]
    assert [r["story"] for r in recent] == ["First <script>"]
    entry = audit.entries(db, event["id"])[0]
    assert (entry["actor"], entry["action"], entry["subject"]) == (
        "Ann",
        "story.approve",
        first["reference"],
    )


def test_organizers_void_and_restore_from_the_attendee_page(organizer, db, event, booth):
    result = checkins.check_in(db, event, booth["code"], None)
    badge = result.attendee["badge"]
    page = organizer.get(f"/admin/attendees?badge={badge}").get_data(as_text=True)
    assert "Yes, first visit" in page
    r = organizer.post(
        f"/admin/void/checkins/{result.checkin['id']}",
        data={"reason": "testing the QR code", "next": f"/admin/attendees?badge={badge}"},
    )
    assert r.headers["Location"] == f"/admin/attendees?badge={badge}"
    assert organizer.get("/api/scoreboard").get_json()["checkins"] == 0
    page = organizer.get(f"/admin/attendees?badge={badge}").get_data(as_text=True)
    assert "testing the QR code" in page and "Restore" in page
    organizer.post(f"/admin/restore/checkins/{result.checkin['id']}")
    assert organizer.get("/api/scoreboard").get_json()["checkins"] == 1
    r = organizer.post(f"/admin/void/checkins/{result.checkin['id']}", data={"reason": ""})
    assert organizer.get("/api/scoreboard").get_json()["checkins"] == 1  # a reason is needed
    assert organizer.post("/admin/void/attendees/x", data={"reason": "x"}).status_code == 404


def test_the_audit_page_filters_and_exports(organizer, db, event):
    booth = event["stations"]["booth"]
    organizer.post(f"/admin/setup/stations/{booth['id']}", data={"action": "reset-pin"})
    organizer.post(f"/admin/setup/stations/{booth['id']}", data={"action": "deactivate"})
    organizer.post(
        f"/admin/setup/stations/{booth['id']}", data={"action": "rename", "name": "Front booth"}
    )
    page = organizer.get("/admin/audit?action=station").get_data(as_text=True)
    for action in ("station.reset_pin", "station.deactivate", "station.rename"):
        assert f'<code class="muted">{action}</code>' in page
    assert "Front booth" in page and "Ann" in page
    page = organizer.get("/admin/audit?action=station.rename").get_data(as_text=True)
    assert '<code class="muted">station.deactivate</code>' not in page
    text = organizer.get("/admin/audit.csv?actor=ann").get_data(as_text=True)
    lines = text.removeprefix("\ufeff").splitlines()
    assert lines[0] == "at,actor,action,subject,before,after" and len(lines) == 4


def test_organizers_add_organizers_and_sign_out_everywhere(organizer, app, db):
    r = organizer.post("/admin/organizers", data={"name": "Bo", "password": "short"})
    assert "at least 10" in organizer.get("/admin/organizers").get_data(as_text=True)
    organizer.post("/admin/organizers", data={"name": "Bo", "password": PASSWORD + "!"})
    other = app.test_client()
    r = other.post("/admin/login", data={"name": "Bo", "password": PASSWORD + "!"})
    assert r.status_code == 302
    assert ("Ann", "organizer.create") in [(e["actor"], e["action"]) for e in audit.entries(db, 1)]
    # Ann signs out on one device: a copy of her session cookie no longer opens anything.
    copy = app.test_client()
    copy.set_cookie("session", organizer.get_cookie("session").value)
    assert copy.get("/admin/").status_code == 200
    organizer.post("/admin/logout")
    assert copy.get("/admin/").status_code == 302
    assert other.get("/admin/").status_code == 200  # Bo stays signed in


def test_today_flags_a_burst_and_offers_rehearsal_clear(organizer, app, db, event):
    app.config["BURST_IDENTITIES"] = 3
    booth = event["stations"]["booth"]
    for _ in range(3):
        checkins.check_in(db, event, booth["code"], None, client_ip="203.0.113.5")
    simulate.run(db, event, rate=1, minutes=1, wait=False, seed=1)
    page = organizer.get("/admin/").get_data(as_text=True)
    assert "203.0.113.5" in page and "Bursts of new identities" in page
    assert "Clear rehearsal data" in page and "Remove these" in page
    organizer.post("/admin/rehearsal/clear")  # not confirmed: nothing is removed
    assert organizer.get("/api/scoreboard").get_json()["checkins"] > 3
    organizer.post("/admin/rehearsal/clear", data={"confirm": "yes"})
    assert organizer.get("/api/scoreboard").get_json()["checkins"] == 3
    window = bursts.flagged(db, event["id"], 3)[0]["window"]
    organizer.post(
        "/admin/bursts",
        data={"ip": "203.0.113.5", "window": window, "action": "void", "reason": "a script"},
    )
    assert organizer.get("/api/scoreboard").get_json()["checkins"] == 0


def test_a_staff_edit_is_audited_with_who_edited_whom(db, event, booth):
    author = Author("staff", booth["id"], staff_name="Ann")
    data = story(event, booth, nps=6)
    record, _ = conversations.record(db, event, data, author)
    editor = Author("staff", booth["id"], staff_name="Bo")
    conversation_edits.edit(db, event, data.model_copy(update={"nps": 9}), editor)
    entry = audit.entries(db, event["id"])[0]
    assert entry["action"] == "conversation.edit"
    assert "Bo" in entry["actor"] and entry["subject"] == f"{record['reference']} by Ann"
    assert (entry["before"], entry["after"]) == ('{"nps": 6}', '{"nps": 9}')
    assert figures(db)["nps"]["promoters"] == 1 and figures(db)["nps"]["detractors"] == 0


def test_the_sign_in_page_asks_for_a_name(app, client, db):
    from tracker.people import organizers

    organizers.create(db, "Ann", PASSWORD)
    page = client.get("/admin/login").get_data(as_text=True)
    token = csrf_token(page)
    assert 'name="name"' in page
    r = client.post("/admin/login", data={"name": "Ann", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302


def test_an_unknown_badge_is_a_clear_message(organizer):
    page = organizer.get("/admin/attendees?badge=ZZZZZZ").get_data(as_text=True)
    assert "No attendee has the badge" in page


def test_exports_keep_voided_rows_with_who_and_why(organizer, db, event, booth):
    result = checkins.check_in(db, event, booth["code"], None)
    voids.void(db, event["id"], "checkins", result.checkin["id"], "Ann", "duplicate")
    text = organizer.get("/admin/export/checkins.csv").get_data(as_text=True)
    assert "duplicate" in text and "Ann" in text


def test_erase_is_audited_without_the_erased_details(organizer, db, event, booth):
    result = checkins.check_in(db, event, booth["code"], None)
    db.execute("UPDATE attendees SET name = 'Zoë Secret' WHERE id = ?", [result.attendee["id"]])
    db.conn.commit()
    organizer.post("/admin/privacy", data={"badge": result.attendee["badge"]})
    assert attendees.by_id(db, result.attendee["id"])["name"] is None
    entry = audit.entries(db, event["id"])[0]
    assert entry["action"] == "attendee.erase" and "Zoë" not in str(entry)


# ------------------------------------------------------------------ what a review found


def test_editing_an_approved_story_sends_it_back_for_approval(db, event, booth, visitor):
    record = tell(db, visitor, booth, story="Lovely team", public=True)
    moderation.decide(db, event["id"], record["id"], "approve", "Ann")
    author = Author("attendee", booth["id"], attendee_id=visitor["id"])
    changed = ConversationIn(
        id=record["id"], station=booth["code"], story="BUY CHEAP PILLS", public=True
    )
    assert conversation_edits.edit(db, event, changed, author)["approval"] == "pending"
    assert figures(db)["recent"] == []


def test_a_staff_edit_never_undoes_an_organizers_rejection(db, event, booth):
    author = Author("staff", booth["id"], staff_name="Ann")
    data = story(event, booth, story="Off topic", public=True)
    record, _ = conversations.record(db, event, data, author)
    moderation.decide(db, event["id"], record["id"], "reject", "Bo")
    edited = conversation_edits.edit(db, event, data.model_copy(update={"story": "Still"}), author)
    assert edited["approval"] == "rejected" and figures(db)["recent"] == []


def test_a_voided_attendee_adds_nothing_afterwards_and_a_restore_is_exact(
    db, event, booth, visitor
):
    demo = event["stations"]["demo"]
    first = checkins.check_in(db, event, demo["code"], visitor["token"])
    voids.void(db, event["id"], "checkins", first.checkin["id"], "Ann", "a test scan")
    before = figures(db)
    voids.void_attendee(db, event["id"], visitor["badge"], "Ann", "a script")
    voided = figures(db)
    # The same cookie goes on: its check-ins arrive voided, and it cannot tell stories.
    later = checkins.check_in(db, event, event["stations"]["stories"]["code"], visitor["token"])
    assert later.checkin["counted"] and figures(db) == voided
    with pytest.raises(conversations.NotCheckedIn):
        tell(db, visitor, booth, nps=10)
    voids.restore_attendee(db, event["id"], visitor["badge"], "Ann")
    after = figures(db)
    # The one voided on its own ("a test scan") stays voided; the others count again.
    assert after["checkins"] == before["checkins"] + 1
    row = db.execute(
        "SELECT void_reason FROM checkins WHERE uuid = ?", [first.checkin["id"]]
    ).fetchone()
    assert row == ("a test scan",)


def test_the_report_counts_by_the_boards_rules(db, event, booth, visitor):
    from tracker.figures import report

    for i in range(3):
        tell(db, visitor, booth, nps=10, story=f"again {i}")  # one counts
    staff = Author("staff", booth["id"], staff_name="Ann")
    spam, _ = conversations.record(db, event, story(event, booth, nps=0), staff)
    voids.void(db, event["id"], "conversations", spam["id"], "Ann", "spam")
    built = report.build(db, events.get_event(db))
    assert built["nps"]["responses"] == figures(db)["nps"]["responses"] == 1


def test_an_erased_attendees_contact_is_not_left_in_the_audit_trail(db, event, booth, visitor):
    from tracker.corrections import erasure as privacy

    author = Author("staff", booth["id"], staff_name="Ann")
    data = story(event, booth, attendee_badge=visitor["badge"], follow_up=True, contact="a@b.ie")
    conversations.record(db, event, data, author)
    conversation_edits.edit(
        db, event, data.model_copy(update={"contact": "jane@example.com +353 1"}), author
    )
    privacy.erase_attendee(db, event["id"], visitor["badge"], "Ann")
    trail = str(audit.entries(db, event["id"], limit=None))
    assert "jane@example.com" not in trail and "a@b.ie" not in trail
    assert '"contact": "(changed)"' in trail


def test_rehearsal_clear_leaves_no_trace_in_hours_or_last_activity(db, event):
    def station_rows():
        return db.execute("SELECT * FROM station_totals ORDER BY station_id").fetchall(), (
            db.execute("SELECT * FROM station_quarters ORDER BY 1, 2").fetchall()
        )

    before = station_rows()
    simulate.run(db, event, rate=5, minutes=1, wait=False, seed=2)
    rehearsal.clear(db, event["id"])
    assert station_rows() == before


def test_names_the_trail_gives_to_others_are_reserved(db):
    from tracker.people import organizers

    for name in ("command line", "Staff Ann at station #1", "unknown"):
        with pytest.raises(organizers.BadName):
            organizers.create(db, name, PASSWORD)


def test_the_audit_text_filter_takes_percent_and_underscore_literally(db, event, booth):
    eventsetup.rename(db, "stations", booth["id"], "100% booth", "Ann")
    eventsetup.rename(db, "stations", event["stations"]["demo"]["id"], "Demo corner", "Ann")
    found = audit.entries(db, event["id"], text="100%")
    assert [e["subject"] for e in found] == ["station Cork / Main booth"]
    assert audit.entries(db, event["id"], action="station", text="_") == []


def test_a_huge_page_number_is_the_first_page_not_an_error(organizer):
    for path in ("/admin/stories?page=99999999999999999999", "/admin/audit?page=-3"):
        assert organizer.get(path).status_code == 200


def test_web_check_ins_keep_their_address_so_bursts_are_flagged(app, client, db, event):
    from tracker.people import organizers

    app.config.update(BURST_IDENTITIES=3, WTF_CSRF_ENABLED=False)
    code = event["stations"]["booth"]["code"]
    for _ in range(2):
        phone = app.test_client()
        phone.environ_base["REMOTE_ADDR"] = "203.0.113.77"
        assert phone.post("/api/checkins", json={"station": code}).status_code == 201
    phone = app.test_client()
    phone.environ_base["REMOTE_ADDR"] = "203.0.113.77"
    assert phone.post(f"/s/{code}", data={"id": str(uuid.uuid4())}).status_code == 201
    organizers.create(db, "Ann", PASSWORD)
    client.post("/admin/login", data={"name": "Ann", "password": PASSWORD})
    page = client.get("/admin/").get_data(as_text=True)
    assert "203.0.113.77" in page and "Bursts of new identities" in page


def test_the_admin_password_session_ends_at_sign_out_and_without_the_variable(app, client):
    app.config.update(ADMIN_PASSWORD=PASSWORD, WTF_CSRF_ENABLED=False)
    assert (
        client.post("/admin/login", data={"name": "admin", "password": PASSWORD}).status_code == 302
    )
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    assert copy.get("/admin/").status_code == 200
    app.config["ADMIN_PASSWORD"] = None
    assert copy.get("/admin/").status_code == 302
    app.config["ADMIN_PASSWORD"] = PASSWORD
    client.post("/admin/logout")
    assert copy.get("/admin/").status_code == 302


def test_long_lists_come_a_page_at_a_time(organizer, db, event, booth):
    staff = Author("staff", booth["id"], staff_name="Ann")
    for i in range(moderation.PAGE_SIZE + 3):
        conversations.record(db, event, story(event, booth, story=f"story {i}"), staff)
    first = organizer.get("/admin/stories?show=all").get_data(as_text=True)
    assert "page 1 of 2" in first and "Older →" in first and "story 52" in first
    second = organizer.get("/admin/stories?show=all&page=2").get_data(as_text=True)
    assert "← Newer" in second and "story 0" in second and "story 52" not in second
