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
from tests.conftest import base_config

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
