"""The passport's badge QR code, as a staff camera meets it on an attendee's phone."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageEnhance, ImageOps

from .helpers import decode

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_badge_qr_scans_in_light_and_dark_themes_and_at_low_brightness(
    browser, live_server, db, event, scheme
):
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, color_scheme=scheme, is_mobile=True
    )
    page = context.new_page()
    try:
        code = event["stations"]["booth"]["code"]
        page.goto(f"{live_server.url}/s/{code}")
        page.wait_for_selector("#result:not([hidden])")
        page.goto(f"{live_server.url}/me")
        badge = page.locator("#badge").inner_text().strip()
        shot = Image.open(io.BytesIO(page.locator(".badge-qr").screenshot())).convert("RGB")
    finally:
        context.close()
    dim = ImageEnhance.Brightness(ImageEnhance.Contrast(shot).enhance(0.4)).enhance(0.5)
    for seen in (shot, dim, ImageOps.invert(shot)):  # as shown, dimmed, a phone's smart invert
        buffer = io.BytesIO()
        seen.save(buffer, format="PNG")
        assert decode(buffer.getvalue()) == badge
