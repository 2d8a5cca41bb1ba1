"""Page throughput: the pages people live in against a bare Flask page, under gunicorn and wrk.

Seeds a practice in bulk through the models (thousands of clients with teams of 3-5 and
100,000+ entries of every kind) on a scratch database built by the migrations, serves it
with gunicorn (2 sync workers) beside a tiny bare Flask + SQLAlchemy + Jinja app listing
20 rows of one client (no login), logs in through the real login form (password, then a
TOTP code for the provider), and measures each page with `wrk --latency`: the client
timeline (as the lead), My clients with Needs my attention, the goals page with its
charts and the portal home (as the client). Then it counts the SQL statements of one
request of each page in this process, through the Flask test client, logged in.

Run from the repository root (see benchmarks/README.md):

    .venv/bin/python benchmarks/web.py --backend postgresql
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import pyotp  # noqa: E402
import requests  # noqa: E402
from flask import Flask, render_template  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from jinja2 import DictLoader  # noqa: E402
from sqlalchemy import (  # noqa: E402
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Session  # noqa: E402

from careteam import PLAIN_ENV, create_app  # noqa: E402
from careteam.auth import two_factor  # noqa: E402
from careteam.auth.models import User  # noqa: E402
from careteam.auth.services import create_user  # noqa: E402
from careteam.clients.models import (  # noqa: E402
    CareTeamChange,
    CareTeamMember,
    Client,
    LevelOfCareChange,
)
from careteam.enums import (  # noqa: E402
    Discipline,
    EntryKind,
    GoalDirection,
    GoalStatus,
    LevelOfCare,
    MedicationAction,
    MemberStatus,
    NutritionType,
    PracticePeriod,
    Role,
    TeamChange,
    Visibility,
)
from careteam.extensions import db, utcnow  # noqa: E402
from careteam.goals.models import Goal, GoalEvent, GoalProgress  # noqa: E402
from careteam.medications.models import MedicationAck, MedicationChange  # noqa: E402
from careteam.nutrition.models import NutritionUpdate  # noqa: E402
from careteam.practice.models import PracticeAssignment, PracticeLog  # noqa: E402
from careteam.record.models import Entry, LevelOfCareEntry, Note, NoteAck, TeamEntry  # noqa: E402
from tests.harness import PostgresServer, RedisServer, free_port  # noqa: E402

PASSWORD = "benchmark password, not for production"
LEAD_EMAIL = "lead@bench.example.org"
CLIENT_EMAIL = "client@bench.example.org"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
DISCIPLINES = [
    Discipline.THERAPIST,
    Discipline.PSYCHIATRIST,
    Discipline.DIETITIAN,
    Discipline.PRIMARY_CARE,
    Discipline.CASE_MANAGER,
]
CHUNK = 20_000  # rows per bulk INSERT call
WRK_INSTALL = "wrk not found: install it with `apt-get install -y wrk` (Debian/Ubuntu)"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--clients", type=int, default=3000, help="clients (3000)")
    parser.add_argument("--providers", type=int, default=600, help="providers (600)")
    parser.add_argument("--entries", type=int, default=110_000, help="entries in all (110000)")
    parser.add_argument("--caseload", type=int, default=30, help="clients the lead leads (30)")
    parser.add_argument(
        "--record-entries", type=int, default=1000, help="entries on the measured record (1000)"
    )
    parser.add_argument(
        "--one-record-entries",
        type=int,
        default=0,
        help="also measure the timeline of one more record with N entries (off)",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (10)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (8)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    args = parser.parse_args()
    if args.clients < args.caseload + 1 or args.providers < 10:
        parser.error("need more clients than the caseload and at least 10 providers")
    return args


# -- seeding ------------------------------------------------------------------------------


def _bulk(model, rows: list[dict]) -> None:
    """ORM bulk INSERT (joined-table kinds get both their rows), in chunks."""
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(model), rows[start : start + CHUNK])


def _bulk_ids(model, rows: list[dict]) -> list[int]:
    """ORM bulk INSERT returning the new ids in the order of `rows`."""
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        ids += db.session.scalars(
            insert(model).returning(model.id, sort_by_parameter_order=True),
            rows[start : start + CHUNK],
        ).all()
    return ids


@dataclass
class Record:
    """What the entry generator needs to know of one client."""

    client_id: int
    members: list[tuple[int, str]]  # (provider id, discipline), the lead first
    created: datetime
    goal_ids: list[int]
    assignment_root: int | None = None


class EntryWriter:
    """Buffers entry rows by kind and writes them in bulk."""

    def __init__(self) -> None:
        self.rows: dict[type, list[dict]] = defaultdict(list)
        self.written = 0

    def add(self, model, row: dict) -> None:
        bucket = self.rows[model]
        bucket.append(row)
        if len(bucket) >= CHUNK:
            self.flush(model)

    def flush(self, model=None) -> None:
        for kind in [model] if model else list(self.rows):
            rows = self.rows.pop(kind, [])
            if rows:
                _bulk(kind, rows)
                self.written += len(rows)


def _entries_for(record: Record, n: int, now: datetime, rng: random.Random) -> Iterator[tuple]:
    """`n` entries of every kind on one record, spread from its creation until now."""
    span = (now - record.created).total_seconds()
    providers = record.members
    today = now.date()
    for i in range(n):
        at = record.created + timedelta(seconds=span * (i + rng.random()) / max(n, 1))
        author, _discipline = providers[rng.randrange(len(providers))]
        base = {"client_id": record.client_id, "author_id": author, "created_at": at}
        roll = rng.random()
        if roll < 0.55:
            visibility = rng.choice(
                [Visibility.TEAM] * 6 + [Visibility.CLIENT] * 3 + [Visibility.PRIVATE]
            )
            urgent = visibility != Visibility.PRIVATE and rng.random() < 0.02
            yield (
                Note,
                {
                    **base,
                    "kind": EntryKind.NOTE,
                    "visibility": visibility,
                    "urgent": urgent,
                    "title": f"Session {i}" if rng.random() < 0.3 else "",
                    "body": (
                        f"Discussed **meal plan** and sleep, entry {i}. "
                        "Client reports fewer urges this week; keep the plan.\n\n"
                        "- breakfast every day\n- check in on Friday"
                    ),
                },
            )
        elif roll < 0.70 and record.goal_ids:
            yield (
                GoalProgress,
                {
                    **base,
                    "kind": EntryKind.GOAL_PROGRESS,
                    "visibility": Visibility.TEAM,
                    "goal_id": rng.choice(record.goal_ids),
                    "measured_on": at.date(),
                    "value": Decimal(rng.randint(0, 3)),
                    "comment": "Steady" if rng.random() < 0.5 else "",
                },
            )
        elif roll < 0.85:
            weight = rng.random() < 0.6
            yield (
                NutritionUpdate,
                {
                    **base,
                    "kind": EntryKind.NUTRITION,
                    "visibility": Visibility.TEAM,
                    "update_type": NutritionType.WEIGHT if weight else NutritionType.MEAL_PLAN,
                    "text": "" if weight else "Six exchanges, add an evening snack",
                    "weight_kg": Decimal("55") + Decimal(rng.randint(0, 80)) / 10
                    if weight
                    else None,
                    "measured_on": at.date() if weight else None,
                    "blind": weight and rng.random() < 0.5,
                },
            )
        elif roll < 0.93:
            yield (
                MedicationChange,
                {
                    **base,
                    "kind": EntryKind.MEDICATION,
                    "visibility": Visibility.TEAM,
                    "medication": "Sertraline",
                    "medication_key": "sertraline",
                    "dose": Decimal(rng.choice([25, 50, 75, 100])),
                    "unit": "mg",
                    "route": "oral",
                    "frequency": "once daily",
                    "action": MedicationAction.DOSE_CHANGED,
                    "effective_date": at.date(),
                    "reason": "Tolerating well",
                },
            )
        elif roll < 0.99 and record.goal_ids:
            yield (
                GoalEvent,
                {
                    **base,
                    "kind": EntryKind.GOAL,
                    "visibility": Visibility.TEAM,
                    "goal_id": rng.choice(record.goal_ids),
                    "summary": "Target date: earlier → later",
                    "state": _goal_state(today + timedelta(days=30)),
                },
            )
        else:
            yield (
                PracticeAssignment,
                {
                    **base,
                    "kind": EntryKind.PRACTICE,
                    "visibility": Visibility.CLIENT,
                    "skill": "Mindful eating",
                    "instructions": "Ten minutes before dinner",
                    "target_count": 3,
                    "period": PracticePeriod.WEEK,
                    "starts_on": at.date(),
                },
            )


def _goal_state(target_date: date) -> dict:
    return {
        "title": "Eat three meals a day",
        "measure": "Meals eaten",
        "unit": "meals per day",
        "baseline": "1",
        "target": "3",
        "direction": "up",
        "target_date": target_date.isoformat(),
        "owner": "Lead",
        "status": "active",
        "achievement": "in_progress",
    }


def seed(args: argparse.Namespace, totp_secret: str) -> dict:
    """The practice; returns the ids the pages need and the counts of what was written."""
    rng = random.Random(14)
    now = utcnow().replace(microsecond=0)
    year_ago = now - timedelta(days=365)

    # The two people who log in, through the services (a real password hash, two-factor).
    lead = create_user(
        email=LEAD_EMAIL,
        password=PASSWORD,
        role=Role.PROVIDER,
        display_name="Lena Lead",
        discipline=Discipline.THERAPIST,
    )
    portal_user = create_user(
        email=CLIENT_EMAIL, password=PASSWORD, role=Role.CLIENT, display_name="Casey Client"
    )
    db.session.flush()
    two_factor.enrol_known_secret(user=lead, secret=totp_secret)
    db.session.commit()

    provider_rows = [
        {
            "email": f"provider{i}@bench.example.org",
            "password_hash": "!",  # never logs in
            "role": Role.PROVIDER,
            "display_name": f"Provider {i}",
            "discipline": DISCIPLINES[i % len(DISCIPLINES)],
            "created_at": year_ago,
        }
        for i in range(args.providers - 1)
    ]
    providers = list(
        zip(
            _bulk_ids(User, provider_rows),
            [row["discipline"] for row in provider_rows],
            strict=True,
        )
    )

    # Clients: the first `caseload` are led by the lead; the measured record is the first.
    big = 1 if args.one_record_entries else 0
    n_clients = args.clients + big

    def led_by_lead(c: int) -> bool:
        return c < args.caseload or (big and c == n_clients - 1)

    client_rows = []
    for c in range(n_clients):
        created = year_ago + timedelta(days=rng.uniform(0, 200))
        client_rows.append(
            {
                "full_name": f"Client{c} Benchmark" if c else "Alex Measured",
                "level_of_care": LevelOfCare.OUTPATIENT_WEEKLY,
                "created_by_id": lead.id if led_by_lead(c) else providers[c % len(providers)][0],
                "created_at": created,
                "last_activity_at": now - timedelta(minutes=c),
                "user_id": portal_user.id if c == 0 else None,
            }
        )
    client_ids = _bulk_ids(Client, client_rows)

    teams: list[list[tuple[int, str]]] = []
    for c in range(n_clients):
        size = rng.randint(3, 5)
        others = rng.sample(providers, size)
        if led_by_lead(c):
            others[0] = (lead.id, Discipline.THERAPIST)
        teams.append(others)
    member_rows = [
        {
            "client_id": client_id,
            "provider_id": provider_id,
            "discipline": discipline,
            "is_lead": k == 0,
            "status": MemberStatus.ACTIVE,
            "started_at": row["created_at"],
            "added_by_id": team[0][0],
        }
        for client_id, row, team in zip(client_ids, client_rows, teams, strict=True)
        for k, (provider_id, discipline) in enumerate(team)
    ]
    member_ids = _bulk_ids(CareTeamMember, member_rows)

    # Who joined (care_team_changes + team entries) and the level of care (+ its entry).
    change_rows = [
        {
            "client_id": m["client_id"],
            "member_id": member_id,
            "change": TeamChange.ADDED,
            "actor_id": m["added_by_id"],
            "created_at": m["started_at"],
        }
        for member_id, m in zip(member_ids, member_rows, strict=True)
    ]
    change_ids = _bulk_ids(CareTeamChange, change_rows)
    writer = EntryWriter()
    for change_id, row in zip(change_ids, change_rows, strict=True):
        writer.add(
            TeamEntry,
            {
                "kind": EntryKind.TEAM,
                "client_id": row["client_id"],
                "author_id": row["actor_id"],
                "created_at": row["created_at"],
                "change_id": change_id,
            },
        )
    level_rows = [
        {
            "client_id": client_id,
            "level": LevelOfCare.OUTPATIENT_WEEKLY,
            "effective_date": row["created_at"].date(),
            "reason": "Assessment",
            "changed_by_id": team[0][0],
            "created_at": row["created_at"],
        }
        for client_id, row, team in zip(client_ids, client_rows, teams, strict=True)
    ]
    level_ids = _bulk_ids(LevelOfCareChange, level_rows)
    for level_id, row in zip(level_ids, level_rows, strict=True):
        writer.add(
            LevelOfCareEntry,
            {
                "kind": EntryKind.LEVEL_OF_CARE,
                "client_id": row["client_id"],
                "author_id": row["changed_by_id"],
                "created_at": row["created_at"],
                "change_id": level_id,
            },
        )

    # Two goals per client, one shared with the client; some of the lead's are overdue.
    goal_rows = []
    for c, (client_id, row, team) in enumerate(zip(client_ids, client_rows, teams, strict=True)):
        for g in range(2):
            overdue = c % 7 == 3 and g == 1
            goal_rows.append(
                {
                    "client_id": client_id,
                    "owner_id": team[g % len(team)][0] if not overdue else team[0][0],
                    "created_by_id": team[0][0],
                    "title": ["Eat three meals a day", "Sleep seven hours"][g],
                    "description": "Agreed at the team meeting",
                    "measure": ["Meals eaten", "Hours slept"][g],
                    "unit": ["meals per day", "hours"][g],
                    "baseline": Decimal([1, 4][g]),
                    "target": Decimal([3, 7][g]),
                    "direction": GoalDirection.UP,
                    "target_date": (now + timedelta(days=-5 if overdue else 60)).date(),
                    "status": GoalStatus.ACTIVE,
                    "shared_with_client": g == 0,
                    "created_at": row["created_at"],
                    "updated_at": row["created_at"],
                    "version": 1,
                }
            )
    goal_ids = _bulk_ids(Goal, goal_rows)
    for goal_id, row in zip(goal_ids, goal_rows, strict=True):
        writer.add(
            GoalEvent,
            {
                "kind": EntryKind.GOAL,
                "client_id": row["client_id"],
                "author_id": row["created_by_id"],
                "created_at": row["created_at"],
                "visibility": Visibility.CLIENT if row["shared_with_client"] else Visibility.TEAM,
                "goal_id": goal_id,
                "summary": "created",
                "state": _goal_state(row["target_date"]),
            },
        )
    writer.flush()

    # The rest of the entries, spread over the clients; the measured record gets its own
    # number, the optional big record (the last client) its own.
    fixed = writer.written
    plain = [c for c in range(n_clients) if c != 0 and not (big and c == n_clients - 1)]
    remaining = max(0, args.entries - fixed - args.record_entries)
    per_client = remaining // max(len(plain), 1)
    sizes = {c: per_client for c in plain}
    sizes[0] = args.record_entries
    if big:
        sizes[n_clients - 1] = args.one_record_entries
    for c, n in sizes.items():
        record = Record(
            client_id=client_ids[c],
            members=teams[c],
            created=client_rows[c]["created_at"],
            goal_ids=goal_ids[2 * c : 2 * c + 2],
        )
        for model, row in _entries_for(record, n, now, rng):
            writer.add(model, row)
    writer.flush()

    # Practice logs of the client's assignments (adherence on the timeline and the portal).
    assignments = db.session.execute(
        select(PracticeAssignment.id, PracticeAssignment.client_id, PracticeAssignment.starts_on)
    ).all()
    author_of = {client_ids[c]: teams[c][0][0] for c in range(n_clients)}
    log_rows = [
        {
            "assignment_id": assignment_id,
            "client_id": client_id,
            "logged_by_id": author_of[client_id],
            "practised_on": starts_on + timedelta(days=d),
            "rating": 4,
            "reflection": "",
        }
        for assignment_id, client_id, starts_on in assignments
        for d in range(0, 14, 3)
    ]
    _bulk(PracticeLog, log_rows)

    # Acknowledgements: every member but the author saw two thirds of the medication
    # changes and urgent notes (the rest feed Needs my attention).
    for ack_model, column, entry_model in (
        (MedicationAck, "change_id", MedicationChange),
        (NoteAck, "note_id", Note),
    ):
        seen = (
            select(entry_model.id, CareTeamMember.provider_id, entry_model.created_at)
            .join(
                CareTeamMember,
                and_(
                    CareTeamMember.client_id == entry_model.client_id,
                    CareTeamMember.provider_id != entry_model.author_id,
                ),
            )
            .where(entry_model.id % 3 != 0)
        )
        if entry_model is Note:
            seen = seen.where(Note.urgent.is_(True))
        db.session.execute(
            insert(ack_model.__table__).from_select([column, "user_id", "acknowledged_at"], seen)
        )
    db.session.commit()
    # A live database has planner statistics; freshly bulk-loaded tables do not yet.
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return {
        "client_id": client_ids[0],
        "big_client_id": client_ids[-1] if big else None,
        "goal_client_id": client_ids[0],
        "clients": n_clients,
        "providers": args.providers,
        "members": len(member_rows),
        "entries": db.session.scalar(select(func.count()).select_from(Entry)),
        "practice_logs": len(log_rows),
    }


# -- the bare page --------------------------------------------------------------------------

BARE_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ rows[0].full_name if rows }}</title>
</head><body><main><h1>Timeline</h1><ol>
{% for row in rows %}<li id="e{{ row.id }}"><h2>{{ row.kind }} by {{ row.author }}</h2>
<time datetime="{{ row.created_at.isoformat() }}">{{ row.created_at.strftime("%d %b %Y %H:%M") }}
</time><p>{{ row.body or "" }}</p></li>
{% endfor %}</ol></main></body></html>
"""


def bare_app(database_url: str | None = None, client_id: int | None = None) -> Flask:
    """A bare Flask + SQLAlchemy + Jinja app: one page listing 20 rows of one client.

    Its own minimal tables, engine and session (no careteam code); one query per request,
    a compiled template from a loader (cached as any real page's), no login.
    """
    database_url = database_url or os.environ["BENCH_BARE_DATABASE_URL"]
    client_id = client_id or int(os.environ["BENCH_BARE_CLIENT_ID"])
    app = Flask("bare")
    app.jinja_loader = DictLoader({"rows.html": BARE_TEMPLATE})
    metadata = MetaData()
    users = Table(
        "users", metadata, Column("id", Integer, primary_key=True), Column("display_name", String)
    )
    clients = Table(
        "clients", metadata, Column("id", Integer, primary_key=True), Column("full_name", String)
    )
    entries = Table(
        "entries",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("kind", String),
        Column("client_id", ForeignKey("clients.id")),
        Column("author_id", ForeignKey("users.id")),
        Column("created_at", DateTime),
        Column("superseded_at", DateTime),
    )
    notes = Table("notes", metadata, Column("id", ForeignKey("entries.id")), Column("body", Text))
    query = (
        select(
            entries.c.id,
            entries.c.kind,
            entries.c.created_at,
            users.c.display_name.label("author"),
            clients.c.full_name,
            notes.c.body,
        )
        .join(users, users.c.id == entries.c.author_id)
        .join(clients, clients.c.id == entries.c.client_id)
        .outerjoin(notes, notes.c.id == entries.c.id)
        .where(entries.c.client_id == client_id, entries.c.superseded_at.is_(None))
        .order_by(entries.c.created_at.desc(), entries.c.id.desc())
        .limit(20)
    )
    engine = create_engine(database_url)

    @app.get("/")
    def rows():
        with Session(engine) as session:
            found = session.execute(query).all()
        return render_template("rows.html", rows=found)

    app.extensions["bare_engine"] = engine
    return app


# -- servers, login, wrk --------------------------------------------------------------------


def server_env(extra: dict[str, str]) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in PLAIN_ENV and not key.startswith(("CARETEAM_", "FLASK_", "BENCH_"))
    }
    env.update(extra, PYTHONPATH=str(REPO_ROOT), PYTHONUNBUFFERED="1")
    return env


def start_gunicorn(
    app_spec: str, env: dict, workers: int, tmp: Path, name: str
) -> tuple[subprocess.Popen, str]:
    """gunicorn on 127.0.0.1 with `workers` sync workers; returns it and its base URL.

    Its control socket is off and its heartbeat files are in `tmp`: by default gunicorn
    opens a control socket under $HOME/.gunicorn.
    """
    port = free_port()
    log_path = tmp / f"gunicorn-{name}.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        app_spec,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--worker-tmp-dir",
        str(tmp),
        "--no-control-socket",
        "--chdir",
        str(REPO_ROOT),
        "--error-logfile",
        str(log_path),
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(base + "/healthz" if name == "careteam" else base + "/", timeout=5)
            return process, base
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(
                    f"gunicorn ({name}) did not start:\n{log_path.read_text()[-3000:]}"
                ) from None
            time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _csrf(response: requests.Response) -> str:
    match = CSRF_RE.search(response.text)
    if not match:
        raise RuntimeError(f"no CSRF token on {response.url} ({response.status_code})")
    return match.group(1)


def login(base: str, email: str, totp_secret: str | None) -> requests.Session:
    """Log in through the real forms: the password, then (if asked) a current TOTP code."""
    http = requests.Session()
    page = http.get(base + "/login", timeout=10)
    response = http.post(
        base + "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": _csrf(page), "time_zone": ""},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 302:
        raise RuntimeError(f"login of {email} refused ({response.status_code})")
    if response.headers["Location"].endswith("/login/two-factor"):
        if totp_secret is None:
            raise RuntimeError(f"{email} was asked for a two-factor code")
        page = http.get(base + "/login/two-factor", timeout=10)
        response = http.post(
            base + "/login/two-factor",
            data={"code": pyotp.TOTP(totp_secret).now(), "csrf_token": _csrf(page)},
            allow_redirects=False,
            timeout=30,
        )
        if response.status_code != 302 or "two-factor" in response.headers["Location"]:
            raise RuntimeError(f"two-factor code of {email} refused ({response.status_code})")
    return http


def cookie_header(http: requests.Session | None) -> str:
    if http is None:
        return ""
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


def check_page(url: str, http: requests.Session | None, marker: str) -> None:
    """The page answers 200 itself (no redirect to the login) and shows what it should."""
    response = (http or requests).get(url, allow_redirects=False, timeout=30)
    if response.status_code != 200 or marker not in response.text:
        raise RuntimeError(
            f"{url} answered {response.status_code} "
            f"{response.headers.get('Location', '')} (looking for {marker!r})"
        )


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _millis(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * _UNITS[unit]


@dataclass
class WrkResult:
    rps: float
    p50: float
    p99: float
    requests: int
    errors: str


def run_wrk(url: str, cookie: str, args: argparse.Namespace, seconds: int) -> WrkResult:
    # A 30 s timeout instead of wrk's 2 s: a slow page is measured, not dropped.
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--latency"]
    command += ["--timeout", "30s"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _millis(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _millis(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = "; ".join(
        line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line
    )
    return WrkResult(rps, p50, p99, total, errors)


def count_statements(app: Flask, engine, path: str, cookie: str) -> int:
    """SQL statements of one GET of `path` in this process (after one warm-up request)."""
    client = app.test_client()
    for part in cookie.split("; "):
        if part:
            name, value = part.split("=", 1)
            client.set_cookie(name, value)
    client.get(path)
    statements = 0

    def count(*_args) -> None:
        nonlocal statements
        statements += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    if response.status_code != 200:
        raise RuntimeError(f"in-process GET {path} answered {response.status_code}")
    return statements


@dataclass
class Page:
    name: str
    path: str
    who: str  # "lead", "client" or "" (no login)
    marker: str


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        print(WRK_INSTALL, file=sys.stderr)
        return 2
    secret = secrets.token_urlsafe(32)
    totp_secret = pyotp.random_base32()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="careteam-bench-")))
        redis_server = stack.enter_context(RedisServer())
        if args.backend == "postgresql":
            database_url = stack.enter_context(PostgresServer(dbname="careteam_bench")).url
        else:
            database_url = f"sqlite:///{tmp / 'bench.sqlite'}"
        config = {
            "SECRET_KEY": secret,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_server.url,
            "ALERT_RELAY": "off",
            "INVITATION_RELAY": "off",
            "SESSION_COOKIE_SECURE": False,  # plain HTTP on loopback
        }
        app = create_app(config)
        stack.callback(app.extensions["celery"].close)
        with app.app_context():
            # The schema as production gets it: the migrations, never create_all.
            upgrade(directory=str(REPO_ROOT / "migrations"))
            started = time.perf_counter()
            seeded = seed(args, totp_secret)
            print(
                f"backend {args.backend}: {seeded['clients']} clients, {seeded['providers']} "
                f"providers, {seeded['members']} team memberships, {seeded['entries']} entries "
                f"({args.record_entries} on the measured record), "
                f"{seeded['practice_logs']} practice logs; seeded in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
            engine = db.engine

        env = server_env(
            {
                "SECRET_KEY": secret,
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_server.url,
                "CARETEAM_ALERT_RELAY": "off",
                "CARETEAM_INVITATION_RELAY": "off",
                "CARETEAM_SESSION_COOKIE_SECURE": "false",
                "BENCH_BARE_DATABASE_URL": database_url,
                "BENCH_BARE_CLIENT_ID": str(seeded["client_id"]),
            }
        )
        careteam, base = start_gunicorn("wsgi:app", env, args.workers, tmp, "careteam")
        stack.callback(stop, careteam)
        bare, bare_base = start_gunicorn(
            "benchmarks.web:bare_app()", env, args.workers, tmp, "bare"
        )
        stack.callback(stop, bare)

        sessions = {
            "lead": login(base, LEAD_EMAIL, totp_secret),
            "client": login(base, CLIENT_EMAIL, None),
            "": None,
        }
        client_id = seeded["client_id"]
        pages = [
            Page("bare Flask + SQLAlchemy + Jinja, 20 rows", "/", "", "<ol>"),
            Page("client timeline (lead)", f"/clients/{client_id}", "lead", "Alex Measured"),
            Page("My clients + Needs my attention", "/clients/", "lead", "Needs my attention"),
            Page("goals page with charts", f"/clients/{client_id}/goals/", "lead", "<svg"),
            Page("portal home (client)", "/portal/", "client", "Alex"),
        ]
        if seeded["big_client_id"]:
            pages.append(
                Page(
                    f"client timeline, {args.one_record_entries:,} entries",
                    f"/clients/{seeded['big_client_id']}",
                    "lead",
                    "Client",
                )
            )

        bare_flask = bare_app(database_url, client_id)
        careteam_app = create_app(config)
        # The in-process requests' log lines would drown the figures.
        logging.getLogger("careteam.request").setLevel(logging.WARNING)
        with careteam_app.app_context():
            careteam_engine = db.engine
        results = []
        for page in pages:
            url = (bare_base if page.who == "" else base) + page.path
            http = sessions[page.who]
            check_page(url, http, page.marker)
            run_wrk(url, cookie_header(http), args, 2)  # warm-up
            result = run_wrk(url, cookie_header(http), args, args.duration)
            check_page(url, http, page.marker)  # still logged in, still the page
            if page.who:
                # No app context held here: each request gets its own, as under gunicorn.
                statements = count_statements(
                    careteam_app, careteam_engine, page.path, cookie_header(http)
                )
            else:
                statements = count_statements(
                    bare_flask, bare_flask.extensions["bare_engine"], page.path, ""
                )
            results.append((page, result, statements))
            print(
                f"  {page.name}: {result.rps:.1f} req/s, p50 {result.p50:.1f} ms, "
                f"p99 {result.p99:.1f} ms, {statements} SQL statements"
                + (f" [{result.errors}]" if result.errors else ""),
                flush=True,
            )

        bare_rps = results[0][1].rps
        print(
            f"\n{args.backend}, gunicorn {args.workers} sync workers, "
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s "
            "--latency --timeout 30s\n"
        )
        print(f"{'page':<44} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x bare':>7} {'SQL':>4}")
        for page, result, statements in results:
            print(
                f"{page.name:<44} {result.rps:>8.1f} {result.p50:>8.1f} {result.p99:>8.1f} "
                f"{result.rps / bare_rps:>7.2f} {statements:>4}"
                + (f"  {result.errors}" if result.errors else "")
            )
        careteam_engine.dispose()
        bare_flask.extensions["bare_engine"].dispose()
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
