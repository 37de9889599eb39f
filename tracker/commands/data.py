"""`flask rehearsal clear`, `backup`, `report`, `erase`, `simulate`: the day's data."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app, render_template
from flask.cli import AppGroup, with_appcontext
from flask_babel import get_locale

from ..corrections import erasure as privacy
from ..corrections import rehearsal
from ..event.languages import LANGUAGES
from ..figures import exports, report
from ..ops import simulate
from ..web.context import get_db
from .event import served_event

rehearsal_cli = AppGroup("rehearsal", help="Rows written by `flask simulate`.")


@rehearsal_cli.command("clear")
def rehearsal_clear() -> None:
    """Remove every rehearsal row; every total goes back to what the real records make."""

    removed = rehearsal.clear(get_db(), served_event()["id"])
    click.echo(
        f"Removed {removed['checkins']} check-ins, {removed['conversations']} conversations"
        f" and {removed['attendees']} attendees of the rehearsal. Real records are untouched."
    )


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Write a consistent copy of the live database to PATH (safe while serving)."""

    try:
        exports.backup(get_db(), path)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backup written to {path}")


@click.command("report")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--lang",
    "lang",
    type=click.Choice(list(LANGUAGES)),
    default=None,
    help="The report's language (a BCP 47 tag); the event's language when left out.",
)
@with_appcontext
def report_command(out: Path, lang: str | None) -> None:
    """Write the end-of-day report as one self-contained HTML file."""

    event = served_event()
    # The request's language is the report's: ?lang= when asked for, else the event's (web/i18n.py).
    with current_app.test_request_context(query_string={"lang": lang} if lang else None):
        locale = str(get_locale())
        html = report.render(report.build(get_db(), event, locale), render_template)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    click.echo(f"Report written to {out}")


@click.command("erase")
@click.argument("badge")
@click.confirmation_option(prompt="Erase this attendee's name, email, company and contacts?")
@with_appcontext
def erase_command(badge: str) -> None:
    """Erase one attendee's personal data (by badge code); their counts stay."""

    event = served_event()
    try:
        done = privacy.erase_attendee(get_db(), event["id"], badge)
    except privacy.UnknownAttendee:
        raise click.ClickException(f"no attendee has the badge {badge!r}") from None
    click.echo(f"Erased {done['badge']} ({done['contacts_erased']} follow-up contacts removed).")


@click.command("simulate")
@click.option("--rate", default=5.0, show_default=True, help="Check-ins per second.")
@click.option("--minutes", default=10.0, show_default=True, help="How long to run.")
@click.option("--no-wait", is_flag=True, help="Send the same traffic at once, without pacing.")
@click.option("--seed", type=int, default=None, help="Repeatable traffic.")
@with_appcontext
def simulate_command(rate: float, minutes: float, no_wait: bool, seed: int | None) -> None:
    """Rehearse the day: realistic check-ins and conversations through the real domain code,
    marked as rehearsal (remove them with `flask --app tracker rehearsal clear`)."""

    event = served_event()
    total = round(rate * minutes * 60)
    with click.progressbar(length=total, label="Simulating", show_pos=True) as bar:
        try:
            tally = simulate.run(
                get_db(), event, rate, minutes, wait=not no_wait, seed=seed, progress=bar.update
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(
        f"{tally.checkins} check-ins ({tally.counted} counted), {tally.conversations}"
        f" conversations, {tally.follow_ups} follow-ups, all marked as rehearsal."
        "\nBefore the day: .venv/bin/flask --app tracker rehearsal clear"
    )
