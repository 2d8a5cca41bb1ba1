"""Drafts: the unposted text of a note, a nutrition update or a medication change (later a
reply), private to its author.

One row per author, client and form slot (`key`: the form, and the entry it acts on);
deleted when the entry is posted or the author discards it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 19:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("form", sa.String(length=20), nullable=False),
        sa.Column("parent_entry_id", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("fields_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "form IN ('note', 'note_amendment', 'nutrition', 'medication')",
            name=op.f("ck_drafts_form_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_drafts_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_drafts_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["parent_entry_id"], ["entries.id"], name=op.f("fk_drafts_parent_entry_id_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
        sa.UniqueConstraint(
            "author_id", "client_id", "key", name=op.f("uq_drafts_author_client_key")
        ),
    )
    op.create_index(op.f("ix_drafts_client_id"), "drafts", ["client_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_drafts_client_id"), table_name="drafts")
    op.drop_table("drafts")
