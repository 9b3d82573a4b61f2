"""Metrics and probes (hotline.observability): names exposed after real work, /healthz, /readyz turning
false when the database or the engine is gone, and the action server's routes on its real Sanic app."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from actions.handoff import ActionFallback
from bot.engine import EngineUnavailable
from bot.gateway import Gateway, Inbound
from hotline import observability
from hotline.db.session import session_scope
from hotline.observability import ProbeServer, start_gateway_probes
from hotline.reports.delivery import RecordingNotifier
from hotline.scheduler.service import SchedulerService
from hotline.settings import PROJECT_ROOT, Settings
from hotline.tickets.service import NewTicket, create_ticket
from tests.integration.services import free_port
from tests.unit.test_actions_intake import run, tracker


class Engine:
    def __init__(self) -> None:
        self.up = True

    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        if not self.up:
            raise EngineUnavailable("connection refused")
        return [{"text": f"答复:{text}"}]


def scrape(port: int) -> dict[str, float]:
    """{sample name with labels: value} from a live /metrics."""
    response = httpx.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            samples[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return samples


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def stand_in_engine() -> Iterator[str]:
    """Something that answers HTTP, in place of the Rasa engine (any answer below 500 is 'reachable')."""
    server = ProbeServer("127.0.0.1", 0, {}).start()
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


@pytest.fixture
def probes(settings: Settings, tmp_path: Path, stand_in_engine: str) -> Iterator[ProbeServer]:
    configured = settings.model_copy(
        update={
            "metrics": settings.metrics.model_copy(update={"port": 0}),
            "rasa": settings.rasa.model_copy(update={"url": stand_in_engine}),
            "backup": settings.backup.model_copy(update={"dir": str(tmp_path / "backups")}),
        }
    )
    server = start_gateway_probes(configured)
    assert server is not None
    yield server
    server.stop()


def test_no_port_no_server(settings: Settings) -> None:
    assert settings.metrics.port is None and start_gateway_probes(settings) is None


def test_a_taken_port_is_named(probes: ProbeServer) -> None:
    with pytest.raises(OSError, match="HOTLINE_METRICS__PORT"):
        ProbeServer("127.0.0.1", probes.port, {})


async def test_metrics_after_a_turn(probes: ProbeServer, db_url: str) -> None:
    before = scrape(probes.port)
    engine = Engine()
    gateway = Gateway(engine, db_url)
    await gateway.handle(Inbound("console", "u1", "m1", "老板拖欠我三个月工资"))
    engine.up = False
    await gateway.handle(Inbound("console", "u1", "m2", "还在吗"))
    after = scrape(probes.port)

    assert after["hotline_turns_total"] == before.get("hotline_turns_total", 0) + 1
    assert after["hotline_turn_seconds_count"] == before.get("hotline_turn_seconds_count", 0) + 2
    assert after["hotline_turn_seconds_bucket{le=+Inf}"] == after["hotline_turn_seconds_count"]
    key = "hotline_retries_total{reason=engine}"
    assert after[key] == before.get(key, 0) + 1
    # Read from the database at scrape time: the message kept for retry is in the queue.
    assert after["hotline_inbound_queue_depth{state=retry}"] == 1
    assert after["hotline_inbound_queue_depth{state=received}"] == 0
    assert after["hotline_outbox_depth"] == 0
    assert "process_resident_memory_bytes" in after  # the client's process collector: RSS per process
    assert not any(name.endswith("_created") for name in after)


def test_healthz_and_readyz(probes: ProbeServer, db_url: str) -> None:
    base = f"http://127.0.0.1:{probes.port}"
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{base}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "checks": {"database": "ok", "engine": "ok"}}
    assert httpx.get(f"{base}/nothing").status_code == 404

    Path(db_url.removeprefix("sqlite:///")).unlink()  # the database is gone
    gone = httpx.get(f"{base}/readyz")
    assert gone.status_code == 503
    body = gone.json()
    assert body["ready"] is False and body["checks"]["engine"] == "ok"
    assert body["checks"]["database"].startswith("FileNotFoundError")
    assert httpx.get(f"{base}/healthz").status_code == 200  # alive, just not ready
    assert httpx.get(f"{base}/metrics").status_code == 200  # a scrape never fails on the database
    assert not Path(db_url.removeprefix("sqlite:///")).exists()  # and the probe did not create a new file


def test_readyz_false_when_the_engine_is_down(settings: Settings, tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    configured = settings.model_copy(
        update={
            "metrics": settings.metrics.model_copy(update={"port": 0}),
            "rasa": settings.rasa.model_copy(update={"url": closed}),
        }
    )
    server = start_gateway_probes(configured)
    assert server is not None
    try:
        response = httpx.get(f"http://127.0.0.1:{server.port}/readyz")
    finally:
        server.stop()
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["engine"].startswith("ConnectError")


def test_readyz_false_for_a_database_without_our_schema(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    ready, checks = observability.readiness({"database": observability.database_check(f"sqlite:///{empty}")})
    assert not ready and checks["database"].startswith("OperationalError")


def test_backup_age_is_exposed(probes: ProbeServer, tmp_path: Path) -> None:
    assert "hotline_backup_newest_timestamp_seconds" not in scrape(probes.port)
    (tmp_path / "backups").mkdir()
    newest = tmp_path / "backups" / "hotline-20261206-023000.sqlite3"
    newest.write_bytes(b"x")
    exposed = scrape(probes.port)["hotline_backup_newest_timestamp_seconds"]
    assert exposed == pytest.approx(newest.stat().st_mtime)


def test_tickets_handoffs_fallbacks_and_leadership_are_counted(
    db_url: str, settings: Settings, env_settings: None
) -> None:
    created = value("hotline_tickets_created_total", source="bot")
    with session_scope(db_url) as session:
        new = NewTicket(category="wage_arrears", conversation_id="c1", intake_key="k1")
        create_ticket(session, new, prefix="滁")
        create_ticket(session, new, prefix="滁")  # the same intake again: not a new ticket
    assert value("hotline_tickets_created_total", source="bot") == created + 1

    fallbacks = value("hotline_fallbacks_total")
    handoffs = value("hotline_handoffs_total", reason="not_understood")
    run(ActionFallback(), tracker({"fallback_stage": 2}, "嗯", "nlu_fallback", loop=None))
    assert value("hotline_fallbacks_total") == fallbacks + 1
    assert value("hotline_handoffs_total", reason="not_understood") == handoffs + 1

    service = SchedulerService(settings, RecordingNotifier(), holder="metrics-test")
    try:
        assert service.tick()
        assert value("hotline_scheduler_leader") == 1
    finally:
        service.stop()
    assert value("hotline_scheduler_leader") == 0


def test_action_server_routes(db_url: str, tmp_path: Path) -> None:
    """The real entry point (`python -m actions`): rasa-sdk's app with our routes, in its own process."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "HOTLINE_LOG_DIR": str(tmp_path / "log")}
    env.pop("HOTLINE_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "actions", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # start-up imports every action module; generous on shared cores
            try:
                if httpx.get(f"{base}/health").status_code == 200:  # rasa-sdk's own route still there
                    break
            except httpx.TransportError:
                assert proc.poll() is None, "action server exited"
                time.sleep(0.1)
        metrics = httpx.get(f"{base}/metrics")
        assert metrics.status_code == 200 and "hotline_tickets_created_total" in metrics.text
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200 and ready.json() == {"ready": True, "checks": {"database": "ok"}}
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        Path(db_url.removeprefix("sqlite:///")).unlink()
        gone = httpx.get(f"{base}/readyz")
        assert gone.status_code == 503 and gone.json()["ready"] is False
    finally:
        proc.terminate()
        proc.wait(20)
