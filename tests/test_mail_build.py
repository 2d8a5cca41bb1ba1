"""Building emails: headers parsed once and reused (mail.POLICY) keep every message its own."""

from __future__ import annotations

import email
from email import policy

from careteam import mail


def _parsed(message) -> email.message.EmailMessage:
    return email.message_from_bytes(message.as_bytes(), policy=policy.default)


def test_messages_built_one_after_another_keep_their_own_headers_and_bodies(app):
    built = [
        mail.build_message(
            to=f"reader{n}@example.org",
            subject=subject,
            text=f"Plain {n}",
            html=f"<p>Rich {n}</p>",
            unsubscribe_url=f"https://careteam.example.org/unsubscribe/{n}",
        )
        for n, subject in enumerate(
            ["CareTeam: 2 updates", "Zoë's team: ünïcode", "CareTeam: 2 updates"]
        )
    ]
    ids = set()
    for n, message in enumerate(built):
        back = _parsed(message)
        assert back["To"] == f"reader{n}@example.org"
        assert back["List-Unsubscribe"] == f"<https://careteam.example.org/unsubscribe/{n}>"
        assert back["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert back.get_body(("plain",)).get_content().strip() == f"Plain {n}"
        assert back.get_body(("html",)).get_content().strip() == f"<p>Rich {n}</p>"
        ids.add(back["Message-ID"])
    assert _parsed(built[1])["Subject"] == "Zoë's team: ünïcode"
    assert len(ids) == 3
    # A header set under another spelling keeps that spelling.
    built[0]["x-careteam-test"] = "one"
    built[1]["X-CareTeam-Test"] = "one"
    assert b"\nx-careteam-test: one" in built[0].as_bytes()
    assert b"\nX-CareTeam-Test: one" in built[1].as_bytes()
    # Replacing a header on one message leaves the others as they were.
    built[2].replace_header("Message-ID", "<fixed@careteam.localhost>")
    assert built[2]["Message-ID"] == "<fixed@careteam.localhost>"
    assert built[0]["Message-ID"] != "<fixed@careteam.localhost>"
