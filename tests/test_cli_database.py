"""The CLI and the server agree on the database: the commands say which database and event
they act on, and one that finds no database refuses instead of making an empty one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tracker import create_app

ROOT = Path(__file__).resolve().parent.parent


def test_a_command_on_a_missing_database_refuses_and_leaves_no_file(tmp_path):
    missing = tmp_path / "nowhere" / "tracker.db"
    app = create_app({"DATABASE": str(missing), "SECRET_KEY": "x", "TESTING": True})
    runner = app.test_cli_runner()
    result = runner.invoke(args=["admin", "create", "--name", "Ann", "--password", "x" * 12])
    assert result.exit_code != 0 and "no database at" in result.output
    assert not missing.exists()
    result = runner.invoke(args=["event", "show"])
    assert result.exit_code != 0 and not missing.exists()


def test_a_command_says_which_database_and_event_it_uses(app, db_path):
    result = app.test_cli_runner().invoke(args=["event", "show"])
    assert result.exit_code == 0, result.output
    assert f"Database {db_path}, event test-day" in result.output
    result = app.test_cli_runner().invoke(
        args=["admin", "create", "--name", "Ann Murphy", "--password", "correct horse battery"]
    )
    assert result.exit_code == 0 and str(db_path) in result.output


@pytest.mark.live
def test_the_flask_command_reads_the_database_scripts_run_wrote(tmp_path, db_path, event):
    """`.flaskenv` (what ./scripts/run writes) is read by the flask command, and a variable
    set in the shell wins over it."""
    (tmp_path / ".flaskenv").write_text(f"FLASK_APP=tracker\nTRACKER_DB={db_path}\nPORT=5123\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "SECRET_KEY": "x"}
    flask = [sys.executable, "-m", "flask", "event", "show"]
    done = subprocess.run(flask, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"Database {db_path}" in done.stderr and "http://127.0.0.1:5123/s/" in done.stdout
    other = tmp_path / "other.db"
    done = subprocess.run(
        flask, cwd=tmp_path, env={**env, "TRACKER_DB": str(other)}, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0 and "no database at" in done.stderr and not other.exists()
