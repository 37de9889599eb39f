"""Actions on themes: created from a theme, assigned, rescheduled, moved forward and closed, each
change in the history and the audit; overdue first; CSV (domain and HTTP); the console page."""

from __future__ import annotations

import csv
import io
import uuid

import pytest

from tracker.actions import plan
from tracker.contract.requests import ConversationIn
from tracker.event import lookups as events
from tracker.store import audit
from tracker.store import db as dbm
from tracker.stories import record as conversations

TODAY = "2026-10-07"


def a_theme(db, event, label="Pricing", merged_into=None) -> int:
    """A theme of the event as the themes' floor stores it (its id is what actions point at)."""
    with dbm.write(db):
        cur = db.execute(
            "INSERT INTO themes (event_id, label, created_at, merged_into) VALUES (?, ?, ?, ?)",
            [event["id"], label, "2026-10-07T09:00:00Z", merged_into],
        )
    return int(cur.lastrowid)


def a_story(db, event, story="The prices are hard to find") -> dict:
    st = event["stations"]["booth"]
    data = ConversationIn(id=uuid.uuid4(), station=st["code"], story=story, nps=4)
    author = conversations.Author("staff", st["id"], staff_name="Sam")
    return conversations.record(db, events.get_event(db), data, author)[0]


def trail(db, event, action: str) -> list[dict]:
    return audit.entries(db, event["id"], action=action)


def test_an_action_on_a_theme_links_its_stories_and_is_audited(db, event):
    theme = a_theme(db, event)
    one, two = a_story(db, event), a_story(db, event, "Pricing page is confusing")
    made = plan.create(
        db,
        event["id"],
        theme,
        "  Publish the price list\n in every language ",
        owner="Ann",
        due_on="2026-10-20",
        stories=f"{one['reference']}, {two['id']} {one['reference'].lower()}",
        actor="Bob",
    )
    assert made["title"] == "Publish the price list in every language"
    assert (made["status"], made["owner"], made["due_on"]) == ("planned", "Ann", "2026-10-20")
    assert made["theme_label"] == "Pricing"
    assert [s["reference"] for s in made["stories"]] == [one["reference"], two["reference"]]
    assert [(e["actor"], e["kind"]) for e in made["history"]] == [("Bob", "created")]
    (row,) = trail(db, event, "action.create")
    assert row["subject"] == made["subject"] == f"A-{made['id']}"
    assert '"theme": "Pricing"' in row["after"] and one["reference"] in row["after"]


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"title": "   "}, "say what the team will do"),
        ({"title": "x" * 301}, "at most 300"),
        ({"owner": "o" * 121}, "an owner has at most"),
        ({"due_on": "next Friday"}, "YYYY-MM-DD"),
        ({"stories": "T-9999"}, "T-9999 is not a story of this event"),
    ],
)
def test_what_cannot_be_saved_is_refused_and_nothing_is_stored(db, event, fields, message):
    theme = a_theme(db, event)
    values = {"title": "Call every detractor", **fields}
    with pytest.raises(plan.ActionError, match=message):
        plan.create(db, event["id"], theme, **values)
    assert db.execute("SELECT count(*) FROM actions").fetchone()[0] == 0
    assert trail(db, event, "action") == []


def test_an_unknown_theme_or_another_events_is_refused(db, event):
    with pytest.raises(plan.UnknownTheme):
        plan.create(db, event["id"], 404, "Anything")
    with dbm.write(db):
        other = db.execute(
            "INSERT INTO events (slug, name, timezone, created_at)"
            " VALUES ('other-day', 'Other Day', 'UTC', '2026-10-01T00:00:00Z')"
        ).lastrowid
    theirs = a_theme(db, {"id": other})
    with pytest.raises(plan.UnknownTheme):
        plan.create(db, event["id"], theirs, "Anything")


def test_an_action_follows_its_theme_through_a_merge(db, event):
    kept = a_theme(db, event, "Prices")
    merged = a_theme(db, event, "Preise")
    action = plan.create(db, event["id"], merged, "Translate the price page")
    assert action["theme_id"] == merged
    with dbm.write(db):
        db.execute("UPDATE themes SET merged_into = ? WHERE id = ?", [kept, merged])
    (listed,) = plan.listing(db, event["id"], TODAY, theme_id=kept)["items"]
    assert (listed["theme_id"], listed["theme_label"]) == (kept, "Prices")
    assert list(plan.by_theme(db, event["id"], TODAY)) == [kept]
    later = plan.create(db, event["id"], merged, "A link from before the merge")
    assert later["theme_id"] == kept


def test_changes_are_each_one_history_row_and_one_audit_row_and_status_only_goes_forward(db, event):
    made = plan.create(db, event["id"], a_theme(db, event), "Fix the badge printer", actor="Bob")
    plan.change(
        db, event["id"], made["id"], owner="cy@example.org", due_on="2026-10-09", actor="Di"
    )
    plan.change(
        db, event["id"], made["id"], owner="cy@example.org", actor="Di"
    )  # the same: nothing
    plan.change(db, event["id"], made["id"], status="doing", note="Ordered a new one", actor="Di")
    done = plan.change(db, event["id"], made["id"], status="done", actor="Di")
    assert done["status"] == "done"
    assert [(e["kind"], e["text"]) for e in done["history"]] == [
        ("created", "Fix the badge printer"),
        ("owner", "cy@example.org"),
        ("due", "2026-10-09"),
        ("status", "doing"),
        ("note", "Ordered a new one"),
        ("status", "done"),
    ]
    assert [r["action"] for r in reversed(trail(db, event, "action"))] == [
        "action.create",
        "action.owner",
        "action.due",
        "action.status",
        "action.note",
        "action.status",
    ]
    with pytest.raises(plan.ActionError, match="cannot go back"):
        plan.change(db, event["id"], made["id"], status="doing")
    with pytest.raises(plan.UnknownAction):
        plan.change(db, event["id"] + 1, made["id"], owner="Eve")


def test_the_list_is_overdue_first_then_by_due_day_undated_last(db, event):
    theme = a_theme(db, event)
    late = plan.create(db, event["id"], theme, "Late", due_on="2026-10-01")
    soon = plan.create(db, event["id"], theme, "Soon", due_on="2026-10-08")
    undated = plan.create(db, event["id"], theme, "Some day")
    later = plan.create(db, event["id"], theme, "Later", due_on="2026-11-01")
    closed = plan.create(db, event["id"], theme, "Closed late", due_on="2026-09-01")
    plan.change(db, event["id"], closed["id"], status="done")
    page = plan.listing(db, event["id"], TODAY)
    assert [a["title"] for a in page["items"]] == ["Late", "Soon", "Later", "Some day"]
    assert [a["overdue"] for a in page["items"]] == [True, False, False, False]
    assert page["counts"] == {"planned": 4, "doing": 0, "done": 1, "overdue": 1, "all": 5}
    everything = plan.listing(db, event["id"], TODAY, status="all")
    assert [a["id"] for a in everything["items"]][-1] == closed["id"]  # done: never overdue
    other = plan.create(db, event["id"], a_theme(db, event, "Wifi"), "Second router")
    assert [a["id"] for a in plan.listing(db, event["id"], TODAY, theme_id=theme)["items"]] == [
        late["id"],
        soon["id"],
        later["id"],
        undated["id"],
    ]
    assert set(plan.by_theme(db, event["id"], TODAY)) == {theme, other["theme_id"]}


def test_csv_has_every_action_with_its_stories_and_history(db, event):
    story = a_story(db, event)
    made = plan.create(
        db, event["id"], a_theme(db, event), "=HYPERLINK()", owner="Ann", stories=story["reference"]
    )
    plan.change(db, event["id"], made["id"], status="doing", actor="Bob")
    header, row = list(plan.csv_rows(db, event["id"], TODAY))
    assert header == list(plan.CSV_COLUMNS)
    values = dict(zip(header, row, strict=True))
    assert values["stories"] == story["reference"]
    assert (values["status"], values["owner"], values["theme"]) == ("doing", "Ann", "Pricing")
    assert "Bob: status doing" in values["history"]


# ---------------------------------------------------------------- HTTP


def test_organizers_create_assign_export_and_close_over_http(admin, db, event):
    theme = a_theme(db, event)
    story = a_story(db, event)
    page = admin.get(f"/admin/actions/new?theme={theme}")
    assert page.status_code == 200 and "Pricing" in page.text
    r = admin.post(
        "/admin/actions/new",
        data={
            "theme": theme,
            "title": "Publish prices",
            "owner": "Ann",
            "due_on": "2026-10-01",
            "stories": story["reference"],
        },
    )
    assert r.status_code == 302 and r.location.startswith("/admin/actions#a-")
    (action_id,) = [row[0] for row in db.execute("SELECT id FROM actions")]
    listing = admin.get("/admin/actions")
    assert "Publish prices" in listing.text and "overdue" in listing.text
    assert (
        admin.post(
            f"/admin/actions/{action_id}", data={"action": "owner", "owner": "Cy"}
        ).status_code
        == 302
    )
    admin.post(
        f"/admin/actions/{action_id}",
        data={"action": "edit", "title": "Publish prices", "owner": "Cy", "due_on": "2026-12-01"},
    )
    admin.post(f"/admin/actions/{action_id}", data={"action": "note", "note": "Draft is out"})
    export = admin.get("/admin/actions.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    (row,) = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert (row["owner"], row["due_on"], row["status"]) == ("Cy", "2026-12-01", "planned")
    assert row["stories"] == story["reference"] and "Draft is out" in row["history"]
    admin.post(f"/admin/actions/{action_id}", data={"action": "status", "status": "done"})
    stored = plan.get(db, event["id"], action_id)
    assert stored["status"] == "done"
    assert {e["actor"] for e in stored["history"]} == {"admin"}
    refused = admin.post(
        f"/admin/actions/{action_id}", data={"action": "status", "status": "planned"}
    )
    assert refused.status_code == 302
    assert "cannot go back" in admin.get("/admin/actions?status=all").text
    assert admin.post("/admin/actions/999", data={"action": "note", "note": "x"}).status_code == 404


def test_the_form_offers_the_themes_stories_to_link(admin, db, event):
    theme = a_theme(db, event)
    one, two = a_story(db, event), a_story(db, event, "Nobody could tell me the price")
    in_theme(db, theme, one, two)
    page = admin.get(f"/admin/actions/new?theme={theme}").text
    assert page.index(two["reference"]) < page.index(one["reference"])  # newest first
    assert "Nobody could tell me the price" in page
    admin.post(
        "/admin/actions/new",
        data={"theme": theme, "title": "Show prices", "story": [two["reference"]]},
    )
    (action_id,) = db.execute("SELECT id FROM actions").fetchone()
    linked = plan.get(db, event["id"], action_id)["stories"]
    assert [s["reference"] for s in linked] == [two["reference"]]


def test_a_form_that_cannot_be_saved_says_why_and_keeps_what_was_typed(admin, db, event):
    theme = a_theme(db, event)
    r = admin.post(
        "/admin/actions/new", data={"theme": theme, "title": "Call back", "due_on": "soon"}
    )
    assert r.status_code == 422
    assert "YYYY-MM-DD" in r.text and 'value="Call back"' in r.text
    assert admin.get("/admin/actions/new?theme=12345").status_code == 404
    assert admin.get("/admin/actions/new?theme=abc").status_code == 400
    assert admin.get("/admin/actions?status=lost").status_code == 400


def test_actions_are_for_signed_in_organizers_with_csrf(app, client, db, event):
    assert client.get("/admin/actions").status_code == 302
    assert client.get("/admin/actions.csv").status_code == 302
    app.config["ADMIN_PASSWORD"] = "correct horse battery"
    client.post("/admin/login", data={"name": "admin", "password": "correct horse battery"})
    # The sign-in above had no token only because login is exempt; forms are not.
    theme = a_theme(db, event)
    r = client.post("/admin/actions/new", data={"theme": theme, "title": "No token"})
    assert r.status_code == 400
    assert db.execute("SELECT count(*) FROM actions").fetchone()[0] == 0


def test_the_console_links_the_actions_page(admin):
    assert 'href="/admin/actions"' in admin.get("/admin/follow-ups").text


def in_theme(db, theme: int, *stories: dict) -> None:
    """Put stories in a theme as the themes' reader would."""
    with dbm.write(db):
        for story in stories:
            db.execute(
                "INSERT INTO theme_stories (conversation_id, language, theme_id, read_at)"
                " SELECT id, 'en', ?, '2026-10-07T09:00:00Z' FROM conversations WHERE uuid = ?",
                [theme, story["id"]],
            )


def test_the_report_shows_each_theme_with_its_actions_and_owners(admin, db, event):
    pricing = a_theme(db, event, "Pricing")
    in_theme(db, pricing, a_story(db, event))
    wifi = a_theme(db, event, "Wifi")  # no story qualifies: not among the report's themes
    plan.create(db, event["id"], pricing, "Publish prices", owner="Ann", due_on="2026-01-02")
    plan.create(db, event["id"], wifi, "Second router", owner="Cy")
    quiet = a_theme(db, event, "Badges")
    in_theme(db, quiet, a_story(db, event, "My badge was misspelt"))
    report = admin.get("/admin/report").text
    told = report[report.index('id="what-customers-told-us"') : report.index("<h2>Goal</h2>")]
    pricing_part = told[told.index(f'id="theme-{pricing}"') :]
    assert "Publish prices" in pricing_part.split("</div>\n<div")[0]
    assert "Ann" in pricing_part and "overdue" in pricing_part
    badges_part = told[told.index(f'id="theme-{quiet}"') :]
    assert "No action yet." in badges_part
    others = told[told.index('id="other-actions"') :]
    assert "Second router" in others and "Wifi" in others and "Cy" in others
