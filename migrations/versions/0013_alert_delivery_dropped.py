"""Alert deliveries may be 'dropped': checked again at send time and not to go out.

A delivery whose recipient left the team, was deactivated or turned alerts off, or whose
entry was amended, while it waited (quiet hours, SMTP retries), is kept as 'dropped'
instead of being counted as a failure. Only the CHECK constraint's list of allowed
values changes; rows recorded as 'failed' with last_error 'dropped: ...' become 'dropped'.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 00:45:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

NAME = "ck_alert_deliveries_status_valid"
OLD = ("pending", "sending", "sent", "failed")
NEW = (*OLD, "dropped")


def _check(values: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def _set_statuses(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    """Replace the CHECK constraint, as 0005 does for entries.kind.

    PostgreSQL alters the constraint in place; SQLite gets its documented procedure for a
    change that leaves every stored row valid: rewrite the table's definition in
    sqlite_master, in the migration's transaction.
    """
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f(NAME), "alert_deliveries", type_="check")
        op.create_check_constraint(op.f(NAME), "alert_deliveries", _check(new))
        return
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'alert_deliveries'"
    ).scalar_one()
    before, after = _check(old), _check(new)
    if sql.count(before) != 1:
        raise RuntimeError("alert_deliveries.status has an unexpected CHECK; migrate by hand")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'alert_deliveries'",
        (sql.replace(before, after),),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade():
    _set_statuses(OLD, NEW)
    op.execute(
        "UPDATE alert_deliveries SET status = 'dropped' "
        "WHERE status = 'failed' AND last_error LIKE 'dropped: %'"
    )


def downgrade():
    op.execute("UPDATE alert_deliveries SET status = 'failed' WHERE status = 'dropped'")
    _set_statuses(NEW, OLD)
