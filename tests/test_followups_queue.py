"""The follow-up queue: owners, notes, status with history, the SLA, filters, search, paging,
counts, CSV (domain and HTTP), and the console page on a 390 px phone."""

from __future__ import annotations

import csv
import io
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tracker.contract.requests import ConversationIn
from tracker.corrections import voids
from tracker.event import lookups as events
from tracker.event import settings as eventsettings
from tracker.followups import changes as followups
from tracker.followups import queue as followup_queue
from tracker.people import organizers
from tracker.store import audit
from tracker.store import db as dbm
from tracker.stories import record as conversations

from .conftest import LiveServer
from .helpers import add_conversation, wait_for_js

PASSWORD = "correct horse battery"
NOW = "2026-10-07T12:00:00.000Z"


def owed(db, event, station="booth", hours_ago=1.0, staff="Sam", **fields) -> dict:
    """A staff conversation with a follow-up, `hours_ago` before NOW."""
    st = event["stations"][station]
    data = ConversationIn(
        id=uuid.uuid4(),
        station=st["code"],
        story=fields.pop("story", "Please call me back"),
        follow_up=fields.pop("follow_up", True),
        **fields,
    )
    author = conversations.Author("staff", st["id"], staff_name=staff)
    record, _ = conversations.record(db, events.get_event(db), data, author)
    at = dbm.iso(dbm.parse_iso(NOW) - timedelta(hours=hours_ago))
    with dbm.write(db):
        db.execute(
            "UPDATE conversations SET captured_at = ?, received_at = ? WHERE uuid = ?",
            [at, at, record["id"]],
        )
    return record


def ids(page: dict) -> list[str]:
    return [item["id"] for item in page["items"]]


def queue(db, event, sla=48, page=1, **filters):
    return followup_queue.queue(
        db, event["id"], followup_queue.Filters(**filters), sla, page=page, now=NOW
    )


# ---------------------------------------------------------------- domain


def test_status_moves_forward_only_with_who_and_when_in_history_and_audit(db, event):
    f = owed(db, event)
    followups.set_status(db, event["id"], f["id"], "acknowledged", now=NOW, actor="Ann")
    followups.set_status(db, event["id"], f["id"], "acknowledged", actor="Ann")  # no-op
    followups.set_status(db, event["id"], f["id"], "done", actor="Bo")
    with pytest.raises(followups.InvalidTransition, match="cannot go back"):
        followups.set_status(db, event["id"], f["id"], "acknowledged", actor="Ann")
    history = followups.history(db, event["id"], f["id"])
    assert [(e["kind"], e["text"], e["actor"]) for e in history] == [
        ("status", "acknowledged", "Ann"),
        ("status", "done", "Bo"),
    ]
    assert history[0]["at"] == NOW
    trail = audit.entries(db, event["id"], action="follow_up")
    assert [(e["actor"], e["action"]) for e in trail] == [
        ("Bo", "follow_up.status"),
        ("Ann", "follow_up.status"),
    ]
    item = queue(db, event, status="done")["items"][0]
    assert (item["acknowledged_by"], item["done_by"]) == ("Ann", "Bo")
    assert item["acknowledged_at"] == NOW


def test_assign_and_reassign_an_owner_is_kept_in_history_and_audited(db, event):
    f = owed(db, event, owner="Sam")
    followups.assign(db, event["id"], f["id"], "  kim@example.com ", actor="Ann")
    followups.assign(db, event["id"], f["id"], "kim@example.com", actor="Ann")  # the same
    followups.assign(db, event["id"], f["id"], "", actor="Bo")  # nobody
    assert conversations.get(db, f["id"])["owner"] is None
    history = followups.history(db, event["id"], f["id"])
    assert [(e["kind"], e["text"], e["actor"]) for e in history] == [
        ("owner", "kim@example.com", "Ann"),
        ("owner", "", "Bo"),
    ]
    trail = audit.entries(db, event["id"], action="follow_up.owner")
    assert [(e["before"], e["after"]) for e in reversed(trail)] == [
        ('{"owner": "Sam"}', '{"owner": "kim@example.com"}'),
        ('{"owner": "kim@example.com"}', '{"owner": null}'),
    ]


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda db, ev, f: followups.assign(db, ev["id"], f, "x" * 121), "at most 120"),
        (lambda db, ev, f: followups.add_note(db, ev["id"], f, "   "), "write the note"),
        (lambda db, ev, f: followups.add_note(db, ev["id"], f, "x" * 2001), "at most 2000"),
        (lambda db, ev, f: followups.set_status(db, ev["id"], f, "closed"), "status is one of"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(db, event, change, message):
    f = owed(db, event, owner="Sam")
    before = db.execute("SELECT count(*) FROM audit").fetchone()[0]
    with pytest.raises(ValueError, match=message):
        change(db, event, f["id"])
    assert conversations.get(db, f["id"])["owner"] == "Sam"
    assert followups.history(db, event["id"], f["id"]) == []
    assert db.execute("SELECT count(*) FROM audit").fetchone()[0] == before


def test_a_conversation_without_follow_up_or_of_nobody_is_refused(db, event):
    plain = owed(db, event, follow_up=False)
    with pytest.raises(followups.InvalidTransition, match="no follow-up"):
        followups.add_note(db, event["id"], plain["id"], "hello")
    with pytest.raises(conversations.NotFound):
        followups.assign(db, event["id"], str(uuid.uuid4()), "Kim")


def test_notes_keep_their_order_author_and_time(db, event):
    f = owed(db, event)
    followups.add_note(db, event["id"], f["id"], "Called, no answer", actor="Ann", now=NOW)
    followups.add_note(db, event["id"], f["id"], "Sent an e-mail", actor="Bo")
    notes = followups.history(db, event["id"], f["id"])
    assert [(n["actor"], n["text"]) for n in notes] == [
        ("Ann", "Called, no answer"),
        ("Bo", "Sent an e-mail"),
    ]
    assert audit.entries(db, event["id"], action="follow_up.note")[0]["actor"] == "Bo"


def test_overdue_first_then_oldest_against_the_sla(db, event):
    young = owed(db, event, hours_ago=1)
    old_done = owed(db, event, hours_ago=100)
    acked = owed(db, event, hours_ago=80)
    late = owed(db, event, hours_ago=50)
    later = owed(db, event, hours_ago=60)
    followups.set_status(db, event["id"], old_done["id"], "done")
    followups.set_status(db, event["id"], acked["id"], "acknowledged")
    page = queue(db, event, sla=48)
    # Open past 48 h first (oldest first), then the rest oldest first; done is not owed.
    assert ids(page) == [later["id"], late["id"], acked["id"], young["id"]]
    assert [i["overdue"] for i in page["items"]] == [True, True, False, False]
    assert page["counts"] == {
        "open": 3,
        "acknowledged": 1,
        "done": 1,
        "void": 0,
        "overdue": 2,
        "all": 5,
    }
    assert ids(queue(db, event, sla=48, overdue=True)) == [later["id"], late["id"]]
    assert ids(queue(db, event, sla=55, overdue=True)) == [later["id"]]
    assert ids(queue(db, event, status="all"))[-1] == young["id"]


def test_filters_by_status_owner_location_and_nobody(db, event):
    a = owed(db, event, owner="Sam")
    b = owed(db, event, station="stories", owner="kim@example.com")
    c = owed(db, event)
    assert ids(queue(db, event, owner="SAM")) == [a["id"]]
    assert ids(queue(db, event, owner="-")) == [c["id"]]
    assert ids(queue(db, event, location="austin")) == [b["id"]]
    assert ids(queue(db, event, location="nowhere")) == []
    followups.set_status(db, event["id"], a["id"], "done")
    assert ids(queue(db, event, status="done")) == [a["id"]]
    assert ids(queue(db, event, status="open", owner="sam")) == []


@pytest.mark.parametrize(
    "q,expected",
    [
        ("100%", ["percent"]),
        ("%", ["percent"]),
        ("_", ["under"]),
        ("ana@EXAMPLE", ["mail"]),
        ("wire", ["mail"]),  # in the story
        ("nothing like it", []),
    ],
)
def test_search_takes_percent_and_underscore_literally(db, event, q, expected):
    made = {
        "percent": owed(db, event, story="100% unhappy", contact="+353 1 234 5678"),
        "under": owed(db, event, story="snake_case fan"),
        "mail": owed(db, event, story="the wire broke", contact="ana@example.com"),
    }
    found = ids(queue(db, event, q=q))
    assert found == [made[k]["id"] for k in expected]


def test_search_by_reference(db, event):
    owed(db, event)
    f = owed(db, event)
    assert ids(queue(db, event, q=f["reference"])) == [f["id"]]
    assert ids(queue(db, event, q=f["reference"].lower())) == [f["id"]]


def test_fifty_a_page_with_counts_for_all(db, event):
    made = [owed(db, event, hours_ago=60 - i) for i in range(55)]
    first, second = queue(db, event), queue(db, event, page=2)
    assert (first["total"], first["pages"], len(first["items"])) == (55, 2, 50)
    assert ids(second) == [m["id"] for m in made[50:]]
    assert queue(db, event, page=99)["page"] == 2  # past the end: the last page


@pytest.mark.parametrize(
    "args,message",
    [
        ({"status": "closed"}, "status is one of"),
        ({"q": "x" * 101}, "at most 100"),
        ({"owner": "x" * 121}, "at most 120"),
    ],
)
def test_filters_parse_refuses_what_cannot_be_used(args, message):
    with pytest.raises(followups.InvalidFollowUp, match=message):
        followup_queue.Filters.parse(args)


def test_filters_parse_and_back_to_a_query():
    filters = followup_queue.Filters.parse(
        {"status": "all", "overdue": "1", "q": " ana ", "owner": ""}
    )
    assert filters.query() == {"status": "all", "overdue": "1", "q": "ana"}


@pytest.mark.parametrize(
    "contact,href",
    [
        ("ana@example.com", "mailto:ana@example.com"),
        ("+353 (1) 234-5678", "tel:+35312345678"),
        ("call the front desk", None),
        ("12", None),
        (None, None),
    ],
)
def test_contact_links(contact, href):
    assert followup_queue.contact_href(contact) == href


def test_known_owners_are_organizers_and_staff_names_each_once(db, event):
    organizers.create(db, "Ann Murphy", "long enough password")
    owed(db, event, staff="sam")
    owed(db, event, staff="Sam", owner="Kim")
    names = followup_queue.known_owners(db, event["id"])
    assert [n.casefold() for n in names] == ["ann murphy", "kim", "sam"]  # one Sam, any case


def test_sla_is_set_per_event_and_audited(db, event):
    eventsettings.set_follow_up_sla(db, event["id"], 24, actor="Ann")
    eventsettings.set_follow_up_sla(db, event["id"], 24, actor="Ann")  # unchanged: no row
    assert db.execute("SELECT follow_up_sla_hours FROM events").fetchone()[0] == 24
    trail = audit.entries(db, event["id"], action="event.follow_up_sla")
    assert [(e["before"], e["after"]) for e in trail] == [
        ('{"follow_up_sla_hours": null}', '{"follow_up_sla_hours": 24}')
    ]
    for bad in (0, -1, 8761, 2.5, True):
        with pytest.raises(ValueError, match="whole number of hours"):
            eventsettings.set_follow_up_sla(db, event["id"], bad)
    assert db.execute("SELECT follow_up_sla_hours FROM events").fetchone()[0] == 24


def test_csv_rows_have_owner_status_times_and_notes(db, event):
    f = owed(db, event, owner="Sam", contact="=cmd")
    followups.add_note(db, event["id"], f["id"], "Called", actor="Ann", now=NOW)
    followups.set_status(db, event["id"], f["id"], "acknowledged", actor="Ann", now=NOW)
    rows = list(
        followup_queue.csv_rows(db, event["id"], followup_queue.Filters(), 48, now=NOW, batch=1)
    )
    head, row = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert head == list(followup_queue.CSV_COLUMNS) and len(rows) == 2
    assert row["owner"] == "Sam" and row["acknowledged_by"] == "Ann"
    assert row["notes"] == f"{NOW} Ann: Called"


# ---------------------------------------------------------------- HTTP


def test_page_shows_cards_counts_links_and_keeps_filters(admin, db, event):
    owed(db, event, contact="ana@example.com", owner="Sam", hours_ago=0)
    owed(db, event, station="stories", contact="+1 512 555 0100", hours_ago=0)
    page = admin.get("/admin/follow-ups").get_data(as_text=True)
    assert 'href="mailto:ana@example.com"' in page
    assert 'href="tel:+15125550100"' in page
    assert 'Still owed <span class="count">2</span>' in page
    assert '<option value="Sam">' in page  # owners offered
    page = admin.get("/admin/follow-ups?location=austin&q=512").get_data(as_text=True)
    assert "+1 512 555 0100" in page and "ana@example.com" not in page
    # Links keep the filters: the CSV of what is shown, and the status counts.
    assert "/admin/follow-ups.csv?location=austin&amp;q=512" in page
    assert 'value="512"' in page


def test_bad_filter_is_a_clear_400(admin):
    r = admin.get("/admin/follow-ups?status=closed")
    assert r.status_code == 400 and "status is one of" in r.get_data(as_text=True)


def test_owner_note_and_status_through_the_page(admin, db, event):
    f = owed(db, event)
    url = f"/admin/follow-ups/{f['id']}"
    nxt = "/admin/follow-ups?owner=Kim"
    r = admin.post(url, data={"action": "owner", "owner": "Kim", "next": nxt})
    assert r.status_code == 302 and r.headers["Location"] == nxt
    admin.post(url, data={"action": "note", "note": "Left a voicemail"})
    admin.post(url, data={"action": "status", "status": "acknowledged"})
    page = admin.get(nxt).get_data(as_text=True)
    assert (
        "Left a voicemail" in page and "gave it to Kim" in page and "marked it acknowledged" in page
    )
    r = admin.post(url, data={"action": "note", "note": ""}, follow_redirects=True)
    assert "write the note first" in r.get_data(as_text=True)
    r = admin.post(url, data={"action": "status", "status": "open"}, follow_redirects=True)
    assert "cannot go back" in r.get_data(as_text=True)
    assert conversations.get(db, f["id"])["status"] == "acknowledged"
    assert admin.post(url, data={"action": "delete"}).status_code == 400
    assert (
        admin.post(
            f"/admin/follow-ups/{uuid.uuid4()}", data={"action": "note", "note": "x"}
        ).status_code
        == 404
    )
    r = admin.post(url, data={"action": "owner", "owner": "Zed", "next": "https://evil.example/"})
    assert r.headers["Location"] == "/admin/follow-ups"


def test_sla_edit_on_the_page(admin, db, event):
    owed(db, event, hours_ago=0)
    with dbm.write(db):  # 30 hours old, by the real clock
        at = dbm.iso(datetime.now(UTC) - timedelta(hours=30))
        db.execute("UPDATE conversations SET captured_at = ?, received_at = ?", [at, at])
    assert "overdue</span>" not in admin.get("/admin/follow-ups").get_data(as_text=True)
    r = admin.post("/admin/follow-ups/sla", data={"hours": "24"}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "overdue after 24 hours" in page and 'class="late">overdue</span>' in page
    r = admin.post("/admin/follow-ups/sla", data={"hours": "1.5"}, follow_redirects=True)
    assert "Not saved" in r.get_data(as_text=True)
    assert events.get_event(db)["follow_up_sla_hours"] == 24


def test_csv_route_follows_the_filters(admin, db, event):
    a = owed(db, event, owner="Sam", contact="+44 20 7946 0000")
    owed(db, event, owner="Kim")
    followups.add_note(db, event["id"], a["id"], "Called", actor="Ann")
    r = admin.get("/admin/follow-ups.csv?owner=sam")
    assert r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).removeprefix("\ufeff"))))
    assert [(x["reference"], x["contact"]) for x in rows] == [(a["reference"], "'+44 20 7946 0000")]
    assert rows[0]["notes"].endswith("Ann: Called")
    every = list(
        csv.DictReader(
            io.StringIO(
                admin.get("/admin/export/follow-ups.csv")
                .get_data(as_text=True)
                .removeprefix("\ufeff")
            )
        )
    )
    assert {"acknowledged_at", "done_at", "notes", "owner"} <= set(every[0])


# ---------------------------------------------------------------- browser, a 390 px phone


@pytest.fixture
def organizer_server(db_path, event):
    server = LiveServer(db_path, env={"ADMIN_PASSWORD": PASSWORD}).start()
    yield server
    server.stop(kill=True)  # nothing to drain: the test is over


def sign_in(page, url: str) -> None:
    page.goto(f"{url}/admin/login?next=/admin/follow-ups")
    page.fill("input[name=name]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/follow-ups")


@pytest.mark.browser
@pytest.mark.live
def test_the_queue_works_on_a_390_px_phone_without_sideways_scrolling(
    browser, organizer_server, db, event
):
    long_word = "Unbelievably" * 12
    f = owed(db, event, contact="a.very.long.address.for.testing@example-company.example.com")
    owed(db, event, story=f"{long_word} story", contact="+353 1 234 5678", owner="Sam")
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    try:
        sign_in(page, organizer_server.url)
        page.wait_for_load_state("load")  # measured before its stylesheet applied, it is wider
        width = "document.documentElement.scrollWidth"
        assert page.evaluate(width) <= 390
        card = page.locator(f"#f-{f['id']}")
        card.locator("input[name=owner]").fill("Kim")
        card.locator("button", has_text="Assign").click()
        page.wait_for_load_state()
        card = page.locator(f"#f-{f['id']}")
        card.locator("textarea[name=note]").fill("Called, left a message")
        card.locator("button", has_text="Add note").click()
        page.wait_for_load_state()
        page.locator(f"#f-{f['id']} button", has_text="Acknowledge").click()
        wait_for_js(page, "document.body.textContent.includes('marked it acknowledged')")
        page.wait_for_load_state("load")  # the text can arrive before the stylesheet applies
        assert page.evaluate(width) <= 390
        # A filter lives in the address: a reload keeps it.
        page.fill("#f-q", "left a message")
        page.fill("#f-q", "very.long.address")
        page.click("button:has-text('Filter')")
        page.wait_for_url("**q=very.long.address**")
        page.reload()
        assert page.input_value("#f-q") == "very.long.address"
        assert page.locator(".fu").count() == 1
        assert page.evaluate(width) <= 390
        shots = os.environ.get("SHOTS_DIR")
        if shots:
            page.goto(f"{organizer_server.url}/admin/follow-ups?status=all")
            page.screenshot(path=f"{shots}/follow-ups-390.png", full_page=True)
            page.set_viewport_size({"width": 1920, "height": 1080})
            page.screenshot(path=f"{shots}/follow-ups-1920.png", full_page=True)
    finally:
        context.close()
    history = followups.history(db, event["id"], f["id"])
    assert [(e["kind"], e["text"]) for e in history] == [
        ("owner", "Kim"),
        ("note", "Called, left a message"),
        ("status", "acknowledged"),
    ]


def test_clearing_a_rehearsal_takes_its_follow_ups_notes_with_it(db, event):
    from tracker.corrections import rehearsal

    add_conversation(db, event["stations"]["booth"]["id"], story="rehearsal chat")
    with dbm.write(db):
        db.execute("UPDATE conversations SET rehearsal = 1, follow_up = 1, status = 'open'")
    (uuid,) = db.execute("SELECT uuid FROM conversations").fetchone()
    followups.add_note(db, event["id"], uuid, "call back", "Ann")
    removed = rehearsal.clear(db, event["id"])
    assert removed["conversations"] == 1
    assert db.execute("SELECT count(*) FROM follow_up_events").fetchone()[0] == 0


def test_erasing_an_attendee_erases_the_words_of_notes_on_their_follow_ups(db, event):
    from tracker.corrections import erasure as privacy
    from tracker.people import attendees

    person = attendees.create(db, event["id"])
    f = owed(db, event, attendee_badge=person["badge"], contact="ann@example.com")
    followups.add_note(db, event["id"], f["id"], "Ann's mobile is 555 0100", actor="Bo")
    privacy.erase_attendee(db, event["id"], person["badge"])
    (note,) = followups.history(db, event["id"], f["id"])
    assert (note["actor"], note["text"]) == ("Bo", "(erased)")


def test_a_voided_follow_up_is_void_everywhere_never_owed(db, event):
    late = [owed(db, event, hours_ago=72) for _ in range(4)]
    voids.void(db, event["id"], "conversations", late[0]["id"], "organizer", "a test entry")
    page = queue(db, event)
    assert page["total"] == 3 and late[0]["id"] not in ids(page)
    assert page["counts"]["open"] == 3 and page["counts"]["void"] == 1
    assert page["counts"]["overdue"] == 3 and page["counts"]["all"] == 4
    assert queue(db, event, overdue=True)["total"] == 3
    void = queue(db, event, status="void")
    assert ids(void) == [late[0]["id"]] and void["items"][0]["voided"]
    everything = followup_queue.Filters(status="all")
    rows = list(followup_queue.csv_rows(db, event["id"], everything, 48, now=NOW))
    statuses = {r[0]: r[4] for r in rows[1:]}
    assert statuses[late[0]["reference"]] == "void"
    assert sorted(statuses.values()) == ["open", "open", "open", "void"]


def test_the_same_note_sent_again_is_stored_once(db, event):
    told = owed(db, event)
    followups.add_note(db, event["id"], told["id"], "Called, left a message", "Ann", now=NOW)
    again = dbm.iso(dbm.parse_iso(NOW) + timedelta(seconds=20))
    followups.add_note(db, event["id"], told["id"], "Called, left a message", "Ann", now=again)
    later = dbm.iso(dbm.parse_iso(NOW) + timedelta(hours=2))
    followups.add_note(db, event["id"], told["id"], "Called, left a message", "Ann", now=later)
    notes = [e for e in followups.history(db, event["id"], told["id"]) if e["kind"] == "note"]
    assert len(notes) == 2  # the repeat a moment later is the same note; hours later is a new one
