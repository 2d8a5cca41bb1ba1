"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import itertools

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from careteam import create_app
from careteam.extensions import db
from tests.helpers import base_config

_n = itertools.count()


@pytest.fixture
def empty_database_url(backend, tmp_path, tmp_root, request):
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.sqlite'}"
    return request.getfixturevalue("postgres").create_database(f"careteam_migrate_{next(_n)}")


def test_upgrade_matches_models_and_downgrades(empty_database_url, tmp_root):
    app = create_app(base_config(empty_database_url, tmp_root))
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "clients", "care_team_members", "audit_events"} <= tables
        indexes = {i["name"] for i in inspect(db.engine).get_indexes("care_team_members")}
        assert "ix_care_team_members_provider_status" in indexes
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.engine.dispose()


def test_care_record_migration_puts_earlier_changes_on_the_timeline(empty_database_url, tmp_root):
    from sqlalchemy import text

    app = create_app(base_config(empty_database_url, tmp_root))
    with app.app_context():
        upgrade(revision="0001")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, email, password_hash, role, display_name, discipline,"
                    " credentials, phone, practice_name, share_email, share_phone,"
                    " share_practice, time_zone, active, created_at) VALUES (1, 'a@example.com',"
                    " 'x', 'provider', 'A', 'therapist', '', '', '', false, false, true, 'UTC',"
                    " true, '2026-01-01 10:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO clients (id, full_name, preferred_name, pronouns, level_of_care,"
                    " created_by_id, created_at, last_activity_at) VALUES (1, 'C', '', '',"
                    " 'inpatient', 1, '2026-01-01 10:00:00', '2026-01-01 10:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO care_team_members (id, client_id, provider_id, discipline,"
                    " is_lead, status, started_at) VALUES (1, 1, 1, 'therapist', true, 'active',"
                    " '2026-01-01 10:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO care_team_changes (id, client_id, member_id, change, actor_id,"
                    " created_at) VALUES (1, 1, 1, 'added', 1, '2026-01-01 10:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO level_of_care_changes (id, client_id, level, effective_date,"
                    " reason, changed_by_id, created_at) VALUES (1, 1, 'inpatient',"
                    " '2026-01-01', 'x', 1, '2026-01-01 10:00:00')"
                )
            )
        upgrade()
        with db.engine.connect() as conn:
            kinds = sorted(conn.execute(text("SELECT kind FROM entries")).scalars())
            linked = conn.execute(
                text(
                    "SELECT count(*) FROM level_of_care_entries l JOIN entries e ON e.id = l.id"
                    " WHERE l.change_id = 1 AND e.client_id = 1 AND e.author_id = 1"
                )
            ).scalar()
        assert kinds == ["level_of_care", "team"]
        assert linked == 1
        db.engine.dispose()


def test_every_check_constraint_allows_the_models_values(empty_database_url, tmp_root):
    """Alembic does not compare CHECK constraints: an enum value added to the models without
    a migration (like 0005's practice kind or 0013's dropped alert) would pass the test
    above and fail in production at the first insert."""
    import re

    from sqlalchemy import CheckConstraint

    quoted = re.compile(r"'([^']*)'")
    app = create_app(base_config(empty_database_url, tmp_root))
    with app.app_context():
        upgrade()
        inspector = inspect(db.engine)
        compared = 0
        for table in db.metadata.sorted_tables:
            migrated = {
                c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table.name)
            }
            for constraint in table.constraints:
                if not isinstance(constraint, CheckConstraint) or " IN (" not in str(
                    constraint.sqltext
                ):
                    continue
                assert constraint.name in migrated, f"{table.name}: {constraint.name} missing"
                expected = set(quoted.findall(str(constraint.sqltext)))
                assert set(quoted.findall(migrated[constraint.name])) == expected, constraint.name
                compared += 1
        assert compared > 20
        db.engine.dispose()
