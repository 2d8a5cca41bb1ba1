"""Emergency ("break-glass") access: the grants, and outbox alerts that name a grant.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

ENTRY_ID_NOT_NULL = "entry_id INTEGER NOT NULL"
ENTRY_ID_NULL = "entry_id INTEGER"


def _sqlite_rewrite_outbox(before: str, after: str) -> None:
    """Change only the NOT NULL of outbox_alerts.entry_id on SQLite.

    Copying outbox_alerts the batch way would drop a table that alert_deliveries
    references while foreign keys are enforced (see 0005). Dropping a NOT NULL leaves
    every stored row valid, so SQLite's documented writable_schema procedure applies;
    the downgrade first deletes the rows that would break it.
    """
    bind = op.get_bind()
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'outbox_alerts'"
    ).scalar_one()
    if sql.count(before) != 1:
        raise RuntimeError("outbox_alerts.entry_id is not as expected; migrate by hand")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'outbox_alerts'",
        (sql.replace(before, after),),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _set_entry_id_nullable(nullable: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        if nullable:
            _sqlite_rewrite_outbox(ENTRY_ID_NOT_NULL, ENTRY_ID_NULL)
        else:
            _sqlite_rewrite_outbox(ENTRY_ID_NULL, ENTRY_ID_NOT_NULL)
        return
    op.alter_column('outbox_alerts', 'entry_id', existing_type=sa.Integer(), nullable=nullable)


def upgrade():
    _set_entry_id_nullable(True)
    op.create_table('emergency_accesses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('expires_at > created_at', name=op.f('ck_emergency_accesses_expires_after_created')),
    sa.CheckConstraint('length(reason) BETWEEN 20 AND 1000', name=op.f('ck_emergency_accesses_reason_length')),
    sa.ForeignKeyConstraint(['alert_id'], ['outbox_alerts.id'], name=op.f('fk_emergency_accesses_alert_id_outbox_alerts')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_emergency_accesses_client_id_clients')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_emergency_accesses_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emergency_accesses')),
    sa.UniqueConstraint('alert_id', name=op.f('uq_emergency_accesses_alert_id'))
    )
    with op.batch_alter_table('emergency_accesses', schema=None) as batch_op:
        batch_op.create_index('ix_emergency_accesses_client_created', ['client_id', 'created_at'], unique=False)
        batch_op.create_index('ix_emergency_accesses_created', ['created_at'], unique=False)
        batch_op.create_index('ix_emergency_accesses_user_client_expires', ['user_id', 'client_id', 'expires_at'], unique=False)


def downgrade():
    # Downgrading past emergency access loses the grants and their alerts (the audit
    # log keeps the emergency_access_granted rows).
    op.execute(
        "DELETE FROM alert_deliveries WHERE alert_id IN "
        "(SELECT id FROM outbox_alerts WHERE entry_id IS NULL)"
    )
    with op.batch_alter_table('emergency_accesses', schema=None) as batch_op:
        batch_op.drop_index('ix_emergency_accesses_user_client_expires')
        batch_op.drop_index('ix_emergency_accesses_created')
        batch_op.drop_index('ix_emergency_accesses_client_created')

    op.drop_table('emergency_accesses')
    op.execute("DELETE FROM outbox_alerts WHERE entry_id IS NULL")
    _set_entry_id_nullable(False)
