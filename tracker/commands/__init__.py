"""The `flask --app tracker ...` commands: thin wrappers over the domain, one module per group."""

from __future__ import annotations

from flask import Flask

from . import alerts, data, event, node, organizers, replica


def init_app(app: Flask) -> None:
    """Register every command on the app's CLI."""
    for command in (
        event.event_cli, event.qr_command, event.init_db, organizers.admin_cli,
        data.rehearsal_cli, data.backup_command, data.report_command, data.erase_command,
        data.simulate_command, node.node_cli, replica.replica_cli, alerts.alerts_cli,
    ):  # fmt: skip
        app.cli.add_command(command)
