"""The audit log's hash chain: sealing, `careteam verify-audit`, and what tampering shows."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from careteam import audit
from careteam.audit import AuditEvent
from careteam.audit import chain as audit_chain
from careteam.audit.tasks import seal_audit_log
from careteam.config import Config
from careteam.extensions import db
from tests.factories import make_client, make_provider


def add_events(n: int, actor=None) -> list[int]:
    rows = [
        audit.record(
            "view_record", object_type="client", object_id=i, detail=f"row {i}", actor=actor
        )
        for i in range(n)
    ]
    db.session.commit()
    return [row.id for row in rows]


def chain() -> list[tuple[int, int | None]]:
    """(id, seq) of every row, in id order."""
    db.session.expire_all()
    return [
        (row.id, row.seq) for row in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
    ]


def raw(sql: str, **params) -> None:
    """Change the table behind the application's back, as an attacker with SQL access would
    (on PostgreSQL as a superuser who switches the append-only trigger off)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    db.session.execute(text(sql), params)
    db.session.commit()


def verify_cli(runner, *args: str):
    return runner.invoke(args=["careteam", "verify-audit", *args])


def test_seal_chains_committed_rows_in_id_order(app):
    ids = add_events(3)
    assert chain() == [(i, None) for i in ids]
    result = audit_chain.seal()
    assert result.sealed == 3 and result.head_seq == 3
    assert chain() == [(ids[0], 1), (ids[1], 2), (ids[2], 3)]
    rows = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    previous = audit_chain.GENESIS_HASH
    for row in rows:
        expected = audit_chain.chain_hash(
            previous, {c: getattr(row, c) for c in audit_chain.CONTENT_COLUMNS}
        )
        assert row.row_hash == expected and len(expected) == 64
        previous = expected
    # Nothing new: nothing sealed, and the head stays.
    again = audit_chain.seal()
    assert again.sealed == 0 and again.head_seq == 3 and again.head_hash == rows[-1].row_hash


def test_seal_works_in_batches(app):
    ids = add_events(7)
    assert audit_chain.seal(batch_size=3).sealed == 7
    assert chain() == [(row_id, n) for n, row_id in enumerate(ids, start=1)]
    assert audit_chain.verify(batch_size=2).intact


def test_the_hash_covers_every_content_column(app):
    (row_id,) = add_events(1)
    audit_chain.seal()
    row = db.session.execute(select(AuditEvent.__table__).where(AuditEvent.id == row_id)).one()
    base = dict(row._mapping)
    original = audit_chain.chain_hash(audit_chain.GENESIS_HASH, base)
    assert original == base["row_hash"]
    for column in audit_chain.CONTENT_COLUMNS:
        changed = dict(base)
        value = base[column]
        if column == "occurred_at":
            changed[column] = value.replace(microsecond=(value.microsecond + 1) % 1_000_000)
        elif isinstance(value, str):
            changed[column] = value + "x"
        else:
            changed[column] = (value or 0) + 1
        assert audit_chain.chain_hash(audit_chain.GENESIS_HASH, changed) != original, column


def test_verify_audit_passes_on_an_intact_chain(app, runner):
    add_events(4, actor=make_provider())
    result = verify_cli(runner, "--seal")
    assert result.exit_code == 0, result.output
    assert "Sealed events: " in result.output and "Unsealed events: 0." in result.output
    assert "Intact" in result.output and "TAMPERED" not in result.output


def test_verify_audit_counts_unsealed_rows_without_sealing_them(app, runner):
    add_events(2)
    audit_chain.seal()
    add_events(3)
    result = verify_cli(runner)
    assert result.exit_code == 0, result.output
    assert "Unsealed events: 3." in result.output
    assert sum(1 for _, seq in chain() if seq is None) == 3


def test_an_empty_log_is_intact(app, runner):
    result = verify_cli(runner, "--seal")
    assert result.exit_code == 0, result.output
    assert "Intact: 0 event(s)" in result.output


@pytest.mark.parametrize(
    ("column", "value"), [("detail", "nothing happened here"), ("actor_id", None)]
)
def test_a_changed_sealed_row_is_detected_at_its_seq(app, runner, column, value):
    provider = make_provider()
    ids = add_events(5, actor=provider)
    audit_chain.seal()
    seq = dict(chain())[ids[2]]  # the provider's creation was audited too
    raw(f"UPDATE audit_events SET {column} = :value WHERE id = :id", value=value, id=ids[2])
    result = verify_cli(runner)
    assert result.exit_code == 1
    assert f"breaks at seq {seq} (event id {ids[2]})" in result.output
    assert "hash mismatch" in result.output
    assert f"The {seq - 1} event(s) before it are intact." in result.output


def test_a_rehashed_row_breaks_the_next_link(app, runner):
    """Someone who recomputes the changed row's own hash still breaks the row after it."""
    ids = add_events(4)
    audit_chain.seal()
    raw("UPDATE audit_events SET detail = 'forged' WHERE id = :id", id=ids[1])
    first = db.session.execute(select(AuditEvent.__table__).where(AuditEvent.id == ids[0])).one()
    forged = db.session.execute(select(AuditEvent.__table__).where(AuditEvent.id == ids[1])).one()
    new_hash = audit_chain.chain_hash(first.row_hash, forged._mapping)
    raw("UPDATE audit_events SET row_hash = :h WHERE id = :id", h=new_hash, id=ids[1])
    report = audit_chain.verify()
    assert not report.intact
    assert (report.broken_seq, report.broken_id) == (3, ids[2])


def test_a_deleted_row_is_detected_as_a_gap(app, runner):
    ids = add_events(5)
    audit_chain.seal()
    raw("DELETE FROM audit_events WHERE id = :id", id=ids[1])
    result = verify_cli(runner)
    assert result.exit_code == 1
    assert f"breaks at seq 2 (event id {ids[2]})" in result.output
    assert "seq 2 is missing" in result.output


def test_an_unsealed_then_resealed_row_is_detected(app):
    """Clearing a row's seal to have it re-chained at the end leaves a gap where it was."""
    ids = add_events(3)
    audit_chain.seal()
    raw("UPDATE audit_events SET seq = NULL, row_hash = NULL WHERE id = :id", id=ids[0])
    audit_chain.seal()
    report = audit_chain.verify()
    assert (report.broken_seq, report.broken_id) == (1, ids[1])


def test_a_row_committed_late_is_sealed_after_later_ids(app, runner):
    """A row whose id is lower than already sealed rows (its transaction committed late)
    gets the next seq, and the chain stays intact."""
    ids = add_events(3)
    audit_chain.seal()
    # As if a long transaction had taken an id before the others and committed now (0 is
    # below every id either backend hands out, so it cannot collide).
    late_id = 0
    assert min(ids) > late_id
    db.session.add(AuditEvent(id=late_id, action="view_record", detail="late"))
    db.session.commit()
    add_events(1)
    assert audit_chain.seal().sealed == 2
    seqs = dict(chain())
    assert seqs[late_id] == 4
    result = verify_cli(runner)
    assert result.exit_code == 0, result.output


@pytest.mark.backends("postgresql")
def test_concurrent_transactions_seal_in_commit_order(app):
    """A real second transaction holds an uncommitted row while later ids are sealed."""
    with db.engine.connect() as other:
        late_id = other.execute(
            text(
                "INSERT INTO audit_events (occurred_at, action, object_type, ip, outcome,"
                " detail, request_id) VALUES (now(), 'view_record', '', '', 'allowed', '',"
                " '') RETURNING id"
            )
        ).scalar_one()
        ids = add_events(2)
        assert min(ids) > late_id
        assert audit_chain.seal().sealed == 2  # the uncommitted row is invisible
        other.commit()
    assert audit_chain.seal().sealed == 1
    seqs = dict(chain())
    assert seqs[ids[0]] == 1 and seqs[ids[1]] == 2 and seqs[late_id] == 3
    assert audit_chain.verify().intact


def test_the_beat_task_seals(app):
    add_events(2)
    assert seal_audit_log() == 2
    assert all(seq is not None for _, seq in chain())
    schedule = Config.CELERY["beat_schedule"]
    assert any(e["task"] == "careteam.seal_audit_log" for e in schedule.values())


def test_the_app_may_seal_an_unsealed_row_and_nothing_more(app):
    (row_id,) = add_events(1)
    row = db.session.get(AuditEvent, row_id)
    row.seq, row.row_hash = 1, "a" * 64
    db.session.commit()  # sealing an unsealed row is the one allowed change
    row.seq = 2
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()
    db.session.expire_all()
    row = db.session.get(AuditEvent, row_id)
    row.row_hash = "b" * 64
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()


def test_unsealed_content_cannot_be_changed_while_sealing(app):
    (row_id,) = add_events(1)
    row = db.session.get(AuditEvent, row_id)
    row.seq, row.row_hash, row.detail = 1, "a" * 64, "changed"
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()


def test_update_and_delete_statements_through_the_session_are_refused(app):
    add_events(1)
    with pytest.raises(PermissionError):
        db.session.execute(update(AuditEvent).values(detail="x"))
    db.session.rollback()
    with pytest.raises(PermissionError):
        db.session.execute(AuditEvent.__table__.delete())
    db.session.rollback()
    with pytest.raises(PermissionError):
        db.session.execute(update(AuditEvent.__table__).values(seq=5))
    db.session.rollback()
    assert len(chain()) == 1


@pytest.mark.backends("postgresql")
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_events SET detail = 'x'",
        "UPDATE audit_events SET seq = seq + 10 WHERE seq IS NOT NULL",
        "UPDATE audit_events SET seq = NULL, row_hash = NULL WHERE seq IS NOT NULL",
        "UPDATE audit_events SET seq = 99, row_hash = repeat('a', 64), action = 'x'"
        " WHERE seq IS NULL",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ],
)
def test_postgresql_refuses_changes_from_any_client(app, sql):
    add_events(2)
    audit_chain.seal()
    add_events(1)
    before = chain()
    db.session.commit()  # release this session's read locks: TRUNCATE would wait on them
    with db.engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("SET lock_timeout = '5s'"))
        conn.execute(text(sql))
    assert chain() == before


@pytest.mark.backends("postgresql")
def test_postgresql_lets_the_sealer_seal(app):
    (row_id,) = add_events(1)
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_events SET seq = 1, row_hash = repeat('a', 64) WHERE id = :id"),
            {"id": row_id},
        )
    assert chain() == [(row_id, 1)]


def test_events_carry_the_request_id(app, client, auth):
    provider = make_provider()
    record = make_client(provider)
    auth.login(provider.email)
    client.get(f"/clients/{record.id}", headers={"X-Request-ID": "req-abc-123"})
    views = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "view_record"))
    assert [v.request_id for v in views] == ["req-abc-123"]
    logins = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login")).all()
    # Generated when the request brought none.
    assert logins and all(len(e.request_id) == 16 for e in logins)
