"""Each page's own font: the glyphs of the scripts a phone may lack (Hebrew, Devanagari,
Japanese, Chinese, and emoji), cut from the self-hosted Noto fonts down to the characters that page shows.

A page that extends base.html carries a marker where its fonts go; after it is rendered, the
characters of its HTML (its text, attributes and the scripts' catalogue) are read, and for each
script font it needs one `@font-face` is written in place of the marker, whose URL names exactly
those characters (`/fonts/<font>/<characters>.woff2`). That file is made on first request from
the unicode-range slices of @fontsource (static/vendor/fonts, 400 weight; bold is synthesized)
with fontTools, kept in memory, and cached by browsers for good: the same characters are always
the same file. The page's stylesheet lists the system's own fonts for each script first, so a
device that has them downloads nothing; a kiosk or an old phone without them gets a few KB
instead of the whole script (a Japanese check-in page fell from 470 KB to under 60 KB).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from flask import Flask, Response, abort, current_app
from fontTools import subset
from fontTools.merge import Merger
from fontTools.ttLib import TTFont

from ..security import off_loop

MARKER = "<!--page-fonts-->"
# A self-contained page (the report, mailed around and opened offline) takes its fonts inside it.
EMBEDDED_MARKER = "<!--embedded-fonts-->"
MAX_CHARACTERS = 3000  # a page's characters of one script; a URL naming more is refused
WEIGHT = 400


@dataclass(frozen=True)
class ScriptFont:
    """One script's font: its name in URLs, its family in CSS, the @fontsource package its
    glyphs come from, the blocks it serves (its unicode-range), and whether its glyphs need the
    font's shaping rules (Devanagari's conjuncts, Hebrew's points; CJK text needs none, and its
    rules are most of a cut's bytes: 31 KB for 150 characters with them, 18 KB without)."""

    name: str
    family: str
    package: str
    blocks: tuple[tuple[int, int], ...]
    system: tuple[str, ...]  # the system's own fonts for the script, used first when present
    shaping: bool = True

    def covers(self, code: int) -> bool:
        return any(start <= code <= end for start, end in self.blocks)


# Unicode blocks (The Unicode Standard, Blocks.txt) of each script.
# Emoji (Unicode emoji-data.txt): the pictographic planes, the characters of the older blocks
# drawn as emoji by default (Emoji_Presentation=Yes), and what joins and selects them. Symbols
# that text fonts draw (✓, ★, →) stay with the text.
_EMOJI = (
    (0x1F000, 0x1FAFF),
    (0x200D, 0x200D),  # zero-width joiner of emoji sequences
    (0x20E3, 0x20E3),  # keycap
    (0xFE0F, 0xFE0F),  # emoji presentation selector
    (0x231A, 0x231B),
    (0x23E9, 0x23EC),
    (0x23F0, 0x23F0),
    (0x23F3, 0x23F3),
    (0x25FD, 0x25FE),
    (0x2614, 0x2615),
    (0x2648, 0x2653),
    (0x267F, 0x267F),
    (0x2693, 0x2693),
    (0x26A1, 0x26A1),
    (0x26AA, 0x26AB),
    (0x26BD, 0x26BE),
    (0x26C4, 0x26C5),
    (0x26CE, 0x26CE),
    (0x26D4, 0x26D4),
    (0x26EA, 0x26EA),
    (0x26F2, 0x26F3),
    (0x26F5, 0x26F5),
    (0x26FA, 0x26FA),
    (0x26FD, 0x26FD),
    (0x2705, 0x2705),
    (0x270A, 0x270B),
    (0x2728, 0x2728),
    (0x274C, 0x274C),
    (0x274E, 0x274E),
    (0x2753, 0x2755),
    (0x2757, 0x2757),
    (0x2795, 0x2797),
    (0x27B0, 0x27B0),
    (0x27BF, 0x27BF),
    (0x2B1B, 0x2B1C),
    (0x2B50, 0x2B50),
    (0x2B55, 0x2B55),
)
_CJK = (
    (0x3000, 0x30FF),  # CJK punctuation, hiragana, katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF00, 0xFFEF),  # half- and full-width forms
)
FONTS = {
    f.name: f
    for f in (
        ScriptFont(
            "hebrew",
            "tracker Hebrew",
            "noto-sans-hebrew",
            ((0x0590, 0x05FF),),
            ("Noto Sans Hebrew", "Arial Hebrew", "Arial", "DejaVu Sans"),
        ),
        ScriptFont(
            "devanagari",
            "tracker Devanagari",
            "noto-sans",
            ((0x0900, 0x097F), (0x1CD0, 0x1CFF), (0xA8E0, 0xA8FF)),
            ("Noto Sans Devanagari", "Kohinoor Devanagari", "Nirmala UI", "Mangal"),
        ),
        ScriptFont(
            "jp",
            "tracker JP",
            "noto-sans-jp",
            _CJK,
            (
                "Hiragino Sans",
                "Hiragino Kaku Gothic ProN",
                "Yu Gothic",
                "Meiryo",
                "Noto Sans CJK JP",
                "Source Han Sans JP",
            ),
            shaping=False,
        ),
        ScriptFont(
            "sc",
            "tracker SC",
            "noto-sans-sc",
            _CJK,
            ("PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC"),
            shaping=False,
        ),
        # Organizers type emoji into topics: a device with a colour emoji font uses it; a kiosk
        # without one gets Noto Emoji's outlines of just those, never an empty box.
        ScriptFont(
            "emoji",
            "tracker Emoji",
            "noto-emoji",
            _EMOJI,
            ("Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji"),
        ),
    )
}
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")  # non-ASCII in the JSON of a page's catalogue
# What the page's scripts may say (templates/_i18n.html): shown later, if at all.
_CATALOGUE = re.compile(r'<script type="application/json" id="i18n">.*?</script>', re.S)


def fonts_root() -> Path:
    return Path(current_app.static_folder or "static") / "vendor" / "fonts"


def page_characters(html: str) -> set[str]:
    """Every character a page may show: its HTML as sent, with the JSON escapes of its
    scripts' catalogue read back."""
    return set(_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), html))


def fonts_for(characters: Iterable[str], chinese: bool | None) -> dict[str, str]:
    """{font name: its characters, sorted} for the script fonts these characters need. Han
    characters take the shapes of the page's language: Chinese ones on a Chinese page, Japanese
    on a Japanese one (the same code points are drawn differently); on a page in neither
    (`chinese` None), whose few Han characters are names (the switcher's 日本語, 简体中文), one
    font draws them all, Japanese when it has them all, else Chinese: one file, not two."""
    characters = list(characters)
    if chinese is None:
        han_codes = [ord(c) for c in characters if FONTS["jp"].covers(ord(c))]
        chinese = not set(han_codes) <= _codes(FONTS["jp"].package)
    wanted: dict[str, list[str]] = {}
    han, other = ("sc", "jp") if chinese else ("jp", "sc")
    for char in characters:
        code = ord(char)
        for name, font in FONTS.items():
            if name == other or not font.covers(code):
                continue
            if name == han and code not in _codes(FONTS[han].package):
                name = other  # a character of one only (简 has no Japanese glyph)
            wanted.setdefault(name, []).append(char)
            break
    return {name: "".join(sorted(chars)) for name, chars in wanted.items()}


@cache
def _codes(package: str) -> frozenset[int]:
    """Every code point a @fontsource package has a glyph for (its slices' ranges)."""
    root = Path(__file__).resolve().parents[2] / "static" / "vendor" / "fonts"
    return frozenset().union(*(codes for _, codes in _slices(root, package)))


def encode(characters: str) -> str:
    """Characters as a URL's last segment: base64url of their UTF-8, without padding."""
    return base64.urlsafe_b64encode(characters.encode()).decode().rstrip("=")


def decode(key: str) -> str:
    """The characters a URL names; ValueError for anything that is not such a name."""
    try:
        text = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("not a font name") from exc
    if not text or len(text) > MAX_CHARACTERS or "".join(sorted(set(text))) != text:
        raise ValueError("not a font name")
    return text


def unicode_range(characters: str) -> str:
    """A CSS unicode-range of exactly these (sorted) characters, runs of neighbours as one."""
    runs: list[list[int]] = []
    for code in map(ord, characters):
        if runs and code == runs[-1][1] + 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return ",".join(f"U+{a:X}" if a == b else f"U+{a:X}-{b:X}" for a, b in runs)


def font_faces(shown: Iterable[str], chinese: bool | None, later: Iterable[str] = ()) -> str:
    """The @font-face rules of a page (empty when it needs none): for each script font, one face
    with the characters the page shows, and one with those its scripts may show `later` (their
    catalogue), which a browser fetches only once one of them is on screen. Each face's
    unicode-range is exactly its characters, so the browser picks the face that has a glyph."""
    now, then = fonts_for(shown, chinese), fonts_for(later, chinese)
    rules = []
    for name, font in FONTS.items():
        first = now.get(name, "")
        rest = "".join(sorted(set(then.get(name, "")) - set(first)))
        for chars in (first, rest):
            if chars:
                system = "".join(f'local("{family}"),' for family in font.system)
                rules.append(
                    f'@font-face{{font-family:"{font.family}";font-weight:{WEIGHT};'
                    f"font-display:swap;src:{system}url(/fonts/{name}/{encode(chars)}.woff2)"
                    f' format("woff2");unicode-range:{unicode_range(chars)}}}'
                )
    return "".join(rules)


# ---------------------------------------------------------------- the font files


@cache
def _slices(root: Path, package: str) -> tuple[tuple[Path, frozenset[int]], ...]:
    """The woff2 files of a @fontsource package at our weight, each with the code points of its
    unicode-range, read from the package's stylesheet."""
    css = (root / package / f"{WEIGHT}.css").read_text()
    found = []
    for file, spec in re.findall(
        r"src: url\(\./files/([^)]+\.woff2)\).*?unicode-range: ([^;]+);", css, re.S
    ):
        codes: set[int] = set()
        for part in spec.split(","):
            first, _, last = part.strip().removeprefix("U+").partition("-")
            codes.update(range(int(first, 16), int(last or first, 16) + 1))
        found.append((root / package / "files" / file, frozenset(codes)))
    return tuple(found)


def _cut(path: Path, codes: set[int], shaping: bool) -> TTFont:
    font = TTFont(path, recalcTimestamp=False)  # the source's date, not the time of the cut
    options = subset.Options()
    if shaping:
        options.layout_features = ["*"]  # Devanagari's conjuncts and vowel signs need them all
    else:
        options.drop_tables += ["GSUB", "GPOS", "GDEF"]
    options.name_IDs = [1, 2]  # family and style: nothing else of the name table is read
    options.notdef_outline = True
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=codes)
    subsetter.subset(font)
    font.flavor = None
    return font


def build(root: Path, font: ScriptFont, characters: str) -> bytes:
    """A WOFF2 font with the glyphs of these characters: each slice that holds some of them cut
    down to those, then the pieces merged into one font.

    The same characters give the same bytes, dated as the source font is: fontTools otherwise
    dates a font it saves or merges with the present second, and the compressed file's size
    then changed by up to 160 bytes from one second to the next (a page near its weight budget
    went over it in one run of a test in twenty)."""
    codes = {ord(c) for c in characters}
    pieces, dates = [], None
    for path, covered in _slices(root, font.package):
        mine = codes & covered
        if mine:
            cut = _cut(path, mine, font.shaping)
            dates = dates or (cut["head"].created, cut["head"].modified)
            buffer = io.BytesIO()
            cut.save(buffer)
            buffer.seek(0)
            pieces.append(buffer)
    if not pieces or dates is None:
        raise LookupError("no glyphs for these characters")
    merged = Merger().merge(pieces) if len(pieces) > 1 else TTFont(pieces[0])
    merged["head"].created, merged["head"].modified = dates
    merged.recalcTimestamp = False  # TTFont's switch for its save, as its constructor sets it
    merged.flavor = "woff2"
    out = io.BytesIO()
    merged.save(out)
    return out.getvalue()


@lru_cache(maxsize=256)
def _built(root: Path, name: str, characters: str) -> bytes:
    return build(root, FONTS[name], characters)


def font_file(name: str, key: str) -> Response:
    """GET /fonts/<font>/<characters>.woff2: made once per set of characters (off the serving
    loop: a CJK cut takes about a second), then served from memory; browsers keep it a year."""
    font = FONTS.get(name)
    try:
        characters = decode(key)
    except ValueError:
        abort(404)
    if font is None or not all(font.covers(ord(c)) for c in characters):
        abort(404)
    try:
        body = off_loop(_built, fonts_root(), name, characters)
    except LookupError:
        abort(404)
    response = Response(body, mimetype="font/woff2")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def embedded_faces(root: Path, characters: Iterable[str], chinese: bool | None) -> str:
    """@font-face rules that carry their fonts in data: URLs, with the glyphs of exactly these
    characters: a page that must read the same anywhere, offline, without fonts of its own."""
    rules = []
    for name, chars in fonts_for(characters, chinese).items():
        font = FONTS[name]
        data = base64.b64encode(_built(root, name, chars)).decode()
        rules.append(
            f'@font-face{{font-family:"{font.family}";font-weight:{WEIGHT};'
            f'src:url(data:font/woff2;base64,{data}) format("woff2");'
            f"unicode-range:{unicode_range(chars)}}}"
        )
    return "".join(rules)


# ---------------------------------------------------------------- pages


def _chinese(html: str) -> bool | None:
    """True on a Chinese page, False on a Japanese one, None on any other (see fonts_for)."""
    found = re.search(r'<html lang="([^"]*)"', html)
    lang = found.group(1).lower() if found else ""
    return True if lang.startswith("zh") else False if lang.startswith("ja") else None


def _write_fonts(response: Response) -> Response:
    """Replaces a rendered page's marker with the @font-face rules of what it shows."""
    if response.mimetype != "text/html" or response.direct_passthrough or response.is_streamed:
        return response
    html = response.get_data(as_text=True)
    if EMBEDDED_MARKER in html:
        faces = off_loop(embedded_faces, fonts_root(), page_characters(html), _chinese(html))
        style = f"<style>{faces}</style>" if faces else ""
        response.set_data(html.replace(EMBEDDED_MARKER, style, 1))
        if faces:
            # Fonts inside the page are data: URLs, which the site's policy refuses elsewhere.
            from . import CONTENT_SECURITY_POLICY  # noqa: PLC0415 (the package imports this)

            response.headers["Content-Security-Policy"] = (
                f"{CONTENT_SECURITY_POLICY}; font-src 'self' data:"
            )
        return response
    if MARKER not in html:
        return response
    chinese = _chinese(html)
    messages = _CATALOGUE.search(html)
    later = page_characters(messages.group(0)) if messages else set()
    shown = page_characters(html[: messages.start()] + html[messages.end() :] if messages else html)
    faces = font_faces(shown, chinese, later)
    response.set_data(html.replace(MARKER, f"<style>{faces}</style>" if faces else "", 1))
    return response


def init_app(app: Flask) -> None:
    app.add_url_rule("/fonts/<name>/<key>.woff2", "font_file", font_file)
    app.after_request(_write_fonts)
