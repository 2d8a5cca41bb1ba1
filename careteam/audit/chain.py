"""Seal the audit log into a SHA-256 hash chain and verify it, so tampering shows.

Rows are inserted unsealed (seq and row_hash NULL) by careteam.audit.record() in the
caller's transaction. Reading "the previous row's hash" at insert time would race between
concurrent transactions (and a long transaction commits its row after later ids), so a
single sealer does it afterwards: under a lock, it takes the last sealed row's (seq, hash)
and gives every committed unsealed row, in id order, the next seq and
row_hash = SHA-256(previous hash, canonical content). The chain follows seq, the order of
sealing. Beat runs seal() every minute (careteam.audit.tasks); `flask careteam
verify-audit` recomputes the chain.

Each seal logs the chain head (seq and hash); kept in the log store, those lines let an
operator notice rows removed from the end of the chain or the whole table replaced, which
no chain can show by itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, select, text, update

from careteam.audit.models import AuditEvent
from careteam.extensions import db

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
# Changing the canonical form needs a new version tag (and a verifier that knows both).
CANONICAL_VERSION = "careteam-audit-v1"
# Any fixed 64-bit number; the transaction-scoped advisory lock that serialises sealers.
PG_SEAL_LOCK_KEY = 0x6361726574656131  # "careteam1"

_table = AuditEvent.__table__
CONTENT_COLUMNS = (
    "id",
    "occurred_at",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "client_id",
    "outcome",
    "detail",
    "ip",
    "request_id",
)
_content = [_table.c[name] for name in CONTENT_COLUMNS]


def _iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(row: Mapping[str, Any]) -> bytes:
    """The bytes a row's hash covers: its content as sorted, compact JSON in UTF-8."""
    content = {name: row[name] for name in CONTENT_COLUMNS}
    content["occurred_at"] = _iso_utc(row["occurred_at"])
    content["v"] = CANONICAL_VERSION
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def chain_hash(previous_hash: str, row: Mapping[str, Any]) -> str:
    """SHA-256 over the previous link's hash and this row's canonical content."""
    digest = hashlib.sha256()
    digest.update(previous_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical(row))
    return digest.hexdigest()


def _take_seal_lock() -> None:
    """Serialise sealers until this transaction ends (one chain, never a fork)."""
    bind = db.session.get_bind()
    if bind.dialect.name == "postgresql":
        db.session.execute(
            select(func.pg_advisory_xact_lock(bindparam("key"))), {"key": PG_SEAL_LOCK_KEY}
        )
    else:
        # SQLite has one writer at a time: a write statement as the transaction's first
        # takes the RESERVED lock now (BEGIN IMMEDIATE semantics), so a second sealer
        # waits (busy_timeout) instead of reading a head that is about to change. It
        # matches no row, so it changes nothing.
        db.session.execute(text("UPDATE audit_events SET seq = seq WHERE 1 = 0"))


def _head() -> tuple[int, str]:
    """The last sealed row's (seq, hash), or (0, genesis) for an empty chain."""
    row = db.session.execute(
        select(AuditEvent.seq, AuditEvent.row_hash)
        .where(AuditEvent.seq.is_not(None))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    return (row.seq, row.row_hash) if row else (0, GENESIS_HASH)


@dataclass(frozen=True)
class SealResult:
    """What one seal() run did."""

    sealed: int
    head_seq: int
    head_hash: str


def seal(*, batch_size: int = 1000) -> SealResult:
    """Chain every committed unsealed row, in id order, after the last sealed one.

    Runs its own transactions: one commit per batch, each batch under the seal lock.
    Safe to run concurrently (sealers queue on the lock) and to interrupt (a batch is
    all or nothing).
    """
    if db.session.new or db.session.dirty or db.session.deleted:
        raise RuntimeError("seal() runs its own transactions; commit the caller's work first")
    db.session.commit()  # end any read transaction, so that the lock comes first
    total = 0
    while True:
        _take_seal_lock()
        seq, previous = _head()
        rows = db.session.execute(
            select(*_content).where(_table.c.seq.is_(None)).order_by(_table.c.id).limit(batch_size)
        ).all()
        params = []
        for row in rows:
            seq += 1
            previous = chain_hash(previous, row._mapping)
            params.append({"b_id": row.id, "b_seq": seq, "b_hash": previous})
        if params:
            db.session.execute(
                update(_table)
                .where(_table.c.id == bindparam("b_id"), _table.c.seq.is_(None))
                .values(seq=bindparam("b_seq"), row_hash=bindparam("b_hash")),
                params,
                execution_options={"audit_seal": True},
            )
        db.session.commit()
        total += len(params)
        if len(rows) < batch_size:
            break
    if total:
        # The message carries the head so that the log store keeps an outside anchor.
        log.info("audit log sealed: %d rows, head seq %d hash %s", total, seq, previous)
    return SealResult(sealed=total, head_seq=seq, head_hash=previous)


@dataclass(frozen=True)
class ChainReport:
    """The outcome of verify(): counts, the head, and the first broken link if any."""

    sealed: int
    unsealed: int
    verified: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    broken_id: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_seq is None


def _sealed_rows(batch_size: int) -> Iterator[Any]:
    """Every sealed row in seq order, read in keyset batches (bounded memory)."""
    after = 0
    while True:
        rows = db.session.execute(
            select(*_content, _table.c.seq, _table.c.row_hash)
            .where(_table.c.seq > after)
            .order_by(_table.c.seq)
            .limit(batch_size)
        ).all()
        yield from rows
        if len(rows) < batch_size:
            return
        after = rows[-1].seq


def verify(*, batch_size: int = 5000) -> ChainReport:
    """Walk the chain in seq order, recompute every hash, stop at the first broken link."""
    counts = db.session.execute(
        select(func.count(_table.c.seq), func.count() - func.count(_table.c.seq))
    ).one()
    sealed, unsealed = counts[0] or 0, counts[1] or 0
    expected, previous = 1, GENESIS_HASH
    for row in _sealed_rows(batch_size):
        problem = ""
        if row.seq != expected:
            problem = f"seq {expected} is missing (row deleted?); the chain resumes at {row.seq}"
        elif row.row_hash != chain_hash(previous, row._mapping):
            problem = "hash mismatch: the row's content or its predecessor changed"
        if problem:
            return ChainReport(
                sealed=sealed,
                unsealed=unsealed,
                verified=expected - 1,
                head_seq=expected - 1,
                head_hash=previous,
                broken_seq=expected,
                broken_id=row.id,
                problem=problem,
            )
        previous, expected = row.row_hash, expected + 1
    return ChainReport(
        sealed=sealed,
        unsealed=unsealed,
        verified=expected - 1,
        head_seq=expected - 1,
        head_hash=previous,
    )


@dataclass(frozen=True)
class SealStatus:
    """For the admin page: how far the log is sealed and how much waits."""

    sealed_up_to: int
    unsealed: int


def status() -> SealStatus:
    """Two index-only look-ups: the highest seq and the unsealed count."""
    top = db.session.scalar(select(func.max(_table.c.seq)))
    waiting = db.session.scalar(
        select(func.count()).select_from(_table).where(_table.c.seq.is_(None))
    )
    return SealStatus(sealed_up_to=top or 0, unsealed=waiting or 0)
