"""Setup in the browser: the event's topics, dates, time zone, what counts, moderation, staff's
quick mode, languages and the venue's networks, each through the same domain function and checks
as the event file (audited there).

One small form per setting, so a fault in one names it and changes nothing else.
"""

from __future__ import annotations

import json
import zoneinfo
from collections.abc import Callable
from datetime import date
from functools import cache

from flask import Blueprint, abort, request
from flask_babel import format_decimal, gettext
from werkzeug.wrappers import Response

from ...corrections import holds
from ...event import lookups as events
from ...event import settings as eventsettings
from ..context import current_event, get_db
from ..i18n import say
from ..identity import organizer_name
from .gate import require_organizer, told

bp = Blueprint("admin_setup", __name__, url_prefix="/admin/setup")
bp.before_request(require_organizer)

TOPICS_MAX_CHARS = 4000  # 40 topics of 80 characters and their line breaks, with room to spare
NETWORKS_MAX_CHARS = 8000  # 100 IPv6 networks of 43 characters and their line breaks, and more


@bp.app_template_filter("networks_list")
def networks_list(stored: str | None) -> list[str]:
    """The event's `networks` column (JSON) as the list the setup page shows, one a line."""
    return json.loads(stored or "[]")


@cache
def time_zones() -> list[str]:
    """Every IANA time zone name, sorted, for the setup page's suggestions (read once)."""
    return sorted(zoneinfo.available_timezones())


def _back(message: str, category: str = "ok") -> Response:
    return told(message, category, "admin.setup")


def _refused(what: str, exc: ValueError) -> Response:
    return _back(
        gettext("%(what)s not saved, nothing changed: %(reason)s.", what=what, reason=say(exc)),
        "error",
    )


def _saved(what: str, changed: bool) -> Response:
    if changed:
        return _back(gettext("%(what)s saved.", what=what))
    return _back(gettext("%(what)s: nothing to change.", what=what))


@bp.post("/topics")
def topics():
    """The topic list as typed, one a line (blank lines skipped): add, rename or remove."""
    text = request.form.get("topics", "")
    if len(text) > TOPICS_MAX_CHARS:
        return _back(
            gettext(
                "Topics not saved: more than %(num)s characters.",
                num=TOPICS_MAX_CHARS,
            ),
            "error",
        )
    listed = [line.strip() for line in text.splitlines() if line.strip()]
    return _apply(gettext("Topics"), eventsettings.set_topics, listed)


def _day(field: str, label: str) -> date | None:
    """A date from an <input type=date> (YYYY-MM-DD), None when left empty."""
    text = request.form.get(field, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            gettext("%(day)s %(text)s is not a date (YYYY-MM-DD)", day=label, text=repr(text[:20]))
        ) from None


def _apply(what: str, setter: Callable[..., bool], *values: object) -> Response:
    """Call eventsettings' `setter` for the current event with `values` and the organizer, and
    go back to the setup page saying whether `what` was saved or why nothing changed."""
    try:
        changed = setter(get_db(), current_event()["id"], *values, organizer_name())
    except ValueError as exc:
        return _refused(what, exc)
    return _saved(what, changed)


@bp.post("/dates")
def dates():
    try:
        starts = _day("starts_at", gettext("The first day"))
        ends = _day("ends_at", gettext("The last day"))
    except ValueError as exc:
        return _refused(gettext("Dates"), exc)
    return _apply(gettext("Dates"), eventsettings.set_dates, starts, ends)


@bp.post("/timezone")
def timezone():
    return _apply(
        gettext("Time zone"), eventsettings.set_timezone, request.form.get("timezone", "")
    )


@bp.post("/counts")
def counts():
    return _apply(gettext("What counts"), eventsettings.set_counts, request.form.getlist("counts"))


@bp.post("/moderation")
def moderation():
    return _apply(
        gettext("Moderation"), eventsettings.set_moderation, request.form.get("moderation", "")
    )


@bp.post("/quick-mode")
def quick_mode():
    """Staff's quick mode (badge, score and one topic; the story optional): on or off."""
    on = request.form.get("quick_mode") == "on"
    return _apply(gettext("Quick mode"), eventsettings.set_quick_mode, on)


@bp.post("/networks")
def networks():
    """The venue's networks as typed, one address or CIDR network a line (blank lines and
    anything after a # skipped): records from them are never held, and what is held from them
    already counts at once."""
    text = request.form.get("networks", "")
    if len(text) > NETWORKS_MAX_CHARS:
        return _back(
            gettext(
                "Networks not saved: more than %(num)s characters.",
                num=NETWORKS_MAX_CHARS,
            ),
            "error",
        )
    listed = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    try:
        changed, released = holds.set_networks(
            get_db(), current_event()["id"], [n for n in listed if n], organizer_name()
        )
    except ValueError as exc:
        return _refused(gettext("Networks"), exc)
    if released["checkins"] or released["conversations"]:
        return _back(
            gettext(
                "Networks saved: %(checkins)s check-ins and %(stories)s stories held from them"
                " count now.",
                checkins=format_decimal(released["checkins"]),
                stories=format_decimal(released["conversations"]),
            )
        )
    return _saved(gettext("Networks"), changed)


@bp.post("/language")
def language():
    return _apply(
        gettext("The event's language"),
        eventsettings.set_event_language,
        request.form.get("language", ""),
    )


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
        return _refused(gettext("%(location)s's language", location=location["name"]), exc)
    return _saved(gettext("%(location)s's language", location=location["name"]), changed)
