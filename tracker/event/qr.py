"""QR codes for station URLs and badges, as SVG (print, screens) or PNG (chat, slides)."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def station_url(public_url: str, code: str) -> str:
    """What a station's QR code encodes: the public address of its check-in page."""
    return f"{public_url.rstrip('/')}/s/{code}"


def short_url(public_url: str, short_code: str) -> str:
    """The address a person types when their camera fails: /j/ and six characters."""
    return f"{public_url.rstrip('/')}/j/{short_code}"


def _make(data: str) -> qrcode.QRCode:
    # M survives a smudge or a bit of tape over a corner and keeps a ~45-character URL at
    # version 3, big modules that a phone reads from a few metres.
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, box_size=10)
    qr.add_data(data)
    qr.make(fit=True)
    return qr


def svg(data: str) -> bytes:
    """A compact, scalable SVG (one path) that prints sharp at any size."""
    image = _make(data).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return str(image.to_string(encoding="unicode")).encode()


def badge_svg(badge: str) -> bytes:
    """A badge's QR code for a phone screen: dark modules on its own white ground with the
    quiet zone, so it scans the same in a dark theme as in a light one."""
    image = _make(badge).make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    return str(image.to_string(encoding="unicode")).encode()


def png(data: str, box_size: int = 10) -> bytes:
    qr = _make(data)
    qr.box_size = box_size
    buffer = io.BytesIO()
    qr.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()


def svg_inline(data: str) -> str:
    """The SVG without its XML declaration, for embedding in an HTML page."""
    text = svg(data).decode()
    return text[text.index("<svg") :]
