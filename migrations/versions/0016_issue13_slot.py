"""Weights: "blind by default" per client, and each user's weight unit (kg or lb).

clients.weights_blind_by_default (false for every existing client: their weights stay as
recorded, each with its own blind flag); users.weight_unit, 'kg' or 'lb' ('kg' for every
existing account, the unit weights are stored in).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 19:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UNIT_CHECK = "ck_users_weight_unit_valid"


def upgrade() -> None:
    op.add_column(
        "clients",
        sa.Column(
            "weights_blind_by_default", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # A column constraint in ADD COLUMN: a batch rebuild of users would drop and
        # recreate the table every other table references, which foreign keys refuse.
        bind.exec_driver_sql(
            "ALTER TABLE users ADD COLUMN weight_unit VARCHAR(2) DEFAULT 'kg' NOT NULL "
            f"CONSTRAINT {UNIT_CHECK} CHECK (weight_unit IN ('kg', 'lb'))"
        )
    else:
        op.add_column(
            "users",
            sa.Column("weight_unit", sa.String(length=2), server_default="kg", nullable=False),
        )
        op.create_check_constraint(UNIT_CHECK, "users", "weight_unit IN ('kg', 'lb')")


def downgrade() -> None:
    # Plain DROP COLUMN (as 0009): the CHECK belongs to the column and goes with it.
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(UNIT_CHECK, "users", type_="check")
    op.drop_column("users", "weight_unit")
    op.drop_column("clients", "weights_blind_by_default")
