"""Confirmations, emergency access, small items (issue 13 items 2, 4, 15, 16). Placeholder.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 19:00:00.000000

"""

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
