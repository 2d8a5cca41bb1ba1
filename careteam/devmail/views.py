"""Development only: read what the local mail catcher received, in the browser."""

from __future__ import annotations

import mailbox
import os
from email import policy
from email.parser import BytesParser

from flask import Blueprint, Response, abort, current_app, render_template

bp = Blueprint("devmail", __name__, url_prefix="/dev/mail")

# The HTML part is shown as the mail client would, in a frame of its own: sandboxed (no
# script, no same origin, no forms, no top navigation) by the iframe's sandbox attribute
# and again by this policy, so a message can never act on the app it is read in. Inline
# styles and data: images are allowed because emails are made of them.
HTML_PART_POLICY = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


def _box() -> mailbox.Maildir:
    path = current_app.config["DEV_MAILBOX"]
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    return mailbox.Maildir(path, create=True)


def _parse(raw: bytes):
    return BytesParser(policy=policy.default).parsebytes(raw)


@bp.get("/")
def inbox():
    box = _box()
    messages = []
    # Maildir keys start with the delivery time: newest first is reverse key order.
    for key in sorted(box.keys(), reverse=True)[:200]:
        try:
            messages.append((key, _parse(box.get_bytes(key))))
        except (KeyError, FileNotFoundError):
            continue  # removed since the listing
    return render_template("devmail/inbox.html", messages=messages)


def _message(key: str):
    try:
        return _parse(_box().get_bytes(key))
    except (KeyError, FileNotFoundError):
        abort(404)


@bp.get("/<key>")
def message(key: str):
    msg = _message(key)
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    return render_template(
        "devmail/message.html",
        key=key,
        msg=msg,
        text=text.get_content() if text else "",
        html=html.get_content() if html else "",
    )


@bp.get("/<key>/html")
def message_html(key: str):
    """The message's HTML part alone, for the sandboxed frame of the message page."""
    html = _message(key).get_body(("html",))
    if html is None:
        abort(404)
    response = Response(html.get_content(), mimetype="text/html")
    response.headers["Content-Security-Policy"] = HTML_PART_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response
