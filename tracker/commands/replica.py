"""`flask replica serve|restore`: the Litestream replica of the central database."""

from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from ..ops import replication
from ..store import db as dbm

replica_cli = AppGroup("replica", help="The Litestream replica of the database (TRACKER_REPLICA).")


@replica_cli.command("serve")
@with_appcontext
def replica_serve() -> None:
    """Serve under Litestream, replicating TRACKER_DB to TRACKER_REPLICA (what ./scripts/run
    starts when TRACKER_REPLICA is set); Litestream takes this process's place."""
    try:
        argv = replication.replicate_argv(
            current_app.config["DATABASE"],
            replication.check_url(current_app.config.get("REPLICA")),
            replication.server_argv(),
        )
    except replication.ReplicaError as exc:
        raise click.ClickException(str(exc)) from None
    dbm.close_thread_dbs()  # the app opened (and migrated) TRACKER_DB as it started
    os.execv(argv[0], argv)


@replica_cli.command("restore")
@click.option("--force", is_flag=True, help="Replace a database file that is there.")
@with_appcontext
def replica_restore(force: bool) -> None:
    """Restore TRACKER_DB from TRACKER_REPLICA (a fresh machine after losing the old one)."""
    dbm.close_thread_dbs()  # the app opened (and migrated) TRACKER_DB as it started
    try:
        db = replication.restore(
            current_app.config["DATABASE"], current_app.config.get("REPLICA"), force=force
        )
    except replication.ReplicaError as exc:
        raise click.ClickException(str(exc)) from None
    url = replication.shown(current_app.config["REPLICA"])
    click.echo(f"Restored {db} from {url}; it passed integrity_check.")
