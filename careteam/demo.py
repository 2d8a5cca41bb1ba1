"""Demo accounts and records for `seed-demo`: realistic, obviously fictional."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from careteam.alerts import services as alerts
from careteam.auth import two_factor
from careteam.auth.models import User
from careteam.auth.services import create_user
from careteam.clients import services as clients
from careteam.clients.models import CareTeamMember
from careteam.digests import services as digests
from careteam.enums import Discipline, LevelOfCare, Role
from careteam.extensions import db, utcnow
from careteam.goals import demo as goals_demo
from careteam.medications import demo as medications_demo
from careteam.nutrition import demo as nutrition_demo
from careteam.practice import demo as practice_demo
from careteam.record import demo as record_demo
from careteam.record import services as record_services
from careteam.record.models import Entry, LevelOfCareEntry, RecordVisit

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - public on purpose, printed at start  # nosec B105
# DEMO ONLY, public on purpose: the demo admin's two-factor secret, printed with the logins
# (admins always need two-factor). seed-demo refuses outside debug mode without a flag.
DEMO_TOTP_SECRET = "CARETEAMDEMOADMINCARETEAMDEMO234"  # noqa: S105  # nosec B105  # public demo

ACCOUNTS = [
    ("admin@demo.careteam.example", Role.ADMIN, "Morgan Admin", None, ""),
    (
        "therapist@demo.careteam.example",
        Role.PROVIDER,
        "Dana Okafor",
        Discipline.THERAPIST,
        "LCPC",
    ),
    (
        "psychiatrist@demo.careteam.example",
        Role.PROVIDER,
        "Dr. Priya Raman",
        Discipline.PSYCHIATRIST,
        "MD",
    ),
    (
        "dietitian@demo.careteam.example",
        Role.PROVIDER,
        "Jordan Lee",
        Discipline.DIETITIAN,
        "RD, CEDS",
    ),
    ("alex@demo.careteam.example", Role.CLIENT, "Alex Rivera", None, ""),
    ("sam@demo.careteam.example", Role.CLIENT, "Sam Chen", None, ""),
]


def seed() -> None:
    """Create the demo accounts, two clients and their shared teams."""
    users: dict[str, User] = {}
    for email, role, name, discipline, credentials in ACCOUNTS:
        users[email.split("@")[0]] = create_user(
            email=email,
            password=DEMO_PASSWORD,
            role=role,
            display_name=name,
            discipline=discipline,
            credentials=credentials,
        )
    two_factor.enrol_known_secret(user=users["admin"], secret=DEMO_TOTP_SECRET)
    therapist, psychiatrist, dietitian = (
        users["therapist"],
        users["psychiatrist"],
        users["dietitian"],
    )
    therapist.share_email = True
    therapist.phone = "+1 555 0100 x12"
    therapist.share_phone = True
    therapist.practice_name = "Lakeside Counseling"
    psychiatrist.practice_name = "Northside Psychiatry"
    dietitian.share_email = True
    dietitian.practice_name = "Nourish Nutrition"
    for user in users.values():  # accounts as old as the record (digests: see the end)
        user.created_at = utcnow() - timedelta(weeks=6, days=1)
    db.session.commit()

    today = date.today()
    alex = clients.create_client(
        actor=therapist,
        full_name="Alex Rivera",
        preferred_name="Alex",
        pronouns="they/them",
        level_of_care=LevelOfCare.INTENSIVE_OUTPATIENT,
        effective_date=today - timedelta(days=42),
    )
    clients.add_member(
        actor=therapist, client=alex, email=psychiatrist.email, discipline=Discipline.PSYCHIATRIST
    )
    clients.add_member(
        actor=therapist, client=alex, email=dietitian.email, discipline=Discipline.DIETITIAN
    )
    clients.change_level_of_care(
        actor=therapist,
        client=alex,
        level=LevelOfCare.OUTPATIENT_WEEKLY,
        effective_date=today - timedelta(days=7),
        reason="Completed the IOP programme; stepping down to weekly sessions.",
    )
    clients.link_portal_account(actor=therapist, client=alex, email=users["alex"].email)

    sam = clients.create_client(
        actor=psychiatrist,
        full_name="Samuel Chen",
        preferred_name="Sam",
        pronouns="he/him",
        level_of_care=LevelOfCare.OUTPATIENT_BIWEEKLY,
        effective_date=today - timedelta(days=30),
    )
    clients.add_member(
        actor=psychiatrist, client=sam, email=therapist.email, discipline=Discipline.THERAPIST
    )
    clients.link_portal_account(actor=psychiatrist, client=sam, email=users["sam"].email)
    _backdate_setup(alex, weeks=6)
    _backdate_setup(sam, weeks=4)

    providers = {"therapist": therapist, "psychiatrist": psychiatrist, "dietitian": dietitian}
    record_demo.seed_demo(alex, providers)
    medications_demo.seed_demo(alex, psychiatrist, [therapist, dietitian])
    goals_demo.seed_demo(alex, therapist, dietitian)
    nutrition_demo.seed_demo(alex, dietitian)
    practice_demo.seed_demo(alex, therapist, users["alex"])
    record_services.post_note(
        actor=psychiatrist,
        client=sam,
        title="First visit",
        body="Sam was referred for low mood. Started a sleep diary; medication not needed now.",
    )
    # The therapist last opened Alex's record four days ago: newer entries show as new.
    db.session.add(
        RecordVisit(
            user_id=therapist.id, client_id=alex.id, last_seen_at=utcnow() - timedelta(days=4)
        )
    )
    # The backdated history is not news: it alerts nobody, and each first digest covers
    # the last day only, as if the practice had used CareTeam all along.
    now = utcnow()
    alerts.settle_unsent(now)
    digests.mark_covered(user_ids=[u.id for u in users.values()], until=now - timedelta(days=1))
    db.session.commit()


def _backdate_setup(client, *, weeks: int) -> None:
    """Move a demo team's formation back in time, so the record reads like weeks of care."""
    start = utcnow() - timedelta(weeks=weeks)
    for member in db.session.scalars(
        select(CareTeamMember).where(CareTeamMember.client_id == client.id)
    ):
        member.started_at = start
    for entry in db.session.scalars(
        select(Entry).where(Entry.client_id == client.id, Entry.kind == "team")
    ):
        entry.created_at = start
    for entry in db.session.scalars(
        select(LevelOfCareEntry).where(LevelOfCareEntry.client_id == client.id)
    ):
        when = datetime.combine(entry.change.effective_date, time(9), UTC)
        entry.created_at = entry.change.created_at = max(start, when)
    client.created_at = start
    db.session.commit()


def logins_text() -> str:
    lines = ["Demo logins (password for all: " + DEMO_PASSWORD + "):"]
    for email, role, name, discipline, _ in ACCOUNTS:
        what = discipline.label.lower() if discipline else role.value
        lines.append(f"  {email:<34} {what:<14} {name}")
    lines += [
        "Two-factor (DEMO ONLY - this secret is public; never use the demo in production):",
        f"  the admin's authenticator key is {DEMO_TOTP_SECRET}; add it to an authenticator",
        "  app, or print the current code with:",
        f"  .venv/bin/python -c \"import pyotp; print(pyotp.TOTP('{DEMO_TOTP_SECRET}').now())\"",
        "  Providers: optional under `make run`, which sets",
        "  CARETEAM_TWO_FACTOR_REQUIRED_FOR_PROVIDERS=false; elsewhere they set it up at their",
        "  first login. Clients: optional.",
    ]
    return "\n".join(lines)
