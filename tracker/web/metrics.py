"""GET /metrics: the Prometheus text format (tracker/ops/metrics.py), and the hooks that move
the counters as requests are answered. A Prometheus on the same machine scrapes it as it is
(loopback addresses need nothing); anyone else sends METRICS_TOKEN as a bearer token."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST

from ..contract.errors import ErrorCode
from ..ops.metrics import Metrics
from ..store import logs
from .jsonapi import json_error

bp = Blueprint("metrics", __name__)
log = logging.getLogger(__name__)
EXTENSION = "tracker_metrics"
CHECKINS = {("/api/checkins", "POST"), ("/s/<code>", "POST")}
CONVERSATIONS = {("/api/conversations", "POST"), ("/api/conversations/<conversation_id>", "PUT")}


def _metrics() -> Metrics:
    return current_app.extensions[EXTENSION]


def _started() -> None:
    g.metrics_started = time.perf_counter()


def _observed(response: Response) -> Response:
    """Time the answer by its route (never its URL: codes and ids stay out of the labels) and
    count check-ins, conversations and refusals by result."""
    started = g.pop("metrics_started", None)
    if started is None:
        return response
    metrics = _metrics()
    route = request.url_rule.rule if request.url_rule is not None else "(no route)"
    status = response.status_code
    metrics.requests.labels(route, request.method).observe(time.perf_counter() - started)
    key = (route, request.method)
    if key in CHECKINS:
        result = "new" if status == 201 else "repeat" if status in (200, 303) else "refused"
        metrics.checkins.labels(result).inc()
    elif key in CONVERSATIONS:
        result = "created" if status == 201 else "replaced" if status == 200 else "refused"
        metrics.conversations.labels(result).inc()
    if status in (429, 503):
        metrics.refusals.labels(route, str(status)).inc()
        logs.event(log, "request.refused", logging.WARNING, route=route, status=status,
                   address=request.remote_addr)  # fmt: skip
    elif status >= 500:
        logs.event(log, "request.failed", logging.ERROR, route=route, status=status)
    return response


def _allowed() -> bool:
    """Loopback addresses, or the bearer token METRICS_TOKEN (compared in constant time)."""
    try:
        if ipaddress.ip_address(request.remote_addr or "").is_loopback:
            return True
    except ValueError:
        pass
    token = current_app.config.get("METRICS_TOKEN") or ""
    kind, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and kind.lower() == "bearer" and hmac.compare_digest(given, token)


@bp.get("/metrics")
def metrics() -> Response:
    if not _allowed():
        return json_error(
            401, ErrorCode.not_signed_in, "send METRICS_TOKEN as a bearer token (or scrape locally)"
        )
    response = Response(_metrics().text(), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """The app's metrics (its live watcher counts the screens) and the hooks that move them."""
    live = app.extensions["tracker_live"]
    app.extensions[EXTENSION] = Metrics(
        str(app.config["DATABASE"]),
        lambda: len(live.screens),
        int(app.config.get("ALERT_MAX_ATTEMPTS") or 8),
    )
    app.before_request(_started)
    app.after_request(_observed)
    app.register_blueprint(bp)
