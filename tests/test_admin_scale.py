"""Admin lists that scale: stories and conversations a page at a time, searched (wildcards taken
literally), counted per state and source; the highlight for the report, audited."""

from __future__ import annotations

import uuid

import pytest

from tracker.contract.requests import ConversationIn
from tracker.corrections import voids
from tracker.event import lookups as events
from tracker.store import audit
from tracker.store import db as dbm
from tracker.stories import listing as records
from tracker.stories import moderation
from tracker.stories import record as conversations

PASSWORD = "correct horse battery"


def log(db, event, story: str, station: str = "booth", staff_name: str = "Sam", **fields) -> dict:
    st = event["stations"][station]
    data = ConversationIn(id=uuid.uuid4(), station=st["code"], story=story, **fields)
    author = conversations.Author("staff", st["id"], staff_name=staff_name)
    record, _ = conversations.record(db, events.get_event(db), data, author)
    return record


def told_by(db, event, source: str, story: str) -> str:
    """An attendee's own story at the booth, or an employee's story for Cork: its uuid."""
    ev = events.get_event(db)
    booth = event["stations"]["booth"]
    cork = events.location_by_slug(db, ev["id"], "cork")
    now, uid = dbm.utcnow(), str(uuid.uuid4())
    with dbm.write(db):
        if source == "employee":
            db.execute(
                "INSERT INTO conversations (uuid, station_id, location_id, source, story,"
                " captured_at, received_at, counted) VALUES (?, NULL, ?, 'employee', ?, ?, ?, 0)",
                [uid, cork["id"], story, now, now],
            )
        else:
            who = db.execute(
                "INSERT INTO attendees (event_id, token, badge, created_at) VALUES (?, ?, ?, ?)",
                [ev["id"], uuid.uuid4().hex, uuid.uuid4().hex[:6].upper(), now],
            ).lastrowid
            db.execute(
                "INSERT INTO conversations (uuid, station_id, attendee_id, source, story, public,"
                " captured_at, received_at) VALUES (?, ?, ?, 'attendee', ?, 1, ?, ?)",
                [uid, booth["id"], who, story, now, now],
            )
    return uid


# --- domain ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "q,found",
    [
        ("pricing", ["Pricing was 100% clear"]),
        ("100%", ["Pricing was 100% clear"]),
        ("%", ["Pricing was 100% clear"]),  # a literal percent sign, not "anything"
        ("_", ["snake_case names"]),
        ("story corner", ["At the corner"]),  # the station's name
        ("austin", ["At the corner"]),  # the location's name
        ("zoë", ["Asked for Zoë"]),  # the staff member's name
        ("\\", []),
        ("nothing like it", []),
    ],
)
def test_search_finds_story_station_location_and_staff_literally(db, event, q, found):
    log(db, event, "Pricing was 100% clear")
    log(db, event, "snake_case names")
    log(db, event, "At the corner", station="stories")
    log(db, event, "Asked for Zoë", staff_name="Zoë")
    listed = moderation.stories(db, event["id"], "all", q=q)
    assert sorted(s["story"] for s in listed) == sorted(found)
    assert moderation.count(db, event["id"], "all", q=q) == len(found)
    assert records.counts(db, event["id"], {"q": q})["listed"] == len(found)


def test_search_is_bounded(db, event):
    log(db, event, "a" * 150)
    assert moderation.count(db, event["id"], "all", q="a" * 100) == 1
    # Longer than SEARCH_MAX is cut to its first 100 characters, never a slower query.
    assert moderation.like("b" * 500) == "%" + "b" * moderation.SEARCH_MAX + "%"


def test_stories_page_through_every_row_and_count_each_state(db, event):
    for i in range(moderation.PAGE_SIZE * 2 + 7):
        log(db, event, f"story {i}", public=i % 2 == 0)
    told_by(db, event, "attendee", "waiting for you")
    pages = [
        moderation.stories(db, event["id"], "all", offset=n * moderation.PAGE_SIZE)
        for n in range(3)
    ]
    assert [len(p) for p in pages] == [50, 50, 8]
    assert len({s["uuid"] for p in pages for s in p}) == 108
    counts = moderation.counts(db, event["id"])
    assert counts["all"] == 108
    assert counts["waiting"] == 1
    assert counts["on-screens"] == 54
    assert counts["private"] == 53
    assert set(counts) == {"waiting", "on-screens", "rejected", "private", "voided", "all"}


def test_highlight_is_audited_and_never_touches_the_screens(db, event):
    story = log(db, event, "Tell leadership", public=True)
    before = moderation.stories(db, event["id"], "on-screens")
    assert moderation.set_highlight(db, event["id"], story["id"], True, "Ann") is True
    moderation.set_highlight(db, event["id"], story["id"], True, "Ann")  # again: no new row
    (row,) = moderation.stories(db, event["id"], "all")
    assert row["highlight"] == 1 and row["on_screens"]
    assert moderation.stories(db, event["id"], "on-screens") == [{**before[0], "highlight": 1}]
    moderation.set_highlight(db, event["id"], story["id"], False, "Bo")
    trail = [
        (e["actor"], e["action"], e["before"], e["after"])
        for e in reversed(audit.entries(db, event["id"], action="story"))
    ]
    assert trail == [
        ("Ann", "story.highlight", '{"highlight": false}', '{"highlight": true}'),
        ("Bo", "story.unhighlight", '{"highlight": true}', '{"highlight": false}'),
    ]
    with pytest.raises(moderation.UnknownConversation):
        moderation.set_highlight(db, event["id"], str(uuid.uuid4()), True, "Ann")


def test_an_employees_story_can_be_highlighted(db, event):
    uid = told_by(db, event, "employee", "Our team day")
    moderation.set_highlight(db, event["id"], uid, True, "Ann")
    assert db.execute("SELECT highlight FROM conversations WHERE uuid = ?", [uid]).fetchone()[0]


def test_conversations_list_every_source_with_filters_and_counts(db, event):
    for i in range(3):
        log(db, event, f"booth {i}")
    log(db, event, "at the corner", station="stories")
    attendee = told_by(db, event, "attendee", "my own words")
    told_by(db, event, "employee", "from the team")
    voids.void(db, event["id"], "conversations", attendee, "Ann", "spam")
    counts = records.counts(db, event["id"], {})
    assert counts == {
        "all": 6,
        "staff": 4,
        "attendee": 1,
        "employee": 1,
        "voided": 1,
        "counted": 4,
        "listed": 6,
    }
    rows = records.conversations(db, event["id"], {})
    assert rows[0]["story"] == "from the team" and rows[0]["station"] is None
    assert rows[0]["location"] == "Cork"
    cork = records.conversations(db, event["id"], {"location": "cork"})
    expected = {"booth 0", "booth 1", "booth 2", "my own words", "from the team"}
    assert {r["story"] for r in cork} == expected
    corner = event["stations"]["stories"]["id"]
    assert [r["story"] for r in records.conversations(db, event["id"], {"station": corner})] == [
        "at the corner"
    ]
    staff_only = records.counts(db, event["id"], {"source": "staff"})
    assert staff_only["listed"] == 4 and staff_only["all"] == 6  # tabs keep every source
    with pytest.raises(ValueError, match="unknown source"):
        records.counts(db, event["id"], {"source": "robot"})
    page = records.conversations(db, event["id"], {}, limit=2, offset=4)
    assert [r["story"] for r in page] == ["booth 1", "booth 0"]


# --- HTTP -----------------------------------------------------------------------------------


def test_stories_page_shows_counts_search_and_pages(admin, db, event):
    for i in range(55):
        log(db, event, f"Story number {i}", public=True)
    log(db, event, "Only 100% unique", public=True)
    page = admin.get("/admin/stories?show=all").get_data(as_text=True)
    assert "56 stories" in page and "page 1 of 2" in page
    assert "All (56)" in page and "Rejected (0)" in page and "Waiting for approval (0)" in page
    assert page.count('class="story"') == 50
    second = admin.get("/admin/stories?show=all&page=2").get_data(as_text=True)
    assert second.count('class="story"') == 6
    found = admin.get("/admin/stories?show=all&q=100%25").get_data(as_text=True)
    assert "Only 100% unique" in found and "Story number" not in found and "1 story" in found
    assert 'value="100%"' in found  # the search box keeps what was typed
    none = admin.get("/admin/stories?show=all&q=" + "%25" * 300).get_data(as_text=True)
    assert "No story matches" in none


def test_highlight_toggle_over_http(admin, db, event):
    story = log(db, event, "Leadership should hear this", public=True)
    r = admin.post(f"/admin/stories/{story['id']}/highlight?show=all", data={"on": "1"})
    assert r.status_code == 302 and "show=all" in r.headers["Location"]
    page = admin.get("/admin/stories?show=all").get_data(as_text=True)
    assert "★ Highlighted" in page and 'aria-pressed="true"' in page
    assert (
        admin.post(f"/admin/stories/{story['id']}/highlight", data={"on": "yes"}).status_code == 400
    )
    missing = admin.post(f"/admin/stories/{uuid.uuid4()}/highlight", data={"on": "1"})
    assert missing.status_code == 404
    admin.post(f"/admin/stories/{story['id']}/highlight", data={"on": "0"})
    assert "☆ Highlight" in admin.get("/admin/stories?show=all").get_data(as_text=True)
    assert [e["action"] for e in audit.entries(db, event["id"], action="story")] == [
        "story.unhighlight",
        "story.highlight",
    ]


def test_conversations_page_filters_pages_and_voids(admin, db, event):
    for i in range(52):
        log(db, event, f"Chat {i}")
    told_by(db, event, "employee", "The team's own story")
    page = admin.get("/admin/conversations").get_data(as_text=True)
    assert "53 conversations" in page and "Page 1 of 2" in page
    assert page.count('class="story"') == 50
    assert "The team&#39;s own story" in page and "No: an employee's story" in page
    employees = admin.get("/admin/conversations?source=employee").get_data(as_text=True)
    assert "1 conversation:" in employees and "Chat 1" not in employees
    found = admin.get("/admin/conversations?q=chat+5").get_data(as_text=True)
    assert "3 conversations" in found  # Chat 5, Chat 50, Chat 51
    corner = event["stations"]["stories"]["id"]
    empty = admin.get(f"/admin/conversations?station={corner}").get_data(as_text=True)
    assert "No conversation matches" in empty
    # Filters that name nothing of this event are dropped, never an error.
    odd = admin.get("/admin/conversations?station=99999&source=robot&location=mars&page=-1")
    assert odd.status_code == 200 and "53 conversations" in odd.get_data(as_text=True)
    first = records.conversations(db, event["id"], {"source": "staff"})[0]
    r = admin.post(
        f"/admin/void/conversations/{first['uuid']}",
        data={"reason": "test entry", "next": "/admin/conversations?source=employee"},
    )
    assert r.headers["Location"].endswith("/admin/conversations?source=employee")
    assert "1 voided" in admin.get("/admin/conversations").get_data(as_text=True)


def test_conversations_page_is_for_organizers_only(client):
    assert client.get("/admin/conversations").status_code == 302
    assert (
        client.get("/admin/conversations", headers={"Accept": "application/json"}).status_code
        == 401
    )
