"""The scale-out benchmark's wiring, small (~20 s, no engine): part A with two webhook gateways behind nginx
on PostgreSQL, a few citizens, one round. Checks what the benchmark counts, never how fast: every message
answered once, every row processed, both gateways given webhooks by nginx."""

from __future__ import annotations

import argparse
import os

import pytest

from bench.bench_gateway_capacity import StubEngine
from bench.bench_scaleout import TOKEN, measure_gateways, services
from tests.fakes.bot_api_server import FakeBotApi
from tests.integration.services import missing_binaries

pytestmark = pytest.mark.integration


def test_two_gateways_behind_nginx_answer_every_message_once() -> None:
    missing = missing_binaries(nginx=True)
    if missing:
        reason = f"needs {', '.join(missing)}: run `bash scripts/services.sh`"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    args = argparse.Namespace(citizens=6, rounds=1, burst=2, engine_ms=10.0)
    engine = StubEngine(args.engine_ms / 1000).start()
    try:
        with services() as svc, FakeBotApi(token=TOKEN) as api:
            run = measure_gateways(svc, api, 2, engine, args)
    finally:
        engine.stop()
    assert len(run.turn) == run.sent == 12
    assert (run.unanswered, run.twice, run.not_processed) == (0, 0, 0)
    assert len(run.per_gateway) == 2 and sum(run.per_gateway.values()) == 12, run.per_gateway
