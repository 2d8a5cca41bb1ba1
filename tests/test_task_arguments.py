"""Task arguments are ids only: Celery keeps them in the broker and logs them, so clinical
text must never pass through them.

Every call site that publishes a task in careteam/ (delay, apply_async, send_task,
signatures) is read from the source: each argument must be an id (a name or attribute
ending in `id` or `ids`, an item or slice of one, a list of them, or int() of one). A new
call that passes anything else, say `note.body`, fails here until it passes an id. Then the
real publishing path is run against the test broker and each message's arguments checked.
"""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path

import pytest
from celery.signals import before_task_publish
from sqlalchemy import update

import careteam
from careteam.digests import services as digests
from careteam.digests import tasks as digest_tasks
from careteam.digests.models import DigestPreference
from careteam.extensions import db, utcnow
from careteam.invitations import services as invitations
from careteam.invitations import tasks as invitation_tasks
from careteam.invitations.models import Invitation
from tests.factories import make_client, make_provider

PACKAGE = Path(careteam.__file__).parent
ID_NAME = re.compile(r"(^|_)ids?$")
PUBLISHERS = {"delay", "apply_async", "send_task", "s", "si", "signature"}
# apply_async and send_task options that are not sent to the task.
OPTIONS = {"countdown", "eta", "expires", "queue", "priority", "retry", "retry_policy"}


def _is_id(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return bool(ID_NAME.search(node.id))
    if isinstance(node, ast.Attribute):
        return bool(ID_NAME.search(node.attr))
    if isinstance(node, ast.Subscript):  # ids[0], ids[start : start + BATCH]
        return _is_id(node.value)
    if isinstance(node, ast.List | ast.Tuple):
        return all(_is_id(element) for element in node.elts)
    if isinstance(node, ast.Dict):
        return all(value is not None and _is_id(value) for value in node.values)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id == "int" and len(node.args) == 1 and _is_id(node.args[0])
    return False


def _payload(call: ast.Call) -> list[ast.expr]:
    """The expressions a publishing call sends to the task as its arguments."""
    method = call.func.attr  # type: ignore[attr-defined]
    positional = list(call.args)
    if method == "send_task":
        positional = positional[1:]  # the task's name
    if method in ("apply_async", "send_task", "signature"):
        sent = [kw.value for kw in call.keywords if kw.arg in ("args", "kwargs")]
        others = [kw for kw in call.keywords if kw.arg not in ("args", "kwargs", *OPTIONS)]
        return positional + sent + [kw.value for kw in others]
    return positional + [kw.value for kw in call.keywords]


def refused_arguments(source: str, filename: str = "<source>") -> list[str]:
    """Every publishing call's argument that is not an id, as "file:line: expression"."""
    refused = []
    for node in ast.walk(ast.parse(source, filename)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in PUBLISHERS:
            continue
        for argument in _payload(node):
            if not _is_id(argument):
                refused.append(f"{filename}:{node.lineno}: {ast.unparse(argument)}")
    return refused


def publishing_calls() -> dict[str, int]:
    """How many publishing calls each module of the package makes."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        n = sum(
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in PUBLISHERS
            for node in ast.walk(tree)
        )
        if n:
            found[str(path.relative_to(PACKAGE.parent))] = n
    return found


def test_every_task_published_in_the_package_gets_ids_only():
    refused = []
    for path in sorted(PACKAGE.rglob("*.py")):
        refused += refused_arguments(path.read_text(), str(path.relative_to(PACKAGE.parent)))
    assert refused == []


def test_the_scan_sees_the_known_publishers():
    """If the scan stopped recognising calls, the test above would pass on nothing."""
    calls = publishing_calls()
    for module in (
        "careteam/digests/tasks.py",
        "careteam/invitations/tasks.py",
        "careteam/auth/reset.py",
        "careteam/relay.py",
    ):
        assert calls.get(module), (module, calls)


@pytest.mark.parametrize(
    "source",
    [
        "send_digests.delay(note.body)",
        "send_digests.delay(digest_id, title)",
        "process_alert.apply_async(args=[entry.title], countdown=5)",
        "process_alert.apply_async((alert_id, summary))",
        "celery.send_task('careteam.process_alert', args=[alert_id], kwargs={'text': body})",
        "send_invitation.delay(invitation_id=invitation_id, note=note)",
        "send_digests.s([d.summary for d in digests])",
    ],
)
def test_text_in_task_arguments_is_refused(source):
    assert refused_arguments(source)


@pytest.mark.parametrize(
    "source",
    [
        "send_digests.delay(ids[start : start + BATCH])",
        "send_digests.apply_async(args=[retry_ids], countdown=countdown)",
        "celery.send_task(self.task, args=[object_id])",
        "send_password_reset.delay(user.id)",
        "send_invitation.delay(int(invitation_id))",
    ],
)
def test_ids_in_task_arguments_are_accepted(source):
    assert refused_arguments(source) == []


@pytest.fixture
def published(app):
    """What the app really publishes to the (test) broker, message by message."""
    messages: list[tuple[str, list, dict]] = []

    def capture(sender=None, body=None, headers=None, **_):
        args, kwargs, _embed = body
        messages.append((sender, list(args), dict(kwargs)))

    before_task_publish.connect(capture, weak=False)
    yield messages
    before_task_publish.disconnect(capture)


def _ids_only(value) -> bool:
    if isinstance(value, list | tuple):
        return all(_ids_only(v) for v in value)
    return isinstance(value, int) and not isinstance(value, bool)


def test_published_messages_hold_ids_only(app, published):
    providers = [make_provider() for _ in range(3)]
    invitations.invite_to_portal(
        actor=providers[0],
        client=make_client(providers[0], name="Avery Quinn"),
        email="avery@example.com",
    )
    for provider in providers:
        digests.preference_for(provider)
    # Due an hour ago; the invitation's email missed by the relay for ten minutes.
    db.session.execute(update(DigestPreference).values(next_due_at=utcnow() - timedelta(hours=1)))
    db.session.execute(
        update(Invitation).values(send_requested_at=utcnow() - timedelta(minutes=10))
    )
    db.session.commit()

    # The beat tasks, run here: they publish through the real broker connection.
    digest_tasks.dispatch_digests.run()
    invitation_tasks.sweep_invitations.run()

    names = [name for name, _, _ in published]
    assert {"careteam.send_digests", "careteam.send_invitation"} <= set(names), names
    for name, args, kwargs in published:
        assert _ids_only(args) and not kwargs, (name, args, kwargs)
    [digest_ids] = [args[0] for name, args, _ in published if name == "careteam.send_digests"]
    assert len(digest_ids) == 3
