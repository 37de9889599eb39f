"""`flask event load|use|show`, `flask qr`, `flask init-db`: setting the event up."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app, render_template
from flask.cli import AppGroup, with_appcontext

from ..event import file as eventfile
from ..event import lookups as events
from ..event import qr
from ..event import setup as eventsetup
from ..store import db as dbm
from ..web.context import get_db
from ..web.pages import sheet_context

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


def server_database() -> str:
    """The path of the database this command acts on. One that was not there before this
    command is removed again, and the command refused: the server never looks at a file it did
    not make (an organizer account made there could never sign in)."""
    path = str(current_app.config["DATABASE"])
    if not current_app.config.get("DATABASE_EXISTED", True):
        dbm.close_thread_dbs()
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
        raise click.ClickException(
            f"there is no database at {path}: run ./scripts/run once (it writes .flaskenv, which"
            " tells this command where the server's database is), or set TRACKER_DB"
        )
    return path


def served_event() -> dict:
    """The event this app serves (TRACKER_EVENT, else the one chosen in the database), said on
    standard error with its database; refused where server_database refuses."""
    path = server_database()
    try:
        event = events.get_event(get_db(), current_app.config.get("EVENT"))
    except events.UnknownEvent:
        raise click.ClickException(
            f"no event is loaded in {path}: `flask --app tracker event load FILE` loads one"
        ) from None
    click.echo(f"Database {path}, event {event['slug']}", err=True)
    return event


def base_url() -> str:
    """Where the server answers: PUBLIC_URL, else the HOST and PORT it serves on."""
    return current_app.config.get("PUBLIC_URL") or (
        f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
    )


@event_cli.command("show")
def event_show() -> None:
    """List the locations and stations of the current event with their check-in URLs."""
    event = served_event()
    base = base_url()
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

    event = served_event()
    base = base_url()
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
