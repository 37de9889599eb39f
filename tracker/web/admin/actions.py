"""The actions of the organizer console: what the team will do about each theme, who owns it
and by when; new (from a theme), edit, assign, move forward, note, CSV; and the CSV of every
message written to customers about their follow-ups.

Thin: the domain (tracker.actions.plan, tracker.actions.heard) validates, writes the history and
the audit; forms carry CSRF tokens and go back to the page they came from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from ...actions import heard, plan
from ...figures import exports
from ...followups import queue as followup_queue
from ...stories.text import reference
from ...themes import listing as theme_listing
from ..context import current_event, get_db, private_db
from ..i18n import say
from ..identity import organizer_name
from .downloads import download
from .gate import back, require_organizer

bp = Blueprint("admin_actions", __name__, url_prefix="/admin")
bp.before_request(require_organizer)
THEME_STORIES = 40  # a theme's stories the new action's form offers to link


def event_today(event: dict) -> str:
    """Today on the event's calendar (YYYY-MM-DD): what "overdue" is measured against."""
    return datetime.now(ZoneInfo(event["timezone"])).date().isoformat()


def _theme_id(text: str | None) -> int | None:
    if not text:
        return None
    if not text.isdigit() or len(text) > 12:
        abort(400, _("A theme is named by its number."))
    return int(text)


def _theme(event: dict, theme_id: int | None) -> dict | None:
    """The theme named (the one it was merged into, if it was), or None; 404 for none such."""
    if theme_id is None:
        return None
    try:
        return plan.theme(get_db(), event["id"], theme_id)
    except plan.UnknownTheme:
        abort(404, _("There is no such theme."))


def _theme_stories(event: dict, theme: dict | None) -> list[dict]:
    """The theme's stories the form offers to link (newest first, THEME_STORIES at most)."""
    if theme is None:
        return []
    db = get_db()
    try:
        found = theme_listing.theme(db, event["id"], theme["id"])
    except theme_listing.UnknownTheme:  # no story qualifies now
        return []
    return [
        {**row, "reference": reference(row["id"])}
        for row in theme_listing.stories(db, found["conversation_ids"][:THEME_STORIES])
    ]


@bp.get("/actions")
def actions():
    """Every action, overdue first, then by due day; filter by status and theme."""
    event = current_event()
    status = request.args.get("status", "")
    theme_id = _theme_id(request.args.get("theme"))
    db = get_db()
    theme = _theme(event, theme_id)
    try:
        found = plan.listing(
            db, event["id"], event_today(event), status, theme["id"] if theme else None
        )
    except plan.ActionError as exc:
        abort(400, _("That filter cannot be used: %(reason)s.", reason=say(exc)))
    return render_template(
        "admin/actions.html",
        event=event,
        status=status,
        theme=theme,
        statuses=plan.STATUSES,
        owners=followup_queue.known_owners(db, event["id"]),
        messages=heard.counts(db, event["id"]),
        max_note=plan.MAX_NOTE,
        **found,
    )


@bp.route("/actions/new", methods=["GET", "POST"])
def new_action():
    """The form for a new action on a theme (`?theme=<id>`, the themes page links here)."""
    event = current_event()
    db = get_db()
    theme = _theme(event, _theme_id(request.values.get("theme")))
    error = None
    form = request.form
    if request.method == "POST":
        try:
            made = plan.create(
                db,
                event["id"],
                theme["id"] if theme else None,
                form.get("title", ""),
                owner=form.get("owner", ""),
                due_on=form.get("due_on", ""),
                stories=[
                    *form.getlist("story"),
                    *form.get("stories", "").replace(",", " ").split(),
                ],
                actor=organizer_name(),
            )
        except plan.ActionError as exc:
            error = _("Not saved: %(reason)s.", reason=say(exc))
        else:
            flash(
                _("%(reference)s saved: %(title)s", reference=made["subject"], title=made["title"]),
                "ok",
            )
            return redirect(url_for("admin_actions.actions", _anchor=f"a-{made['id']}"))
    return render_template(
        "admin/action_new.html",
        event=event,
        theme=theme,
        form=form,
        error=error,
        owners=followup_queue.known_owners(db, event["id"]),
        max_title=plan.MAX_TITLE,
        theme_stories=_theme_stories(event, theme),
        chosen=set(form.getlist("story")),
    ), (422 if error else 200)


@bp.post("/actions/<int:action_id>")
def change(action_id: int):
    """One change to one action: `action` edit (title, owner, due_on), owner, status or note."""
    event = current_event()
    form = request.form
    what = form.get("action", "")
    fields: dict[str, Any]
    if what == "edit":
        fields = {k: form.get(k, "") for k in ("title", "owner", "due_on")}
    elif what in ("owner", "status", "note"):
        fields = {what: form.get(what, "")}
    else:
        abort(400, _("Unknown action: edit, owner, status or note."))
    try:
        plan.change(get_db(), event["id"], action_id, actor=organizer_name(), **fields)
    except plan.UnknownAction:
        abort(404)
    except plan.ActionError as exc:
        flash(_("Not saved: %(reason)s.", reason=say(exc)), "error")
    return _back(action_id)


def _back(action_id: int) -> WerkzeugResponse:
    return back(url_for("admin_actions.actions", _anchor=f"a-{action_id}"))


@bp.get("/actions.csv")
def actions_csv():
    """Every action with its theme, owner, due day, status, stories and history."""
    event = current_event()
    db = private_db()
    response = download(
        exports.csv_lines(plan.csv_rows(db, event["id"], event_today(event))),
        "text/csv",
        f"{event['slug']}-actions.csv",
    )
    response.call_on_close(db.close)
    return response


@bp.get("/customer-messages.csv")
def customer_messages_csv():
    """Every message written to a customer (acknowledgements, closing notes), with the e-mail's
    state and the customer's "not resolved"."""
    event = current_event()
    db = private_db()
    response = download(
        exports.csv_lines(heard.csv_rows(db, event["id"])),
        "text/csv",
        f"{event['slug']}-customer-messages.csv",
    )
    response.call_on_close(db.close)
    return response
