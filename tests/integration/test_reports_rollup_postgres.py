"""The roll-up triggers on a real PostgreSQL server: migration 0014 (generated STORED duration columns,
plpgsql triggers, backfill) and the writers scenario of tests/unit/test_reports_rollup.py — every report
figure from the roll-ups equals the ticket-table definitions, and the roll-ups equal a rebuild.

A throwaway cluster from tests/integration/services.py; skipped (failed in CI) without the server binaries.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from hotline.db.migrate import upgrade
from hotline.db.session import get_engine
from hotline.settings import PROJECT_ROOT, load_settings
from tests.integration.services import Postgres, missing_binaries
from tests.unit.test_reports_rollup import (
    assert_rollups_match_definitions,
    change_through_every_writer,
)

pytestmark = pytest.mark.integration

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    missing = missing_binaries()
    if any("postgres" in m for m in missing):
        reason = f"needs {', '.join(missing)}: run `bash scripts/services.sh`"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    pg = Postgres()
    url = ""
    try:
        pg.start()
        url = pg.create_database("hotline")
        upgrade(url)
        yield url
    finally:
        if url:
            get_engine(url).dispose()
        pg.stop()


def test_pg_rollups_stay_exact_through_every_writer(pg_url: str) -> None:
    settings = load_settings(PROJECT_ROOT / "config" / "hotline.yaml", environ={"DATABASE_URL": pg_url})
    with Session(get_engine(pg_url)) as session:
        change_through_every_writer(session)
        assert_rollups_match_definitions(session, settings)
