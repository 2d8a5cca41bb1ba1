"""Urgent notes are acknowledged like medication changes; the timeline remembers the visit
before the last one (issue 13 items 6 and 16).

- note_acks: one row per team member who pressed "Seen" on an urgent note (unique per
  note and user), like medication_acks.
- record_visits.previous_seen_at: the visit before the last one, from which the filtered
  and older pages of the timeline mark New entries, so their links carry no `since=` time.
  Nullable without a default: a plain ADD COLUMN on SQLite and PostgreSQL; existing rows
  start with NULL (no earlier visit known), which marks as New what a first visit would.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 19:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "note_acks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("note_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["note_id"], ["notes.id"], name=op.f("fk_note_acks_note_id_notes")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_note_acks_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note_acks")),
        sa.UniqueConstraint("note_id", "user_id", name="uq_note_acks_note_user"),
    )
    op.add_column(
        "record_visits",
        sa.Column("previous_seen_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ has it), like 0012.
    op.drop_column("record_visits", "previous_seen_at")
    op.drop_table("note_acks")
