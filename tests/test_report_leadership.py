"""The report for leadership: NPS per location and topic, highlighted stories, per-staff figures,
follow-ups owed with owner and age; customers only; one file that prints on A4 and Letter."""

from __future__ import annotations

import os
import random
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import render_template

from tracker.event import lookups as events
from tracker.figures import report

from .helpers import sid
from .test_insights import talk

TOPICS = ("Pricing", "Support")
STAFF = ("Ann Murphy", "Bo Chen", "Carla Díaz", "Dev Patel")


@pytest.fixture
def day(db, event):
    """A day at both locations: 160 staff conversations over ten hours, some highlighted, some
    owing a follow-up; and records that must never show (voided, employees')."""
    rng = random.Random(5)
    stations = [sid(event, s) for s in ("booth", "demo", "stories")]
    for i in range(160):
        hour, minute = 8 + i % 10, (i * 7) % 60
        talk(
            db,
            stations[i % 3],
            f"Story number {i} about the product " + "and more words " * rng.randint(0, 12),
            rng.choice([None, *range(11)]),
            tuple(t for t in TOPICS if rng.random() < 0.5),
            public=rng.random() < 0.7,
            at=f"2026-10-07T{hour:02d}:{minute:02d}:00.000Z",
            staff_name=STAFF[i % 4],
            highlight=int(i in (3, 40, 77)),
            follow_up=int(i % 9 == 0),
            status="open" if i % 9 == 0 else None,
            owner=("Oscar Owner" if i % 2 else None) if i % 9 == 0 else None,
            contact="secret-contact@example.org" if i % 9 == 0 else None,
        )
    cork = db.execute("SELECT id FROM locations WHERE slug = 'cork'").fetchone()[0]
    talk(
        db,
        None,
        "EMPLOYEE story highlighted",
        0,
        ("Pricing",),
        source="employee",
        location_id=cork,
        counted=0,
        staff_name="Eve Employee",
        highlight=1,
    )
    talk(db, stations[0], "VOIDED highlight", 0, voided_at="2026-10-07T12:00:00.000Z", highlight=1)
    # counted (its score is real) but not approved for show: no highlight
    talk(
        db,
        stations[0],
        "PENDING highlight",
        9,
        approval="pending",
        highlight=1,
        staff_name="Bo Chen",
    )
    return events.get_event(db)


def render(app, db, ev) -> str:
    with app.test_request_context("/admin/report"):
        return report.render(report.build(db, ev), render_template)


def test_each_new_section_is_there(app, db, day):
    html = render(app, db, day)
    for title in (
        "NPS per location and per topic",
        "Highlighted stories",
        "By staff member",
        "Still owed, oldest first",
        "By hour, in each location's local time",
    ):
        assert title in html, title
    built = report.build(db, day)
    assert {loc["name"] for loc in built["nps_by_location"]} == {"Cork", "Austin"}
    assert {t["topic"] for t in built["nps_by_topic"]} == set(TOPICS)
    assert sum(p["conversations"] for p in built["staff"]) == 161
    assert {p["name"] for p in built["staff"]} == set(STAFF)
    assert built["owed_total"] == len(built["owed"]) == 18
    assert {f["owner"] for f in built["owed"]} == {"Oscar Owner", None}
    assert all(f["age_hours"] > 0 for f in built["owed"])


def test_highlighted_stories_appear_and_nothing_else_does(app, db, day):
    html = render(app, db, day)
    built = report.build(db, day)
    assert [h["story"].split(" about")[0] for h in built["highlights"]] == [
        "Story number 77",
        "Story number 40",
        "Story number 3",
    ]  # by location (Austin first), then in the order they were told
    assert "Story number 40 about" in html
    for never in ("EMPLOYEE", "Eve Employee", "VOIDED", "PENDING"):
        assert never not in html, never
    assert "secret-contact@example.org" not in html  # owners show, contacts never


def test_employees_rows_never_enter_customer_figures(db, day):
    built = report.build(db, day)
    scored = built["customer_nps"]["responses"]
    assert scored == sum(loc["nps"]["responses"] for loc in built["nps_by_location"])
    assert scored == sum(p["nps"]["responses"] for p in built["staff"])


def test_owed_follow_ups_age_against_the_sla(db, day):
    later = datetime(2026, 10, 10, 9, 0, tzinfo=UTC)
    owed = report.leadership(db, day, now=later)["owed"]
    assert owed[0]["age_hours"] > 48 and owed[0]["overdue"]
    soon = report.leadership(db, day, now=datetime(2026, 10, 7, 19, 0, tzinfo=UTC))["owed"]
    assert not any(f["overdue"] for f in soon)


def test_an_empty_event_still_renders(app, db, event):
    html = render(app, db, events.get_event(db))
    assert "No stories highlighted yet" in html and "Nothing owed." in html


# A4 is 210 mm wide, Letter 8.5 in; the report's @page margin is 14 mm each side (96 px per inch).
PRINTABLE_PX = {"A4": round((210 - 28) / 25.4 * 96), "Letter": round(8.5 * 96 - 28 / 25.4 * 96)}


@pytest.mark.browser
@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_it_prints_on_a_few_pages_and_nothing_is_wider_than_the_page(
    app, db, day, browser, paper, tmp_path
):
    html = render(app, db, day)
    assert "<script" not in html and not re.search(r"""(src|href)=["']?https?:""", html)
    page = browser.new_page(viewport={"width": PRINTABLE_PX[paper], "height": 1000})
    try:
        page.set_content(html)
        page.emulate_media(media="print")
        too_wide = page.evaluate(
            """() => {
              const w = document.documentElement.clientWidth;
              // an SVG's own box counts; what is drawn inside it is clipped to it
              return [...document.querySelectorAll('body *')]
                .filter(e => !e.ownerSVGElement)
                .filter(e => e.getBoundingClientRect().right > w + 1)
                .map(e => e.tagName + '.' + e.className);
            }"""
        )
        assert too_wide == []
        assert page.evaluate("document.documentElement.scrollWidth") <= PRINTABLE_PX[paper]
        pdf = page.pdf(format=paper, print_background=True)
        (tmp_path / f"report-{paper}.pdf").write_bytes(pdf)
        if os.environ.get("REPORT_SHOTS"):  # for a person to look at
            Path(os.environ["REPORT_SHOTS"], f"report-{paper}.pdf").write_bytes(pdf)
            page.emulate_media(media="screen")
            page.screenshot(
                path=str(Path(os.environ["REPORT_SHOTS"], f"report-{paper}.png")), full_page=True
            )
        pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
        assert 2 <= pages <= 8, pages
    finally:
        page.close()
