"""The soak of bench/soak.py, short (10 citizens, 1 minute), against the session's real engine.

Asserts only what must always hold (no timing): every message answered, exactly one ticket per completed
intake and none for an unfinished one, and that intakes did complete. The figures print with `pytest -s`;
the full 50 citizens × 5 minutes run is in bench/RESULTS.md ("Soak").
"""

from __future__ import annotations

import time

import pytest

from bench.soak import report, soak
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration

CITIZENS, MINUTES = 10, 1.0


async def test_short_soak_loses_nothing_and_opens_one_ticket_per_intake(stack: Stack) -> None:
    t0 = time.monotonic()
    figures, check = await soak(
        stack.rasa_url,
        stack.db_url,
        citizens=CITIZENS,
        minutes=MINUTES,
        rasa_token=stack.env["RASA_AUTH_TOKEN"],
    )
    summary = report(figures, check, CITIZENS, MINUTES, time.monotonic() - t0)
    print("\n" + summary)
    assert figures.sent > 0 and figures.lost == 0 and not figures.errors, summary
    assert figures.completed, summary
    assert check.tickets == len(figures.completed), summary
    assert check.ok, (check, summary)
