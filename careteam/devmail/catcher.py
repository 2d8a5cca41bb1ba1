"""A local SMTP catcher for development: stores every message in a Maildir."""

from __future__ import annotations

import argparse
import mailbox
import os
import signal
import threading

from aiosmtpd.controller import Controller


class MaildirHandler:
    def __init__(self, path: str) -> None:
        for sub in ("tmp", "new", "cur"):  # Maildir(create=True) skips an existing folder
            os.makedirs(os.path.join(path, sub), exist_ok=True)
        self.box = mailbox.Maildir(path, create=True)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.box.add(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(description="Catch mail for development.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--maildir", required=True)
    args = parser.parse_args()
    controller = Controller(MaildirHandler(args.maildir), hostname=args.host, port=args.port)
    controller.start()
    print(f"Mail catcher on smtp://{args.host}:{args.port}, storing in {args.maildir}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
