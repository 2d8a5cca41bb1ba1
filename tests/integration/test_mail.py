"""The one mail path delivers multipart messages to a real SMTP server on loopback."""

from __future__ import annotations

import pytest

from careteam import mail
from tests.harness import SMTPSink

pytestmark = pytest.mark.integration


@pytest.fixture
def smtp_sink():
    with SMTPSink() as sink:
        yield sink


def test_messages_go_out_over_one_connection_as_multipart(app, smtp_sink):
    app.config.update(MAIL_SERVER=smtp_sink.host, MAIL_PORT=smtp_sink.port)
    app.config["MAIL_REPLY_TO"] = "team@example.com"
    messages = [
        mail.build_message(
            to=f"person{n}@example.com",
            subject=f"Hello {n}",
            text=f"Plain body {n}",
            html=f"<p>HTML body {n}</p>",
        )
        for n in range(3)
    ]
    assert mail.send(messages) == 3
    received = smtp_sink.wait_for(3)
    assert sorted(m["To"] for m in received) == [f"person{n}@example.com" for n in range(3)]
    first = next(m for m in received if m["To"] == "person0@example.com")
    assert first["From"] == app.config["MAIL_DEFAULT_SENDER"]
    assert first["Reply-To"] == "team@example.com"
    assert first["Message-ID"] == messages[0]["Message-ID"]
    assert first.get_body(("plain",)).get_content().strip() == "Plain body 0"
    assert "<p>HTML body 0</p>" in first.get_body(("html",)).get_content()


def test_unreachable_server_raises_instead_of_hanging(app):
    from tests.harness import free_port

    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    with pytest.raises(OSError):
        mail.send([mail.build_message(to="a@example.com", subject="s", text="t")])
