"""Weights: blind by default per client, a user's weight unit (issue 13 item 8). Placeholder.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 19:00:00.000000

"""

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
