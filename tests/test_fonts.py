"""Each page's own font (tracker/web/fonts.py): the characters a page shows in the scripts a
device may lack, and a font file with exactly their glyphs, named by them."""

from __future__ import annotations

import io
import re

import pytest
from fontTools.ttLib import TTFont

from tracker.web import fonts

from .conftest import ROOT

FONTS_ROOT = ROOT / "static" / "vendor" / "fonts"
FACE = re.compile(r"src:url\((/fonts/(\w+)/([\w-]+)\.woff2)\)")


def faces(html: str) -> dict[str, str]:
    """{font: its characters} of the @font-face rules a page carries."""
    style = re.search(r"<style>(@font-face.*?)</style>", html)
    if not style:
        return {}
    return {name: fonts.decode(key) for _, name, key in FACE.findall(style.group(1))}


def test_characters_round_trip_through_a_url():
    text = "".join(sorted(set("日本語のページ")))
    key = fonts.encode(text)
    assert re.fullmatch(r"[\w-]+", key)
    assert fonts.decode(key) == text


@pytest.mark.parametrize(
    "key", ["", "!!", fonts.encode("ba"), fonts.encode("aa"), fonts.encode("x" * 3001)]
)
def test_a_url_names_sorted_distinct_characters_or_nothing(key):
    with pytest.raises(ValueError):
        fonts.decode(key)


def test_each_script_to_its_font_and_han_by_the_page_language():
    text = "Hello עברית हिन्दी 日本語 简体中文"
    japanese = fonts.fonts_for(text, chinese=False)
    assert set(japanese) == {"hebrew", "devanagari", "jp"}
    assert japanese["hebrew"] == "".join(sorted(set("עברית")))
    assert set(japanese["jp"]) == set("日本語简体中文")
    assert set(fonts.fonts_for(text, chinese=True)) == {"hebrew", "devanagari", "sc"}
    assert fonts.fonts_for("Plain English — “quoted” ✓", chinese=False) == {}


def test_a_cut_font_has_the_glyphs_of_its_characters_and_no_more():
    text = "".join(sorted(set("チェックインしました日本語")))
    body = fonts.build(FONTS_ROOT, fonts.FONTS["jp"], text)
    font = TTFont(io.BytesIO(body))
    assert font.flavor == "woff2"
    assert set(font.getBestCmap()) == {ord(c) for c in text}
    assert len(body) < 40 * len(text) + 4000  # a few hundred bytes a glyph, not a whole slice


def test_devanagari_keeps_its_shaping_rules():
    text = "".join(sorted(set("हिन्दी")))
    font = TTFont(io.BytesIO(fonts.build(FONTS_ROOT, fonts.FONTS["devanagari"], text)))
    assert "GSUB" in font and "GPOS" in font  # conjuncts and the vowel sign's place


def test_pages_carry_faces_for_what_they_show(client, booth):
    english = client.get(f"/s/{booth['code']}?lang=en").get_data(as_text=True)
    # The switcher names every language in its own script: their glyphs come along.
    assert set(faces(english)) == {"hebrew", "devanagari", "jp"}
    assert set(faces(english)["jp"]) == set("日本語简体中文")
    japanese = client.get(f"/s/{booth['code']}?lang=ja").get_data(as_text=True)
    assert set("チェックイン") <= set(faces(japanese)["jp"])
    chinese = client.get(f"/s/{booth['code']}?lang=zh-Hans").get_data(as_text=True)
    assert "sc" in faces(chinese) and "jp" not in faces(chinese)
    assert "<!--page-fonts-->" not in japanese


def test_the_font_route_serves_a_page_font_for_a_year(client, booth):
    html = client.get(f"/s/{booth['code']}?lang=hi").get_data(as_text=True)
    url = next(url for url, name, _ in FACE.findall(html) if name == "devanagari")
    r = client.get(url)
    assert r.status_code == 200 and r.mimetype == "font/woff2"
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert TTFont(io.BytesIO(r.data)).getBestCmap()


@pytest.mark.parametrize(
    "url",
    [
        "/fonts/jp/!!.woff2",
        f"/fonts/klingon/{fonts.encode('abc')}.woff2",
        f"/fonts/hebrew/{fonts.encode('abc')}.woff2",  # not Hebrew letters
        f"/fonts/jp/{fonts.encode('本日')}.woff2",  # not in order
    ],
)
def test_the_font_route_refuses_what_no_page_names(client, url):
    assert client.get(url).status_code == 404
