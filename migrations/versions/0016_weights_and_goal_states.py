"""Weights: "blind by default" per client, each user's weight unit; goal versions.

clients.weights_blind_by_default (false for every existing client: their weights stay as
recorded, each with its own blind flag); users.weight_unit, 'kg' or 'lb' ('kg' for every
existing account, the unit weights are stored in); goal_events.state, the goal as each
change left it (the timeline card shows it instead of today's goal). Each goal's newest
event gets the goal's current values (every change of a goal writes an event, so they are
that version's); older events stay NULL and show their change lines only.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 19:00:00.000000

"""

import sqlalchemy as sa
from decimal import Decimal

from alembic import op
from sqlalchemy import column, table

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UNIT_CHECK = "ck_users_weight_unit_valid"


def upgrade() -> None:
    op.add_column(
        "clients",
        sa.Column(
            "weights_blind_by_default", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # A column constraint in ADD COLUMN: a batch rebuild of users would drop and
        # recreate the table every other table references, which foreign keys refuse.
        bind.exec_driver_sql(
            "ALTER TABLE users ADD COLUMN weight_unit VARCHAR(2) DEFAULT 'kg' NOT NULL "
            f"CONSTRAINT {UNIT_CHECK} CHECK (weight_unit IN ('kg', 'lb'))"
        )
    else:
        op.add_column(
            "users",
            sa.Column("weight_unit", sa.String(length=2), server_default="kg", nullable=False),
        )
        op.create_check_constraint(op.f(UNIT_CHECK), "users", "weight_unit IN ('kg', 'lb')")
    op.add_column("goal_events", sa.Column("state", sa.JSON(), nullable=True))
    _backfill_goal_states(bind)


def _number(value) -> str:
    """As careteam.goals.models does: "4", "2.5" (no trailing zeros)."""
    text = format(Decimal(str(value)).normalize(), "f")
    return "0" if text == "-0" else text


def _backfill_goal_states(bind) -> None:
    rows = bind.execute(
        sa.text(
            "SELECT g.id, g.title, g.measure, g.unit, g.baseline, g.target, g.direction,"
            " g.target_date, g.status, g.achievement, u.display_name,"
            " (SELECT e.id FROM goal_events ge JOIN entries e ON e.id = ge.id"
            "  WHERE ge.goal_id = g.id ORDER BY e.created_at DESC, e.id DESC LIMIT 1)"
            " FROM goals g JOIN users u ON u.id = g.owner_id"
        )
    ).all()
    events = table("goal_events", column("id", sa.Integer), column("state", sa.JSON))
    for row in rows:
        (_, title, measure, unit, baseline, target, direction, target_date, status,
         achievement, owner, event_id) = row  # fmt: skip
        if event_id is None:
            continue
        state = {
            "title": title,
            "measure": measure,
            "unit": unit,
            "baseline": _number(baseline),
            "target": _number(target),
            "direction": direction,
            # A date on PostgreSQL, its ISO text on SQLite.
            "target_date": str(target_date),
            "owner": owner,
            "status": status,
            "achievement": achievement,
        }
        bind.execute(events.update().where(events.c.id == event_id).values(state=state))


def downgrade() -> None:
    # Plain DROP COLUMN (as 0009): the CHECK belongs to the column and goes with it.
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f(UNIT_CHECK), "users", type_="check")
    op.drop_column("users", "weight_unit")
    op.drop_column("clients", "weights_blind_by_default")
    op.drop_column("goal_events", "state")
