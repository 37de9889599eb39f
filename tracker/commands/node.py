"""`flask --app tracker node add|list|revoke`: enrol location nodes on central."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..event import lookups as events
from ..node import enrol
from ..web.context import current_event, get_db

node_cli = AppGroup("node", help="Enrol location nodes (on central).")


@node_cli.command("add")
@click.argument("location")
def node_add(location: str) -> None:
    """Enrol a node for LOCATION (a slug); its token is printed once, on the last line."""
    try:
        node, token = enrol.add(get_db(), current_event(), location)
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
    """List the nodes: location, last contact, backlog as reported, revoked."""
    for node in enrol.nodes(get_db(), current_event()["id"]):
        state = f"revoked {node['revoked_at']}" if node["revoked_at"] else "active"
        seen = node["last_seen_at"] or "never"
        click.echo(
            f"#{node['id']}  {node['location']}  {state}  last contact {seen}"
            f"  waiting {node['reported_waiting'] or 0}"
        )


@node_cli.command("revoke")
@click.argument("node_id", type=int)
def node_revoke(node_id: int) -> None:
    """Refuse NODE_ID's token from now on."""
    try:
        enrol.revoke(get_db(), current_event(), node_id)
    except enrol.UnknownNode:
        raise click.ClickException(f"no node #{node_id}") from None
    click.echo(f"Node #{node_id} revoked: central refuses its token from now on.")
