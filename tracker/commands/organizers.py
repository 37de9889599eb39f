"""`flask admin create|list|status`: organizer accounts and the state of the server."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..ops import litestream
from ..ops import replication as replica
from ..people import organizers
from ..web.context import get_db
from .event import server_database


@click.group("admin")
def admin_cli() -> None:
    """Organizer accounts: one per person, so the audit trail names who did what."""


@admin_cli.command("create")
@click.option("--name", required=True, help="The organizer's name, used to sign in.")
@click.password_option("--password", prompt="Password", help="At least 10 characters.")
@with_appcontext
def admin_create(name: str, password: str) -> None:
    """Add an organizer, or set a new password for one (which signs them out everywhere)."""
    path = server_database()
    try:
        created = organizers.set_password(get_db(), name, password)
    except (organizers.WeakPassword, organizers.BadName) as exc:
        raise click.ClickException(str(exc)) from None
    verb = "added" if created else "has a new password"
    click.echo(f"Organizer {' '.join(name.split())} {verb} in {path}. Sign in at /admin.")


@admin_cli.command("list")
@with_appcontext
def admin_list() -> None:
    """List the organizer accounts."""

    for row in organizers.all_organizers(get_db()):
        click.echo(f"  {row['name']:<32} added {row['created_at'][:16]} by {row['created_by']}")


@admin_cli.command("status")
@with_appcontext
def admin_status() -> None:
    """Say whether anyone can sign in as an organizer (there is never a default password)."""

    if organizers.has_password(get_db(), current_app.config.get("ADMIN_PASSWORD")):
        click.echo("Organizer sign-in: set up.")
    else:
        click.echo(
            "Organizer sign-in: no account yet. Make one with:"
            ' .venv/bin/flask --app tracker admin create --name "Your Name"'
        )
    if current_app.config.get("REPLICA"):
        health = litestream.read_health(current_app.config["DATABASE"])
        url = replica.shown(current_app.config["REPLICA"])
        said = " ".join(map(str, litestream.describe(health)))
        click.echo(f"Replication: on, to {url}. {said}")
