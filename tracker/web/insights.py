"""The Experience Analytics Expo: /insights (a touch-screen kiosk) and the figures it shows
(GET /api/insights), under the filters a visitor taps: topic, location, score band."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request

from ..contract.errors import ErrorCode
from ..event.languages import font_stylesheets
from ..figures import insights
from .context import current_event, get_db
from .i18n import current_tag
from .jsonapi import json_error

bp = Blueprint("insights", __name__)

IDLE_DEFAULT_SECONDS = 60  # untouched this long, the kiosk goes back to its start view
IDLE_MIN_SECONDS = 2


def kiosk_options(args) -> dict:
    """`?idle=SECONDS` (at least 2, default 60) and `?theme=dark|light`; anything odd falls back
    to the default, as nobody stands at a kiosk to read an error."""
    raw = args.get("idle", "")
    idle = int(raw) if raw.isdigit() else IDLE_DEFAULT_SECONDS
    theme = args.get("theme", "dark")
    return {
        "idle": min(max(idle, IDLE_MIN_SECONDS), 24 * 3600),
        "theme": theme if theme in ("dark", "light") else "dark",
    }


@bp.get("/insights")
def page():
    figures = insights.figures(get_db(), current_event())
    return render_template(
        "insights.html",
        event=current_event(),
        figures=figures,
        options=kiosk_options(request.args),
        fonts=font_stylesheets(current_tag(), every_script=True),
    )


@bp.get("/api/insights")
def api_insights():
    args = {k: request.args.get(k) or None for k in ("topic", "location", "band")}
    theme_arg = request.args.get("theme") or None
    if theme_arg is not None and not (theme_arg.isdigit() and len(theme_arg) <= 12):
        return json_error(400, ErrorCode.bad_request, "theme is a theme's id (a number)")
    theme = int(theme_arg) if theme_arg is not None else None
    try:
        figures = insights.figures(get_db(), current_event(), **args, theme=theme)
    except insights.UnknownLocation:
        return json_error(
            404, ErrorCode.unknown_location, f"the event has no location {args['location']!r}"
        )
    except insights.UnknownTheme:
        return json_error(404, ErrorCode.not_found, f"/insights names no theme {theme}")
    except insights.UnknownBand:
        return json_error(400, ErrorCode.bad_request, "band is one of promoter, passive, detractor")
    response = jsonify(figures)
    response.headers["Cache-Control"] = "no-store"
    return response
