"""Sending digests: claim a batch, plan it, send over one connection, record; retries.

A batch costs a fixed number of SQL statements whatever its size (claim, plan, write
the plan), plus one UPDATE and its commit per message sent, recorded before the next
message goes out: a worker killed mid-batch resends at most the one message the server
accepted but this did not yet record. Claiming and the lease are in leases.py, the plan
(who is skipped, who waits, what each digest holds) in batch.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import or_, select, update

from careteam import mail
from careteam.digests import batch, records
from careteam.digests.content import render_message
from careteam.digests.leases import MAX_ATTEMPTS, Lease, LeaseLost, claim_many, lease_seconds
from careteam.digests.models import Digest
from careteam.enums import DigestStatus
from careteam.extensions import db, utcnow


@dataclass
class Outcome:
    sent: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    def add(self, other: Outcome) -> None:
        for name in ("sent", "skipped", "retry", "failed"):
            getattr(self, name).extend(getattr(other, name))

    def released(self, digest_id: int, attempts: int) -> None:
        (self.failed if attempts >= MAX_ATTEMPTS else self.retry).append(digest_id)


@dataclass(frozen=True)
class Ready:
    """A rendered digest and what recording its fate needs, as plain values."""

    id: int
    attempts: int
    user_id: int
    window_end: datetime
    total: int
    message: EmailMessage


def send_batch(digest_ids: list[int]) -> Outcome:
    """Send a batch of digests over one SMTP connection; idempotent per digest.

    The batch is claimed and planned as a whole; a digest that cannot be built or
    rendered is released with a backoff alone and the rest of the batch still goes out.
    """
    outcome = Outcome()
    claimed = _claim_isolated(list(digest_ids))
    if not claimed:
        return outcome  # sent already, exhausted, or another worker holds them
    lease = Lease()
    lease.hold(claimed)
    plan = _plan_isolated(claimed)
    ready: list[Ready] = []
    for built in plan.built:
        try:
            message = render_message(built.digest, built.content)
        except Exception as error:  # one bad digest must not block the batch
            plan.broken.append((built.digest.id, built.attempts, error))
            continue
        ready.append(
            Ready(
                built.digest.id,
                built.attempts,
                built.user_id,
                built.window_end,
                built.content.total,
                message,
            )
        )
    records.write_plan(plan)
    outcome.skipped += plan.skipped
    outcome.retry += [digest_id for digest_id, _ in plan.deferred]
    for digest_id, attempts, error in plan.broken:
        outcome.released(digest_id, attempts)
        records.log_error("digest send failed", digest_id, error)
    going = {r.id for r in ready}
    for digest_id in list(lease.held):
        if digest_id not in going:
            lease.let_go(digest_id)
    if lost := lease.renew_if_due():
        ready = [r for r in ready if r.id not in lost]
    if not ready:
        return outcome
    recorded: set[int] = set()

    def record(index: int, result: BaseException | None) -> None:
        # Committed before the next message goes out: a worker killed mid-batch resends
        # at most the one message the server accepted but this did not yet record.
        item = ready[index]
        recorded.add(index)
        lease.let_go(item.id)
        if result is None:
            records.record_sent(
                digest_id=item.id,
                user_id=item.user_id,
                window_end=item.window_end,
                total=item.total,
            )
            outcome.sent.append(item.id)
        else:
            records.release(item.id, item.attempts, result)
            outcome.released(item.id, item.attempts)
        if lease.renew_if_due():
            raise LeaseLost  # stops send_each before the next message; its QUIT still runs

    try:
        mail.send_each([r.message for r in ready], on_result=record)
    except LeaseLost:
        left = [r.id for i, r in enumerate(ready) if i not in recorded]
        records.hand_back(left, lease)
        outcome.retry.extend(left)
    except OSError as error:  # no connection, or it broke: retry what was not recorded
        for index in range(len(ready)):
            if index not in recorded:
                record(index, error)
    return outcome


def _claim_isolated(digest_ids: list[int]) -> dict[int, int]:
    """claim_many, or, if it fails (e.g. a lost connection), each digest on its own."""
    try:
        return claim_many(digest_ids)
    except Exception as error:
        db.session.rollback()
        if len(digest_ids) == 1:
            records.log_error("digest claim failed", digest_ids[0], error)
            return {}
    claimed: dict[int, int] = {}
    for digest_id in digest_ids:
        claimed.update(_claim_isolated([digest_id]))
    return claimed


def _plan_isolated(claimed: dict[int, int]) -> batch.Plan:
    """The batch's plan; if building it raises, each digest planned alone, so one bad
    digest is released with a backoff and does not sink the others."""
    try:
        return batch.plan(claimed)
    except Exception as error:
        db.session.rollback()
        if len(claimed) == 1:
            ((digest_id, attempts),) = claimed.items()
            return batch.Plan(broken=[(digest_id, attempts, error)])
    whole = batch.Plan()
    for digest_id, attempts in claimed.items():
        whole.extend(_plan_isolated({digest_id: attempts}))
    return whole


def due_retries(batch: int) -> list[tuple[int, list[int]]]:
    """Pending digests to (re)try now: failed attempts whose backoff is over, and windows
    whose task was lost (e.g. published into a broker outage or held by a killed worker).
    Returns (countdown, ids).

    Each window returned is marked as queued for one lease: the ticks that follow while
    workers are still busy do not queue it again (a backlog would otherwise grow with
    copies of the same retry), and a retry task lost in its turn is queued once more after.
    A window held by a dead worker on its last attempt is marked failed, not queued again.
    """
    now = utcnow()
    stale = now - timedelta(minutes=2)
    lease_over = (Digest.status == DigestStatus.SENDING) & (Digest.lease_until < now)
    db.session.execute(
        update(Digest)
        .where(lease_over, Digest.attempts >= MAX_ATTEMPTS)
        .values(
            status=DigestStatus.FAILED,
            lease_until=None,
            last_error="LeaseExpired",
            next_attempt_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    due = or_(
        (Digest.status == DigestStatus.PENDING) & (Digest.next_attempt_at <= now),
        (Digest.status == DigestStatus.PENDING)
        & Digest.next_attempt_at.is_(None)
        & (Digest.created_at < stale),
        # Held by a worker that died (SIGKILL, lost machine): the lease ran out.
        lease_over,
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
                next_attempt_at=now + timedelta(seconds=lease_seconds()),
            )
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return [(0, ids[i : i + batch]) for i in range(0, len(ids), batch)]
