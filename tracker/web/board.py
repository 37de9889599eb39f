"""The big screen: /board pages and the snapshot they start from (GET /api/scoreboard)."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template, request

from .. import scoreboard
from ..shapes import ErrorCode, Scoreboard
from .context import current_event, get_db
from .jsonapi import json_error

bp = Blueprint("board", __name__)

THEMES = ("dark", "light")
ROTATE_MIN_SECONDS = 10
ROTATE_DEFAULT_SECONDS = 30
PAGE_DEFAULT_SECONDS = 10  # each page of locations, when they do not all fit the screen
GROUPS = ("country",)


def kiosk_options(args) -> dict:
    """Kiosk settings from the URL; anything odd falls back to a sensible default, never an error.

    A screen on a wall has nobody to read an error page, so `?rotate=yes` just rotates.
    """
    theme = args.get("theme", "dark")
    rotate = 0
    if "rotate" in args:
        raw = args.get("rotate", "")
        if raw.lower() in ("0", "off", "no", "false"):
            rotate = 0
        elif raw.isdigit():
            rotate = min(max(int(raw), ROTATE_MIN_SECONDS), 3600)
        else:
            rotate = ROTATE_DEFAULT_SECONDS
    reload_raw = args.get("reload", "")
    reload_minutes = int(reload_raw) if reload_raw.isdigit() else 360
    return {
        "theme": theme if theme in THEMES else "dark",
        "rotate": rotate,
        "reload": min(reload_minutes, 7 * 24 * 60),
    }


def list_options(args) -> dict:
    """How the location list shows, from the URL: `?group=country` puts the locations under
    their countries (with subtotals); `?page=SECONDS` is how long each page of locations stays
    when they do not all fit the screen (10 s, at least 3)."""
    page_raw = args.get("page", "")
    page = int(page_raw) if page_raw.isdigit() else PAGE_DEFAULT_SECONDS
    group = args.get("group", "")
    return {"group": group if group in GROUPS else None, "page": min(max(page, 3), 600)}


def _snapshot(location: str | None) -> Scoreboard:
    return scoreboard.snapshot(get_db(), current_event(), location)


@bp.get("/board")
@bp.get("/board/<location>")
def board(location: str | None = None):
    try:
        snap = _snapshot(location)
    except scoreboard.UnknownLocation:
        abort(404, f"The event has no location {location!r}.")
    return render_template(
        "board/board.html",
        event=current_event(),
        snapshot=snap,
        location=location,
        options=kiosk_options(request.args) | list_options(request.args),
    )


@bp.get("/api/scoreboard")
def api_scoreboard():
    location = request.args.get("location") or None
    try:
        snap = _snapshot(location)
    except scoreboard.UnknownLocation:
        return json_error(
            404, ErrorCode.unknown_location, f"the event has no location {location!r}"
        )
    response = jsonify(snap)
    response.headers["Cache-Control"] = "no-store"
    return response
