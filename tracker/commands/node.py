"""`flask --app tracker node add|list|revoke`: enrol location nodes on central."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..corrections import voids
from ..event import lookups as events
from ..node import central, enrol, forward
from ..store import audit
from ..store import db as dbm
from ..web.context import get_db
from .event import served_event

node_cli = AppGroup("node", help="Enrol location nodes (on central).")


@node_cli.command("add")
@click.argument("location")
def node_add(location: str) -> None:
    """Enrol a node for LOCATION (a slug); its token is printed once, on the last line."""
    try:
        node, token = enrol.add(get_db(), served_event(), location)
    except enrol.UnknownLocation:
        raise click.ClickException(f"the served event has no location {location!r}") from None
    except events.UnknownEvent:
        raise click.ClickException("no event is loaded") from None
    click.echo(f"Node #{node['id']} enrolled for {location}. Start it at the location with")
    click.echo("  TRACKER_UPSTREAM=<this server's URL> TRACKER_NODE_TOKEN=<token> ./scripts/run")
    click.echo("Its token (shown only now; `flask node revoke` stops it):")
    click.echo(token)


@node_cli.command("list")
def node_list() -> None:
    """On central: each node as of now (last contact, its backlog then, clock, refused records,
    alarm), and the latest refusals of each."""
    db = get_db()
    for node in enrol.nodes(db, served_event()["id"]):
        state = f"revoked {node['revoked_at']}" if node["revoked_at"] else "active"
        if node["silent_seconds"] is None:
            seen = "never heard from"
        else:
            seen = f"last contact {node['silent_seconds']} s ago"
            seen += f", then {node['reported_waiting'] or 0} waiting"
            if node["reported_oldest_seconds"]:
                seen += f" (oldest {node['reported_oldest_seconds']:.0f} s)"
        clock = node["clock_offset_seconds"]
        clock_text = "" if clock is None else f"  clock {clock:+.1f} s"
        click.echo(
            f"#{node['id']}  {node['location']}  {state}  {seen}{clock_text}"
            f"  refused {node['refused']}"
        )
        if node["alarm"]:
            click.echo(f"  ALARM: {central.alarm(node['alarm'])}")
        for refusal in central.refusals(db, node["id"], limit=5):
            click.echo(
                f"  refused {refusal['kind']} {refusal['uuid']}: {refusal['reason']}"
                f" ({refusal['detail']}) at {refusal['at']}"
            )


@node_cli.command("accept")
@click.argument("node_id", type=int)
def node_accept(node_id: int) -> None:
    """On central: let NODE_ID go on after an alarm (it came back on another or older file)."""
    if not central.accept(get_db(), served_event(), node_id, audit.COMMAND_LINE):
        raise click.ClickException(f"no node #{node_id}")
    click.echo(f"Node #{node_id} accepted: its next contact records the file it has now.")


@node_cli.command("parked")
def node_parked() -> None:
    """On a node: the records central refused, with why (retry or discard each)."""
    rows = forward.parked(get_db())
    if not rows:
        click.echo("No parked records.")
    for row in rows:
        click.echo(
            f"#{row['id']}  {row['kind']} {row['uuid']}  {row['reason']}: {row['detail']}"
            f"  (parked {row['parked_at']})"
        )


@node_cli.command("retry")
@click.argument("parked_id", type=int, required=False)
def node_retry(parked_id: int | None) -> None:
    """On a node: send parked record PARKED_ID again (all of them without an id)."""
    count = forward.retry(get_db(), parked_id)
    click.echo(f"{count} record(s) queued for central again.")


@node_cli.command("discard")
@click.argument("parked_id", type=int)
def node_discard(parked_id: int) -> None:
    """On a node: give up on parked record PARKED_ID (central never gets it)."""
    if not forward.discard(get_db(), parked_id):
        raise click.ClickException(f"no parked record #{parked_id}")
    click.echo(f"Parked record #{parked_id} discarded.")


@node_cli.command("revoke")
@click.argument("node_id", type=int)
def node_revoke(node_id: int) -> None:
    """Refuse NODE_ID's token from now on."""
    try:
        enrol.revoke(get_db(), served_event(), node_id)
    except enrol.UnknownNode:
        raise click.ClickException(f"no node #{node_id}") from None
    click.echo(f"Node #{node_id} revoked: central refuses its token from now on.")


@node_cli.command("void")
@click.argument("node_id", type=int)
@click.option("--since", required=True, help="UTC time, e.g. 2026-10-07T10:00:00Z.")
@click.option("--until", required=True, help="UTC time, e.g. 2026-10-07T10:15:00Z.")
@click.option("--reason", required=True, help="Why, for the audit trail.")
def node_void(node_id: int, since: str, until: str, reason: str) -> None:
    """On central: void everything NODE_ID sent that arrived between --since and --until."""
    try:
        window = [dbm.iso(dbm.parse_iso(since)), dbm.iso(dbm.parse_iso(until))]
        enrol.get(get_db(), node_id)
        changed = voids.void_from_node(
            get_db(),
            served_event()["id"],
            node_id,
            window[0],
            window[1],
            audit.COMMAND_LINE,
            reason,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    except enrol.UnknownNode:
        raise click.ClickException(f"no node #{node_id}") from None
    click.echo(
        f"Voided {changed['checkins']} check-ins and {changed['conversations']} conversations"
        f" from node #{node_id}."
    )
