"""The retention pass and an erasure on PostgreSQL (JSON-as-text filters, subqueries, NULL handling),
with the same seed and checks as on SQLite. Skipped where PostgreSQL is not installed
(`bash scripts/services.sh` installs it; tests/integration/services.py starts a throw-away server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from hotline.db.migrate import upgrade
from hotline.db.session import get_engine, get_sessionmaker
from hotline.privacy.erasure import erase_citizen
from hotline.privacy.retention import run_retention
from hotline.settings import PROJECT_ROOT, PrivacySettings, Settings, load_settings
from tests.integration.services import Postgres, missing_binaries
from tests.unit.privacy_fixtures import (
    NOW,
    PERSONAL,
    RECENT,
    dump,
    figures,
    seed,
    tracker_senders,
    tracker_store,
)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    missing = [m for m in missing_binaries() if "redis" not in m]  # only PostgreSQL is needed here
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (bash scripts/services.sh)")
    pg = Postgres()
    try:
        pg.start()
        url = pg.create_database("privacy")
        upgrade(url)
        yield url
        get_engine(url).dispose()
    finally:
        pg.stop()


def _session_on(url: str) -> tuple[Session, Settings]:
    settings = load_settings(PROJECT_ROOT / "config" / "hotline.yaml", environ={"DATABASE_URL": url})
    return get_sessionmaker(url)(), settings


def test_retention_then_erasure_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    session, settings = _session_on(pg_url)
    with session:
        seeded = seed(session)
        trackers = tracker_store(tmp_path / "t.db", {"telegram:1001": RECENT, "telegram:2002": RECENT})
        before = figures(session, settings)
        policy = PrivacySettings(attachment_retention_days=180)
        result = run_retention(session, policy, NOW, trackers=trackers, full=True)
        session.commit()
        assert (result.messages, result.attachments, result.tickets_masked) == (6, 2, 2)
        assert figures(session, settings) == before
        planned = run_retention(session, policy, NOW, dry_run=True, full=True)
        assert (planned.messages, planned.attachments, planned.tickets_masked) == (0, 0, 0)

        erase_citizen(session, "telegram:1001", seeded.admin, NOW, trackers=trackers)
        session.commit()
        everything = dump(session)
        assert all(value not in everything for value in PERSONAL["a"])
        assert PERSONAL["b"][2] in everything  # b's name is still in b's (open-window) data
        assert tracker_senders(trackers) == {"telegram:2002": 3}
        assert figures(session, settings) == before
