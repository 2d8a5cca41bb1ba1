"""Acknowledgements of urgent notes, digest/alert preferences (issue 13 items 6-7). Placeholder.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 19:00:00.000000

"""

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
