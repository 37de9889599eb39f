"""Each page's own font (tracker/web/fonts.py): the characters a page shows in the scripts a
device may lack, and a font file with exactly their glyphs, named by them."""

from __future__ import annotations

import base64
import io
import re

import pytest
from fontTools.ttLib import TTFont

from tracker.store import db as dbm
from tracker.web import fonts

from .conftest import ROOT
from .helpers import add_conversation

FONTS_ROOT = ROOT / "static" / "vendor" / "fonts"
FACE = re.compile(
    r'src:(?:local\("[^"]+"\),)+url\((/fonts/(\w+)/([\w-]+)\.woff2)\) format\("woff2"\);'
    r"unicode-range:([^}]+)"
)


def faces(html: str, first: bool = True) -> dict[str, str]:
    """{font: its characters} of the @font-face rules a page carries: the faces of what it
    shows (`first`), or of what its scripts may show later."""
    style = re.search(r"<style>(@font-face.*?)</style>", html)
    found: dict[str, list[str]] = {}
    for _, name, key, spec in FACE.findall(style.group(1) if style else ""):
        chars = fonts.decode(key)
        assert spec == fonts.unicode_range(chars)  # each face covers exactly its characters
        found.setdefault(name, []).append(chars)
    return {name: (c[0] if first else "".join(c[1:])) for name, c in found.items()}


def test_a_unicode_range_names_exactly_its_characters():
    assert fonts.unicode_range("".join(sorted("אבגז日"))) == "U+5D0-5D2,U+5D6,U+65E5"


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
    assert set(japanese) == {"hebrew", "devanagari", "jp", "sc"}
    assert japanese["hebrew"] == "".join(sorted(set("עברית")))
    # 简 has no Japanese glyph: the Chinese font draws it even on a Japanese page.
    assert set(japanese["jp"]) == set("日本語体中文") and japanese["sc"] == "简"
    chinese = fonts.fonts_for(text, chinese=True)
    assert set(chinese) == {"hebrew", "devanagari", "sc"}
    # A page in neither language draws its few Han names with one font.
    assert set(fonts.fonts_for(text, chinese=None)) == {"hebrew", "devanagari", "sc"}
    assert set(fonts.fonts_for("日本語", chinese=None)) == {"jp"}
    assert fonts.fonts_for("Plain English — “quoted” ✓", chinese=False) == {}


def test_emoji_get_a_font_of_their_own_and_text_symbols_stay_with_the_text():
    found = fonts.fonts_for("☕ Coffee, 🚀 Launch, Thanks 🙏🏽, 👩‍💻 Devs ✓ ★ →", chinese=None)
    assert found == {"emoji": "".join(sorted(set("☕🚀🙏🏽👩💻\u200d")))}
    # Noto Emoji draws each of them, the joiner of a sequence too.
    font = TTFont(io.BytesIO(fonts.build(FONTS_ROOT, fonts.FONTS["emoji"], found["emoji"])))
    assert {ord(c) for c in found["emoji"]} <= set(font.getBestCmap())


def test_a_cut_font_has_the_glyphs_of_its_characters_and_no_more():
    text = "".join(sorted(set("チェックインしました日本語")))
    body = fonts.build(FONTS_ROOT, fonts.FONTS["jp"], text)
    font = TTFont(io.BytesIO(body))
    assert font.flavor == "woff2"
    assert set(font.getBestCmap()) == {ord(c) for c in text}
    assert len(body) < 40 * len(text) + 4000  # a few hundred bytes a glyph, not a whole slice


@pytest.mark.parametrize(
    ("name", "text"),
    [("devanagari", "हिन्दी"), ("emoji", "☕🚀👩\u200d💻")],  # one slice; several slices merged
)
def test_the_same_characters_are_always_the_same_file(name, text):
    """A cut is dated as its source font, never with the time it was made: fontTools stamps the
    present second otherwise, and the same page's font changed size from run to run."""
    text = "".join(sorted(set(text)))
    body = fonts.build(FONTS_ROOT, fonts.FONTS[name], text)
    ((source, _), *_) = fonts._slices(FONTS_ROOT, fonts.FONTS[name].package)
    head = TTFont(io.BytesIO(body))["head"]
    assert (head.created, head.modified) == (
        TTFont(source)["head"].created,
        TTFont(source)["head"].modified,
    )
    assert fonts.build(FONTS_ROOT, fonts.FONTS[name], text) == body


def test_devanagari_keeps_its_shaping_rules():
    text = "".join(sorted(set("हिन्दी")))
    font = TTFont(io.BytesIO(fonts.build(FONTS_ROOT, fonts.FONTS["devanagari"], text)))
    assert "GSUB" in font and "GPOS" in font  # conjuncts and the vowel sign's place


def test_pages_carry_faces_for_what_they_show(client, booth):
    english = client.get(f"/s/{booth['code']}?lang=en").get_data(as_text=True)
    # The switcher names every language in its own script: their glyphs come along.
    # Its Han characters in one font: the Chinese one, which has them all (简 is not Japanese).
    assert set(faces(english)) == {"hebrew", "devanagari", "sc"}
    assert set(faces(english)["sc"]) == set("日本語简体中文")
    # The system's own fonts for a script come first, the page's cut after them.
    assert 'src:local("Noto Sans Hebrew"),' in english
    japanese = client.get(f"/s/{booth['code']}?lang=ja").get_data(as_text=True)
    shown, later = faces(japanese)["jp"], faces(japanese, first=False)["jp"]
    assert set("日本語") <= set(shown)
    # What only the page's scripts say ("チェックインしました") comes in a face of its own,
    # fetched once it is on screen.
    assert set("チェックイン") <= set(shown + later) and not set(later) & set(shown)
    chinese = client.get(f"/s/{booth['code']}?lang=zh-Hans").get_data(as_text=True)
    assert "sc" in faces(chinese) and "jp" not in faces(chinese)
    assert "<!--page-fonts-->" not in japanese


def test_the_font_route_serves_a_page_font_for_a_year(client, booth):
    html = client.get(f"/s/{booth['code']}?lang=hi").get_data(as_text=True)
    url = next(url for url, name, _, _ in FACE.findall(html) if name == "devanagari")
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


def test_the_report_carries_just_the_glyphs_of_its_stories(admin, db, booth):
    add_conversation(db, booth["id"], "とても親切でした", nps=10, public=True)
    add_conversation(db, booth["id"], "שירות מצוין", nps=9, public=True)
    with dbm.write(db):
        db.execute("UPDATE conversations SET highlight = 1")
    response = admin.get("/admin/report")
    html = response.get_data(as_text=True)
    assert "font-src 'self' data:" in response.headers["Content-Security-Policy"]
    assert "<!--embedded-fonts-->" not in html and "/fonts/" not in html
    found = re.findall(
        r'font-family:"tracker (\w+)";font-weight:400;src:url\(data:font/woff2;base64,([^)]+)\)',
        html,
    )
    cmaps = {
        family: {chr(c) for c in TTFont(io.BytesIO(base64.b64decode(data))).getBestCmap()}
        for family, data in found
    }
    assert cmaps == {"JP": set("とても親切でした"), "Hebrew": set("שירות מצוין") - {" "}}
