"""Development only: read what the local mail catcher received, in the browser."""

from __future__ import annotations

import mailbox
import os
from email import policy
from email.parser import BytesParser

from flask import Blueprint, abort, current_app, render_template

bp = Blueprint("devmail", __name__, url_prefix="/dev/mail")


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


@bp.get("/<key>")
def message(key: str):
    box = _box()
    try:
        msg = _parse(box.get_bytes(key))
    except KeyError:
        abort(404)
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    return render_template(
        "devmail/message.html",
        msg=msg,
        text=text.get_content() if text else "",
        html=html.get_content() if html else "",
    )
