"""Numbers typed by organizers, read as their own locale writes them (1.000 in German, 1,000 in
English), so a goal typed the way one writes it is never a bare 400."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    NumberFormatError,
    format_decimal,
    get_decimal_symbol,
    get_group_symbol,
    parse_decimal,
)
from flask import request
from flask_babel import get_locale, gettext

_SPACES = " \u00a0\u202f"


def organizer_locale() -> Locale:
    """The locale the console speaks to this organizer (web/i18n.py: their choice, else their
    browser's), with the browser's region when its Accept-Language (RFC 9110 section 12.5.4)
    names the same language: de-CH groups 1’000 where de groups 1.000."""
    spoken = get_locale() or Locale("en")
    for tag, _quality in request.accept_languages:
        try:
            asked = Locale.parse(tag, sep="-")
        except (ValueError, UnknownLocaleError):
            continue
        if asked.language == spoken.language:
            return asked
    return spoken


def whole_number(text: str, locale: Locale, what: str | None = None) -> int:
    """A whole number as `locale` writes it: "1.000" in de and "1,000" in en are 1000; plain
    digits anywhere. ValueError, saying how to write it, for anything else: "1.000" in en is
    refused rather than read as 1 (a whole number has no decimal separator)."""
    group, decimal = get_group_symbol(locale), get_decimal_symbol(locale)
    text = text.strip()
    if (
        group in _SPACES
    ):  # French and others group with a (narrow) no-break space: any space will do
        text = "".join(group if ch in _SPACES else ch for ch in text)
    said = {
        "what": what or gettext("The number"),
        "example": format_decimal(1000, locale=locale),
        "text": repr(text),
    }
    if not text:
        raise ValueError(
            gettext("%(what)s is a whole number, e.g. %(example)s or 1000; it is missing", **said)
        )
    if decimal in text:
        raise ValueError(
            gettext(
                "%(what)s is a whole number, e.g. %(example)s or 1000; %(text)s has a decimal"
                " separator",
                **said,
            )
        )
    try:
        value = parse_decimal(text, locale=locale, strict=True)
    except NumberFormatError:
        value = None
    if value is None or value != value.to_integral_value():
        raise ValueError(
            gettext(
                "%(what)s is a whole number, e.g. %(example)s or 1000; %(text)s is not one", **said
            )
        )
    return int(value)
