"""Digest throughput: N providers on M clients, one dispatch tick, a real worker and SMTP sink.

Starts its own Redis, SMTP sink and (with --backend postgresql) PostgreSQL from
tests/harness.py, builds the schema with the migrations on a scratch database, seeds a day of
updates of several kinds through the models, makes every provider due, sends one
`careteam.dispatch_digests` task to a real `celery -A worker worker` (prefork, concurrency
2 by default) and waits until every digest is sent. Then it counts the SQL statements of
`send_batch` in this process over a sample of the same digests, sent again.

Run from the repository root (see benchmarks/README.md):

    .venv/bin/python benchmarks/digests.py --providers 2000 --clients 400 --backend postgresql
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
import traceback
from contextlib import ExitStack
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event, func, select, text, update  # noqa: E402

from careteam import PLAIN_ENV, create_app, mail  # noqa: E402
from careteam.auth.models import User  # noqa: E402
from careteam.clients.models import CareTeamMember, Client, LevelOfCareChange  # noqa: E402
from careteam.digests import services  # noqa: E402
from careteam.digests.models import Digest, DigestPreference  # noqa: E402
from careteam.enums import (  # noqa: E402
    DigestFrequency,
    DigestStatus,
    Discipline,
    GoalDirection,
    LevelOfCare,
    MemberStatus,
    Role,
    Visibility,
)
from careteam.extensions import db, utcnow  # noqa: E402
from careteam.goals.models import Goal, GoalEvent, GoalProgress  # noqa: E402
from careteam.medications.models import MedicationChange  # noqa: E402
from careteam.nutrition.models import NutritionUpdate  # noqa: E402
from careteam.record.models import LevelOfCareEntry, Note  # noqa: E402
from tests.harness import PostgresServer, RedisServer, SMTPSink  # noqa: E402

DISCIPLINES = [Discipline.THERAPIST, Discipline.PSYCHIATRIST, Discipline.DIETITIAN]
BASE_URL = "https://careteam.example.org"
WORKER_READY = re.compile(rb"@\S+ ready\.")
CHUNK = 1000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--providers", type=int, default=2000, help="N providers (2000)")
    parser.add_argument("--clients", type=int, default=400, help="M clients (400)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--detail", choices=["minimal", "full"], default="minimal")
    parser.add_argument("--sample", type=int, default=100, help="digests in the query count")
    parser.add_argument(
        "--baseline",
        type=int,
        default=1000,
        help="digests rendered and sent with no database work, for comparison (1000)",
    )
    parser.add_argument("--timeout", type=float, default=900, help="give up after (s)")
    args = parser.parse_args()
    if args.providers < 2 or args.clients < 1:
        parser.error("need at least 2 providers and 1 client")
    return args


def _chunked_add(rows: list) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.add_all(rows[start : start + CHUNK])
        db.session.flush()


def seed(n_providers: int, n_clients: int, window_end: datetime, detail: str) -> int:
    """Providers, clients with teams of about N/M, and a day of entries; returns entries."""
    rng = random.Random(2000)
    joined = window_end - timedelta(days=2)
    day = window_end - timedelta(days=1)

    def during_the_day() -> datetime:
        return day + timedelta(seconds=rng.uniform(0, 86_400 - 60))

    providers = [
        User(
            email=f"provider{i}@bench.example.org",
            password_hash="!",  # never logs in
            role=Role.PROVIDER,
            display_name=f"Provider {i}",
            discipline=DISCIPLINES[i % len(DISCIPLINES)],
            created_at=joined,
        )
        for i in range(n_providers)
    ]
    _chunked_add(providers)
    teams: list[list[User]] = [[] for _ in range(n_clients)]
    for i, provider in enumerate(providers):
        teams[i % n_clients].append(provider)
    teams = [team for team in teams if len(team) >= 2]  # someone else's news for everyone
    clients = [
        Client(
            full_name=f"Client{c} Benchmark",
            level_of_care=LevelOfCare.OUTPATIENT_WEEKLY,
            created_by_id=team[0].id,
            created_at=joined,
            last_activity_at=joined,
        )
        for c, team in enumerate(teams)
    ]
    _chunked_add(clients)
    _chunked_add(
        [
            CareTeamMember(
                client_id=client.id,
                provider_id=member.id,
                discipline=member.discipline,
                is_lead=k == 0,
                status=MemberStatus.ACTIVE,
                started_at=joined,
                added_by_id=team[0].id,
            )
            for client, team in zip(clients, teams, strict=True)
            for k, member in enumerate(team)
        ]
    )

    entries: list = []
    today = day.date()
    for client, team in zip(clients, teams, strict=True):
        lead, other = team[0], team[1]
        common = {"client_id": client.id}
        for member in team:  # everyone writes a note
            entries.append(
                Note(
                    **common,
                    author_id=member.id,
                    created_at=during_the_day(),
                    body=f"Coordination note by {member.display_name}",
                )
            )
        entries.append(
            Note(
                **common,
                author_id=lead.id,
                created_at=during_the_day(),
                body="Private working note",
                visibility=Visibility.PRIVATE,
            )
        )
        goal = Goal(
            **common,
            owner_id=lead.id,
            created_by_id=lead.id,
            title="Eat three meals a day",
            measure="Meals",
            unit="meals",
            baseline=Decimal(1),
            target=Decimal(3),
            direction=GoalDirection.UP,
            target_date=today + timedelta(days=30),
            created_at=joined,
            updated_at=joined,
        )
        entries.append(
            GoalEvent(**common, author_id=lead.id, created_at=during_the_day(), goal=goal)
        )
        entries.append(
            GoalProgress(
                **common,
                author_id=other.id,
                created_at=during_the_day(),
                goal=goal,
                measured_on=today,
                value=Decimal(2),
            )
        )
        entries.append(
            MedicationChange(
                **common,
                author_id=other.id,
                created_at=during_the_day(),
                medication="Sertraline",
                medication_key="sertraline",
                dose=Decimal(50),
                unit="mg",
                route="oral",
                frequency="daily",
                action="started",
                effective_date=today,
            )
        )
        entries.append(
            NutritionUpdate(
                **common,
                author_id=team[-1].id,
                created_at=during_the_day(),
                update_type="weight",
                weight_kg=Decimal("58.4"),
                measured_on=today,
                blind=True,
            )
        )
        at = during_the_day()
        change = LevelOfCareChange(
            **common,
            level=LevelOfCare.INTENSIVE_OUTPATIENT,
            effective_date=today,
            reason="More support",
            changed_by_id=lead.id,
            created_at=at,
        )
        entries.append(LevelOfCareEntry(**common, author_id=lead.id, created_at=at, change=change))
    _chunked_add(entries)

    # Everyone's daily digest is due at window_end (UTC), which has just passed.
    _chunked_add(
        [
            DigestPreference(
                user_id=provider.id,
                frequency=DigestFrequency.DAILY,
                send_time=window_end.time(),
                detail=detail,
                next_due_at=window_end,
            )
            for provider in providers
        ]
    )
    db.session.commit()
    # A live database has planner statistics; freshly bulk-loaded tables do not yet.
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return len(entries)


def worker_env(database_url: str, redis_url: str, smtp_port: int, secret: str) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in PLAIN_ENV and not key.startswith(("CARETEAM_", "FLASK_"))
    }
    env.update(
        SECRET_KEY=secret,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        BASE_URL=BASE_URL,
        PYTHONPATH=str(REPO_ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env


def start_worker(env: dict, concurrency: int, log_path: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker",
        "worker",
        "--loglevel=INFO",
        "--pool=prefork",
        f"--concurrency={concurrency}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        "bench@%h",
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    while not WORKER_READY.search(log_path.read_bytes()):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the worker did not start:\n{tail}")
        time.sleep(0.1)
    return process


def stop_worker(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def status_counts() -> dict[str, int]:
    db.session.rollback()  # a fresh transaction sees what the worker committed
    rows = db.session.execute(select(Digest.status, func.count()).group_by(Digest.status))
    return {status: count for status, count in rows}


def _reset(ids: list[int]) -> None:
    """Mark digests pending again (their windows' entries are unchanged: the same content)."""
    db.session.execute(
        update(Digest)
        .where(Digest.id.in_(ids))
        .values(status=DigestStatus.PENDING, sent_at=None, lease_until=None, attempts=0)
    )
    db.session.commit()
    db.session.expunge_all()


def count_send_queries(size: int, offset: int = 0) -> tuple[int, int, float]:
    """Send `size` already-sent digests again in this process, as one batch; returns how
    many, the SQL statements it took and the seconds."""
    ids = list(
        db.session.scalars(select(Digest.id).order_by(Digest.id).offset(offset).limit(size))
    )
    _reset(ids)
    statements = 0

    def count(*_args) -> None:
        nonlocal statements
        statements += 1

    event.listen(db.engine, "before_cursor_execute", count)
    started = time.perf_counter()
    try:
        outcome = services.send_batch(ids)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    elapsed = time.perf_counter() - started
    if len(outcome.sent) != len(ids):
        raise RuntimeError(f"the in-process batch sent {len(outcome.sent)} of {len(ids)}")
    return len(ids), statements, elapsed


def render_and_send_without_database(n: int, concurrency: int, batch: int) -> float:
    """The same work with no database: digests/s of rendering and sending `n` emails.

    The contents of `n` sent digests are built first (their windows, entries, authors and
    clients loaded, then detached from the session), outside the timing. Then
    `concurrency` forked processes, like the worker's, each render their share with
    `render_message` and send it through `mail.send_each` in batches of `batch`, one SMTP
    connection per batch, to the same sink. Nothing touches the database after the fork.
    """
    digests = list(
        db.session.scalars(
            select(Digest).where(Digest.status == DigestStatus.SENT).order_by(Digest.id).limit(n)
        )
    )
    work = []
    for digest in digests:  # every provider of the seed has a preference
        pref = services.preference_for(digest.user)
        start = digest.window_start or services.window_start_for(digest.user, digest.window_end)
        content = services.build_content(digest.user, start, digest.window_end, pref.detail)
        work.append((digest, content))
    # Everything the templates read is loaded (no commit has expired it): closing the
    # session detaches the objects as they are, and a detached object raises, not queries.
    db.session.close()
    db.engine.dispose()  # no pooled connection is shared with the children
    shares = [work[i::concurrency] for i in range(concurrency)]
    started = time.perf_counter()
    children = []
    for share in shares:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 0
            try:
                for i in range(0, len(share), batch):
                    chunk = share[i : i + batch]
                    messages = [services.render_message(d, c) for d, c in chunk]
                    if any(r is not None for r in mail.send_each(messages)):
                        code = 1
            except BaseException:  # reported by the exit code
                traceback.print_exc()
                code = 2
            os._exit(code)
        children.append(pid)
    failed = [os.waitpid(pid, 0)[1] for pid in children]
    elapsed = time.perf_counter() - started
    if any(failed):
        raise RuntimeError(f"a baseline process failed: {failed}")
    return len(work) / elapsed


def main() -> int:
    args = parse_args()
    secret = secrets.token_urlsafe(32)
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="careteam-bench-")))
        redis_server = stack.enter_context(RedisServer())
        # Raw bytes kept, not parsed: parsing in this process capped what it measured.
        sink = stack.enter_context(SMTPSink(parse=False))
        if args.backend == "postgresql":
            postgres = stack.enter_context(PostgresServer(dbname="careteam_bench"))
            database_url = postgres.url
        else:
            database_url = f"sqlite:///{tmp / 'bench.sqlite'}"
        app = create_app(
            {
                "SECRET_KEY": secret,
                "SQLALCHEMY_DATABASE_URI": database_url,
                "REDIS_URL": redis_server.url,
                "MAIL_SERVER": sink.host,
                "MAIL_PORT": sink.port,
                "BASE_URL": BASE_URL,
                "ALERT_RELAY": "off",
            }
        )
        stack.callback(app.extensions["celery"].close)
        stack.enter_context(app.app_context())
        # The schema as production gets it: the migrations, never create_all.
        upgrade(directory=str(REPO_ROOT / "migrations"))

        # Windows close DIGEST_SETTLE_SECONDS before they open: end the seeded day earlier.
        settle = app.config["DIGEST_SETTLE_SECONDS"] + 1
        window_end = utcnow().replace(microsecond=0) - timedelta(seconds=settle)
        started = time.perf_counter()
        n_entries = seed(args.providers, args.clients, window_end, args.detail)
        seeded = time.perf_counter() - started
        n_members = db.session.scalar(select(func.count()).select_from(CareTeamMember))
        print(
            f"backend {args.backend}: {args.providers} providers, "
            f"{db.session.scalar(select(func.count()).select_from(Client))} clients, "
            f"{n_members} team memberships, {n_entries} entries in the day "
            f"(seeded in {seeded:.1f} s)"
        )

        worker = start_worker(
            worker_env(database_url, redis_server.url, sink.port, secret),
            args.concurrency,
            tmp / "worker.log",
        )
        stack.callback(stop_worker, worker)

        started = time.perf_counter()
        app.extensions["celery"].send_task("careteam.dispatch_digests")
        opened_at = None
        deadline = time.monotonic() + args.timeout
        while True:
            counts = status_counts()
            if opened_at is None and sum(counts.values()) >= args.providers:
                opened_at = time.perf_counter() - started
            if counts.get(DigestStatus.SENT, 0) >= args.providers:
                break
            if worker.poll() is not None or time.monotonic() > deadline:
                tail = (tmp / "worker.log").read_text(errors="replace")[-3000:]
                print(f"gave up with {counts}; worker log tail:\n{tail}", file=sys.stderr)
                return 1
            time.sleep(0.2)
        total = time.perf_counter() - started
        received = len(sink.messages)
        print(
            f"one dispatch tick opened {args.providers} windows in {opened_at:.1f} s; "
            f"worker (prefork, concurrency {args.concurrency}) sent all in {total:.1f} s"
        )
        print(f"digests per second: {args.providers / total:.1f}")
        print(f"emails received by the SMTP sink: {received}")

        rate = args.providers / total
        batch = services.SEND_BATCH
        baseline = render_and_send_without_database(
            min(args.baseline, args.providers), args.concurrency, batch
        )
        print(
            f"rendering and sending the same emails with no database work "
            f"({min(args.baseline, args.providers)} digests, {args.concurrency} processes, "
            f"batches of {batch}): {baseline:.1f} digests/s; the worker reached "
            f"{rate / baseline:.2f}x of it"
        )

        small = min(10, args.providers // 2)
        large = min(args.sample, args.providers - small)
        n1, statements1, _ = count_send_queries(small)
        n2, statements2, elapsed = count_send_queries(large, offset=small)
        per_digest = (statements2 - statements1) / (n2 - n1)
        fixed = statements1 - per_digest * n1
        print(
            f"SQL statements per batch (send_batch in-process): {statements1} for {n1} "
            f"digests, {statements2} for {n2}: {fixed:.0f} per batch + {per_digest:.2f} "
            f"per digest ({n2 / elapsed:.1f} digests/s in one process)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
