"""tracker: an event-day engagement tracker with a live scoreboard."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import commands, config, web
from .actions import heard
from .extensions import ASYNC_MODE, COMPRESSED_TYPES, babel, compress, csrf, socketio
from .followups import alerts
from .node import link as node_link
from .ops import litestream, replication, status
from .store import db as dbm
from .store import logs
from .themes import worker as themes_worker
from .web import i18n, live, metrics
from .web.guard import ConnectionGuard

__all__ = ["ASYNC_MODE", "create_app", "socketio"]


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app; `test_config` overrides the environment (tests, benchmarks)."""
    app = Flask(
        __name__,
        instance_path=str(config.ROOT / "instance"),
        template_folder=str(config.ROOT / "templates"),
        static_folder=str(config.ROOT / "static"),
    )
    app.config.update(config.from_env())
    if test_config:
        app.config.update(test_config)
    if app.config.get("LOG_FORMAT") == "json" and not app.testing:
        logs.configure("json", app.config.get("LOG_LEVEL") or "INFO")

    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    compress.init_app(app)
    web.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)
    socketio.init_app(
        app,
        async_mode=ASYNC_MODE,
        # Screens on the same origin only; the board needs no cross-site access.
        cors_allowed_origins=app.config.get("CORS_ORIGINS") or None,
        ping_interval=20,
        ping_timeout=20,
        # A client's events are handled in turn on its own connection, not each in a new
        # greenlet: a flood is charged against its budget as it is read and cut off at once
        # (tracker/web/live.py), instead of thousands of queued handlers taking the worker.
        async_handlers=False,
    )
    live.init_app(app)
    metrics.init_app(app)
    _background_tasks(app)
    commands.init_app(app)
    # Outermost but for ProxyFix, so it counts Socket.IO's requests too, under each client's
    # own address (behind a proxy, ProxyFix has already put the forwarded one in REMOTE_ADDR).
    # WSGI middleware wraps app.wsgi_app, as Flask's docs show.
    app.wsgi_app = ConnectionGuard(  # type: ignore[method-assign]
        app.wsgi_app,
        per_address=app.config["CONNECTIONS_PER_ADDRESS"],
        max_body=app.config["MAX_CONTENT_LENGTH"],
        body_seconds=app.config["BODY_SECONDS"],
        socket_spent=app.extensions["tracker_socket_budgets"].address_spent,
    )
    if app.config.get("TRUSTED_PROXIES"):
        # Behind N proxies, take the client's address, scheme and host from X-Forwarded-*:
        # the per-IP cap and the Origin check need the real ones.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    return app


def _background_tasks(app: Flask) -> None:
    """The node's link to central (on a node), the alerts' outbox and the replica's supervisor
    (TRACKER_REPLICA), kept in app.extensions for /healthz and the console; their tasks start
    only in the serving process (gevent)."""
    serving = dbm.gevent_monkey() is not None and not app.testing
    link = node_link.start_node(app.config, serving)
    if link is not None:
        app.extensions[node_link.EXTENSION] = link
    outbox = app.extensions[alerts.EXTENSION] = alerts.Outbox(app.config)
    if link is None:  # central: customers hear of their follow-ups (never from a node)
        sender = heard.Sender.from_config(app.config)
        outbox.passes.append(lambda db: heard.enqueue(db, sender))
    if serving:
        outbox.start()
    if app.config.get("REPLICA"):  # Litestream, the serving process's child
        replica = app.extensions[litestream.EXTENSION] = litestream.Supervisor(
            app.config["DATABASE"],
            app.config["REPLICA"],
            float(app.config.get("REPLICA_MAX_LAG_SECONDS") or 30),
            fingerprint=replication.key_fingerprint(str(app.secret_key)),
        )
        if serving:
            replica.start()
        app.extensions["tracker_replication_check"] = status.replication_check(
            str(app.config["DATABASE"])
        )
    if link is None:  # central: the themes' child process, reading stories off the request path
        themes = app.extensions[themes_worker.EXTENSION] = themes_worker.Worker(app.config)
        if serving:
            themes.start()
    if link is None:  # central: the status page's checks and their alarms, every 15 s
        live_screens = app.extensions["tracker_live"].screens
        watch = status.Watch(
            app.config,
            lambda: len(live_screens),
            app.extensions.get("tracker_replication_check"),
        )
        app.extensions["tracker_status"] = watch
        if serving:
            watch.start()
