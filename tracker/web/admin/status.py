"""The status page of the console (/admin/status): every check of the day, green, amber or red,
as tracker/ops/status.py reads them now."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ...node import central
from ...ops import status
from ..context import current_event, get_db
from ..i18n import say
from .gate import require_organizer

bp = Blueprint("admin_status", __name__, url_prefix="/admin")
bp.before_request(require_organizer)


@bp.get("/status")
def status_page():
    live = current_app.extensions["tracker_live"]
    found = status.checks(
        get_db(),
        current_event(),
        status.Limits.from_config(current_app.config),
        str(current_app.config["DATABASE"]),
        screens=len(live.screens),
        replication=current_app.extensions.get("tracker_replication_check"),
    )
    worst = (
        "red"
        if any(c.state == "red" for c in found)
        else ("amber" if any(c.state == "amber" for c in found) else "green")
    )
    return render_template("admin/status.html", checks=found, worst=worst)


@bp.app_template_filter("node_alarm")
def node_alarm(stored: str) -> str:
    """A node's alarm (nodes.alarm) in the organizer's language."""
    return say(central.alarm(stored))
