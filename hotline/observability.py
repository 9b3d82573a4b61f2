"""Prometheus metrics of the hotline processes, and their liveness and readiness probes.

The metric objects live here, in one place, with the names docs/operations.md documents; the code where a
thing happens counts it with one line (`observability.TURNS.inc()`). Counters are per process: Prometheus
scrapes every gateway and action server and sums across replicas. Two values are read from the database or
the disk at scrape time instead of being counted (the inbound queue and the newest backup), so they are
right after a restart and the same whichever replica is asked.

Exposure: the gateway runs `ProbeServer` (stdlib threaded HTTP server on `metrics.port`, off the event
loop, so a probe still answers while the loop is busy) with `/metrics`, `/healthz` (the process is alive)
and `/readyz` (its database and dialog engine answer); the action server adds `/metrics` and `/readyz`
routes to its own Sanic app (actions/probes.py).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

if TYPE_CHECKING:
    from hotline.settings import Settings

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# --- the metrics (names in docs/operations.md §5) ------------------------------------------------------
disable_created_metrics()  # type: ignore[no-untyped-call]  # no `*_created` series (rate() needs none)
TURNS = Counter("hotline_turns", "Citizen messages answered by the dialog engine (gateway)")
TURN_SECONDS = Histogram(
    "hotline_turn_seconds",
    "Time from a citizen message reaching the gateway to its replies being ready or sent (gateway)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0),
)
RETRIES = Counter(
    "hotline_retries", "Messages kept for the retry loop because the next hop failed (gateway)", ["reason"]
)
FALLBACKS = Counter("hotline_fallbacks", "Turns the bot did not understand (action server)")
HANDOFFS = Counter("hotline_handoffs", "Conversations handed to a person, by reason", ["reason"])
TICKETS_CREATED = Counter("hotline_tickets_created", "Work orders opened, by source", ["source"])
SCHEDULER_LEADER = Gauge(
    "hotline_scheduler_leader", "1 while this process runs the scheduler (holds the leader lock)"
)
QUEUE_DEPTH_NAME = "hotline_inbound_queue_depth"
OUTBOX_DEPTH_NAME = "hotline_outbox_depth"
BACKUP_NEWEST_NAME = "hotline_backup_newest_timestamp_seconds"


def timed_turn(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Decorator: observe the run time of an async handler in `hotline_turn_seconds`."""

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.perf_counter()
        try:
            return await func(*args, **kwargs)
        finally:
            TURN_SECONDS.observe(time.perf_counter() - started)

    return wrapper


def metrics_payload(registry: CollectorRegistry = REGISTRY) -> tuple[bytes, str]:
    """The Prometheus text exposition of this process and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


# --- values read at scrape time ------------------------------------------------------------------------
class QueueCollector(Collector):
    """Inbound messages waiting for the engine (received, retry) and replies waiting in the outbox, counted
    in the database: the durable queue is shared by all gateway replicas."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url

    def describe(self) -> list[Metric]:
        return []  # no collect() at registration (the database may not be up yet)

    def collect(self) -> Iterator[Metric]:
        from sqlalchemy import func, select

        from hotline.db.models import MessageLog, MessageState
        from hotline.db.session import get_sessionmaker

        states = (MessageState.RECEIVED, MessageState.RETRY, MessageState.QUEUED)
        try:
            with get_sessionmaker(self._url)() as session:
                rows = session.execute(
                    select(MessageLog.state, func.count())
                    .where(MessageLog.state.in_(states))
                    .group_by(MessageLog.state)
                ).all()
        except Exception as exc:  # a scrape must not fail because the database is down; /readyz says so
            log.warning("queue depth not available: %s", type(exc).__name__)
            return
        counts = {MessageState(state): int(n) for state, n in rows}
        inbound = GaugeMetricFamily(
            QUEUE_DEPTH_NAME, "Citizen messages waiting for the dialog engine, by state", labels=["state"]
        )
        for state in (MessageState.RECEIVED, MessageState.RETRY):
            inbound.add_metric([state.value], counts.get(state, 0))
        yield inbound
        yield GaugeMetricFamily(
            OUTBOX_DEPTH_NAME,
            "Replies waiting for confirmed delivery to the citizen",
            value=counts.get(MessageState.QUEUED, 0),
        )


class BackupAgeCollector(Collector):
    """Modification time of the newest backup in the backup directory (absent when there is none)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        from hotline.db.backup import newest_backup_time

        newest = newest_backup_time(self._directory)
        if newest is not None:
            yield GaugeMetricFamily(BACKUP_NEWEST_NAME, "Unix time of the newest database backup", newest)


# --- readiness -----------------------------------------------------------------------------------------
Check = Callable[[], None]  # raises when the dependency is not usable


def database_check(url: str, timeout: float = 3.0) -> Check:
    """Our database answers and holds our schema. A fresh connection each time (no pool that would keep a
    deleted SQLite file or a dead server looking alive); a missing SQLite file is not created."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    from hotline.db.session import normalise_url

    parsed = make_url(normalise_url(url))
    sqlite = parsed.get_backend_name() == "sqlite"
    connect_args: dict[str, Any] = {"timeout": timeout} if sqlite else {"connect_timeout": int(timeout)}
    engine = create_engine(parsed, poolclass=NullPool, connect_args=connect_args)

    def check() -> None:
        on_disk = sqlite and parsed.database not in (None, "", ":memory:")
        if on_disk and not Path(str(parsed.database)).is_file():
            raise FileNotFoundError("database file missing")
        with engine.connect() as conn:
            conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()

    return check


def http_check(url: str, timeout: float = 2.0) -> Check:
    """Something answers HTTP at `url` without a server error (the engine's `/` needs no token)."""
    import httpx

    def check() -> None:
        response = httpx.get(url, timeout=timeout)
        if response.status_code >= 500:
            raise RuntimeError(f"HTTP {response.status_code}")

    return check


def readiness(checks: Mapping[str, Check]) -> tuple[bool, dict[str, str]]:
    """Run every check; ({name: "ok" or the failure's type and short text}) and whether all passed."""
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:
            results[name] = f"{type(exc).__name__}: {str(exc)[:160]}"
    return all(value == "ok" for value in results.values()), results


def readiness_body(checks: Mapping[str, Check]) -> tuple[int, bytes]:
    """HTTP status (200 ready, 503 not) and the JSON body of `/readyz`."""
    ready, results = readiness(checks)
    body = json.dumps({"ready": ready, "checks": results}, ensure_ascii=False).encode()
    return (200 if ready else 503), body


# --- the gateway's probe server ------------------------------------------------------------------------
class ProbeServer:
    """`/metrics`, `/healthz`, `/readyz` on host:port in a daemon thread (port 0: any free port)."""

    def __init__(
        self,
        host: str,
        port: int,
        checks: Mapping[str, Check],
        collectors: Iterable[Collector] = (),
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self._checks = dict(checks)
        self._collectors = list(collectors)
        self._registry = registry
        try:
            self._server = ThreadingHTTPServer((host, port), self._handler())
        except OSError as exc:  # e.g. two gateways on one machine with the same metrics.port
            raise OSError(
                f"探针端口 {host}:{port} 无法监听（已被占用？请设置 HOTLINE_METRICS__PORT）: {exc}"
            ) from exc
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        probes = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    body, ctype = metrics_payload(probes._registry)
                    self._send(200, body, ctype)
                elif path == "/healthz":
                    self._send(200, b'{"status": "ok"}', "application/json")
                elif path == "/readyz":
                    status, body = readiness_body(probes._checks)
                    self._send(status, body, "application/json; charset=utf-8")
                else:
                    self._send(404, b'{"error": "not found"}', "application/json")

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None  # a probe every few seconds is not worth a log line

        return Handler

    def start(self) -> ProbeServer:
        for collector in self._collectors:
            self._registry.register(collector)
        self._thread = threading.Thread(target=self._server.serve_forever, name="hotline-probes", daemon=True)
        self._thread.start()
        log.info("probes on http://%s:%d (/metrics /healthz /readyz)", *self._server.server_address[:2])
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        for collector in self._collectors:
            self._registry.unregister(collector)


def start_gateway_probes(settings: Settings) -> ProbeServer | None:
    """The gateway's probes as configured (`metrics.host`/`metrics.port`); None when no port is set."""
    if settings.metrics.port is None:
        return None
    from hotline.db.backup import backup_dir

    url = settings.database_url
    checks = {"database": database_check(url), "engine": http_check(settings.rasa.url.rstrip("/") + "/")}
    collectors = [QueueCollector(url), BackupAgeCollector(backup_dir(settings))]
    return ProbeServer(settings.metrics.host, settings.metrics.port, checks, collectors).start()
