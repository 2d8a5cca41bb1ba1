"""Goal changes keep the description's earlier and new text.

Two nullable columns on goal_events: set when an edit changed the description, NULL
otherwise. Earlier changes recorded only "Description: rewritten"; their text is gone
and stays NULL.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 00:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    # Nullable columns without defaults: a plain ADD COLUMN on both SQLite and PostgreSQL,
    # no table rebuild.
    op.add_column("goal_events", sa.Column("description_before", sa.Text(), nullable=True))
    op.add_column("goal_events", sa.Column("description_after", sa.Text(), nullable=True))


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+ has it), like 0009.
    op.drop_column("goal_events", "description_after")
    op.drop_column("goal_events", "description_before")
