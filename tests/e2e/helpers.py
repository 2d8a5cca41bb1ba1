"""Helpers for browser tests: the second login step in the browser, for users the
factories enrolled."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
from playwright.sync_api import Page, expect
from sqlalchemy import select

from careteam.auth.models import User
from careteam.auth.two_factor_models import TwoFactorCredential
from careteam.extensions import db
from tests.factories import TOTP_SECRET

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Screenshots land here; CI keeps the folder as an artifact.
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def enter_code_if_asked(page: Page, email: str) -> None:
    """After "Log in": if the page asks for a two-factor code, type a current one.

    As in the auth helper (tests/helpers.py), the last used time step is forgotten first, so
    that logging in twice within 30 seconds is not refused as a replay.
    """
    expect(page).not_to_have_url(re.compile(r"/login$"))
    if not page.url.endswith("/login/two-factor"):
        return
    user = db.session.scalar(select(User).where(User.email == email))
    credential = db.session.get(TwoFactorCredential, user.id)
    credential.last_used_step = None
    db.session.commit()
    expect(page.get_by_role("heading", level=1, name="Enter your two-factor code")).to_be_visible()
    page.get_by_label("Code").fill(pyotp.TOTP(TOTP_SECRET).now())
    page.get_by_role("button", name="Log in").click()
