"""A user's time zone remembers whether it is their own (issue 13 item 11).

users.time_zone_chosen: false while the zone is the deployment's default (DISPLAY_TIMEZONE,
given at account creation), true once it came from the person: their browser's zone at a
login, or a choice in settings. Only a default is replaced at login. Existing accounts that
have logged in keep the zone they have (true: it may have been chosen in settings); those
that never logged in take their browser's zone at their first login (false).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 19:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both backends: no constraint comes with it, so SQLite needs no
    # batch rebuild of users (which every other table references).
    op.add_column(
        "users",
        sa.Column("time_zone_chosen", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.execute(
        sa.text(
            "UPDATE users SET time_zone_chosen = :yes WHERE last_login_at IS NOT NULL"
        ).bindparams(yes=True)
    )


def downgrade() -> None:
    op.drop_column("users", "time_zone_chosen")
