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
    """Serve, replicating TRACKER_DB to TRACKER_REPLICA (what ./scripts/run starts when
    TRACKER_REPLICA is set): the replica's URL is checked and Litestream's config written here,
    then the server takes this process's place and runs Litestream as its child."""
    db = current_app.config["DATABASE"]
    try:
        replication.write_config(db, replication.check_url(current_app.config.get("REPLICA")))
    except replication.ReplicaError as exc:
        raise click.ClickException(str(exc)) from None
    if not os.environ.get("SECRET_KEY"):
        click.echo(
            "Warning: SECRET_KEY is not set, so the key is instance/secret_key on this machine"
            " only; a restore elsewhere needs it (README, Plan B: a replicated central). Keep a"
            " copy with the replica's credentials, or set SECRET_KEY.",
            err=True,
        )
    dbm.close_thread_dbs()  # the app opened (and migrated) TRACKER_DB as it started
    argv = replication.server_argv()
    os.execv(argv[0], argv)


@replica_cli.command("restore")
@click.option("--force", is_flag=True, help="Replace a database file that is there.")
@click.option(
    "--new-secret-key",
    is_flag=True,
    help="Restore even without the SECRET_KEY central served with: every attendee's and staff"
    " member's cookie made before stops working.",
)
@with_appcontext
def replica_restore(force: bool, new_secret_key: bool) -> None:
    """Restore TRACKER_DB from TRACKER_REPLICA (a fresh machine after losing the old one), with
    SECRET_KEY set to the key central served with."""
    dbm.close_thread_dbs()  # the app opened (and migrated) TRACKER_DB as it started
    try:
        db = replication.restore(
            current_app.config["DATABASE"],
            current_app.config.get("REPLICA"),
            force=force,
            secret_key=str(current_app.config["SECRET_KEY"]),
            key_from_env=bool(os.environ.get("SECRET_KEY")),
            new_key=new_secret_key,
        )
    except replication.ReplicaError as exc:
        raise click.ClickException(str(exc)) from None
    url = replication.shown(current_app.config["REPLICA"])
    key = "any key (--new-secret-key)" if new_secret_key else "the SECRET_KEY given"
    click.echo(f"Restored {db} from {url}; it passed integrity_check, and serves with {key}.")
