"""The languages tracker's pages speak, named by their BCP 47 tags (RFC 5646), as the event file
and browsers' Accept-Language name them; Babel names the same locales with an underscore."""

from __future__ import annotations

# In the language itself, as a switcher shows them.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "pt-BR": "Português (Brasil)",
    "he": "עברית",
    "hi": "हिन्दी",
    "ja": "日本語",
    "zh-Hans": "简体中文",
}
DEFAULT = "en"
RIGHT_TO_LEFT = frozenset({"he"})

# Tags people and browsers write for a language we speak under another tag.
_ALIASES = {
    "pt": "pt-BR",
    "zh": "zh-Hans",
    "zh-cn": "zh-Hans",
    "zh-sg": "zh-Hans",
    "zh-hans-cn": "zh-Hans",
    "iw": "he",  # Hebrew's tag before 1989, still sent by some Android phones
}
_BY_LOWER = {tag.lower(): tag for tag in LANGUAGES}


def supported(tag: str | None) -> str | None:
    """The tag of ours that `tag` asks for ("de-AT" -> "de", "pt_br" -> "pt-BR"), or None.

    A regional variant falls back to its language (RFC 4647 lookup, section 3.4)."""
    if not tag:
        return None
    parts = tag.replace("_", "-").lower().split("-")
    while parts:
        wanted = "-".join(parts)
        found = _BY_LOWER.get(wanted) or _ALIASES.get(wanted)
        if found:
            return found
        parts.pop()
    return None


def babel_name(tag: str) -> str:
    """The Babel locale of one of our tags: "pt-BR" -> "pt_BR", "zh-Hans" -> "zh_Hans"."""
    return tag.replace("-", "_")


def direction(tag: str) -> str:
    """ "rtl" for a right-to-left language, else "ltr" (the HTML dir attribute)."""
    return "rtl" if tag in RIGHT_TO_LEFT else "ltr"


# The self-hosted font (static/vendor/fonts, from @fontsource) a language's script needs where a
# screen may have none; Latin-script pages use the system's own fonts and load nothing.
_SCRIPT_FONTS = {
    "he": "noto-sans-hebrew",
    "hi": "noto-sans",  # Noto Sans covers Devanagari
    "ja": "noto-sans-jp",
    "zh-Hans": "noto-sans-sc",
}
BOARD_FONTS = ("noto-sans", "noto-sans-hebrew", "noto-sans-jp", "noto-sans-sc")


def font_stylesheets(tag: str, every_script: bool = False) -> list[str]:
    """The font stylesheets (paths under static/) a page in `tag` links: none for a Latin
    script; with `every_script` (the big screen: one typeface, and stories in any script) all
    of them. Each splits its font by unicode-range, so only glyphs on screen are fetched."""
    families = BOARD_FONTS if every_script else [f for f in [_SCRIPT_FONTS.get(tag)] if f]
    return [f"vendor/fonts/{family}/{weight}.css" for family in families for weight in (400, 700)]
