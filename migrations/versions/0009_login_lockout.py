"""Login lockout: consecutive failed logins and a lock expiry on each account.

Existing accounts start unlocked with no failures (server default 0, NULL lock).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 10:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_login_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+ has it): a batch rebuild of users would drop and
    # recreate the table that every other table references, which foreign keys refuse.
    op.drop_column("users", "locked_until")
    op.drop_column("users", "failed_login_count")
