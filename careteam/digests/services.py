"""Digest use cases: preferences, dispatching due windows, building and sending digests."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from functools import cache

from flask import current_app, render_template
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, with_polymorphic

from careteam import audit, mail
from careteam.auth.models import User
from careteam.clients.models import CareTeamChange, CareTeamMember, Client
from careteam.digests import schedule
from careteam.digests.models import Digest, DigestMute, DigestPreference
from careteam.enums import (
    DigestDetail,
    DigestFrequency,
    DigestStatus,
    EntryKind,
    MemberStatus,
    Role,
    Visibility,
)
from careteam.extensions import db, utcnow
from careteam.links import external_url, unsubscribe_token
from careteam.record.models import Entry
from careteam.timefmt import zone_of

MAX_ATTEMPTS = 5
DISPATCH_BATCH = 500


def preference_for(user: User) -> DigestPreference:
    """The user's preferences, created with sane defaults on first use."""
    pref = db.session.get(DigestPreference, user.id)
    if pref is None:
        frequency = DigestFrequency.DAILY if user.role == Role.PROVIDER else DigestFrequency.OFF
        pref = DigestPreference(user_id=user.id, frequency=frequency, send_time=time(8, 0))
        pref.user = user
        _reschedule(pref, utcnow())
        db.session.add(pref)
        db.session.flush()
    return pref


def _reschedule(pref: DigestPreference, after: datetime) -> None:
    pref.next_due_at = schedule.next_due(
        frequency=pref.frequency,
        send_time=pref.send_time,
        weekday=pref.weekday,
        zone=zone_of(pref.user),
        after=after,
    )


def save_preferences(*, user: User, time_zone: str | None = None, **values) -> DigestPreference:
    """Save digest preferences and recompute the next due time."""
    pref = preference_for(user)
    for name, value in values.items():
        setattr(pref, name, value)
    if time_zone:
        user.time_zone = time_zone
    pref.updated_at = utcnow()
    _reschedule(pref, utcnow())
    audit.record("update_digest_preferences", object_type="user", object_id=user.id, actor=user)
    db.session.commit()
    return pref


def set_mute(*, user: User, client_id: int, muted: bool) -> None:
    """Leave one client's updates out of the user's digests, or bring them back."""
    row = db.session.scalar(
        select(DigestMute).where(DigestMute.user_id == user.id, DigestMute.client_id == client_id)
    )
    if muted and row is None:
        db.session.add(DigestMute(user_id=user.id, client_id=client_id))
    elif not muted and row is not None:
        db.session.delete(row)
    audit.record(
        "mute_client_in_digest" if muted else "unmute_client_in_digest",
        object_type="client",
        object_id=client_id,
        client_id=client_id,
        actor=user,
    )
    db.session.commit()


def unsubscribe(user: User) -> None:
    """One-click unsubscribe: digests off (immediate alerts are a separate setting)."""
    pref = preference_for(user)
    pref.frequency = DigestFrequency.OFF
    pref.next_due_at = None
    audit.record("unsubscribe_digest", object_type="user", object_id=user.id, actor=user)
    db.session.commit()


def dispatch_due(now: datetime | None = None, user_ids: list[int] | None = None) -> list[int]:
    """Open a digest row for every user whose digest is due; return the new digests' ids.

    The row's window end is the latest scheduled time not after now, so missed schedules
    (a worker or broker outage) coalesce into one digest, and a dispatch repeated within
    the same schedule finds the row already there (unique user and window end).
    """
    now = now or utcnow()
    _adopt_new_providers()
    stmt = (
        select(DigestPreference)
        .join(User, User.id == DigestPreference.user_id)
        .where(
            DigestPreference.frequency != DigestFrequency.OFF,
            DigestPreference.next_due_at <= now,
            User.active.is_(True),
        )
        .options(joinedload(DigestPreference.user))
        .order_by(DigestPreference.next_due_at)
        .limit(DISPATCH_BATCH)
    )
    if user_ids is not None:
        stmt = stmt.where(DigestPreference.user_id.in_(user_ids))
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=DigestPreference)
    created = []
    for pref in db.session.scalars(stmt).unique().all():
        zone = zone_of(pref.user)
        window_end = (
            schedule.latest_due(
                frequency=pref.frequency,
                send_time=pref.send_time,
                weekday=pref.weekday,
                zone=zone,
                at=now,
            )
            or pref.next_due_at
        )
        digest = open_window(pref.user_id, window_end)
        if digest is not None:
            created.append(digest)
        _reschedule(pref, max(now, window_end))
    db.session.commit()
    return created


def _adopt_new_providers() -> None:
    """Providers who never opened their settings get the default daily digest too."""
    users = db.session.scalars(
        select(User)
        .outerjoin(DigestPreference, DigestPreference.user_id == User.id)
        .where(
            DigestPreference.user_id.is_(None),
            User.role == Role.PROVIDER,
            User.active.is_(True),
        )
        .limit(DISPATCH_BATCH)
    ).all()
    for user in users:
        try:
            with db.session.begin_nested():
                preference_for(user)
        except IntegrityError:  # a concurrent dispatch or settings page created it
            pass


def open_window(user_id: int, window_end: datetime) -> int | None:
    """Insert the digest row for a window unless it exists; returns its id if new."""
    digest = Digest(
        user_id=user_id,
        window_end=window_end,
        message_id=make_msgid(domain=_mail_domain()),
    )
    try:
        with db.session.begin_nested():  # rolled back to here on a duplicate window
            db.session.add(digest)
    except IntegrityError:
        return None
    return digest.id


def _mail_domain() -> str:
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    return sender.rsplit("@", 1)[-1].strip(" >") or "careteam.localhost"


def claim(digest_id: int, now: datetime | None = None) -> Digest | None:
    """Take a digest for sending, unless it is done or another worker holds it."""
    now = now or utcnow()
    result = db.session.execute(
        update(Digest)
        .where(
            Digest.id == digest_id,
            or_(
                Digest.status == DigestStatus.PENDING,
                (Digest.status == DigestStatus.SENDING) & (Digest.lease_until < now),
            ),
        )
        .values(
            status=DigestStatus.SENDING,
            lease_until=now + timedelta(seconds=current_app.config["DIGEST_LEASE_SECONDS"]),
            attempts=Digest.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        return None
    return db.session.get(Digest, digest_id, populate_existing=True)


@dataclass
class ClientSection:
    client: Client
    counts: Counter = field(default_factory=Counter)
    entries: list[Entry] = field(default_factory=list)
    url: str = ""


@dataclass
class DigestContent:
    user: User
    start: datetime
    end: datetime
    sections: list[ClientSection]
    detail: str

    @property
    def total(self) -> int:
        return sum(sum(s.counts.values()) for s in self.sections)


def window_start_for(user: User, window_end: datetime) -> datetime:
    """The end of the user's previous sent (or skipped) window: windows are contiguous."""
    previous = db.session.scalar(
        select(func.max(Digest.window_end)).where(
            Digest.user_id == user.id,
            Digest.status.in_([DigestStatus.SENT, DigestStatus.SKIPPED]),
            Digest.window_end < window_end,
        )
    )
    return previous or user.created_at


@cache
def _entries_of_every_kind():
    # Built once: a new polymorphic alias per digest cost more than the query itself and
    # defeated SQLAlchemy's statement cache.
    return with_polymorphic(Entry, "*", flat=True)


def build_content(user: User, start: datetime, end: datetime, detail: str) -> DigestContent:
    """What changed on the user's active teams in (start, end], by others, not muted.

    Two queries whatever the number of entries: the user's clients, then the entries.
    """
    poly = _entries_of_every_kind()
    muted = select(DigestMute.client_id).where(DigestMute.user_id == user.id)
    # Resolved first, so the entries query filters `entries` by client on its index before
    # joining the kinds' tables: as a subquery, PostgreSQL (past join_collapse_limit)
    # joined every entry of the window to its kind's row, then kept the user's.
    client_ids = list(
        db.session.scalars(
            select(CareTeamMember.client_id).where(
                CareTeamMember.provider_id == user.id,
                CareTeamMember.status == MemberStatus.ACTIVE,
                CareTeamMember.client_id.not_in(muted),
            )
        )
    )
    stmt = (
        select(poly)
        .where(
            poly.client_id.in_(client_ids),
            poly.created_at > start,
            poly.created_at <= end,
            poly.author_id != user.id,
            poly.visibility != Visibility.PRIVATE,
            poly.superseded_at.is_(None),
        )
        .options(
            joinedload(poly.author),
            joinedload(poly.client),
            # What full-detail summaries read, loaded with the entries.
            joinedload(poly.GoalEvent.goal),
            joinedload(poly.GoalProgress.goal),
            joinedload(poly.LevelOfCareEntry.change),
            joinedload(poly.TeamEntry.change)
            .joinedload(CareTeamChange.member)
            .joinedload(CareTeamMember.provider),
        )
        .order_by(poly.client_id, poly.created_at)
    )
    sections: dict[int, ClientSection] = {}
    for entry in db.session.scalars(stmt).unique():
        section = sections.setdefault(entry.client_id, ClientSection(client=entry.client))
        section.counts[EntryKind(entry.kind).label] += 1
        if detail == DigestDetail.FULL:
            section.entries.append(entry)
    ordered = sorted(sections.values(), key=lambda s: s.client.full_name)
    for section in ordered:
        section.url = external_url("clients.show", client_id=section.client.id)
    return DigestContent(user=user, start=start, end=end, sections=ordered, detail=detail)


def preview(user: User, now: datetime | None = None) -> DigestContent:
    """What the user's next digest would hold if it were sent now."""
    pref = preference_for(user)
    now = now or utcnow()
    return build_content(user, window_start_for(user, now), now, pref.detail)


def render_message(digest: Digest, content: DigestContent) -> EmailMessage:
    """The digest email: plain text and HTML, absolute links, one-click unsubscribe."""
    user = content.user
    token = unsubscribe_token(user.id)
    unsubscribe_url = external_url("digests.unsubscribe", token=token)
    context = {
        "content": content,
        "user": user,
        "settings_url": external_url("digests.settings"),
        "home_url": external_url("clients.dashboard"),
        "unsubscribe_url": unsubscribe_url,
        "zone": zone_of(user),
    }
    if content.total:
        n = content.total
        subject = f"CareTeam: {n} update{'s' * (n != 1)} on your clients' records"
    else:
        subject = "CareTeam: nothing new on your clients' records"
    message = mail.build_message(
        to=user.email,
        subject=subject,
        text=render_template("email/digest.txt", **context),
        html=render_template("email/digest.html", **context),
    )
    message.replace_header("Message-ID", digest.message_id)
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message


@dataclass
class Outcome:
    sent: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def send_batch(digest_ids: list[int]) -> Outcome:
    """Send a batch of digests over one SMTP connection; idempotent per digest."""
    outcome = Outcome()
    ready: list[tuple[Digest, EmailMessage, int]] = []
    for digest_id in digest_ids:
        digest = claim(digest_id)
        if digest is None:
            continue  # sent already, or another worker holds it
        user = digest.user
        pref = preference_for(user)
        if not user.active or pref.frequency == DigestFrequency.OFF:
            _finish(digest, DigestStatus.SKIPPED, 0)
            outcome.skipped.append(digest.id)
            continue
        start = window_start_for(user, digest.window_end)
        digest.window_start = start
        content = build_content(user, start, digest.window_end, pref.detail)
        if not content.total and not pref.send_when_empty:
            _finish(digest, DigestStatus.SKIPPED, 0)
            outcome.skipped.append(digest.id)
            continue
        ready.append((digest, render_message(digest, content), content.total))
    if not ready:
        return outcome
    recorded: set[int] = set()

    def record(index: int, result: BaseException | None) -> None:
        # Committed before the next message goes out: a worker killed mid-batch resends
        # at most the one message the server accepted but this did not yet record.
        digest, _, total = ready[index]
        recorded.add(index)
        if result is None:
            _finish(digest, DigestStatus.SENT, total)
            outcome.sent.append(digest.id)
        else:
            _release(digest, result)
            (outcome.failed if digest.status == DigestStatus.FAILED else outcome.retry).append(
                digest.id
            )

    try:
        mail.send_each([message for _, message, _ in ready], on_result=record)
    except OSError as error:  # no connection, or it broke: retry what was not recorded
        for index in range(len(ready)):
            if index not in recorded:
                record(index, error)
    return outcome


def _finish(digest: Digest, status: DigestStatus, total: int) -> None:
    digest.status = status
    digest.item_count = total
    digest.lease_until = None
    digest.last_error = ""
    if status == DigestStatus.SENT:
        digest.sent_at = utcnow()
    db.session.commit()


def _release(digest: Digest, error: BaseException) -> None:
    """After a failed attempt: back to pending for a retry, or failed for good."""
    digest.last_error = type(error).__name__[:120]
    digest.lease_until = None
    digest.status = (
        DigestStatus.FAILED if digest.attempts >= MAX_ATTEMPTS else DigestStatus.PENDING
    )
    digest.next_attempt_at = utcnow() + timedelta(seconds=backoff_seconds(digest.attempts))
    db.session.commit()
    current_app.logger.warning(
        "digest send failed", extra={"digest_id": digest.id, "error": digest.last_error}
    )


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter: up to 30 s, 60 s, 120 s... capped at 15 min."""
    import random

    cap = min(15 * 60, 30 * 2 ** max(attempt - 1, 0))
    return random.uniform(cap / 2, cap)  # noqa: S311 - jitter, not security  # nosec B311


def due_retries(batch: int) -> list[tuple[int, list[int]]]:
    """Pending digests to (re)try now: failed attempts whose backoff is over, and windows
    whose task was lost (e.g. published into a broker outage or held by a killed worker).
    Returns (countdown, ids).

    Each window returned is marked as queued for one lease: the ticks that follow while
    workers are still busy do not queue it again (a backlog would otherwise grow with
    copies of the same retry), and a retry task lost in its turn is queued once more after.
    """
    now = utcnow()
    stale = now - timedelta(minutes=2)
    due = or_(
        (Digest.status == DigestStatus.PENDING) & (Digest.next_attempt_at <= now),
        (Digest.status == DigestStatus.PENDING)
        & Digest.next_attempt_at.is_(None)
        & (Digest.created_at < stale),
        # Held by a worker that died (SIGKILL, lost machine): the lease ran out.
        (Digest.status == DigestStatus.SENDING) & (Digest.lease_until < now),
    )
    ids = list(
        db.session.scalars(select(Digest.id).where(due).order_by(Digest.id).limit(batch * 10))
    )
    if ids:
        db.session.execute(
            update(Digest)
            .where(Digest.id.in_(ids), due)
            .values(
                status=DigestStatus.PENDING,
                lease_until=None,
                next_attempt_at=now
                + timedelta(seconds=current_app.config["DIGEST_LEASE_SECONDS"]),
            )
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return [(0, ids[i : i + batch]) for i in range(0, len(ids), batch)]


def stats_since(since: datetime) -> dict[str, int]:
    rows = db.session.execute(
        select(Digest.status, func.count())
        .where(Digest.created_at >= since)
        .group_by(Digest.status)
    )
    return {status: count for status, count in rows}


def recent_failures(limit: int = 20) -> list[Digest]:
    return list(
        db.session.scalars(
            select(Digest)
            .where(Digest.status == DigestStatus.FAILED)
            .options(joinedload(Digest.user))
            .order_by(Digest.created_at.desc())
            .limit(limit)
        )
    )
