"""The audit log's table and the guards that keep it append-only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DDL,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    event,
    inspect,
    text,
)
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    relationship,
)

from careteam.auth.models import User
from careteam.enums import AuditOutcome, enum_check
from careteam.extensions import db, utcnow


class AuditEvent(db.Model):
    """One access or change: who, what, which client, when, from where, and the outcome.

    Holds identifiers and action names only, never clinical text.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        enum_check("outcome", AuditOutcome),
        Index("ix_audit_events_client_occurred", "client_id", "occurred_at"),
        Index("ix_audit_events_actor_occurred", "actor_id", "occurred_at"),
        Index("ix_audit_events_occurred", "occurred_at"),
        # The viewer's action filter, and its list of actions (a loose index scan).
        Index("ix_audit_events_action_occurred", "action", "occurred_at"),
        # Sealing finds the unsealed tail without scanning the sealed log.
        Index(
            "ix_audit_events_unsealed",
            "id",
            sqlite_where=text("seq IS NULL"),
            postgresql_where=text("seq IS NULL"),
        ),
        CheckConstraint("(seq IS NULL) = (row_hash IS NULL)", name="sealed_together"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[int | None]
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    ip: Mapped[str] = mapped_column(String(45), default="")
    outcome: Mapped[str] = mapped_column(String(10), default=AuditOutcome.ALLOWED)
    # Non-clinical detail such as the role that was refused or the field names changed.
    detail: Mapped[str] = mapped_column(String(255), default="")
    # The request that caused the event (X-Request-ID), to join the audit log to app logs.
    request_id: Mapped[str] = mapped_column(String(64), default="")
    # Set once by seal(): the position in the hash chain and the SHA-256 over this row's
    # content and the previous row's hash. NULL until sealed (see seal()).
    seq: Mapped[int | None] = mapped_column(unique=True, active_history=True)
    row_hash: Mapped[str | None] = mapped_column(String(64), active_history=True)

    actor: Mapped[User | None] = relationship()


# PostgreSQL refuses every change but the one-time sealing, whoever sends it, and any
# DELETE or TRUNCATE. Migration 0007 installs the same SQL; the models install it here
# too so that test databases built with create_all behave like production.
PG_APPEND_ONLY_SQL = (
    """CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- The only change allowed: sealing an unsealed row, its content untouched.
    IF TG_OP = 'UPDATE' THEN
        IF OLD.seq IS NULL AND OLD.row_hash IS NULL
           AND NEW.seq IS NOT NULL AND NEW.row_hash IS NOT NULL
           AND (to_jsonb(NEW) - 'seq' - 'row_hash') = (to_jsonb(OLD) - 'seq' - 'row_hash')
        THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'audit_events is append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$""",
    """CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
    """CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()""",
)

for _statement in PG_APPEND_ONLY_SQL:
    event.listen(
        AuditEvent.__table__,
        "after_create",
        DDL(_statement).execute_if(dialect="postgresql"),
    )


SEAL_COLUMNS = frozenset({"seq", "row_hash"})


def _is_sealing(obj: AuditEvent) -> bool:
    """True when the only change to a loaded row is setting its still empty seal."""
    for attr in inspect(obj).attrs:
        history = attr.history
        if not history.has_changes():
            continue
        if attr.key not in SEAL_COLUMNS:
            return False
        # seq and row_hash keep active history, so the old value is known even if expired.
        if any(old is not None for old in history.deleted) or getattr(obj, attr.key) is None:
            return False
    return True


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, flush_context, instances) -> None:
    """Keep the audit log append-only as far as the application is concerned.

    The one change allowed is sealing: setting seq and row_hash of a row that has
    neither. PostgreSQL enforces the same rule with a trigger for every client.
    """
    for obj in session.deleted:
        if isinstance(obj, AuditEvent):
            raise PermissionError("audit events are append-only")
    for obj in session.dirty:
        if isinstance(obj, AuditEvent) and not _is_sealing(obj):
            raise PermissionError("audit events are append-only")


@event.listens_for(Session, "do_orm_execute")
def _refuse_audit_statements(state: ORMExecuteState) -> None:
    """Refuse DELETE and UPDATE statements on the audit log sent through a session.

    seal() marks its UPDATE with the `audit_seal` execution option; that statement only
    touches rows whose seq is still NULL.
    """
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) != AuditEvent.__tablename__:
        return
    if state.is_delete or not state.execution_options.get("audit_seal"):
        raise PermissionError("audit events are append-only")
