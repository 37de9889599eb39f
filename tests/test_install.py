"""Installable pages: the favicon every browser asks for, and the web app manifests with which a
staff tablet installs the staff page and a kiosk the board (name, icons, display mode, start)."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from PIL import Image

from .conftest import ROOT


def manifest_link(html: str) -> str:
    found = re.search(r'<link rel="manifest" href="([^"]+)">', html)
    assert found, "no manifest link"
    return found.group(1).replace("&amp;", "&")


def test_favicon_is_a_png_any_page_without_a_link_of_its_own_gets(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.mimetype == "image/png"
    assert r.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert "max-age=86400" in r.headers["Cache-Control"]
    r.close()


def test_phone_pages_carry_the_icon_inside(client):
    """One request less on a phone's first visit: the same SVG as a data: URL."""
    svg = (ROOT / "static" / "icons" / "icon.svg").read_text().strip().replace('"', "'")
    for path in ("/", "/staff"):
        html = client.get(path).get_data(as_text=True)
        href = re.search(r'<link rel="icon" href="data:image/svg\+xml,([^"]+)"', html).group(1)
        assert unquote(href) == svg


@pytest.mark.parametrize("path", ["/board", "/insights"])
def test_screens_link_the_icon(client, path):
    html = client.get(path).get_data(as_text=True)
    assert '<link rel="icon" href="/static/icons/icon.svg" type="image/svg+xml">' in html
    icon = client.get("/static/icons/icon.svg")
    assert icon.status_code == 200
    icon.close()


def test_staff_manifest_opens_the_printed_entry_standalone(client):
    href = manifest_link(client.get("/staff").get_data(as_text=True))
    assert href == "/staff/manifest.webmanifest"
    r = client.get(href)
    assert r.status_code == 200 and r.mimetype == "application/manifest+json"
    body = r.get_json()
    assert body["name"] == "Test Day · Staff" and body["short_name"] == "Staff"
    assert body["start_url"] == "/staff" and body["scope"] == "/staff"
    assert body["display"] == "standalone"


def test_board_manifest_reopens_the_same_screen_full_screen(client):
    html = client.get("/board/cork?group=country&join=booth").get_data(as_text=True)
    body = client.get(manifest_link(html)).get_json()
    assert body["start_url"] == "/board/cork?group=country&join=booth"
    assert body["scope"] == "/board" and body["display"] == "fullscreen"
    assert body["name"].startswith("Test Day · ")


@pytest.mark.parametrize(
    "start", ["//example.org/board", "https://example.org/board", "/admin", ""]
)
def test_board_manifest_starts_nowhere_but_a_board(client, start):
    body = client.get("/board/manifest.webmanifest", query_string={"start": start}).get_json()
    assert body["start_url"] == "/board"


def test_manifest_speaks_the_chosen_language(client):
    body = client.get("/board/manifest.webmanifest?lang=he").get_json()
    assert body["lang"] == "he" and body["dir"] == "rtl"
    assert body["short_name"] != "live board"  # Hebrew's own words


def test_every_icon_of_a_manifest_is_served_at_its_size(client):
    for href in ("/staff/manifest.webmanifest", "/board/manifest.webmanifest"):
        icons = client.get(href).get_json()["icons"]
        assert {i["purpose"] for i in icons} == {"any", "maskable"}
        for icon in icons:
            r = client.get(icon["src"])
            assert r.status_code == 200 and r.mimetype == icon["type"], icon
            r.close()
            if icon["sizes"] != "any":
                path = ROOT / icon["src"].lstrip("/")
                width, height = (int(n) for n in icon["sizes"].split("x"))
                with Image.open(path) as image:
                    assert image.size == (width, height), icon
