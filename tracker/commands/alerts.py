"""`flask alerts send`: queue and send alerts once, as the server's own task does."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..actions import heard
from ..followups import alerts
from ..store import db as dbm


@click.group("alerts")
def alerts_cli() -> None:
    """Alerts of new detractors and follow-ups (e-mail, webhook)."""


@alerts_cli.command("send")
@with_appcontext
def send_command() -> None:
    """Queue alerts for what is new and send what is due, once (the server does this itself)."""
    settings = alerts.Settings.from_config(current_app.config)
    if not settings.configured:
        raise click.ClickException(
            "alerts are not configured: set SMTP_HOST (with ALERT_EMAILS) or ALERT_WEBHOOK_URL"
        )
    db = dbm.thread_db(current_app.config["DATABASE"], current_app.config["SYNCHRONOUS"])
    if not current_app.config.get("NODE_UPSTREAM"):  # customers hear from central only
        heard.enqueue(db, heard.Sender.from_config(current_app.config))
    done = alerts.one_pass(db, settings)
    state = alerts.outbox(db, settings)
    click.echo(
        f"Queued {done['queued']}, sent {done['sent']}, failed {done['failed']};"
        f" {state['waiting']} waiting, {state['given_up']} given up."
    )
