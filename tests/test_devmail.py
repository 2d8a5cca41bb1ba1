"""The development mailbox shows what the local catcher received (debug mode only)."""

from __future__ import annotations

import mailbox
import re

import pytest

from careteam import create_app
from careteam.mail import build_message
from tests.helpers import base_config


@pytest.fixture
def dev_app(tmp_path, tmp_root):
    maildir = tmp_path / "mail"
    app = create_app(
        {
            **base_config(f"sqlite:///{tmp_path / 'dev.sqlite'}", tmp_root),
            "DEBUG": True,
            "DEV_MAILBOX": str(maildir),
        }
    )
    return app, mailbox.Maildir(str(maildir), create=True)


def test_caught_mail_is_listed_newest_first_and_readable(dev_app):
    app, box = dev_app
    with app.app_context():
        for subject in ("First mail", "Second mail"):
            box.add(build_message(to="dana@example.com", subject=subject, text=f"{subject} body"))
    client = app.test_client()
    inbox = client.get("/dev/mail/")
    assert inbox.status_code == 200
    html = inbox.get_data(as_text=True)
    assert html.index("Second mail") < html.index("First mail")
    key = sorted(box.keys())[0]
    message = client.get(f"/dev/mail/{key}")
    assert message.status_code == 200
    assert "First mail body" in message.get_data(as_text=True)
    assert client.get("/dev/mail/no-such-key").status_code == 404


def test_no_mailbox_outside_debug(app, client):
    assert client.get("/dev/mail/").status_code == 404


HTML_PART = (
    '<p style="color: #0b5">Your <strong>digest</strong> for Monday</p>'
    "<script>document.write('SCRIPT RAN')</script>"
)


def _add_multipart(app, box) -> str:
    with app.app_context():
        return box.add(
            build_message(
                to="dana@example.com", subject="Digest", text="Plain digest body", html=HTML_PART
            )
        )


def test_the_html_part_is_rendered_in_a_sandboxed_frame(dev_app):
    app, box = dev_app
    key = _add_multipart(app, box)
    client = app.test_client()
    page = client.get(f"/dev/mail/{key}").get_data(as_text=True)
    frame = re.search(r"<iframe[^>]*>", page)
    assert frame, "the HTML part is shown in a frame"
    tag = frame.group(0)
    assert re.search(r'\bsandbox(="[^"]*")?', tag)
    assert "allow-scripts" not in tag and "allow-same-origin" not in tag
    assert f'src="/dev/mail/{key}/html"' in tag
    assert "Plain digest body" in page  # the text part is still there
    assert "HTML source" in page  # and the source, for checking links

    part = client.get(f"/dev/mail/{key}/html")
    assert part.status_code == 200
    assert part.mimetype == "text/html"
    assert part.get_data(as_text=True).strip() == HTML_PART
    csp = part.headers["Content-Security-Policy"]
    assert "sandbox" in [d.strip() for d in csp.split(";")]  # no script, no same origin
    assert "default-src 'none'" in csp
    assert "script-src" not in csp  # falls back to default-src 'none': no script runs
    assert "frame-ancestors 'self'" in csp
    assert part.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_a_message_without_html_part_has_no_frame(dev_app):
    app, box = dev_app
    with app.app_context():
        key = box.add(build_message(to="dana@example.com", subject="Plain", text="Only text"))
    client = app.test_client()
    assert "<iframe" not in client.get(f"/dev/mail/{key}").get_data(as_text=True)
    assert client.get(f"/dev/mail/{key}/html").status_code == 404
    assert client.get("/dev/mail/no-such-key/html").status_code == 404
