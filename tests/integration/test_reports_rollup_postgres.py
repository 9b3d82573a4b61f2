"""The roll-up triggers on a real PostgreSQL server: migration 0014 (generated STORED duration columns,
plpgsql triggers, backfill) and the writers scenario of tests/unit/test_reports_rollup.py — every report
figure from the roll-ups equals the ticket-table definitions, and the roll-ups equal a rebuild.

A throwaway cluster from tests/integration/services.py; skipped (failed in CI) without the server binaries.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from hotline.db.session import get_engine
from hotline.settings import PROJECT_ROOT, load_settings

# The migrated throwaway cluster of the backup test (a module-scoped fixture: one cluster per module).
from tests.integration.test_backup_postgres import pg_url  # noqa: F401
from tests.unit.test_reports_rollup import (
    assert_rollups_match_definitions,
    change_through_every_writer,
)

pytestmark = pytest.mark.integration


def test_pg_rollups_stay_exact_through_every_writer(pg_url: str) -> None:  # noqa: F811
    settings = load_settings(PROJECT_ROOT / "config" / "hotline.yaml", environ={"DATABASE_URL": pg_url})
    with Session(get_engine(pg_url)) as session:
        change_through_every_writer(session)
        assert_rollups_match_definitions(session, settings)
