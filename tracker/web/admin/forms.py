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

_SPACES = " \u00a0\u202f"


def organizer_locale() -> Locale:
    """The locale of the organizer's browser (its Accept-Language, RFC 9110 section 12.5.4),
    English when it names none Babel knows."""
    for tag, _quality in request.accept_languages:
        try:
            return Locale.parse(tag, sep="-")
        except (ValueError, UnknownLocaleError):
            continue
    return Locale("en")


def whole_number(text: str, locale: Locale, what: str = "the number") -> int:
    """A whole number as `locale` writes it: "1.000" in de and "1,000" in en are 1000; plain
    digits anywhere. ValueError, saying how to write it, for anything else: "1.000" in en is
    refused rather than read as 1 (a whole number has no decimal separator)."""
    group, decimal = get_group_symbol(locale), get_decimal_symbol(locale)
    text = text.strip()
    if (
        group in _SPACES
    ):  # French and others group with a (narrow) no-break space: any space will do
        text = "".join(group if ch in _SPACES else ch for ch in text)
    example = format_decimal(1000, locale=locale)
    hint = f"{what} is a whole number, e.g. {example} or 1000"
    if not text:
        raise ValueError(f"{hint}; it is missing")
    if decimal in text:
        raise ValueError(f"{hint}; {text!r} has a decimal separator")
    try:
        value = parse_decimal(text, locale=locale, strict=True)
    except NumberFormatError:
        raise ValueError(f"{hint}; {text!r} is not one") from None
    if value != value.to_integral_value():
        raise ValueError(f"{hint}; {text!r} is not one")
    return int(value)
