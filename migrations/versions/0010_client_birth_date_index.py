"""Index clients by date of birth: emergency access looks a client up by it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 03:45:00.000000

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_clients_date_of_birth", "clients", ["date_of_birth"], unique=False)


def downgrade():
    op.drop_index("ix_clients_date_of_birth", table_name="clients")
