"""The organizer console: sign-in, access rules, setup, moderation, follow-ups, exports, report."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import uuid

import pytest

from tracker.contract.requests import ConversationIn
from tracker.corrections import erasure as privacy
from tracker.event import lookups as events
from tracker.figures import exports, report
from tracker.followups import queue as followup_queue
from tracker.people import organizers
from tracker.store import audit
from tracker.store import db as dbm
from tracker.stories import moderation
from tracker.stories import record as conversations

from .helpers import LISBON, csrf_token, sign_in_session

PASSWORD = "correct horse battery"

ADMIN_GETS = [
    "/admin/",
    "/admin/setup",
    "/admin/stories",
    "/admin/follow-ups",
    "/admin/data",
    "/admin/privacy",
    "/admin/report",
    "/admin/export/checkins.csv",
    "/admin/export/conversations.json",
    "/admin/export/follow-ups.csv",
    "/admin/backup.db",
]


def read_csv(client, path: str) -> list[dict]:
    """An export as a spreadsheet would read it (the byte-order mark removed)."""
    text = client.get(path).get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def staff_conversation(db, event, station_slug="booth", **fields):
    station = event["stations"][station_slug]
    data = ConversationIn(
        id=uuid.uuid4(), station=station["code"], story=fields.pop("story", "A good day"), **fields
    )
    author = conversations.Author("staff", station["id"], staff_name="Sam")
    record, _ = conversations.record(db, events.get_event(db), data, author)
    return record


@pytest.mark.parametrize("path", ADMIN_GETS)
def test_anonymous_visitor_is_sent_to_sign_in(client, path):
    r = client.get(path)
    assert r.status_code == 302 and "/admin/login" in r.headers["Location"]


@pytest.mark.parametrize("path", ADMIN_GETS)
def test_json_caller_gets_401(client, path):
    r = client.get(path, headers={"Accept": "application/json"})
    assert r.status_code == 401


@pytest.mark.parametrize("path", ADMIN_GETS)
def test_staff_session_is_refused(client, db, path):
    with client.session_transaction() as s:
        sign_in_session(s, db, 1, "Sam")
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ADMIN_GETS)
def test_organizer_opens_every_page(admin, path):
    assert admin.get(path).status_code == 200


def test_no_password_configured_means_no_way_in(app, client, db):
    app.config["WTF_CSRF_ENABLED"] = False
    page = client.get("/admin/login").get_data(as_text=True)
    assert "admin create" in page
    for guess in ("", "admin", "password", "tracker"):
        form = {"name": "admin", "password": guess}
        assert client.post("/admin/login", data=form).status_code == 200
        assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize(
    "name, password", [("admin", "nope"), ("Ann", PASSWORD), ("", PASSWORD), ("admin", "")]
)
def test_wrong_name_or_password_is_refused(app, client, name, password):
    app.config["ADMIN_PASSWORD"] = PASSWORD
    app.config["WTF_CSRF_ENABLED"] = False
    r = client.post("/admin/login", data={"name": name, "password": password})
    assert r.status_code == 401 and "do not match" in r.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_sign_in_form_needs_its_csrf_token(app, client):
    app.config["ADMIN_PASSWORD"] = PASSWORD
    form = {"name": "admin", "password": PASSWORD}
    assert client.post("/admin/login", data=form).status_code == 400
    page = client.get("/admin/login").get_data(as_text=True)
    token = csrf_token(page)
    r = client.post("/admin/login", data={**form, "csrf_token": token})
    assert r.status_code == 302


def test_passwords_are_hashed_per_organizer_and_short_ones_refused(db):
    with pytest.raises(organizers.WeakPassword):
        organizers.create(db, "Ann", "short")
    with pytest.raises(organizers.BadName):
        organizers.create(db, "   ", PASSWORD)
    organizers.create(db, "Ann", PASSWORD)
    organizers.create(db, "Bo", PASSWORD + "!")
    with pytest.raises(organizers.NameTaken):
        organizers.create(db, "ann", "another password")
    stored = [r[0] for r in db.execute("SELECT password_hash FROM organizers")]
    assert all(PASSWORD not in h for h in stored)
    assert organizers.check_password(db, "ann", PASSWORD, None)["name"] == "Ann"
    assert organizers.check_password(db, "Bo", PASSWORD, None) is None  # not Bo's password
    assert not organizers.check_password(db, "Ann", "", None)


def test_cli_admin_create_then_sign_in_by_name(app, client, db):
    runner = app.test_cli_runner()
    args = ["admin", "create", "--name", "Ann Murphy"]
    result = runner.invoke(args=args, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    app.config["WTF_CSRF_ENABLED"] = False
    form = {"name": "Ann Murphy", "password": PASSWORD}
    assert client.post("/admin/login", data=form).status_code == 302
    assert "Ann Murphy" in client.get("/admin/").get_data(as_text=True)
    # A new password (same command again) signs her out everywhere.
    new = PASSWORD + " again"
    assert runner.invoke(args=args, input=f"{new}\n{new}\n").exit_code == 0
    assert client.get("/admin/").status_code == 302
    assert organizers.check_password(db, "Ann Murphy", new, None)


def test_setup_writes_through_the_domain(admin, db, event):
    admin.post("/admin/setup/event", data={"name": "Renamed Day", "goal": "40"})
    ev = events.get_event(db)
    assert (ev["name"], ev["goal"]) == ("Renamed Day", 40)
    r = admin.post("/admin/setup/event", data={"name": "X", "goal": "-3"}, follow_redirects=True)
    assert "positive" in r.get_data(as_text=True)
    assert events.get_event(db)["goal"] == 40
    admin.post("/admin/setup/locations", data=LISBON)
    lisbon = events.location_by_slug(db, ev["id"], "lisbon")
    assert lisbon["country"] == "PT"
    r = admin.post(
        "/admin/setup/locations",
        data={
            "slug": "mars",
            "name": "Mars",
            "city": "X",
            "country": "PT",
            "timezone": "Mars/Base",
        },
        follow_redirects=True,
    )
    assert "unknown time zone" in r.get_data(as_text=True)
    r = admin.post(
        "/admin/setup/stations",
        data={
            "location_id": str(lisbon["id"]),
            "slug": "booth",
            "name": "Lisbon booth",
            "kind": "booth",
        },
        follow_redirects=True,
    )
    assert re.search(r"PIN \d{6}", r.get_data(as_text=True))
    booth = event["stations"]["booth"]
    admin.post(
        f"/admin/setup/stations/{booth['id']}", data={"action": "rename", "name": "Front booth"}
    )
    admin.post(f"/admin/setup/stations/{booth['id']}", data={"action": "deactivate"})
    with pytest.raises(events.UnknownStation):
        events.station_by_code(db, booth["code"])
    r = admin.post(
        f"/admin/setup/stations/{booth['id']}", data={"action": "reset-pin"}, follow_redirects=True
    )
    assert re.search(r"New PIN for Cork / Front booth: \d{6}", r.get_data(as_text=True))
    names = {
        (s["location_slug"], s["slug"]): s["name"]
        for s in events.stations(db, ev["id"], active_only=False)
    }
    assert names["cork", "booth"] == "Front booth"


def test_rejecting_a_story_removes_it_from_the_scoreboard(admin, db, event):
    from tracker.figures import scoreboard

    story = staff_conversation(db, event, story="Loved the <b>demo</b>", public=True)
    ev = events.get_event(db)
    assert [r["story"] for r in scoreboard.snapshot(db, ev)["recent"]] == ["Loved the <b>demo</b>"]
    page = admin.get("/admin/stories?show=on-screens").get_data(as_text=True)
    assert "Loved the &lt;b&gt;demo&lt;/b&gt;" in page
    admin.post(f"/admin/stories/{story['id']}", data={"action": "reject"})
    assert scoreboard.snapshot(db, ev)["recent"] == []
    admin.post(f"/admin/stories/{story['id']}", data={"action": "approve"})
    assert len(scoreboard.snapshot(db, ev)["recent"]) == 1
    assert admin.post(f"/admin/stories/{story['id']}", data={"action": "show"}).status_code == 400
    with pytest.raises(moderation.UnknownConversation):
        moderation.decide(db, ev["id"], str(uuid.uuid4()), "reject", "Ann")
    trail = [(e["actor"], e["action"]) for e in audit.entries(db, ev["id"], action="story")]
    assert trail == [("admin", "story.approve"), ("admin", "story.reject")]


def test_follow_up_queue_moves_forward_and_filters(admin, db, event):
    first = staff_conversation(db, event, follow_up=True, contact="ana@example.com", owner="Sam")
    staff_conversation(db, event, "stories", follow_up=True, contact="bo@example.com", owner="Kim")
    staff_conversation(db, event, story="no follow-up")
    page = admin.get("/admin/follow-ups").get_data(as_text=True)
    assert "ana@example.com" in page and "bo@example.com" in page
    page = admin.get("/admin/follow-ups?location=austin").get_data(as_text=True)
    assert "bo@example.com" in page and "ana@example.com" not in page
    page = admin.get("/admin/follow-ups?owner=sam").get_data(as_text=True)
    assert "ana@example.com" in page and "bo@example.com" not in page
    admin.post(f"/admin/follow-ups/{first['id']}", data={"status": "acknowledged"})
    admin.post(f"/admin/follow-ups/{first['id']}", data={"status": "done"})
    ev = events.get_event(db)
    assert [f["contact"] for f in followup_queue.follow_ups(db, ev["id"], status="done")] == [
        "ana@example.com"
    ]
    r = admin.post(
        f"/admin/follow-ups/{first['id']}", data={"status": "open"}, follow_redirects=True
    )
    assert "cannot go back" in r.get_data(as_text=True)


def test_csv_export_reads_back_with_neutralised_formulas(admin, db, event):
    staff_conversation(db, event, story='=HYPERLINK("http://evil.example")', nps=9)
    staff_conversation(
        db, event, story="Zoë liked it; 東京 too", nps=3, follow_up=True, contact="+44 20 7946 0000"
    )
    r = admin.get("/admin/export/conversations.csv")
    assert r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert len(rows) == 2
    assert rows[0]["story"] == '\'=HYPERLINK("http://evil.example")'
    assert rows[1]["story"] == "Zoë liked it; 東京 too"
    assert rows[1]["contact"] == "'+44 20 7946 0000"
    follow = read_csv(admin, "/admin/export/follow-ups.csv")
    assert [f["reference"] for f in follow] == [rows[1]["reference"]]


@pytest.mark.parametrize(
    "value,expected",
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("plain", "plain"),
        (5, 5),
    ],
)
def test_neutralise(value, expected):
    assert exports.neutralise(value) == expected


def test_json_export_is_valid_json(admin, db, event):
    staff_conversation(db, event, topics=["Pricing"])
    data = json.loads(admin.get("/admin/export/conversations.json").get_data(as_text=True))
    assert data[0]["topics"] == ["Pricing"]
    assert json.loads(admin.get("/admin/export/checkins.json").get_data(as_text=True)) == []


def test_backup_download_has_the_same_counts(admin, db, event, tmp_path):
    staff_conversation(db, event)
    r = admin.get("/admin/backup.db")
    path = tmp_path / "copy.db"
    path.write_bytes(r.data)
    copy = sqlite3.connect(path)
    for table in ("stations", "conversations", "station_totals", "attendees"):
        assert copy.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == db[table].count
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_backup_and_check_ins_go_on_while_an_export_downloads(admin, client, db, event):
    """A download reads as the organizer's network allows: it must hold no statement open on
    the connection the rest of the server writes through."""
    from tracker.checkins import record as checkins

    for _ in range(1200):
        checkins.check_in(db, event, event["stations"]["booth"]["code"], None, str(uuid.uuid4()))
    download = admin.get("/admin/export/checkins.csv", buffered=False)
    chunks = iter(download.response)
    first = next(chunks)
    assert first.startswith(exports.BOM.encode())
    backup = admin.get("/admin/backup.db")
    assert backup.status_code == 200 and backup.data.startswith(b"SQLite format 3")
    r = client.post("/api/checkins", json={"station": event["stations"]["demo"]["code"]})
    assert r.status_code == 201
    rows = list(csv.reader(io.StringIO((first + b"".join(chunks)).decode("utf-8-sig"))))
    assert len(rows) >= 1 + 1200
    download.close()


def test_an_export_cut_short_or_never_read_closes_its_connection(admin, monkeypatch):
    """A HEAD request, or a download abandoned after its first chunk, must not leave the
    export's own database connection open (the server closes each response when done)."""
    from tracker.web.admin import downloads as admin_views

    opened, real_private_db = [], admin_views.private_db
    monkeypatch.setattr(
        admin_views, "private_db", lambda: opened.append(real_private_db()) or opened[-1]
    )
    head = admin.head("/admin/export/checkins.csv")
    assert head.status_code == 200
    head.close()
    abandoned = admin.get("/admin/export/conversations.json", buffered=False)
    next(iter(abandoned.response))
    abandoned.close()
    assert len(opened) == 2
    for db in opened:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            db.execute("SELECT 1")


def test_cli_backup_refuses_to_overwrite(app, tmp_path):
    runner = app.test_cli_runner()
    target = tmp_path / "b.db"
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    assert sqlite3.connect(target).execute("SELECT count(*) FROM stations").fetchone()[0] == 3
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code != 0 and "exists" in result.output


def test_erase_attendee_keeps_counts(admin, db, event):
    from tracker.people import attendees

    ev = events.get_event(db)
    person = attendees.create(db, ev["id"])
    with dbm.write(db):
        db.execute(
            "UPDATE attendees SET name = 'Ana', email = 'ana@example.com', company = 'Acme'"
            " WHERE id = ?",
            [person["id"]],
        )
    staff_conversation(
        db, event, attendee_badge=person["badge"], follow_up=True, contact="ana@example.com"
    )
    before = db.execute("SELECT sum(conversations) FROM station_totals").fetchone()[0]
    r = admin.post("/admin/privacy", data={"badge": person["badge"].lower()}, follow_redirects=True)
    assert "Erased" in r.get_data(as_text=True)
    row = db.execute(
        "SELECT name, email, company, erased_at FROM attendees WHERE id = ?", [person["id"]]
    ).fetchone()
    assert row[:3] == (None, None, None) and row[3]
    assert db.execute("SELECT contact FROM conversations").fetchone()[0] is None
    assert db.execute("SELECT sum(conversations) FROM station_totals").fetchone()[0] == before
    with pytest.raises(privacy.UnknownAttendee):
        privacy.erase_attendee(db, ev["id"], "ZZZZZZ")


def test_report_renders_empty_and_busy(admin, app, db, event, tmp_path):
    empty = admin.get("/admin/report").get_data(as_text=True)
    assert "No engagements yet" in empty and "0</strong> of 20" in empty
    from tracker.ops import simulate

    tally = simulate.run(db, events.get_event(db), rate=5, minutes=0.2, wait=False, seed=7)
    busy = admin.get("/admin/report").get_data(as_text=True)
    data = report.build(db, events.get_event(db))
    assert data["progress"]["checkins"] == tally.counted
    assert data["progress"]["conversations"] == tally.conversations
    assert f"{data['progress']['total']}</strong> of 20" in busy
    assert "<svg" in busy and "http" not in re.sub(r'xmlns="[^"]+"', "", busy)  # self-contained
    result = app.test_cli_runner().invoke(args=["report", "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 0
    assert "Top topics" in (tmp_path / "r.html").read_text()


def test_simulate_moves_the_numbers_and_everything_agrees(admin, app, db):
    from tracker.figures import scoreboard

    result = app.test_cli_runner().invoke(
        args=["simulate", "--rate", "5", "--minutes", "1", "--no-wait", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    ev = events.get_event(db)
    snap = scoreboard.snapshot(db, ev)
    rep = report.build(db, ev)
    checkins = read_csv(admin, "/admin/export/checkins.csv")
    convs = json.loads(admin.get("/admin/export/conversations.json").get_data(as_text=True))
    assert len(checkins) == 300
    counted = sum(1 for c in checkins if c["counted"] == "1")
    assert snap["checkins"] == rep["progress"]["checkins"] == counted
    assert snap["conversations"] == rep["progress"]["conversations"] == len(convs) > 0
    assert snap["total"] == rep["progress"]["total"] == counted + len(convs)
    assert f"{snap['checkins']} counted" in result.output.replace(" (", " ").replace(")", "")
