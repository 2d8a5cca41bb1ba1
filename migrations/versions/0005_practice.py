"""Practice between sessions: assignments (a kind of timeline entry) and the client's logs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 01:46:09.649084

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

KINDS = ("note", "goal", "goal_progress", "medication", "nutrition", "level_of_care", "team")


def _kinds_check(kinds: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def _set_entry_kinds(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    """Replace the CHECK constraint that keeps entries.kind inside EntryKind.

    PostgreSQL alters the constraint in place. SQLite cannot, and copying `entries` the
    batch way would drop a table that every kind of entry references while foreign keys
    are enforced (and PRAGMA foreign_keys cannot change inside the migration's
    transaction). Only the list of allowed values changes, so SQLite gets the procedure
    its documentation gives for changes that leave the stored rows valid: rewrite the
    table's definition in sqlite_master, in this same transaction.
    """
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_entries_kind_valid"), "entries", type_="check")
        op.create_check_constraint(op.f("ck_entries_kind_valid"), "entries", _kinds_check(new))
        return
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'entries'"
    ).scalar_one()
    before, after = _kinds_check(old), _kinds_check(new)
    if sql.count(before) != 1:
        raise RuntimeError("entries.kind has an unexpected CHECK constraint; migrate by hand")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'entries'",
        (sql.replace(before, after),),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade():
    _set_entry_kinds(KINDS, (*KINDS, "practice"))
    op.create_table('practice_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('skill', sa.String(length=120), nullable=False),
    sa.Column('instructions', sa.Text(), nullable=False),
    sa.Column('target_count', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.CheckConstraint("period IN ('day', 'week')", name=op.f('ck_practice_assignments_period_valid')),
    sa.CheckConstraint("status IN ('active', 'ended')", name=op.f('ck_practice_assignments_status_valid')),
    sa.CheckConstraint('target_count BETWEEN 1 AND 50', name=op.f('ck_practice_assignments_target_count_valid')),
    sa.ForeignKeyConstraint(['id'], ['entries.id'], name=op.f('fk_practice_assignments_id_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practice_assignments'))
    )
    op.create_table('practice_logs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('logged_by_id', sa.Integer(), nullable=False),
    sa.Column('practised_on', sa.Date(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('reflection', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('rating IS NULL OR rating BETWEEN 1 AND 5', name=op.f('ck_practice_logs_rating_valid')),
    sa.ForeignKeyConstraint(['assignment_id'], ['practice_assignments.id'], name=op.f('fk_practice_logs_assignment_id_practice_assignments')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_practice_logs_client_id_clients')),
    sa.ForeignKeyConstraint(['logged_by_id'], ['users.id'], name=op.f('fk_practice_logs_logged_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practice_logs'))
    )
    with op.batch_alter_table('practice_logs', schema=None) as batch_op:
        batch_op.create_index('ix_practice_logs_assignment_practised', ['assignment_id', 'practised_on'], unique=False)
        batch_op.create_index('ix_practice_logs_client_created', ['client_id', 'created_at'], unique=False)


def downgrade():
    # Practice assignments are entries: their rows go with the tables (downgrading loses
    # the practice data, as any downgrade past a feature does).
    with op.batch_alter_table('practice_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_practice_logs_client_created')
        batch_op.drop_index('ix_practice_logs_assignment_practised')

    op.drop_table('practice_logs')
    op.drop_table('practice_assignments')
    op.execute("DELETE FROM entries WHERE kind = 'practice'")
    _set_entry_kinds((*KINDS, "practice"), KINDS)
