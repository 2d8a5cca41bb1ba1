"""Drafts of notes and replies (issue 13 item 1). Placeholder: filled in by the drafts work.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 19:00:00.000000

"""

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
