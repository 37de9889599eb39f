"""What organizers take away: the downloads (CSV and JSON exports, the audit trail, a backup of
the database), the end-of-day report, and erasing one attendee's personal data."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
)
from flask_babel import get_locale, gettext, ngettext

from ...corrections import erasure as privacy
from ...figures import exports
from ...figures import report as report_module
from ...store import audit
from ..context import current_event, get_db, private_db, read_off_loop
from ..identity import organizer_name
from .corrections import audit_filters
from .gate import require_organizer, told

bp = Blueprint("admin_data", __name__, url_prefix="/admin")
bp.before_request(require_organizer)


def download(body: Iterable[bytes] | Iterable[str] | str, mimetype: str, name: str) -> Response:
    """An attachment named `name` plus the time of the download (UTC, to the minute)."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    stem, _, ext = name.rpartition(".")
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{stem}-{stamp}.{ext}"'},
    )


@bp.get("/data")
def data():
    return render_template("admin/data.html", event=current_event(), kinds=exports.KINDS)


@bp.get("/report")
def report():
    event = current_event()
    built = read_off_loop(report_module.build, event, str(get_locale()))
    return report_module.render(built, render_template)


@bp.get("/export/<kind>.<fmt>")
def export(kind: str, fmt: str):
    if kind not in exports.KINDS or fmt not in ("csv", "json"):
        abort(404)
    event = current_event()
    stream = exports.csv_stream if fmt == "csv" else exports.json_stream
    mimetype = "text/csv" if fmt == "csv" else "application/json"
    db = private_db()  # read lazily while the download goes on: not on the shared connection
    response = download(
        stream(db, kind, event["id"]),
        mimetype,  # Flask adds the charset of text types, once
        f"{event['slug']}-{kind}.{fmt}",
    )
    response.call_on_close(db.close)  # also when the download is cut short or never read
    return response


@bp.get("/backup.db")
def backup():
    chunks = exports.backup_bytes(current_app.config["DATABASE"])
    return download(chunks, "application/vnd.sqlite3", "tracker-backup.db")


@bp.get("/audit.csv")
def audit_csv():
    event = current_event()
    rows = audit.entries(get_db(), event["id"], **audit_filters(), limit=None)
    columns = ("at", "actor", "action", "subject", "before", "after")
    lines = exports.csv_lines([columns, *([row[k] for k in columns] for row in rows)])
    return download("".join(lines), "text/csv", f"{event['slug']}-audit.csv")


@bp.route("/privacy", methods=["GET", "POST"])
def privacy_page():
    event = current_event()
    if request.method == "POST":
        badge = request.form.get("badge", "")
        try:
            done = privacy.erase_attendee(get_db(), event["id"], badge, organizer_name())
        except privacy.UnknownAttendee:
            unknown = gettext("No attendee has the badge %(badge)s.", badge=repr(badge))
            return told(unknown, "error", "admin_data.privacy_page")
        erased = ngettext(
            "Erased the name, email and company of %(badge)s (%(num)s follow-up contact"
            " removed). Counts are kept.",
            "Erased the name, email and company of %(badge)s (%(num)s follow-up contacts"
            " removed). Counts are kept.",
            done["contacts_erased"],
            badge=done["badge"],
        )
        return told(erased, "ok", "admin_data.privacy_page")
    return render_template("admin/privacy.html", event=event)
