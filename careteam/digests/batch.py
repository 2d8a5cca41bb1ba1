"""Preparing a claimed batch of digests: what each digest does (skip, wait, or go out
with which content), decided in a fixed number of queries whatever the batch's size.

Nothing is written here (but a missing preference, created on first use): delivery.py
writes the whole plan in a few statements, then sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import contains_eager

from careteam.digests.content import DigestContent, assemble
from careteam.digests.entries import Window, entries_for
from careteam.digests.leases import COVERS
from careteam.digests.models import Digest, DigestPreference
from careteam.digests.preferences import preference_for
from careteam.enums import DigestFrequency, DigestStatus
from careteam.extensions import db, utcnow


@dataclass(frozen=True)
class Built:
    """A digest to send, with the plain values its record needs once the ORM objects
    have expired (every commit of the batch expires them)."""

    digest: Digest
    attempts: int
    user_id: int
    window_end: datetime
    content: DigestContent


@dataclass
class Plan:
    built: list[Built] = field(default_factory=list)
    starts: dict[int, datetime] = field(default_factory=dict)  # digest id -> window start
    skipped: list[int] = field(default_factory=list)
    deferred: list[tuple[int, int]] = field(default_factory=list)  # (id, attempts)
    broken: list[tuple[int, int, BaseException]] = field(default_factory=list)

    def extend(self, other: Plan) -> None:
        self.built += other.built
        self.starts.update(other.starts)
        self.skipped += other.skipped
        self.deferred += other.deferred
        self.broken += other.broken


def plan(claimed: dict[int, int]) -> Plan:
    """What to do with each claimed digest ({id: attempts}), in the batch's order.

    Four queries for any number of digests: the digests with their users and preferences,
    the users' other windows, then (entries.entries_for) the providers' clients and the
    entries. A client's digest reads what was shared with them on its own.
    """
    now = utcnow()
    rows = db.session.execute(
        select(Digest, DigestPreference)
        .join(Digest.user)
        .outerjoin(DigestPreference, DigestPreference.user_id == Digest.user_id)
        .where(Digest.id.in_(list(claimed)))
        .options(contains_eager(Digest.user))
        .execution_options(populate_existing=True)
    ).all()
    loaded = {digest.id: (digest, pref) for digest, pref in rows}
    digests = [loaded[i] for i in claimed if i in loaded]
    neighbours = _other_windows({d.user_id for d, _ in digests}, set(claimed), now)

    result = Plan()
    going: list[tuple[Digest, DigestPreference]] = []
    seen: set[int] = set()  # users with a window going out in this batch
    for digest, pref in digests:
        pref = pref or preference_for(digest.user)  # first use: created (rare)
        covered_until, busy = neighbours.get(digest.user_id, (None, False))
        if not digest.user.active or pref.frequency == DigestFrequency.OFF:
            result.skipped.append(digest.id)
        elif covered_until is not None and covered_until > digest.window_end:
            # A later window was sent (or found nothing new) first: it covers this range.
            result.skipped.append(digest.id)
        elif busy or digest.user_id in seen:
            # Another window of the user is being sent (by another worker, or earlier in
            # this batch): both would start at the same point. This one goes after it.
            result.deferred.append((digest.id, claimed[digest.id]))
        else:
            seen.add(digest.user_id)
            # The end of the previous sent or skipped window: windows are contiguous. The
            # latest of all of them, as no later one exists (or the digest was covered).
            result.starts[digest.id] = covered_until or digest.user.created_at
            going.append((digest, pref))

    windows = [Window(d.user, result.starts[d.id], d.window_end) for d, _ in going]
    for (digest, pref), window, by_client in zip(
        going, windows, entries_for(windows), strict=True
    ):
        content = assemble(window, by_client, pref.detail)
        if not content.total and not pref.send_when_empty:
            result.skipped.append(digest.id)
            continue
        result.built.append(
            Built(digest, claimed[digest.id], digest.user_id, digest.window_end, content)
        )
    return result


def _other_windows(
    user_ids: set[int], claimed: set[int], now: datetime
) -> dict[int, tuple[datetime | None, bool]]:
    """Per user: the end of their latest sent or skipped window, and whether another of
    their windows (not this batch's) is being sent under a live lease. One query.

    Every sent or skipped window of the batch's users is read (the index on (user,
    status, window end) serves it): one row per past digest, a year of dailies is 365.
    """
    covers = Digest.status.in_(COVERS)
    in_flight = (
        (Digest.status == DigestStatus.SENDING)
        & (Digest.lease_until >= now)
        & Digest.id.not_in(list(claimed))
    )
    rows = db.session.execute(
        select(
            Digest.user_id,
            func.max(case((covers, Digest.window_end))),
            func.count(case((in_flight, Digest.id))),
        )
        .where(
            Digest.user_id.in_(list(user_ids)), covers | (Digest.status == DigestStatus.SENDING)
        )
        .group_by(Digest.user_id)
    ).all()
    return {user_id: (until, bool(busy)) for user_id, until, busy in rows}
