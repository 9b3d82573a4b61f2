"""The gateway keeps a message when the database is briefly unreachable (issue 14, PostgreSQL restart).

Found by tests/integration/test_faults.py: a button pressed while PostgreSQL restarted failed the persist
step with OperationalError, the Telegram transport only logged it, and the update was gone (no reply,
ever). Now a unit of work that cannot reach the database is run again after a pause, for about a minute.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bot.gateway import Gateway
from hotline.db.models import MessageDirection
from hotline.db.session import in_thread as real_in_thread
from tests.unit.test_gateway import FakeEngine, log_rows, msg


def flaky_database(monkeypatch: pytest.MonkeyPatch, failures: int) -> list[int]:
    """The next `failures` units of work fail as when the server is restarting; returns the call count."""
    calls = [0]

    async def in_thread(database: Any, work: Callable[..., Any]) -> Any:
        calls[0] += 1
        if calls[0] <= failures:
            raise OperationalError("INSERT ...", {}, ConnectionRefusedError("server restarting"))
        return await real_in_thread(database, work)

    monkeypatch.setattr("bot.gateway.in_thread", in_thread)
    return calls


async def test_message_during_a_database_restart_is_kept_and_answered(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = flaky_database(monkeypatch, failures=2)
    engine = FakeEngine()
    replies = await Gateway(engine, db_url, db_retry_delays=(0, 0, 0)).handle(msg(1, "定远县"))
    assert [r.text for r in replies] == ["答复:定远县"]
    assert engine.seen == [("console-u1", "定远县")]  # once
    inbound = [row for row in log_rows(db_url) if row[0] == MessageDirection.INBOUND.value]
    assert [row[1] for row in inbound] == ["定远县"]
    assert calls[0] > 2


async def test_a_database_down_for_longer_than_the_budget_still_raises(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky_database(monkeypatch, failures=10)
    with pytest.raises(OperationalError):
        await Gateway(FakeEngine(), db_url, db_retry_delays=(0, 0)).handle(msg(1))
    assert log_rows(db_url) == []
