"""Every conversation of the event for organizers: staff-logged, attendees' own and employees'
stories, a page at a time, searched and filtered, each with its void or restore."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from ...event import lookups as events
from ...store.db import page_count
from ...stories import listing as records
from ...stories import moderation
from ..context import current_event, get_db, read_off_loop
from .gate import page_number, require_organizer

bp = Blueprint("admin_conversations", __name__, url_prefix="/admin")
bp.before_request(require_organizer)


def _filters(locations: list[dict], stations: list[dict]) -> records.Filters:
    """The filters in the query string; any that names nothing of this event is dropped."""
    args = request.args
    location = args.get("location") or None
    if location not in {loc["slug"] for loc in locations}:
        location = None
    station: int | None = None
    if args.get("station", "").isdigit() and int(args["station"]) in {s["id"] for s in stations}:
        station = int(args["station"])
    source = args.get("source") or None
    if source not in records.SOURCES:
        source = None
    q = args.get("q", "").strip()[: moderation.SEARCH_MAX] or None
    return {"location": location, "station": station, "source": source, "q": q}


@bp.get("/conversations")
def conversations():
    """All conversations, newest first, 50 a page, with counts for the filter in force."""
    event = current_event()
    page = page_number()

    db = get_db()
    locations = events.locations(db, event["id"], active_only=False)
    stations = events.stations(db, event["id"], active_only=False)
    filters = _filters(locations, stations)

    def read(own):
        counts = records.counts(own, event["id"], filters)
        return {
            "counts": counts,
            "pages": page_count(counts["listed"], records.PAGE_SIZE),
            "rows": records.conversations(
                own, event["id"], filters, offset=(page - 1) * records.PAGE_SIZE
            ),
        }

    found = read_off_loop(read)
    return render_template(
        "admin/conversations.html",
        event=event,
        page=page,
        locations=locations,
        stations=stations,
        filters=filters,
        sources=records.SOURCES,
        **found,
    )
