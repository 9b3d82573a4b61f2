"""Appointments on PostgreSQL: the migration up and down, and no double booking when 16 requests race for
one slot (READ COMMITTED: a losing insert waits for the winner's commit, fails on the unique seat and looks
again). Skipped where PostgreSQL is not installed (`bash scripts/services.sh`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import inspect

from hotline.db.migrate import upgrade
from hotline.db.session import get_engine
from hotline.settings import PROJECT_ROOT, load_settings
from tests.integration.services import Postgres, missing_binaries
from tests.unit.test_appointments import race


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    missing = [m for m in missing_binaries() if "redis" not in m]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (bash scripts/services.sh)")
    pg = Postgres()
    try:
        pg.start()
        url = pg.create_database("appointments")
        upgrade(url)
        yield url
        get_engine(url).dispose()
    finally:
        pg.stop()


def test_migration_down_and_up_on_postgresql(pg_url: str) -> None:
    from alembic import command

    from hotline.db.migrate import alembic_config

    cfg = alembic_config(pg_url)
    with get_engine(pg_url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010_kb_proposals")
    assert "appointment" not in inspect(get_engine(pg_url)).get_table_names()
    upgrade(pg_url)
    assert "appointment" in inspect(get_engine(pg_url)).get_table_names()


@pytest.mark.parametrize("capacity", [1, 2])
def test_no_double_booking_under_concurrent_requests_on_postgresql(pg_url: str, capacity: int) -> None:
    from sqlalchemy import text

    with get_engine(pg_url).begin() as conn:  # each case starts empty
        conn.execute(
            text("DELETE FROM ticket_event; DELETE FROM appointment; DELETE FROM ticket; DELETE FROM citizen")
        )
    settings = load_settings(PROJECT_ROOT / "config" / "hotline.yaml", environ={"DATABASE_URL": pg_url})
    outcomes, seats = race(settings, pg_url, capacity, n=16)
    assert outcomes.count("booked") == capacity and outcomes.count("slot_full") == 16 - capacity
    assert seats == list(range(1, capacity + 1))
