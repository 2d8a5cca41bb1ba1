"""End to end: the two-factor enrolment QR code scans for a long address.

The QR element is screenshot in Chromium at the size the page shows it and decoded with
`zbarimg` (Debian's zbar-tools, installed by scripts/ensure-test-deps.sh), so a symbol
clipped by its box (finder patterns or quiet zone cut off) fails here, as it fails on a
phone. The secret read from the image then completes the enrolment.
"""

from __future__ import annotations

import shutil
import subprocess
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import ARTIFACTS
from tests.factories import PASSWORD, make_provider

pytestmark = pytest.mark.e2e

# 74 characters: long addresses make a bigger QR symbol (version 8 and up).
EMAIL = "alexandra.konstantinopoulou-vandenberghe@northside-behavioural.example.org"


def _decode(path) -> str:
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        pytest.fail("zbarimg is missing: run scripts/ensure-test-deps.sh (zbar-tools)")
    result = subprocess.run(
        [zbarimg, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, f"no QR code found in {path}: {result.stderr}"
    return result.stdout.strip()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_enrolment_qr_code_decodes_for_a_74_character_address(
    app, live_server, browser, viewport: str, backend: str
):
    assert len(EMAIL) == 74
    make_provider(name="Alexandra Konstantinopoulou", email=EMAIL, two_factor=False)
    size = (
        {"width": 1280, "height": 900} if viewport == "desktop" else {"width": 390, "height": 844}
    )
    context = browser.new_context(viewport=size)
    try:
        page: Page = context.new_page()
        page.goto(f"{live_server}/login")
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Set up two-factor authentication"
        )
        qr = page.locator(".qr-code svg")
        expect(qr).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"two-factor-qr-{viewport}-{backend}.png"
        qr.screenshot(path=str(path))
        page.screenshot(path=str(ARTIFACTS / f"two-factor-enrol-{viewport}-{backend}.png"))

        uri = _decode(path)
        assert uri.startswith("otpauth://totp/")
        assert EMAIL in unquote(uri)
        secret = parse_qs(urlsplit(uri).query)["secret"][0]
        assert secret == page.locator(".secret-key code").inner_text().replace(" ", "")

        page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Turn on two-factor authentication").click()
        expect(page.get_by_text("recovery", exact=False).first).to_be_visible()
    finally:
        context.close()
