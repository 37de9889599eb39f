"""The HTTP contract at its edges: methods a resource lacks, SQLite errors named for what they
are, one charset."""

from __future__ import annotations

import sqlite3

import pytest

from tracker.figures import scoreboard


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/api/scoreboard"), ("PUT", "/healthz"), ("DELETE", "/api/checkins"),
     ("PATCH", "/openapi.json"), ("PUT", "/board")],
)  # fmt: skip
def test_a_method_the_resource_lacks_is_405_with_allow(client, event, method, path):
    answer = client.open(path, method=method, data="x", content_type="text/plain")
    assert answer.status_code == 405
    allowed = {m.strip() for m in answer.headers["Allow"].split(",")}
    assert "GET" in allowed or "POST" in allowed
    assert "CSRF" not in answer.get_data(as_text=True)
    if path.startswith("/api/") or path == "/openapi.json":
        assert answer.get_json()["error"] == "method_not_allowed"


def test_a_fault_in_a_statement_is_a_logged_500_not_an_outage(client, event, monkeypatch):
    def broken(db, *args, **kwargs):
        db.execute("SELECT * FROM no_such_table")

    monkeypatch.setattr(scoreboard, "snapshot", broken)
    answer = client.get("/api/scoreboard")
    assert answer.status_code == 500 and answer.get_json()["error"] == "internal_error"
    assert "Retry-After" not in answer.headers


@pytest.mark.parametrize("code", [5, 6, 8, 10, 13, 14, 266])  # 266: SQLITE_IOERR_READ
def test_busy_locked_read_only_full_and_io_errors_are_503_with_retry_after(
    client, event, monkeypatch, code
):
    def unavailable(db, *args, **kwargs):
        exc = sqlite3.OperationalError("the database cannot answer")
        exc.sqlite_errorcode = code
        raise exc

    monkeypatch.setattr(scoreboard, "snapshot", unavailable)
    answer = client.get("/api/scoreboard")
    assert answer.status_code == 503 and answer.get_json()["error"] == "database_unavailable"
    assert int(answer.headers["Retry-After"]) > 0


def test_a_csv_says_its_charset_once(client, event, db):
    client.application.config.update(ADMIN_PASSWORD="correct horse battery")
    client.application.config["WTF_CSRF_ENABLED"] = False
    client.post("/admin/login", data={"name": "admin", "password": "correct horse battery"})
    for path in ("/admin/export/checkins.csv", "/admin/audit.csv", "/admin/follow-ups.csv"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["Content-Type"].lower().count("charset") == 1, path
