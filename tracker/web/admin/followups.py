"""The follow-up queue of the organizer console: owners, notes, status, the SLA, CSV, alerts.

Thin: the filters come from the query string (so a reload or a shared link keeps them), the
domain (tracker.followups.changes, tracker.followups.alerts) does the rest. Forms go back to the page they came
from, filters and all.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, render_template, request, url_for
from flask_babel import gettext, ngettext
from werkzeug.wrappers import Response as WerkzeugResponse

from ...event import lookups as events
from ...event import settings as eventsettings
from ...figures import exports
from ...followups import alerts as notify
from ...followups import changes as followups
from ...followups import queue as followup_queue
from ...stories import record as conversations
from ..context import alert_settings, current_event, get_db, private_db, read_off_loop
from ..i18n import say
from ..identity import organizer_name
from .downloads import download
from .gate import back, page_number, require_organizer

bp = Blueprint("admin_followups", __name__, url_prefix="/admin")
bp.before_request(require_organizer)


def sla_hours(event: dict) -> int:
    """The event's SLA, else FOLLOW_UP_SLA_HOURS."""
    return int(event.get("follow_up_sla_hours") or current_app.config["FOLLOW_UP_SLA_HOURS"])


def _filters() -> followup_queue.Filters:
    try:
        return followup_queue.Filters.parse(request.args)
    except followups.InvalidFollowUp as exc:
        abort(400, gettext("That filter cannot be used: %(reason)s.", reason=say(exc)))


@bp.get("/follow-ups")
def follow_ups():
    """The queue: overdue first, then oldest, fifty a page, with counts and the alerts' state."""
    event = current_event()
    filters = _filters()
    sla = sla_hours(event)
    page = page_number()
    settings = alert_settings()

    def read(db):
        return {
            **followup_queue.queue(db, event["id"], filters, sla, page=page),
            "owners": followup_queue.known_owners(db, event["id"]),
            "outbox": notify.outbox(db, settings) if settings.configured else None,
        }

    found = read_off_loop(read)
    return render_template(
        "admin/follow_ups.html",
        event=event,
        filters=filters,
        args=filters.query(),
        sla=sla,
        statuses=followups.STATUSES,
        locations=events.locations(get_db(), event["id"], active_only=False),
        alerts=settings,
        max_note=followups.MAX_NOTE,
        contact_href=followup_queue.contact_href,
        **found,
    )


@bp.get("/follow-ups.csv")
def follow_ups_csv():
    """The follow-ups the filters show (every page), with owners, status times and notes."""
    event = current_event()
    filters = _filters()
    db = private_db()  # read lazily while the download goes on: not on the shared connection
    rows = followup_queue.csv_rows(db, event["id"], filters, sla_hours(event))

    response = download(exports.csv_lines(rows), "text/csv", f"{event['slug']}-follow-ups.csv")
    response.call_on_close(db.close)
    return response


@bp.post("/follow-ups/sla")
def set_sla():
    """A new SLA in whole hours (audited); anything else is refused and changes nothing."""
    event = current_event()
    text = request.form.get("hours", "").strip()
    try:
        if not text.isdigit():
            raise eventsettings.sla_refusal()
        eventsettings.set_follow_up_sla(get_db(), event["id"], int(text), organizer_name())
    except ValueError as exc:
        flash(gettext("Not saved: %(reason)s.", reason=say(exc)), "error")
    else:
        flash(
            ngettext(
                "Follow-ups are now overdue after %(num)s hour.",
                "Follow-ups are now overdue after %(num)s hours.",
                int(text),
            ),
            "ok",
        )
    return back(url_for("admin_followups.follow_ups"))


@bp.post("/follow-ups/<uuid>")
def change(uuid: str):
    """One change to one follow-up: `action` status (with `status`), owner (with `owner`) or
    note (with `note`); a form with only `status` moves the status."""
    event = current_event()
    form = request.form
    action = form.get("action") or ("status" if "status" in form else "")
    db, who = get_db(), organizer_name()
    try:
        if action == "status":
            followups.set_status(db, event["id"], uuid, form.get("status", ""), actor=who)
        elif action == "owner":
            followups.assign(db, event["id"], uuid, form.get("owner", ""), actor=who)
        elif action == "note":
            followups.add_note(db, event["id"], uuid, form.get("note", ""), actor=who)
        else:
            abort(400, gettext("Unknown action: status, owner or note."))
    except conversations.NotFound:
        abort(404)
    except (followups.InvalidTransition, followups.InvalidFollowUp) as exc:
        flash(gettext("Not saved: %(reason)s.", reason=say(exc)), "error")
    return _back()


def _back() -> WerkzeugResponse:
    return back(url_for("admin_followups.follow_ups"))
