"""The one place that talks to SMTP."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterable
from email import policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app


class _HeaderClasses(HeaderRegistry):
    """The standard header registry, making each header's class once.

    The stock registry builds a new class with type() every time a header is set or
    parsed: about a sixth of rendering a digest (6,200 classes for 200 digests). The
    classes it builds carry no state, so one per header name is the same thing.
    """

    # Parsed headers kept for reuse: most of a message's headers are the same in every
    # message (From, MIME-Version, the parts' Content-Type and Content-Transfer-Encoding),
    # and parsing one costs tens of microseconds. A header object is an immutable str.
    PARSED_KEPT = 512

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type] = {}
        self._parsed: dict[tuple[str, str], object] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made

    def __call__(self, name: str, value):
        if not isinstance(value, str):
            return super().__call__(name, value)
        key = (name.lower(), value)
        parsed = self._parsed.get(key)
        if parsed is None or parsed.name != name:
            if len(self._parsed) >= self.PARSED_KEPT:
                self._parsed.clear()
            parsed = self._parsed[key] = super().__call__(name, value)
        return parsed


# email.policy.default (what EmailMessage uses), with the registry above.
POLICY = policy.default.clone(header_factory=_HeaderClasses())


def build_message(
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    """A multipart message from the configured sender, with a Message-ID of its own.

    With `unsubscribe_url`, the one-click unsubscribe headers of RFC 8058: a mail client
    POSTs to the link, no login.
    """
    cfg = current_app.config
    message = EmailMessage(policy=POLICY)
    message["From"] = cfg["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="careteam.localhost")
    if cfg.get("MAIL_REPLY_TO"):
        message["Reply-To"] = cfg["MAIL_REPLY_TO"]
    if unsubscribe_url is not None:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send(messages: Iterable[EmailMessage]) -> int:
    """Send messages over one SMTP connection; returns how many were sent."""
    cfg = current_app.config
    sent = 0
    with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"]) as smtp:
        if cfg["MAIL_USE_TLS"]:
            smtp.starttls()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
        for message in messages:
            smtp.send_message(message)
            sent += 1
    return sent


def send_each(
    messages: list[EmailMessage],
    on_result: Callable[[int, BaseException | None], None] | None = None,
) -> list[BaseException | None]:
    """Send over one connection and report each message's fate (None when accepted).

    `on_result(index, result)` runs as soon as the server has answered for a message, so
    a caller can record it before the next one goes out: a crash mid-batch then repeats
    at most the one message accepted but not yet recorded.
    Raises OSError (smtplib's errors included) when no connection can be made at all.
    """
    cfg = current_app.config
    results: list[BaseException | None] = []
    with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"]) as smtp:
        if cfg["MAIL_USE_TLS"]:
            smtp.starttls()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
        for index, message in enumerate(messages):
            result: BaseException | None = None
            try:
                smtp.send_message(message)
            except (smtplib.SMTPException, OSError) as error:
                result = error
            results.append(result)
            if on_result is not None:
                on_result(index, result)
    return results
