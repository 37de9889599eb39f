"""The Experience Analytics Expo's figures (tracker/insights.py) and GET /api/insights, /insights:
customers' NPS by location, topic and local hour, the wall and its filters, nothing personal."""

from __future__ import annotations

import json
import uuid

import pytest

from tracker.figures import insights
from tracker.store import db as dbm

from .helpers import sid
from .test_openapi import conforms


def talk(
    db,
    station_id: int | None,
    story: str = "Nice chat",
    nps: int | None = None,
    topics: tuple[str, ...] = (),
    public: bool = True,
    at: str = "2026-10-07T09:10:00.000Z",
    **more,
) -> str:
    """A conversation as staff log it (approved), or as `more` says; its uuid."""
    row = {
        "uuid": str(uuid.uuid4()),
        "station_id": station_id,
        "source": "staff",
        "staff_name": "Sam Staffer",
        "story": story,
        "nps": nps,
        "topics": json.dumps(list(topics)),
        "public": int(public),
        "approval": "approved",
        "captured_at": at,
        "received_at": at,
        **more,
    }
    with dbm.write(db):
        db.execute(
            f"INSERT INTO conversations ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
    return row["uuid"]


@pytest.fixture
def busy(db, event):
    """Cork (Europe/Dublin, +01:00 in October) and Austin (America/Chicago, -05:00) talking."""
    booth, demo, stories = sid(event, "booth"), sid(event, "demo"), sid(event, "stories")
    talk(db, booth, "Pricing is clear now", 10, ("Pricing",), at="2026-10-07T08:10:00.000Z")
    talk(db, booth, "Support took ages", 3, ("Support",), at="2026-10-07T08:20:00.000Z")
    talk(db, demo, "Demo was fine", 8, ("Pricing", "Support"), at="2026-10-07T09:05:00.000Z")
    talk(db, stories, "Love the product", 9, ("Support",), at="2026-10-07T14:30:00.000Z")
    talk(
        db, stories, "Kept to myself", 9, ("Support",), public=False, at="2026-10-07T14:40:00.000Z"
    )
    # None of these may reach a customer figure or the wall:
    talk(db, booth, "VOIDED story", 0, ("Pricing",), voided_at="2026-10-07T10:00:00.000Z")
    talk(db, booth, "PENDING story", 0, ("Pricing",), approval="pending", counted=0)
    cork = db.execute("SELECT id FROM locations WHERE slug = 'cork'").fetchone()[0]
    talk(
        db, None, "EMPLOYEE story", 0, ("Pricing",), source="employee", location_id=cork, counted=0
    )
    return event


def test_nps_by_location_topic_and_local_hour(db, busy):
    f = insights.figures(db, busy)
    # the private story's score counts (it is only kept off the wall)
    assert f["nps"] == {"score": 40, "promoters": 3, "passives": 1, "detractors": 1, "responses": 5}
    by_loc = {loc["slug"]: loc["nps"] for loc in f["locations"]}
    assert by_loc["cork"]["responses"] == 3 and by_loc["cork"]["score"] == 0
    assert by_loc["austin"] == {
        "score": 100,
        "promoters": 2,
        "passives": 0,
        "detractors": 0,
        "responses": 2,
    }
    topics = {t["topic"]: t for t in f["topics"]}
    assert topics["Support"]["conversations"] == 4 and topics["Pricing"]["conversations"] == 2
    assert [t["topic"] for t in f["topics"]] == ["Support", "Pricing"]
    assert topics["Pricing"]["nps"]["score"] == 50
    hours = {h["hour"]: h for h in f["hours"]}
    # 08:10Z is 09:10 in Cork; 14:30Z is 09:30 in Austin: one bar at 09 on their own clocks.
    assert hours[9]["conversations"] == 4 and hours[10]["conversations"] == 1
    assert min(hours) == 9 and max(hours) == 10


def test_the_wall_holds_approved_public_customer_stories_only(db, busy):
    texts = [s["story"] for s in insights.figures(db, busy)["stories"]]
    assert texts == [
        "Love the product",
        "Demo was fine",
        "Support took ages",
        "Pricing is clear now",
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"topic": "Pricing"}, {"Pricing is clear now", "Demo was fine"}),
        ({"location": "austin"}, {"Love the product"}),
        ({"band": "detractor"}, {"Support took ages"}),
        ({"band": "promoter", "location": "cork"}, {"Pricing is clear now"}),
        ({"topic": "Nothing like it"}, set()),
    ],
)
def test_filters_narrow_figures_and_wall(db, busy, filters, expected):
    f = insights.figures(db, busy, **filters)
    assert {s["story"] for s in f["stories"]} == expected
    assert f["filters"] == {"topic": None, "location": None, "band": None, "theme": None, **filters}
    # the choices stay what the kiosk offers, whatever is chosen
    assert [p["slug"] for p in f["choices"]["locations"]] == ["austin", "cork"]
    assert f["choices"]["topics"][:2] == ["Pricing", "Support"]
    if "band" in filters:
        assert f["nps"]["responses"] == sum(
            f["nps"][k] for k in ("promoters", "passives", "detractors")
        )


def test_unknown_location_and_band_are_refused(db, busy, client):
    with pytest.raises(insights.UnknownLocation):
        insights.figures(db, busy, location="atlantis")
    with pytest.raises(insights.UnknownBand):
        insights.figures(db, busy, band="fans")
    assert client.get("/api/insights?location=atlantis").status_code == 404
    assert client.get("/api/insights?band=fans").json["error"] == "bad_request"


def test_an_empty_event_gives_zeros(db, event):
    f = insights.figures(db, event)
    assert f["nps"]["score"] is None and f["hours"] == [] and f["stories"] == []
    assert f["topics"] == [] and len(f["locations"]) == 2


def test_api_and_page_answer_as_documented(client, busy):
    conforms(client.get("/api/insights"), 200, "/api/insights", "get")
    conforms(client.get("/api/insights?topic=Pricing&band=promoter"), 200, "/api/insights", "get")
    conforms(client.get("/api/insights?location=cork"), 200, "/api/insights", "get")
    conforms(client.get("/api/insights?location=nope"), 404, "/api/insights", "get")
    conforms(client.get("/api/insights?band=nope"), 400, "/api/insights", "get")
    page = client.get("/insights")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "insights/insights.js" in html and "chart.umd.min.js" in html
    assert "noto-sans-jp" in html  # the board's fonts: stories in any script
    assert '"idle": 60' in html
    assert '"idle": 2' in client.get("/insights?idle=2").get_data(as_text=True)


def test_the_page_speaks_the_chosen_language(client, busy):
    html = client.get("/insights?lang=de").get_data(as_text=True)
    assert '<html lang="de"' in html
    assert "Experience insights" not in html  # translated
    catalogue = json.loads(html.split('id="i18n">', 1)[1].split("</script>", 1)[0])
    assert catalogue["no_stories"] != "No stories for this choice yet."


def test_no_answer_contains_personal_data(db, busy, client, event):
    """Names, e-mails, contacts, badges and staff names in the database appear in no answer."""
    booth = sid(event, "booth")
    with dbm.write(db):
        attendee = db.execute(
            "INSERT INTO attendees (event_id, token, badge, name, email, company, created_at)"
            " VALUES (?, 'tok-secret', 'QX7KMP', 'Priya Private', 'priya@example.org',"
            " 'Secretcorp', '2026-10-07T09:00:00.000Z')",
            [event["id"]],
        ).lastrowid
    talk(
        db,
        booth,
        "A public story",
        9,
        ("Pricing",),
        attendee_id=attendee,
        staff_name="Olga Owner-Staffer",
        follow_up=1,
        contact="call +353 555 0100",
        owner="Oscar Owner",
        status="open",
    )
    secrets = [
        "Priya Private",
        "priya@example.org",
        "Secretcorp",
        "QX7KMP",
        "tok-secret",
        "Olga Owner-Staffer",
        "Sam Staffer",
        "+353 555 0100",
        "Oscar Owner",
    ]
    answers = [
        client.get(url).get_data(as_text=True)
        for url in (
            "/api/insights",
            "/api/insights?topic=Pricing",
            "/api/insights?location=cork",
            "/api/insights?band=promoter",
            "/insights",
        )
    ]
    assert "A public story" in answers[0]
    for answer in answers:
        for secret in secrets:
            assert secret not in answer
        # and no station code either: a code is what lets a phone check in
        for station in event["stations"].values():
            assert station["code"] not in answer


def test_employees_stories_have_a_wall_of_their_own_and_no_part_in_the_figures(db, busy):
    f = insights.figures(db, busy)
    assert [s["story"] for s in f["employee_stories"]] == ["EMPLOYEE story"]
    assert f["employee_stories"][0]["location"] == "Cork"
    assert "EMPLOYEE story" not in {s["story"] for s in f["stories"]}
    assert insights.figures(db, busy, location="austin")["employee_stories"] == []
    # a topic or a score band is about customers: their wall alone
    assert insights.figures(db, busy, topic="Pricing")["employee_stories"] == []
