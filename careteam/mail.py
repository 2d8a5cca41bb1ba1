"""The one place that talks to SMTP."""

from __future__ import annotations

import smtplib
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app


def build_message(*, to: str, subject: str, text: str, html: str | None = None) -> EmailMessage:
    """A multipart message from the configured sender, with a Message-ID of its own."""
    cfg = current_app.config
    message = EmailMessage()
    message["From"] = cfg["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="careteam.localhost")
    if cfg.get("MAIL_REPLY_TO"):
        message["Reply-To"] = cfg["MAIL_REPLY_TO"]
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


def send_each(messages: list[EmailMessage]) -> list[BaseException | None]:
    """Send over one connection and report each message's fate (None when accepted).

    Raises OSError (smtplib's errors included) when no connection can be made at all.
    """
    cfg = current_app.config
    results: list[BaseException | None] = []
    with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"]) as smtp:
        if cfg["MAIL_USE_TLS"]:
            smtp.starttls()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
        for message in messages:
            try:
                smtp.send_message(message)
                results.append(None)
            except (smtplib.SMTPException, OSError) as error:
                results.append(error)
    return results
