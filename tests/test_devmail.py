"""The development mailbox shows what the local catcher received (debug mode only)."""

from __future__ import annotations

import mailbox

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
