"""Setup in the browser: the event's topics, dates, time zone, what counts, moderation and
languages, each through the same domain function and checks as the event file (audited there).

One small form per setting, so a fault in one names it and changes nothing else.
"""

from __future__ import annotations

import zoneinfo
from datetime import date
from functools import cache

from flask import Blueprint, abort, request
from werkzeug.wrappers import Response

from .. import events, eventsettings
from .console import require_organizer, told
from .context import current_event, get_db
from .identity import organizer_name

bp = Blueprint("admin_setup", __name__, url_prefix="/admin/setup")
bp.before_request(require_organizer)

TOPICS_MAX_CHARS = 4000  # 40 topics of 80 characters and their line breaks, with room to spare


@cache
def time_zones() -> list[str]:
    """Every IANA time zone name, sorted, for the setup page's suggestions (read once)."""
    return sorted(zoneinfo.available_timezones())


def _back(message: str, category: str = "ok") -> Response:
    return told(message, category, "admin.setup")


def _refused(what: str, exc: ValueError) -> Response:
    return _back(f"{what} not saved, nothing changed: {exc}.", "error")


def _saved(what: str, changed: bool) -> Response:
    return _back(f"{what} saved." if changed else f"{what}: nothing to change.")


@bp.post("/topics")
def topics():
    """The topic list as typed, one a line (blank lines skipped): add, rename or remove."""
    text = request.form.get("topics", "")
    if len(text) > TOPICS_MAX_CHARS:
        return _back(f"Topics not saved: more than {TOPICS_MAX_CHARS} characters.", "error")
    listed = [line.strip() for line in text.splitlines() if line.strip()]
    try:
        changed = eventsettings.set_topics(
            get_db(), current_event()["id"], listed, organizer_name()
        )
    except ValueError as exc:
        return _refused("Topics", exc)
    return _saved("Topics", changed)


def _day(field: str, label: str) -> date | None:
    """A date from an <input type=date> (YYYY-MM-DD), None when left empty."""
    text = request.form.get(field, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"the {label} {text[:20]!r} is not a date (YYYY-MM-DD)") from None


@bp.post("/dates")
def dates():
    try:
        starts, ends = _day("starts_at", "first day"), _day("ends_at", "last day")
        changed = eventsettings.set_dates(
            get_db(), current_event()["id"], starts, ends, organizer_name()
        )
    except ValueError as exc:
        return _refused("Dates", exc)
    return _saved("Dates", changed)


@bp.post("/timezone")
def timezone():
    try:
        changed = eventsettings.set_timezone(
            get_db(), current_event()["id"], request.form.get("timezone", ""), organizer_name()
        )
    except ValueError as exc:
        return _refused("Time zone", exc)
    return _saved("Time zone", changed)


@bp.post("/counts")
def counts():
    try:
        changed = eventsettings.set_counts(
            get_db(), current_event()["id"], request.form.getlist("counts"), organizer_name()
        )
    except ValueError as exc:
        return _refused("What counts", exc)
    return _saved("What counts", changed)


@bp.post("/moderation")
def moderation():
    try:
        changed = eventsettings.set_moderation(
            get_db(), current_event()["id"], request.form.get("moderation", ""), organizer_name()
        )
    except ValueError as exc:
        return _refused("Moderation", exc)
    return _saved("Moderation", changed)


@bp.post("/language")
def language():
    try:
        changed = eventsettings.set_event_language(
            get_db(), current_event()["id"], request.form.get("language", ""), organizer_name()
        )
    except ValueError as exc:
        return _refused("Language", exc)
    return _saved("The event's language", changed)


@bp.post("/locations/<int:location_id>/language")
def location_language(location_id: int):
    """A location's own language, or "" for the event's."""
    db = get_db()
    location = next(
        (
            loc
            for loc in events.locations(db, current_event()["id"], active_only=False)
            if loc["id"] == location_id
        ),
        None,
    )
    if location is None:
        abort(404)
    try:
        changed = eventsettings.set_location_language(
            db, location_id, request.form.get("language", ""), organizer_name()
        )
    except ValueError as exc:
        return _refused(f"{location['name']}'s language", exc)
    return _saved(f"{location['name']}'s language", changed)
