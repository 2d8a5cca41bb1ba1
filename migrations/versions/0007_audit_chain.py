"""Audit hash chain: request id, seq and row_hash on audit events; append-only trigger.

Also an index on (action, occurred_at) for the admin viewer's action filter and list.

Rows are inserted unsealed (seq and row_hash NULL); careteam.audit_chain.seal() later gives
each one its place in the chain. Existing rows stay unsealed until the first seal, which
chains them in id order. On PostgreSQL a trigger refuses UPDATE (except that one-time
sealing), DELETE and TRUNCATE of audit_events whoever sends it; SQLite relies on the
ORM guard and on the hash chain to detect changes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# Copied from careteam/audit.py (PG_APPEND_ONLY_SQL) as of this revision; a migration
# must not change when the application code does.
PG_FUNCTION = """CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger
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
$$"""
PG_TRIGGERS = (
    """CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
    """CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()""",
)


def upgrade():
    # SQLite copies the table here (new UNIQUE and CHECK constraints); nothing references
    # audit_events, so the copy is safe with foreign keys on.
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('row_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_seq'), ['seq'])
        batch_op.create_check_constraint(
            op.f('ck_audit_events_sealed_together'), '(seq IS NULL) = (row_hash IS NULL)'
        )
        batch_op.create_index(
            'ix_audit_events_action_occurred', ['action', 'occurred_at'], unique=False
        )
        batch_op.create_index(
            'ix_audit_events_unsealed',
            ['id'],
            unique=False,
            sqlite_where=sa.text('seq IS NULL'),
            postgresql_where=sa.text('seq IS NULL'),
        )
    # The model has no server default; the column had one only to fill existing rows.
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('request_id', server_default=None)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        for statement in PG_TRIGGERS:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events')
        op.execute('DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events')
        op.execute('DROP FUNCTION IF EXISTS audit_events_append_only()')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_unsealed')
        batch_op.drop_index('ix_audit_events_action_occurred')
        batch_op.drop_constraint(op.f('ck_audit_events_sealed_together'), type_='check')
        batch_op.drop_constraint(batch_op.f('uq_audit_events_seq'), type_='unique')
        batch_op.drop_column('row_hash')
        batch_op.drop_column('seq')
        batch_op.drop_column('request_id')
