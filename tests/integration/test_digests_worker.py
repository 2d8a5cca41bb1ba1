"""Digests through real `celery -A worker worker` processes, real Redis and a real SMTP sink.

The test process seeds the database through the app's services and publishes tasks by
name with the web app's own Celery app (broker: the harness's Redis); workers run exactly
as in production, configured by environment variables only (SMTP_HOST/SMTP_PORT point them
at the sink, BASE_URL fixes the links). Every test runs on both database backends.

Making a digest due: a daily digest's window ends at the latest scheduled time at or before
"now", so `make_due` schedules each user's daily digest for the next whole second (UTC) and
waits for it; the worker's own dispatch then closes the window right after the test's
entries, without freezing the worker's clock.
"""

from __future__ import annotations

import contextlib
import re
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage

import pytest
import redis
from celery import Celery
from flask import Flask
from sqlalchemy import select, update

from careteam import create_app
from careteam.auth.models import User
from careteam.clients import services as clients
from careteam.clients.models import CareTeamMember, Client
from careteam.config import Config
from careteam.digests import tasks as digest_tasks
from careteam.digests.models import Digest, DigestPreference
from careteam.digests.services import open_window, preference_for
from careteam.enums import (
    DigestStatus,
    Discipline,
    EntryKind,
    GoalDirection,
    LevelOfCare,
    MemberStatus,
    PracticePeriod,
    Role,
    Visibility,
)
from careteam.extensions import db, utcnow
from careteam.goals.services import GoalFields, check_in, create_goal
from careteam.medications import services as meds
from careteam.nutrition.services import post_update
from careteam.practice.rules import AssignmentFields
from careteam.practice.services import assign_practice
from careteam.record.services import post_note
from careteam.record.summary import client_short_name
from careteam.timefmt import local_today
from tests.factories import add_member, make_client, make_provider
from tests.harness import RedisServer, SMTPSink, free_port
from tests.helpers import base_config
from tests.integration.celery_harness import (
    WORKER_READY,
    CeleryLauncher,
    CeleryProcess,
    celery_env,
)

pytestmark = pytest.mark.integration

BASE_URL = "https://careteam.example.org"
LABEL = {kind: kind.label for kind in EntryKind}
URL_RE = re.compile(r"https?://[^\s<>\"']+")
HREF_RE = re.compile(r'href="([^"]*)"')


def worker_env(app: Flask, redis_url: str, smtp_port: int, **overrides: str) -> dict[str, str]:
    """A worker on the test database and broker, mailing to the sink on `smtp_port`."""
    return celery_env(
        database_url=app.config["SQLALCHEMY_DATABASE_URI"],
        redis_url=redis_url,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        BASE_URL=BASE_URL,
        **overrides,
    )


def start_worker(
    launcher: CeleryLauncher, env: dict[str, str], concurrency: int = 1
) -> CeleryProcess:
    """One solo worker (the harness's), or a prefork worker with `concurrency` processes."""
    if concurrency == 1:
        return launcher.worker(env)
    name = f"careteam-test-{uuid.uuid4().hex[:8]}"
    args = [
        "worker",
        "--loglevel=INFO",
        "--pool=prefork",
        f"--concurrency={concurrency}",
        "-Q",
        "celery",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"{name}@%h",
    ]
    process = CeleryProcess("worker", args, env, launcher.log_dir / f"{name}.log")
    launcher.processes.append(process)
    process.start(WORKER_READY)
    return process


def log_count(process: CeleryProcess, pattern: str) -> int:
    return len(re.findall(pattern, process.log_path.read_text(errors="replace")))


def wait_for_log(process: CeleryProcess, pattern: str, count: int, timeout: float = 20.0) -> None:
    """Wait until the worker's log shows `pattern` at least `count` times."""
    deadline = time.monotonic() + timeout
    while log_count(process, pattern) < count:
        if not process.alive() or time.monotonic() > deadline:
            pytest.fail(f"{pattern!r} not seen {count} times\n{process.describe()}")
        time.sleep(0.1)


def wait_until(check: Callable[[], bool], what: str, timeout: float = 20.0, *logs) -> None:
    """Poll the database (a new transaction each time) until `check()` holds."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()  # see what the worker committed
        if check():
            return
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n" + "\n".join(p.describe() for p in logs))
        time.sleep(0.1)


def make_due(users: list[User]) -> datetime:
    """Schedule each user's daily digest for the next whole second (UTC); wait for it,
    and for the settle margin after it (DIGEST_SETTLE_SECONDS), when the window opens."""
    at = (utcnow() + timedelta(seconds=1)).replace(microsecond=0)
    for user in users:
        user.time_zone = "UTC"
        pref = preference_for(user)
        pref.send_time = at.time()
        pref.next_due_at = at
    db.session.commit()
    while utcnow() <= at + timedelta(seconds=Config.DIGEST_SETTLE_SECONDS):
        time.sleep(0.05)
    return at


def digests() -> list[Digest]:
    db.session.rollback()
    return list(db.session.scalars(select(Digest).order_by(Digest.id)))


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def parse_counts(text: str, labels: set[str]) -> dict[str, dict[str, int]]:
    """The minimal digest's sections: {client label: {kind label: count}}."""
    lines = text.splitlines()
    found: dict[str, dict[str, int]] = {}
    for i, line in enumerate(lines):
        if line.strip() in labels:
            counts = {}
            for part in lines[i + 1].strip().split(" · "):
                kind, _, n = part.rpartition(": ")
                counts[kind] = int(n)
            found[line.strip()] = counts
    return found


def sink_on(port: int, monkeypatch: pytest.MonkeyPatch) -> SMTPSink:
    """An SMTP sink started on a chosen port (SMTPSink normally picks a free one)."""
    import tests.harness

    sink = SMTPSink()
    with monkeypatch.context() as patch:
        patch.setattr(tests.harness, "free_port", lambda: port)
        sink.start()
    return sink


@pytest.fixture
def publisher(app: Flask, tmp_root: str, broker: RedisServer, sink: SMTPSink) -> Iterator[Celery]:
    """The Celery app of a web app on the test database and Redis, to publish tasks by name."""
    config = base_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_root)
    del config["CELERY"]  # production defaults, broker from REDIS_URL
    web = create_app(
        {
            **config,
            "REDIS_URL": broker.url,
            "MAIL_SERVER": sink.host,
            "MAIL_PORT": sink.port,
            "BASE_URL": BASE_URL,
        }
    )
    celery = web.extensions["celery"]
    yield celery
    celery.close()
    with web.app_context():
        db.session.remove()
        db.engine.dispose()


@dataclass
class Ledger:
    """Every entry the test creates: (client id, kind label, author id, private)."""

    rows: list[tuple[int, str, int, bool]] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)

    def add(self, client: Client, kind: EntryKind, author: User, private: bool = False) -> None:
        self.rows.append((client.id, LABEL[kind], author.id, private))

    def expected_for(self, user: User, client_ids: list[int]) -> dict[int, Counter]:
        found: dict[int, Counter] = {}
        for client_id, kind, author_id, private in self.rows:
            if client_id in client_ids and author_id != user.id and not private:
                found.setdefault(client_id, Counter())[kind] += 1
        return found


def _seed_two_teams(ledger: Ledger) -> tuple[list[User], list[Client]]:
    """Three providers, two clients with overlapping teams, updates of every kind by each."""
    therapist = make_provider(Discipline.THERAPIST, name="Tess Lindqvist")
    psych = make_provider(Discipline.PSYCHIATRIST, name="Paul Okafor")
    diet = make_provider(Discipline.DIETITIAN, name="Dana Reyes")
    alice = make_client(therapist, name="Alice Anders")
    ledger.add(alice, EntryKind.TEAM, therapist)  # the lead joins
    ledger.add(alice, EntryKind.LEVEL_OF_CARE, therapist)  # the initial level
    for member in (psych, diet):
        add_member(alice, member, therapist)
        ledger.add(alice, EntryKind.TEAM, therapist)
    bruno = make_client(psych, name="Bruno Berg")
    ledger.add(bruno, EntryKind.TEAM, psych)
    ledger.add(bruno, EntryKind.LEVEL_OF_CARE, psych)
    for member in (diet, therapist):
        add_member(bruno, member, psych)
        ledger.add(bruno, EntryKind.TEAM, psych)

    today = local_today()
    for client, team in ((alice, (therapist, psych, diet)), (bruno, (psych, diet, therapist))):
        for author in team:
            tag = f"{author.id}x{client.id}"
            body = f"Coordination SECRETNOTE{tag}: slept poorly this week"
            post_note(actor=author, client=client, body=body)
            ledger.add(client, EntryKind.NOTE, author)
            private = f"Private SECRETPRIVATE{tag}: my own working hypothesis"
            post_note(actor=author, client=client, body=private, visibility=Visibility.PRIVATE)
            ledger.add(client, EntryKind.NOTE, author, private=True)
            title = f"SECRETGOAL{tag} walk daily"
            goal = create_goal(
                actor=author,
                client=client,
                fields=GoalFields(
                    title=title,
                    measure="Walks",
                    unit="walks",
                    baseline=Decimal(1),
                    target=Decimal(7),
                    direction=GoalDirection.UP,
                    target_date=today + timedelta(days=30),
                    owner_id=author.id,
                ),
            )
            ledger.add(client, EntryKind.GOAL, author)
            check_in(actor=author, client=client, goal=goal, measured_on=today, value=Decimal(3))
            ledger.add(client, EntryKind.GOAL_PROGRESS, author)
            ledger.secrets += [body, private, title]
        medication = f"Secretamine{client.id}"
        change = meds.record_change(
            actor=psych,
            client=client,
            medication=medication,
            action="started",
            effective_date=today,
            dose=Decimal(25),
            unit="mg",
            route="oral",
            frequency="daily",
        )
        ledger.add(client, EntryKind.MEDICATION, psych)
        meds.acknowledge(actor=diet, client=client, entry_id=change.id)  # not an entry
        weight = Decimal(f"61.{client.id}7")
        post_update(
            actor=diet,
            client=client,
            update_type="weight",
            weight_kg=weight,
            measured_on=today,
            blind=True,
        )
        ledger.add(client, EntryKind.NUTRITION, diet)
        lead = team[0]
        skill = f"SECRETSKILL{client.id} paced breathing"
        assign_practice(
            actor=lead,
            client=client,
            fields=AssignmentFields(
                skill=skill,
                target_count=3,
                period=PracticePeriod.DAY,
                starts_on=today,
                instructions=f"SECRETSTEPS{client.id}: four counts in, six out",
            ),
        )
        ledger.add(client, EntryKind.PRACTICE, lead)
        ledger.secrets += [skill, f"SECRETSTEPS{client.id}"]
        urgent = f"Urgent SECRETURGENT{client.id}: missed two meals"
        post_note(actor=diet, client=client, body=urgent, urgent=True)
        ledger.add(client, EntryKind.NOTE, diet)
        ledger.secrets += [medication, str(weight), urgent]
    clients.change_level_of_care(
        actor=therapist,
        client=alice,
        level=LevelOfCare.INTENSIVE_OUTPATIENT,
        effective_date=today,
        reason="SECRETREASON more support needed",
    )
    ledger.add(alice, EntryKind.LEVEL_OF_CARE, therapist)
    ledger.secrets.append("SECRETREASON")
    # The therapist leaves Bruno's team: at send time they get nothing about Bruno.
    member = db.session.scalar(
        select(CareTeamMember).where(
            CareTeamMember.client_id == bruno.id, CareTeamMember.provider_id == therapist.id
        )
    )
    clients.end_member(actor=psych, client=bruno, member_id=member.id)
    ledger.add(bruno, EntryKind.TEAM, psych)
    ledger.secrets += ["Anders", "Berg", "Alice Anders", "Bruno Berg"]  # minimal: initials
    return [therapist, psych, diet], [alice, bruno]


def _active_client_ids(user: User) -> list[int]:
    return list(
        db.session.scalars(
            select(CareTeamMember.client_id).where(
                CareTeamMember.provider_id == user.id,
                CareTeamMember.status == MemberStatus.ACTIVE,
            )
        )
    )


def test_one_dispatch_sends_each_provider_exactly_their_digest(
    app: Flask, publisher: Celery, sink: SMTPSink, broker: RedisServer, celery_launcher
) -> None:
    ledger = Ledger()
    providers, records = _seed_two_teams(ledger)
    labels = {client_short_name(client): client for client in records}
    window_end = make_due(providers)
    worker = start_worker(celery_launcher, worker_env(app, broker.url, sink.port))

    publisher.send_task("careteam.dispatch_digests")

    sink.wait_for(len(providers), timeout=30)
    wait_until(
        lambda: [d.status for d in digests()] == [DigestStatus.SENT] * len(providers),
        "every digest marked sent",
        20,
        worker,
    )
    time.sleep(1.0)  # anything extra the worker might still send would show up now
    received = list(sink.messages)
    assert sorted(m["To"] for m in received) == sorted(p.email for p in providers)

    rows = {d.user_id: d for d in digests()}
    assert all(d.window_end == window_end for d in rows.values())
    for provider in providers:
        (message,) = [m for m in received if m["To"] == provider.email]
        digest = rows[provider.id]
        text, html = text_of(message), html_of(message)

        # Exactly the others' entries on the provider's active teams, per client and kind.
        expected = ledger.expected_for(provider, _active_client_ids(provider))
        want = {
            client_short_name(db.session.get(Client, cid)): dict(c) for cid, c in expected.items()
        }
        assert parse_counts(text, set(labels)) == want, (provider.display_name, text)
        assert text.count("Open: ") == len(want)
        assert digest.item_count == sum(sum(c.values()) for c in expected.values())
        # Urgent notes are counted first in the subject ("1 urgent, 7 updates ...").
        assert re.fullmatch(
            rf"CareTeam: (\d+ urgent, )?{digest.item_count} updates on your clients' records",
            message["Subject"],
        )

        # Minimal detail: no clinical text anywhere in the email.
        for secret in ledger.secrets:
            for part in (text, html, message["Subject"]):
                assert secret not in part, (provider.display_name, secret)

        # Absolute links only.
        links = URL_RE.findall(text) + HREF_RE.findall(html)
        assert links and all(link.startswith(f"{BASE_URL}/") for link in links), links
        for cid in expected:
            assert f"{BASE_URL}/clients/{cid}" in links

        # One-click unsubscribe (RFC 8058) and the Message-ID fixed on the row.
        unsubscribe = message["List-Unsubscribe"]
        assert unsubscribe.startswith(f"<{BASE_URL}/unsubscribe/") and unsubscribe.endswith(">")
        assert unsubscribe[1:-1] in text
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["Message-ID"] == digest.message_id
        assert message.get_content_type() == "multipart/alternative"
    # The therapist left Bruno's team before the send: nothing about Bruno.
    therapist_text = text_of(next(m for m in received if m["To"] == providers[0].email))
    assert client_short_name(records[1]) not in therapist_text
    # Each provider's schedule moved on to the next day.
    for pref in db.session.scalars(select(DigestPreference)):
        assert pref.next_due_at == window_end + timedelta(days=1)


def _open_digest_with_news(lead: User, reader: User) -> int:
    """A pending digest for `reader` that has one note by `lead` to report."""
    record = make_client(lead)
    add_member(record, reader, lead)
    post_note(actor=lead, client=record, body="Something new")
    preference_for(reader)
    digest_id = open_window(reader.id, utcnow())
    db.session.commit()
    return digest_id


def test_the_same_send_task_delivered_three_times_sends_one_email(
    app: Flask, publisher: Celery, sink: SMTPSink, broker: RedisServer, celery_launcher
) -> None:
    lead = make_provider()
    one, other = make_provider(), make_provider()
    first = _open_digest_with_news(lead, one)
    second = _open_digest_with_news(lead, other)
    worker = start_worker(celery_launcher, worker_env(app, broker.url, sink.port), concurrency=3)
    done = r"Task careteam\.send_digests\[[^\]]+\] succeeded"

    # One after another: a retried or re-delivered task.
    for n in range(1, 4):
        publisher.send_task("careteam.send_digests", args=[[first]])
        wait_for_log(worker, done, n)
    # All three at once, on three worker processes: a duplicated task racing itself.
    for _ in range(3):
        publisher.send_task("careteam.send_digests", args=[[second]])
    wait_for_log(worker, done, 6)

    time.sleep(0.5)
    assert sorted(m["To"] for m in sink.messages) == sorted([one.email, other.email])
    for digest in digests():
        assert (digest.status, digest.attempts) == (DigestStatus.SENT, 1)
    assert log_count(worker, r"Task careteam\.send_digests\[[^\]]+\] received") == 6


CRASH_USERS = 150
KILL_AFTER = 10  # emails received before the SIGKILL: early in the first batch of 50
# Generous, for a loaded 2-core CI machine: with the production settings (config.py) the
# killed task's message comes back 45-50 s after its delivery, a few seconds before the kill.
REDELIVERY_BOUND = 120.0
TASK_RECEIVED = r"Task careteam\.send_digests\[([^\]]+)\] received"


def _seed_one_big_team(n: int) -> list[User]:
    """One client whose team of n has one note each to read.

    The members are bulk-loaded through the models (no team-change entries, no password
    hashing): this test is about delivery, and small digests keep it quick.
    """
    lead = make_provider(name="Lena Lead")
    record = make_client(lead, name="Crash Client")
    members = [
        User(
            email=f"member{i}@example.com",
            password_hash="!",
            role=Role.PROVIDER,
            display_name=f"Member {i}",
            discipline=Discipline.THERAPIST,
        )
        for i in range(n - 1)
    ]
    db.session.add_all(members)
    db.session.flush()
    db.session.add_all(
        CareTeamMember(
            client_id=record.id,
            provider_id=member.id,
            discipline=Discipline.THERAPIST,
            added_by_id=lead.id,
        )
        for member in members
    )
    db.session.commit()
    post_note(actor=lead, client=record, body="News for the team")
    post_note(actor=members[0], client=record, body="News for the lead")
    return [lead, *members]


def queued(broker: RedisServer) -> int:
    """Tasks waiting in the broker (not those a worker is running)."""
    client = redis.Redis.from_url(broker.url, socket_timeout=2)
    with contextlib.closing(client):
        return client.llen("celery")


def test_a_worker_killed_mid_batch_loses_no_digest(
    app: Flask, publisher: Celery, sink: SMTPSink, broker: RedisServer, celery_launcher
) -> None:
    """With the production recovery settings: the killed task itself comes back (Kombu's
    visibility timeout) and the survivor finishes its batch; the time is measured."""
    users = _seed_one_big_team(CRASH_USERS)
    make_due(users)
    env = worker_env(app, broker.url, sink.port)  # no lease or broker overrides
    doomed = start_worker(celery_launcher, env)

    publisher.send_task("careteam.dispatch_digests")
    try:
        sink.wait_for(KILL_AFTER, timeout=60)
    except TimeoutError as error:
        pytest.fail(
            f"{error}; digest states {Counter(d.status for d in digests())}, "
            f"{queued(broker)} tasks queued\n" + doomed.describe()
        )
    doomed.process.send_signal(signal.SIGKILL)  # mid-batch: some mails out, most not
    killed_at = time.monotonic()
    doomed.process.wait(timeout=10)
    before_kill = len(sink.messages)
    in_flight = re.findall(TASK_RECEIVED, doomed.log_path.read_text(errors="replace"))[-1]
    states = Counter(d.status for d in digests())
    print(f"\nkilled after {before_kill} of {CRASH_USERS} emails; digest states {dict(states)}")
    assert 0 < before_kill < CRASH_USERS
    assert len(digests()) == CRASH_USERS  # every window was opened before the kill

    # No beat tick until the killed task is back: this measures Kombu's redelivery alone
    # (the survivor meanwhile takes the batches still queued).
    survivor = start_worker(celery_launcher, env)
    redelivered = rf"Task careteam\.send_digests\[{re.escape(in_flight)}\] received"
    while not log_count(survivor, redelivered):
        if time.monotonic() > killed_at + REDELIVERY_BOUND:
            pytest.fail(
                f"the killed task {in_flight} was not redelivered within "
                f"{REDELIVERY_BOUND:.0f} s\n" + survivor.describe()
            )
        time.sleep(0.2)
    redelivery = time.monotonic() - killed_at

    def everyone_mailed() -> bool:
        return len({m["To"] for m in sink.messages}) == CRASH_USERS

    # Whatever the redelivered task could not claim (a lease not yet over) is for beat's
    # next tick: ticks are sent, as beat would, only while something is still missing.
    ticks = 0
    deadline = time.monotonic() + 120
    while not everyone_mailed():
        if time.monotonic() > deadline:
            received = log_count(survivor, TASK_RECEIVED)
            pytest.fail(
                f"only {len({m['To'] for m in sink.messages})} of {CRASH_USERS} users got "
                f"their digest; states {Counter(d.status for d in digests())}; "
                f"{received} send tasks received, {queued(broker)} queued\n" + survivor.describe()
            )
        before, waited = len(sink.messages), time.monotonic() + 5
        while not everyone_mailed() and time.monotonic() < waited:
            time.sleep(0.2)
        if len(sink.messages) == before and not queued(broker):
            publisher.send_task("careteam.dispatch_digests")
            ticks += 1
    recovered = time.monotonic() - killed_at
    wait_until(
        lambda: all(d.status == DigestStatus.SENT for d in digests()),
        "every digest marked sent",
        20,
        survivor,
    )
    time.sleep(0.5)  # a late duplicate would arrive now

    per_user = Counter(m["To"] for m in sink.messages)
    assert set(per_user) == {u.email for u in users}
    duplicates = sum(n - 1 for n in per_user.values())
    print(
        f"crash: {CRASH_USERS} digests, {before_kill} sent before SIGKILL; the killed task "
        f"was redelivered {redelivery:.1f} s after the kill, every digest out after "
        f"{recovered:.1f} s ({ticks} dispatch ticks); {duplicates} sent twice "
        f"(at-least-once window), batch in flight {digest_tasks.BATCH}"
    )
    assert redelivery < REDELIVERY_BOUND
    # Each digest is marked sent as soon as the server accepts it, so the at-least-once
    # window of a killed (single-process) worker is the one message accepted but not yet
    # recorded: never the whole batch in flight.
    assert duplicates <= 1 < digest_tasks.BATCH
    # A resend carries the row's Message-ID, so mail clients fold it into the first.
    rows = {d.user_id: d for d in digests()}
    by_email = {u.email: rows[u.id].message_id for u in users}
    assert all(m["Message-ID"] == by_email[m["To"]] for m in sink.messages)


def test_a_digest_survives_an_smtp_outage_and_arrives_once(
    app: Flask,
    publisher: Celery,
    broker: RedisServer,
    celery_launcher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lead, reader = make_provider(), make_provider()
    record = make_client(lead)
    add_member(record, reader, lead)
    post_note(actor=lead, client=record, body="Something new")
    make_due([reader])
    port = free_port()  # nothing listens here yet
    worker = start_worker(celery_launcher, worker_env(app, broker.url, port))

    publisher.send_task("careteam.dispatch_digests")
    wait_until(
        lambda: [(d.status, d.attempts) for d in digests()] == [(DigestStatus.PENDING, 1)],
        "the failed attempt",
        20,
        worker,
    )
    (digest,) = digests()
    assert digest.next_attempt_at is not None and digest.next_attempt_at > utcnow()
    assert digest.last_error == "ConnectionRefusedError"

    sink = sink_on(port, monkeypatch)
    try:
        # The backoff is over (the clock moved on): the next dispatch tick retries it.
        db.session.execute(update(Digest).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        publisher.send_task("careteam.dispatch_digests")
        (message,) = sink.wait_for(1, timeout=20)
        wait_until(lambda: digests()[0].status == DigestStatus.SENT, "the digest sent", 20, worker)
        publisher.send_task("careteam.dispatch_digests")  # a later tick sends nothing more
        wait_for_log(worker, r"Task careteam\.dispatch_digests\[[^\]]+\] succeeded", 3)
        time.sleep(0.5)
        assert len(sink.messages) == 1
    finally:
        sink.stop()
    (digest,) = digests()
    assert (digest.status, digest.attempts, digest.last_error) == (DigestStatus.SENT, 2, "")
    assert message["To"] == reader.email
    assert message["Message-ID"] == digest.message_id
