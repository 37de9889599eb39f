"""Health, QR codes, sheets and the CLI, through Flask's test client and runner."""

from __future__ import annotations

import io
import re

import pytest
import zxingcpp
from PIL import Image

from tracker.event import lookups as events
from tracker.event import qr
from tracker.store import db as dbm
from tracker.web.context import get_db

from .conftest import SMALL_EVENT
from .helpers import decode


def test_healthz_reports_schema_and_database(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json == {"status": "ok", "schema_version": dbm.SCHEMA_VERSION, "database": "ok"}


def test_healthz_is_503_when_the_database_cannot_be_written(app, client, db_path):
    app.config["DATABASE"] = f"file:{db_path}?mode=ro"  # a read-only disk, as SQLite sees it
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json["status"] == "error" and "readonly" in r.json["database"]


def test_every_station_qr_decodes_to_its_public_url(app, client, event):
    for station in event["stations"].values():
        r = client.get(f"/qr/{station['code']}.png")
        assert r.status_code == 200 and r.mimetype == "image/png"
        assert decode(r.data) == f"https://tracker.example.org/s/{station['code']}"
        svg = client.get(f"/qr/{station['code']}.svg")
        assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data


def test_qr_error_correction_is_m_or_better():
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.png("https://x.example/s/abc"))))
    assert results[0].ec_level in {"M", "Q", "H"}


def test_unknown_station_qr_is_404(client):
    assert client.get("/qr/nope.png").status_code == 404


def test_sheet_has_one_page_per_station_with_url_and_call_to_action(client, event):
    r = client.get("/sheets/cork")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert html.count('class="page ') == 3  # two stations, then the employees' page
    for slug in ("booth", "demo"):
        assert f"https://tracker.example.org/s/{event['stations'][slug]['code']}" in html
    assert "Point your phone camera here" in html
    assert event["stations"]["stories"]["code"] not in html  # another location's station
    assert client.get("/sheets/nowhere").status_code == 404
    assert "/sheets/austin" in client.get("/sheets").get_data(as_text=True)


def test_api_refuses_non_json_and_foreign_origin(client):
    r = client.post("/api/checkins", data="x=1", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415 and r.json["error"] == "unsupported_media_type"
    r = client.post("/api/checkins", json={}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and r.json["error"] == "forbidden_origin"


def test_unknown_api_route_is_json_404(client):
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and r.json["error"] == "not_found"


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_cli_event_load_refuses_bad_file_and_loads_good(runner, tmp_path, app):
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL_EVENT.read_text().replace("goal = 20", "goal = 0"))
    result = runner.invoke(args=["event", "load", str(bad)])
    assert result.exit_code != 0
    assert "nothing changed" in result.output and "goal" in result.output
    result = runner.invoke(args=["event", "load", str(SMALL_EVENT)])
    assert result.exit_code == 0, result.output
    assert "0 created" in result.output
    with app.app_context():
        assert events.get_event(get_db())["goal"] == 20


def test_cli_if_empty_leaves_an_existing_event_alone(runner):
    from .conftest import DEMO_EVENT

    result = runner.invoke(args=["event", "load", "--if-empty", str(DEMO_EVENT)])
    assert result.exit_code == 0 and result.output == ""


def test_cli_qr_writes_svg_png_and_sheets(runner, tmp_path, event):
    out = tmp_path / "qr"
    result = runner.invoke(args=["qr", "--out", str(out)])
    assert result.exit_code == 0, result.output
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 3 and len(list(out.glob("*.svg"))) == 3
    assert decode((out / "cork--booth.png").read_bytes()).endswith(
        event["stations"]["booth"]["code"]
    )
    assert sorted(p.name for p in out.glob("sheet-*.html")) == [
        "sheet-austin.html",
        "sheet-cork.html",
    ]


@pytest.mark.parametrize("path", ["/", "/board", "/staff", "/admin/login", "/healthz"])
def test_every_page_carries_a_content_security_policy_without_inline_scripts(client, path):
    r = client.get(path)
    policy = r.headers["Content-Security-Policy"]
    assert (
        "script-src 'self'" in policy
        and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
    assert "Strict-Transport-Security" not in r.headers  # plain HTTP here
    html = r.get_data(as_text=True)
    # Every <script> either loads a file from this site or is a JSON data block.
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag


def test_hsts_is_sent_under_https(client):
    r = client.get("/healthz", base_url="https://tracker.example.org")
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")
