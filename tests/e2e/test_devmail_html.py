"""End to end: /dev/mail shows a message's HTML part as a mail client would, in a sandboxed
frame where its scripts do not run, with the plain-text part below. A screenshot goes to
test-artifacts/devmail-html-<backend>.png."""

from __future__ import annotations

import mailbox

import pytest
from playwright.sync_api import Page, expect

from careteam.mail import build_message
from tests.helpers import serve

pytestmark = pytest.mark.e2e

HTML = (
    '<div style="font-family: sans-serif; max-width: 36rem">'
    '<h1 style="color: #175a6e">Your CareTeam digest</h1>'
    "<p>2 clients have <strong>5 updates</strong> since Friday.</p>"
    '<p><a href="http://127.0.0.1/clients/1">Open Jamie D.</a></p>'
    "<script>document.body.innerHTML = 'SCRIPT RAN'</script></div>"
)


def test_the_dev_mailbox_renders_the_html_part_sandboxed(
    app, tmp_path, tmp_root, browser_page: Page, screenshot
):
    maildir = tmp_path / "mail"
    box = mailbox.Maildir(str(maildir), create=True)
    key = box.add(
        build_message(
            to="dana@example.com", subject="Your digest", text="Plain digest body", html=HTML
        )
    )
    with serve(app, tmp_root, DEBUG=True, DEV_MAILBOX=str(maildir)) as base:
        page = browser_page
        page.goto(f"{base}/dev/mail/")
        page.get_by_role("link", name="Your digest").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your digest")
        frame = page.frame_locator("iframe.mail-html")
        expect(frame.get_by_role("heading", name="Your CareTeam digest")).to_be_visible()
        expect(frame.get_by_text("5 updates")).to_be_visible()
        expect(frame.get_by_text("SCRIPT RAN")).to_have_count(0)
        expect(page.get_by_text("Plain digest body")).to_be_visible()
        assert page.locator("iframe.mail-html").get_attribute("sandbox") == ""
        screenshot(page, "devmail-html")
    assert key
