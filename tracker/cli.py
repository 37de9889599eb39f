"""`flask --app tracker ...` commands: thin wrappers over the domain modules."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app, render_template
from flask.cli import AppGroup, with_appcontext

from .corrections import erasure as privacy
from .corrections import rehearsal
from .event import file as eventfile
from .event import lookups as events
from .event import qr
from .event import setup as eventsetup
from .figures import exports, report
from .node.commands import node_cli
from .ops import replication as replica
from .ops import simulate
from .people import organizers
from .store import db as dbm
from .web.context import get_db
from .web.pages import sheet_context

event_cli = AppGroup("event", help="Load and inspect the event definition.")


@event_cli.command("load")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--if-empty", is_flag=True, help="Load only when the database has no event yet.")
@click.option("--yes", is_flag=True, help="Create a new event even if its slug looks like a typo.")
def event_load(path: Path, if_empty: bool, yes: bool) -> None:
    """Load an event file (TOML); safe to run again: it updates and adds, never deletes.

    A file for another event creates that event beside the one being served; the servers keep
    serving theirs until `event use SLUG`.
    """
    if if_empty and events.has_event(get_db()):
        return
    try:
        spec = eventfile.read_event_file(path)
    except eventfile.EventFileError as exc:
        raise click.ClickException(f"refused, nothing changed:\n{exc}") from None
    close = events.similar_slugs(get_db(), spec.event.slug)
    if close and not yes:
        click.confirm(
            f"No event is called {spec.event.slug!r}, but {close[0]!r} is (a typo in the"
            f" file's slug?). Create a new event {spec.event.slug!r}?",
            abort=True,
        )
    result = eventsetup.load_event(get_db(), spec)
    click.echo(
        f"Loaded {result.event['name']} ({result.event['slug']}): "
        f"{len(result.created)} created, {len(result.updated)} updated."
    )
    print_pins(result.generated_pins)
    pinned = current_app.config.get("EVENT")
    served = pinned or result.served
    if served != result.event["slug"]:
        click.echo(
            f"\nNote: the running servers keep serving {served!r}, not {result.event['slug']!r}."
            + (
                ""
                if pinned
                else f" To serve it: .venv/bin/flask --app tracker event use {result.event['slug']}"
            ),
            err=True,
        )


@event_cli.command("use")
@click.argument("slug")
def event_use(slug: str) -> None:
    """Serve the event SLUG from now on (every running server follows; audited)."""
    try:
        event = events.use_event(get_db(), slug)
    except events.UnknownEvent:
        known = ", ".join(e for e in events.slugs(get_db())) or "none"
        raise click.ClickException(f"no event is called {slug!r} (known: {known})") from None
    click.echo(f"Now serving {event['name']} ({event['slug']}).")
    if current_app.config.get("EVENT"):
        click.echo(f"Note: TRACKER_EVENT={current_app.config['EVENT']} overrides it.", err=True)


def print_pins(pins: list[tuple[str, str, str]]) -> None:
    """Generated PINs are shown once: they are stored only as hashes."""
    if not pins:
        return
    click.echo(
        "\nStaff PINs generated for new stations (write them down: they are shown only once):"
    )
    for location, station, pin in pins:
        click.echo(f"  {location + '/' + station:<32} {pin}")


def _event() -> dict:
    """The event this app serves (TRACKER_EVENT, else the latest loaded)."""
    return events.get_event(get_db(), current_app.config.get("EVENT"))


@event_cli.command("show")
def event_show() -> None:
    """List the locations and stations of the current event with their check-in URLs."""
    event = _event()
    base = current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000"
    click.echo(f"{event['name']} ({event['slug']}), goal {event['goal']}")
    for station in events.stations(get_db(), event["id"]):
        click.echo(
            f"  {station['location_slug'] + '/' + station['slug']:<32}"
            f" {qr.station_url(base, station['code'])}"
        )


@click.command("qr")
@with_appcontext
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path))
def qr_command(out: Path) -> None:
    """Write an SVG and a PNG for every station, and a printable sheet per location."""

    event = _event()
    base = current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000"
    stations = events.stations(get_db(), event["id"])
    out.mkdir(parents=True, exist_ok=True)
    with click.progressbar(stations, label="QR codes", show_pos=True) as bar:
        for station in bar:
            url = qr.station_url(base, station["code"])
            stem = out / f"{station['location_slug']}--{station['slug']}"
            stem.with_suffix(".svg").write_bytes(qr.svg(url))
            stem.with_suffix(".png").write_bytes(qr.png(url))
    for location in events.locations(get_db(), event["id"]):
        with current_app.test_request_context(base_url=base):
            html = render_template("sheet.html", **sheet_context(event, location, base))
        (out / f"sheet-{location['slug']}.html").write_text(html, encoding="utf-8")
    click.echo(f"Wrote {len(stations)} stations' QR codes and sheets to {out}")
    if not current_app.config.get("PUBLIC_URL"):
        click.echo(
            "Note: PUBLIC_URL is not set; the codes point at http://127.0.0.1:5000.", err=True
        )


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or migrate the database (also done at every start)."""
    version = dbm.migrate(get_db())
    click.echo(f"Database {current_app.config['DATABASE']} at schema version {version}.")


@click.group("admin")
def admin_cli() -> None:
    """Organizer accounts: one per person, so the audit trail names who did what."""


@admin_cli.command("create")
@click.option("--name", required=True, help="The organizer's name, used to sign in.")
@click.password_option("--password", prompt="Password", help="At least 10 characters.")
@with_appcontext
def admin_create(name: str, password: str) -> None:
    """Add an organizer, or set a new password for one (which signs them out everywhere)."""

    try:
        created = organizers.set_password(get_db(), name, password)
    except (organizers.WeakPassword, organizers.BadName) as exc:
        raise click.ClickException(str(exc)) from None
    verb = "added" if created else "has a new password"
    click.echo(f"Organizer {' '.join(name.split())} {verb}. Sign in at /admin.")


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
        click.echo(f"Replication: on, to {replica.shown(current_app.config['REPLICA'])}.")


rehearsal_cli = AppGroup("rehearsal", help="Rows written by `flask simulate`.")


@rehearsal_cli.command("clear")
def rehearsal_clear() -> None:
    """Remove every rehearsal row; every total goes back to what the real records make."""

    removed = rehearsal.clear(get_db(), _event()["id"])
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
@with_appcontext
def report_command(out: Path) -> None:
    """Write the end-of-day report as one self-contained HTML file."""

    event = _event()
    with current_app.test_request_context():
        html = report.render(report.build(get_db(), event), render_template)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    click.echo(f"Report written to {out}")


@click.command("erase")
@click.argument("badge")
@click.confirmation_option(prompt="Erase this attendee's name, email, company and contacts?")
@with_appcontext
def erase_command(badge: str) -> None:
    """Erase one attendee's personal data (by badge code); their counts stay."""

    event = _event()
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

    event = _event()
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


def init_app(app: Flask) -> None:
    app.cli.add_command(event_cli)
    app.cli.add_command(rehearsal_cli)
    app.cli.add_command(qr_command)
    app.cli.add_command(init_db)
    app.cli.add_command(node_cli)
    app.cli.add_command(replica.replica_cli)
    for command in (admin_cli, backup_command, report_command, erase_command, simulate_command):
        app.cli.add_command(command)
