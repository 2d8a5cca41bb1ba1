"""Client details, time zones, contact details (issue 13 items 9-11, 14). Placeholder.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 19:00:00.000000

"""

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
