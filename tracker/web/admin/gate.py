"""What every page of the organizer console shares: the sign-in gate, going back with a message,
page numbers, and redirects that stay on this site."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from ..identity import is_admin, staff_station_id
from ..jsonapi import is_api


def require_organizer() -> Response | None:
    """Anonymous: sign in (401 for JSON); a staff session is not an organizer (403)."""
    if request.endpoint in ("admin.login", "admin.logout") or is_admin():
        return None
    if staff_station_id() is not None:
        abort(403, gettext("This page is for organizers; staff sessions cannot open it."))
    if is_api() or request.accept_mimetypes.best == "application/json":
        abort(401, gettext("Sign in as an organizer first."))
    return redirect(url_for("admin.login", next=request.full_path))


def told(message: str | None, category: str, endpoint: str, **values: Any) -> Response:
    """Back to the page `endpoint` (with `values`), saying `message` there ("ok" or "error")."""
    if message:
        flash(message, category)
    return redirect(url_for(endpoint, **values))


def back(default: str) -> Response:
    """Back to the form's own `next` page when it is one of this site's, else to `default`."""
    target = request.form.get("next", "")
    return redirect(target if local_path(target) else default)


def local_path(target: str) -> bool:
    """Only a path on this site, never an open redirect ("//x", "/\\x", "/\t/x" are refused)."""
    parts = urlsplit(target)
    return (
        target.startswith("/")
        and target.isprintable()
        and not any(ch.isspace() or ch == "\\" for ch in target)
        and not target.startswith("//")
        and not parts.scheme
        and not parts.netloc
    )


def page_number() -> int:
    """The page asked for, within 1 to 100,000 (anything else is the first page)."""
    try:
        page = int(request.args.get("page", 1))
    except ValueError:
        return 1
    return page if 1 <= page <= 100_000 else 1
