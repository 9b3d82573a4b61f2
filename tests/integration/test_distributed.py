"""The distributed shape on one machine, from configuration alone (docs/architecture.md §6).

PostgreSQL (application database + Rasa tracker store) and Redis (Rasa lock store) are started as throwaway
servers; two engine "nodes" are started with the same supervisor as `make run`
(`python -m stack --no-gateway --endpoints config/endpoints.distributed.yml`), each an action server
plus a `rasa run` replica; two gateways share the application database, each talking to its own replica.
Nothing but environment variables and the endpoints file differs from the embedded default.

- one citizen's turns alternate between gateways/replicas and still end in exactly one ticket (shared
  tracker), and both replicas report the same tracker;
- several conversations in parallel across both replicas each get one ticket, no duplicate numbers;
- two schedulers on the same PostgreSQL database: exactly one leader; the other takes over when it stops;
- the webhook shape (last, it kills processes): nginx (a generated config, the shape of
  deploy/nginx/hotline12348.conf) in front of two `python -m bot` gateways in webhook mode and of both engine
  replicas; the local Bot API fake delivers a citizen's updates to nginx with the webhook secret. Midway
  through the intake, while a turn is at the engine, the gateway that took it and the engine node that is
  answering it are killed (SIGKILL); the survivors answer every message, in order, once, and the intake ends
  in exactly one ticket.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.engine import RasaRestEngine
from bot.gateway import Gateway, Inbound
from bot.replies import Button, Reply
from bot.transports.telegram import decode_payload
from hotline.db.migrate import upgrade
from hotline.db.models import Citizen, MessageDirection, MessageLog, MessageState, Ticket, TicketEvent
from hotline.db.session import get_engine, get_sessionmaker, session_scope
from hotline.reports.delivery import RecordingNotifier
from hotline.scheduler import LeaderLock, SchedulerService
from hotline.settings import PROJECT_ROOT, Settings, load_settings
from stack.background import with_run_secrets
from stack.components import CURRENT_MODEL, RASA_BIN
from tests.fakes.bot_api_server import FakeBotApi
from tests.integration.services import (
    Nginx,
    Postgres,
    Redis,
    children_of,
    free_port,
    missing_binaries,
    rss_mb,
)

pytestmark = pytest.mark.integration

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ENDPOINTS = PROJECT_ROOT / "config" / "endpoints.distributed.yml"
TRACKER_DB = "rasa_tracker"
APP_DB = "hotline"
TICKET_RE = re.compile(r"滁-\d{8}-\d{4}")
OPENING = "老板拖欠我三个月工资"
MAX_TURNS = 15
PARALLEL = 8
READY_TIMEOUT = 420.0  # two engines load their models at the same time on 2 cores
# Seconds a crashed engine replica's Redis lock on a conversation blocks the other replicas (Rasa's
# TICKET_LOCK_LIFETIME, default 60): longer than any turn here, short enough for the kill test.
LOCK_LIFETIME = "15"

# Measured figures, printed at the end of the module (`pytest -s` shows them).
FIGURES: dict[str, str] = {}


def note(key: str, value: str) -> None:
    FIGURES[key] = value


@dataclass
class Services:
    pg: Postgres
    redis: Redis
    app_url: str
    tmp: Path
    # The engine's API token and the action servers' bearer token, one pair for every process: behind a
    # load balancer the gateways cannot know which replica answers.
    secrets: dict[str, str]


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    missing = missing_binaries(nginx=True)
    if missing:
        reason = (
            f"distributed test needs {', '.join(missing)}: run `bash scripts/services.sh` "
            "(make test does it; needs root or sudo for apt-get)"
        )
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    pg, redis = Postgres(), Redis()
    app_url = ""
    try:
        pg.start()
        redis.start()
        note("postgres start", f"{pg.started_in:.1f} s (initdb + server)")
        note("redis start", f"{redis.started_in:.2f} s")
        app_url = pg.create_database(APP_DB)
        pg.create_database(TRACKER_DB)
        t0 = time.monotonic()
        upgrade(app_url)  # every Alembic revision, on PostgreSQL
        note("alembic upgrade on PostgreSQL", f"{time.monotonic() - t0:.1f} s")
        drawn = with_run_secrets(dict(os.environ))
        secrets = {key: drawn[key] for key in ("RASA_AUTH_TOKEN", "ACTION_SERVER_TOKEN")}
        yield Services(pg, redis, app_url, tmp_path_factory.mktemp("distributed"), secrets)
    finally:
        if app_url:
            get_engine(app_url).dispose()
        redis.stop()
        pg.stop()
        if FIGURES:
            width = max(len(k) for k in FIGURES)
            print("\n--- distributed shape: measured ---")
            for key, value in FIGURES.items():
                print(f"{key:<{width}}  {value}")


# --- the two engine nodes ------------------------------------------------------------------------


@dataclass
class Node:
    """One `python -m stack --no-gateway` process: an action server and a Rasa replica."""

    name: str
    rasa_port: int
    action_port: int
    log_dir: Path
    out_path: Path
    proc: subprocess.Popen[bytes]
    rasa_auth_token: str
    children: list[int] = field(default_factory=list)
    ready_in: float = 0.0

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def token(self) -> dict[str, str]:
        """Query parameters for the engine's HTTP API (`--auth-token`, drawn per node)."""
        return {"token": self.rasa_auth_token}

    def diagnostics(self) -> str:
        parts = []
        for path in (self.out_path, self.log_dir / "rasa.out", self.log_dir / "actions.out"):
            try:
                tail = "\n".join(path.read_text(errors="replace").splitlines()[-25:])
            except FileNotFoundError:
                tail = "(no log)"
            parts.append(f"--- {self.name}: {path} ---\n{tail}")
        return "\n".join(parts)

    def kill(self) -> None:
        """The machine dies: SIGKILL to the supervisor first (so it restarts nothing), then its components."""
        self.children = sorted(set(self.children) | set(children_of(self.proc.pid)))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        self.children = sorted(set(self.children) | set(children_of(self.proc.pid)))
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGINT)  # the supervisor stops its components in order
                self.proc.wait(45)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        for pid in self.children:  # components run in their own sessions: never leave one behind
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


def node_env(services: Services, log_dir: Path) -> dict[str, str]:
    """The whole difference from the embedded default: environment variables (and the endpoints file)."""
    env = {
        **os.environ,
        **services.secrets,
        "DATABASE_URL": services.app_url,
        "HOTLINE_LOG_DIR": str(log_dir),
        "TRACKER_DB_HOST": "127.0.0.1",
        "TRACKER_DB_PORT": str(services.pg.port),
        "TRACKER_DB_NAME": TRACKER_DB,
        "TRACKER_DB_USER": services.pg.user,
        "TRACKER_DB_PASSWORD": services.pg.password,
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(services.redis.port),
        "TICKET_LOCK_LIFETIME": LOCK_LIFETIME,
        "PYTHONUNBUFFERED": "1",
    }
    for var in ("TELEGRAM_BOT_TOKEN", "ACTION_SERVER_URL", "RASA_URL"):
        env.pop(var, None)
    return env


def start_node(name: str, services: Services) -> Node:
    log_dir = services.tmp / name
    log_dir.mkdir(parents=True, exist_ok=True)
    rasa_port, action_port = free_port(), free_port()
    out_path = log_dir / "stack.out"
    env = node_env(services, log_dir)
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stack",
                "--no-gateway",
                "--endpoints",
                str(ENDPOINTS),
                "--rasa-port",
                str(rasa_port),
                "--action-port",
                str(action_port),
                "--timeout",
                str(READY_TIMEOUT),
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Node(name, rasa_port, action_port, log_dir, out_path, proc, env["RASA_AUTH_TOKEN"])


def wait_ready(nodes: list[Node], timeout: float) -> None:
    started = time.monotonic()
    pending = list(nodes)
    while pending:
        for node in list(pending):
            if node.proc.poll() is not None:
                pytest.fail(f"engine node {node.name} exited {node.proc.returncode}\n{node.diagnostics()}")
            try:
                status = httpx.get(f"{node.rasa_url}/status", params=node.token, timeout=2).json()
            except (httpx.HTTPError, ValueError):
                continue
            if status.get("model_file"):
                node.ready_in = time.monotonic() - started
                node.children = children_of(node.proc.pid)
                pending.remove(node)
        if time.monotonic() - started > timeout:
            pytest.fail(
                f"engine nodes not ready in {timeout:.0f} s\n" + "\n".join(n.diagnostics() for n in pending)
            )
        time.sleep(0.5)


def component_times(node: Node) -> str:
    """The supervisor's own readiness lines: "✓ 动作服务器 (action server) 就绪 (1.9 s)"."""
    text = node.out_path.read_text(errors="replace")
    found = re.findall(r"✓ (\S+) \((.+?)\) 就绪 \(([\d.]+) s\)", text)
    return ", ".join(f"{english} {seconds} s" for _, english, seconds in found) or "(not reported)"


@dataclass
class Cluster:
    services: Services
    nodes: list[Node]

    def gateways(self) -> list[Gateway]:
        return [Gateway(RasaRestEngine(n.rasa_url, timeout=60), self.services.app_url) for n in self.nodes]


@pytest.fixture(scope="module")
def cluster(services: Services) -> Iterator[Cluster]:
    if not CURRENT_MODEL.exists() or not RASA_BIN.exists():
        pytest.fail("no trained model or engine venv: run `make test` (it sets up and trains first)")
    nodes: list[Node] = []
    try:
        t0 = time.monotonic()
        nodes = [start_node("node-a", services), start_node("node-b", services)]
        wait_ready(nodes, READY_TIMEOUT)
        note("both engine nodes ready", f"{time.monotonic() - t0:.1f} s (started together)")
        for node in nodes:
            note(f"{node.name} ready", f"{node.ready_in:.1f} s ({component_times(node)})")
        yield Cluster(services, nodes)
        for node in nodes:
            rss = ", ".join(
                f"{_process_name(pid)} {rss_mb(pid):.0f} MiB" for pid in children_of(node.proc.pid)
            )
            note(f"{node.name} RSS after the tests", rss or "(killed by the webhook test)")
    finally:
        for node in nodes:
            node.stop()


def _process_name(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return str(pid)
    return "rasa" if any(a.endswith(b"rasa") for a in argv[:2]) else "actions"


# --- a citizen who answers whatever is asked -----------------------------------------------------

AVOID_PAYLOADS = ("/request_human", "/cancel", "/stop", "/deny")
FREE_TEXT_ANSWERS = (
    (("多大", "岁数", "年龄"), "45岁"),
    (("收入",), "每人一千五"),
    (("哪一项要改",), "不用改"),
    (("县", "区"), "定远县"),
    (("描述", "说说", "经过"), "老板拖欠我三个月工资，一共九千元"),
)


def choose(buttons: list[Button]) -> Button:
    """County → 定远县; a confirmation → submit; a yes/no or a choice → the first sensible button."""
    for button in buttons:
        if button.title == "定远县":
            return button
    for button in buttons:
        if button.payload.startswith("/affirm") and any(w in button.title for w in ("提交", "确认", "确定")):
            return button
    for button in buttons:
        if "人工" not in button.title and not button.payload.startswith(AVOID_PAYLOADS[:3]):
            return button
    return buttons[0]


def next_answer(replies: list[Reply]) -> tuple[str, str | None]:
    asked = next((r for r in reversed(replies) if r.buttons), None)
    if asked is not None:
        button = choose(list(asked.buttons))
        return button.title, button.payload
    question = replies[-1].text if replies else ""
    for words, answer in FREE_TEXT_ANSWERS:
        if any(w in question for w in words):
            return answer, None
    return "不清楚", None


@dataclass
class Conversation:
    user: str
    number: str
    turns: list[tuple[int, str, str]]  # (gateway index, what the citizen sent, what came back)
    seconds: float

    @property
    def conversation_id(self) -> str:
        return f"console-{self.user}"


def transcript(turns: list[tuple[int, str, str]]) -> str:
    return "\n".join(f"[gw{g}] 市民: {sent}\n       助手: {got}" for g, sent, got in turns)


async def converse(gateways: list[Gateway], user: str, start: int = 0) -> Conversation:
    """Alternate gateways (so replicas) turn by turn until a ticket number appears."""
    t0 = time.monotonic()
    text, payload = OPENING, None
    turns: list[tuple[int, str, str]] = []
    for turn in range(MAX_TURNS):
        index = (start + turn) % len(gateways)
        inbound = Inbound("console", user, uuid.uuid4().hex, text, button_payload=payload)
        replies = await gateways[index].handle(inbound)
        said = "\n".join(
            r.text + ("" if not r.buttons else f" {[b.title for b in r.buttons]}") for r in replies
        )
        turns.append((index, text, said))
        found = TICKET_RE.search(said)
        if found:
            return Conversation(user, found.group(0), turns, time.monotonic() - t0)
        text, payload = next_answer(replies)
    pytest.fail(f"no ticket number after {MAX_TURNS} turns:\n{transcript(turns)}")


def assert_one_ticket(app_url: str, conversation: Conversation) -> Ticket:
    with session_scope(app_url) as s:
        tickets = s.scalars(
            select(Ticket).where(Ticket.conversation_id == conversation.conversation_id)
        ).all()
        assert len(tickets) == 1, f"{len(tickets)} tickets\n{transcript(conversation.turns)}"
        ticket = tickets[0]
        assert ticket.number == conversation.number
        events = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).all()
        assert "created" in [e.kind for e in events]
        return ticket


def tracker_rows(services: Services, sender: str) -> int:
    import psycopg

    with psycopg.connect(services.pg.url(TRACKER_DB)) as conn:
        row = conn.execute("SELECT count(*) FROM events WHERE sender_id = %s", (sender,)).fetchone()
    return int(row[0]) if row else 0


def redis_calls(redis: Redis, command: str) -> int:
    stats = redis.command("INFO", "commandstats")
    found = re.search(rf"cmdstat_{command}:calls=(\d+)", stats)
    return int(found.group(1)) if found else 0


async def _close(gateways: list[Gateway]) -> None:
    for gateway in gateways:
        engine = gateway._engine
        if isinstance(engine, RasaRestEngine):
            await engine.aclose()


# --- tests ---------------------------------------------------------------------------------------


def test_schema_is_at_head_on_postgresql(services: Services) -> None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from hotline.db.migrate import alembic_config

    engine = get_engine(services.app_url)
    assert engine.dialect.name == "postgresql"
    head = ScriptDirectory.from_config(alembic_config(services.app_url)).get_current_head()
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head
    upgrade(services.app_url)  # idempotent: every process upgrades itself at start


def _pg_settings(services: Services, tmp: Path) -> Settings:
    settings = load_settings(
        PROJECT_ROOT / "config" / "hotline.yaml", environ={"DATABASE_URL": services.app_url}
    )
    reports = {
        "out_dir": str(tmp / "reports"),
        "per_county": False,
        "enabled_kinds": ["weekly"],
        "lock_ttl_seconds": 5,  # the minimum: election rounds every ~1.7 s
    }
    return settings.model_copy(update={"reports": settings.reports.model_copy(update=reports)})


def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_scheduler_has_one_leader_on_postgresql(services: Services, tmp_path: Path) -> None:
    settings = _pg_settings(services, tmp_path)
    sessions = get_sessionmaker(services.app_url)

    # Racing for a free lock from 8 threads at once: PostgreSQL lets exactly one win.
    barrier = threading.Barrier(8)
    wins: list[str] = []

    def contend(holder: str) -> None:
        barrier.wait()
        if LeaderLock(sessions, "race", holder, ttl=60).acquire():
            wins.append(holder)

    threads = [threading.Thread(target=contend, args=(f"t{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(wins) == 1, wins

    # Two scheduler services, as two gateways would embed them: one leader, clean handover on stop.
    a = SchedulerService(settings, RecordingNotifier(), holder="gw-a")
    b = SchedulerService(settings, RecordingNotifier(), holder="gw-b")
    try:
        a.start_background()
        assert _wait(lambda: a.is_leader, 10)
        b.start_background()
        time.sleep(2.5)  # more than one election round of b
        assert a.is_leader and not b.is_leader
        assert a.lock.current_holder() == "gw-a"
        assert a.scheduler is not None and a.scheduler.get_job("report:weekly") is not None  # job store on PG
        t0 = time.monotonic()
        a.stop()  # the leader stops: releases the lock
        assert _wait(lambda: b.is_leader, 10)
        note("scheduler handover after leader stop", f"{time.monotonic() - t0:.1f} s")
        assert b.lock.current_holder() == "gw-b" and not a.is_leader
    finally:
        a.stop()
        b.stop()

    # A leader that dies without releasing (no heartbeat) is replaced once its lock expires.
    c = SchedulerService(settings, RecordingNotifier(), holder="gw-c")
    d = SchedulerService(settings, RecordingNotifier(), holder="gw-d")
    try:
        assert c.tick() and not d.tick()
        c.stop_scheduler()  # "crash": no release, no more heartbeats
        assert not d.tick()
        t0 = time.monotonic()
        assert _wait(d.tick, 10)
        note("scheduler takeover after leader crash", f"{time.monotonic() - t0:.1f} s (lock ttl 5 s)")
        assert d.is_leader and d.lock.current_holder() == "gw-d"
        assert not c.lock.acquire()  # the old leader coming back stands by
    finally:
        c.stop()
        d.stop()
        LeaderLock(sessions, "scheduler", "gw-d").release()


async def test_one_conversation_alternating_replicas_reaches_one_ticket(cluster: Cluster) -> None:
    gateways = cluster.gateways()
    sets_before = redis_calls(cluster.services.redis, "set")
    dels_before = redis_calls(cluster.services.redis, "del")
    try:
        conversation = await converse(gateways, uuid.uuid4().hex[:10])
    finally:
        await _close(gateways)
    used = {g for g, _, _ in conversation.turns}
    assert used == {0, 1}, transcript(conversation.turns)  # the ticket needed both replicas
    ticket = assert_one_ticket(cluster.services.app_url, conversation)
    assert ticket.county_code == "341125", transcript(conversation.turns)  # 定远县, answered on a replica
    assert ticket.category == "wage_arrears"
    note(
        "one conversation",
        f"{len(conversation.turns)} turns alternating replicas, {conversation.seconds:.1f} s"
        f" → {ticket.number}",
    )

    # The tracker lives in PostgreSQL, and both replicas see the same one.
    sender = conversation.conversation_id
    assert tracker_rows(cluster.services, sender) > 0
    seen = []
    for node in cluster.nodes:
        tracker = httpx.get(
            f"{node.rasa_url}/conversations/{sender}/tracker", params=node.token, timeout=10
        ).json()
        seen.append((len(tracker["events"]), tracker["slots"]))
    assert seen[0] == seen[1]

    # The lock store is Redis: every turn took (SET) and released (DEL) the conversation's lock there.
    assert redis_calls(cluster.services.redis, "set") - sets_before >= len(conversation.turns)
    assert redis_calls(cluster.services.redis, "del") - dels_before >= len(conversation.turns)


async def test_parallel_conversations_across_replicas_one_ticket_each(cluster: Cluster) -> None:
    gateways = cluster.gateways()
    t0 = time.monotonic()
    try:
        conversations = await asyncio.gather(
            *(converse(gateways, f"p{i}-{uuid.uuid4().hex[:8]}", start=i % 2) for i in range(PARALLEL))
        )
    finally:
        await _close(gateways)
    elapsed = time.monotonic() - t0
    numbers = [c.number for c in conversations]
    assert len(set(numbers)) == PARALLEL, numbers
    for conversation in conversations:
        assert_one_ticket(cluster.services.app_url, conversation)
    with session_scope(cluster.services.app_url) as s:
        all_numbers = s.scalars(select(Ticket.number)).all()
    assert len(all_numbers) == len(set(all_numbers))
    turns = sum(len(c.turns) for c in conversations)
    note(
        f"{PARALLEL} parallel conversations",
        f"{elapsed:.1f} s wall, {turns} turns ({turns / elapsed:.1f} turns/s), "
        f"slowest {max(c.seconds for c in conversations):.1f} s",
    )


# --- the webhook shape: nginx in front of two gateways and two engine replicas (kills processes: last) ---

BOT_TOKEN = "7000002:distributed-webhook"
CITIZEN = 920001
KILL_AT = 2  # the citizen's third message is the one in flight when the kill comes
TURN_TIMEOUT = 60.0
# The in-flight message waits for its dead gateway's claim (CLAIM_TTL below), then for a live replica's
# retry tick, which only takes RECEIVED messages older than 30 s (hotline.messages.citizens_with_retries).
RECOVERY_TIMEOUT = 120.0
ENGINE_TIMEOUT = "20"  # rasa.timeout_seconds for the gateways
CLAIM_TTL = "25"  # gateway.claim_ttl_seconds (> the engine timeout; the default is 120 s)
RETRY_EVERY = "2"  # gateway.retry_interval_seconds
ENGINE_TURN = "/webhooks/rest/webhook"  # the engine's REST channel, as nginx logs it


def nginx_http_block(gateway_ports: list[int], engine_ports: list[int], webhook: int, engine: int) -> str:
    """The test's nginx: deploy/nginx/hotline12348.conf without TLS, on loopback and free ports.

    A replica that refuses connections is skipped (`proxy_next_upstream error`) and left alone for
    `fail_timeout`; a request already sent is never resent (nginx does not repeat a POST), which is what
    the gateway's claims and the engine's tracker look-up are for.
    """

    def upstream(name: str, ports: list[int]) -> str:
        servers = "".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=30s;\n" for p in ports)
        return f"    upstream {name} {{\n{servers}    }}\n"

    failover = (
        "proxy_next_upstream error timeout http_502 http_503 http_504; proxy_next_upstream_tries 2; "
        "proxy_connect_timeout 2s;"
    )
    return (
        upstream("hotline_gateways", gateway_ports)
        + upstream("hotline_engines", engine_ports)
        + f"    server {{\n        listen 127.0.0.1:{webhook};\n"
        + f"        location = /telegram {{ proxy_pass http://hotline_gateways; {failover} "
        + "proxy_read_timeout 30s; }\n"
        + "        location / { return 404; }\n    }\n"
        + f"    server {{\n        listen 127.0.0.1:{engine};\n"
        + f"        location / {{ proxy_pass http://hotline_engines; {failover} proxy_read_timeout 60s; }}\n"
        + "    }"
    )


@dataclass
class WebhookGateway:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    out_path: Path

    def diagnostics(self) -> str:
        tail = "\n".join(self.out_path.read_text(errors="replace").splitlines()[-30:])
        return f"--- gateway {self.name} (:{self.port}, exit {self.proc.poll()}) ---\n{tail}"

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGINT)  # python-telegram-bot stops its webhook server cleanly
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class WebhookShape:
    cluster: Cluster
    api: FakeBotApi
    nginx: Nginx
    gateways: list[WebhookGateway]
    webhook_port: int

    def diagnostics(self) -> str:
        parts = [g.diagnostics() for g in self.gateways]
        parts.append(f"--- nginx error log ---\n{self.nginx.error_log()}")
        return "\n".join(parts)


def start_webhook_gateway(name: str, port: int, env: dict[str, str], tmp: Path) -> WebhookGateway:
    log_dir = tmp / name
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path = log_dir / "gateway.out"
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--no-scheduler"],
            cwd=PROJECT_ROOT,
            env={**env, "HOTLINE_TELEGRAM__WEBHOOK_PORT": str(port), "HOTLINE_LOG_DIR": str(log_dir)},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return WebhookGateway(name, port, proc, out_path)


def _accepts(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture()
def webhook_shape(cluster: Cluster) -> Iterator[WebhookShape]:
    services = cluster.services
    gateway_ports = [free_port(), free_port()]
    webhook_port, engine_port = free_port(), free_port()
    nginx = Nginx(
        nginx_http_block(gateway_ports, [n.rasa_port for n in cluster.nodes], webhook_port, engine_port)
    )
    api = FakeBotApi(token=BOT_TOKEN)
    gateways: list[WebhookGateway] = []
    try:
        nginx.start([webhook_port, engine_port])
        note("nginx start", f"{nginx.started_in:.2f} s")
        api.start()
        env = {
            **os.environ,
            **services.secrets,
            "DATABASE_URL": services.app_url,
            "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
            "TELEGRAM_BASE_URL": api.base_url,
            "HOTLINE_TELEGRAM__MODE": "webhook",
            "HOTLINE_TELEGRAM__WEBHOOK_URL": f"http://127.0.0.1:{webhook_port}/telegram",
            "TELEGRAM_WEBHOOK_SECRET": uuid.uuid4().hex,
            "RASA_URL": f"http://127.0.0.1:{engine_port}",
            "HOTLINE_RASA__TIMEOUT_SECONDS": ENGINE_TIMEOUT,
            "HOTLINE_GATEWAY__CLAIM_TTL_SECONDS": CLAIM_TTL,
            "HOTLINE_GATEWAY__RETRY_INTERVAL_SECONDS": RETRY_EVERY,
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("HOTLINE_TRANSPORT", None)
        t0 = time.monotonic()
        gateways = [
            start_webhook_gateway(f"gateway-{i}", port, env, services.tmp)
            for i, port in enumerate(gateway_ports)
        ]
        shape = WebhookShape(cluster, api, nginx, gateways, webhook_port)
        deadline = time.monotonic() + 120
        while not all(_accepts(g.port) for g in gateways):
            if any(g.proc.poll() is not None for g in gateways) or time.monotonic() > deadline:
                pytest.fail(f"webhook gateways did not start\n{shape.diagnostics()}")
            time.sleep(0.2)
        note("two webhook gateways ready", f"{time.monotonic() - t0:.1f} s (started together)")
        hooks = api.calls_to("setWebhook")
        assert len(hooks) == 2 and all(c.ok for c in hooks), [c.response for c in hooks]
        assert api.webhook["url"] == env["HOTLINE_TELEGRAM__WEBHOOK_URL"]
        yield shape
    finally:
        for gateway in gateways:
            gateway.stop()
        api.stop()
        nginx.stop()


def inbound_row(app_url: str, external_id: str) -> MessageLog | None:
    with session_scope(app_url) as s:
        row = s.scalars(
            select(MessageLog).where(
                MessageLog.channel == "telegram",
                MessageLog.external_message_id == external_id,
                MessageLog.direction == MessageDirection.INBOUND,
            )
        ).first()
        if row is not None:
            s.expunge(row)
        return row


def turn_done(app_url: str, external_id: str) -> bool:
    """The message is answered by the engine and none of the citizen's replies waits in the outbox."""
    with session_scope(app_url) as s:
        citizen = s.scalars(select(Citizen).where(Citizen.conversation_id == f"telegram-{CITIZEN}")).first()
        if citizen is None:
            return False
        states = s.execute(
            select(MessageLog.external_message_id, MessageLog.direction, MessageLog.state).where(
                MessageLog.citizen_id == citizen.id
            )
        ).all()
    answered = any(m == external_id and st == MessageState.PROCESSED for m, _, st in states)
    waiting = any(d == MessageDirection.OUTBOUND and st == MessageState.QUEUED for _, d, st in states)
    return answered and not waiting


def wait_turn(shape: WebhookShape, external_id: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not turn_done(shape.cluster.services.app_url, external_id):
        if time.monotonic() > deadline:
            pytest.fail(f"message {external_id} not answered in {timeout:.0f} s\n{shape.diagnostics()}")
        time.sleep(0.1)


def engine_answering(nodes: list[Node]) -> Node | None:
    """The replica with a request in flight: nginx opens one connection per request to an engine (no
    upstream keep-alive), so an ESTABLISHED socket on a replica's port is a turn being answered."""
    wanted = {f"{n.rasa_port:04X}": n for n in nodes}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, state = fields[1].rsplit(":", 1)[1], fields[3]
        if state == "01" and local_port in wanted:
            return wanted[local_port]
    return None


def gateway_that_took_update(shape: WebhookShape, nth: int) -> WebhookGateway:
    """The gateway nginx passed the citizen's `nth` update to (1-based; the fake Bot API delivers one at a
    time, in order). nginx logs a request when the gateway answered it, which it does before processing."""
    deadline = time.monotonic() + 10
    while True:
        served = [
            e for e in shape.nginx.upstream_log() if e.get("uri") == "/telegram" and e.get("status") == "200"
        ]
        if len(served) >= nth or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(served) == nth, f"{served}\n{shape.diagnostics()}"
    port = int(served[nth - 1]["upstream"].split(",")[-1].strip().rsplit(":", 1)[1])
    return next(g for g in shape.gateways if g.port == port)


def replies_from(app_url: str, messages: list[dict[str, Any]]) -> list[Reply]:
    sessions = get_sessionmaker(app_url)
    replies = []
    for message in messages:
        buttons = tuple(
            Button(str(b["text"]), decode_payload(sessions, str(b["callback_data"])) or "")
            for row in FakeBotApi._keyboard(message)
            for b in row
        )
        replies.append(Reply(str(message.get("text", "")), buttons))
    return replies


def test_webhook_gateways_behind_nginx_survive_a_gateway_and_an_engine_kill(
    webhook_shape: WebhookShape,
) -> None:
    shape = webhook_shape
    api, app_url = shape.api, shape.cluster.services.app_url
    refused = httpx.post(f"http://127.0.0.1:{shape.webhook_port}/telegram", json={"update_id": 1}, timeout=10)
    assert refused.status_code == 403  # through nginx, without Telegram's secret token: the gateway refuses

    t0 = time.monotonic()
    sent: list[str] = []  # what reached the engine, in order (a button's payload, else the text)
    exchanges: list[tuple[str, str]] = []  # (citizen, bot) for the transcript
    killed: dict[str, str] = {}
    text, payload, title = OPENING, None, OPENING
    replies: list[Reply] = []
    for turn in range(MAX_TURNS):
        before = max((int(m["message_id"]) for m in api.bot_messages(CITIZEN)), default=0)
        if payload is None:
            external_id = f"{CITIZEN}:{api.inject_text(CITIZEN, CITIZEN, text)}"
        else:
            keyboard = next(m for m in reversed(api.bot_messages(CITIZEN)) if api.buttons(m))
            external_id = f"cb:{api.press(CITIZEN, CITIZEN, int(keyboard['message_id']), title)}"
        sent.append(payload or text)
        if turn == KILL_AT:
            killed = kill_mid_turn(shape, external_id, nth=turn + 1)
            wait_turn(shape, external_id, RECOVERY_TIMEOUT)
            note("in-flight turn answered after the kill", f"{time.monotonic() - float(killed['at']):.1f} s")
        else:
            wait_turn(shape, external_id, TURN_TIMEOUT)
        answer = api.bot_messages(CITIZEN, after=before)
        exchanges.append((payload or text, "\n".join(str(m.get("text", "")) for m in answer)))
        assert answer, f"message {turn + 1} not answered\n{_chat(exchanges)}"  # every message answered
        replies = replies_from(app_url, answer)
        if TICKET_RE.search(exchanges[-1][1]):
            break
        title, payload = next_answer(replies)
        text = title
    else:
        pytest.fail(f"no ticket number after {MAX_TURNS} turns\n{_chat(exchanges)}\n{shape.diagnostics()}")
    elapsed = time.monotonic() - t0
    assert len(sent) > KILL_AT + 1, f"the intake ended before the kill\n{_chat(exchanges)}"

    # Exactly one ticket, the one the citizen was told.
    number = TICKET_RE.search(exchanges[-1][1]).group(0)  # type: ignore[union-attr]
    with session_scope(app_url) as s:
        tickets = s.scalars(select(Ticket).where(Ticket.conversation_id == f"telegram-{CITIZEN}")).all()
        assert [t.number for t in tickets] == [number], _chat(exchanges)
        assert (tickets[0].category, tickets[0].county_code) == ("wage_arrears", "341125"), _chat(exchanges)
        rows = s.scalars(
            select(MessageLog)
            .join(Citizen)
            .where(
                Citizen.conversation_id == f"telegram-{CITIZEN}",
                MessageLog.direction == MessageDirection.INBOUND,
            )
            .order_by(MessageLog.id)
        ).all()
        processed = [r.processed_at or dt.datetime.max for r in rows]
        states = [r.state for r in rows]
    assert states == [MessageState.PROCESSED] * len(sent)
    assert processed == sorted(processed)  # answered in the order sent

    # Order kept, and each turn reached the engine exactly once: the shared tracker (asked through the
    # surviving replica) holds the citizen's words in the order sent, none twice, none missing.
    survivor = next(n for n in shape.cluster.nodes if n.proc.poll() is None)
    tracker = httpx.get(
        f"{survivor.rasa_url}/conversations/telegram-{CITIZEN}/tracker", params=survivor.token, timeout=10
    ).json()
    said = [e.get("text") for e in tracker["events"] if e.get("event") == "user"]
    assert said == sent, f"{said}\n{_chat(exchanges)}"

    # Both gateways and both engine replicas served this citizen before the kill; only survivors after.
    log = shape.nginx.upstream_log()
    at = float(killed["at_epoch"])

    def served(uri: str, after: bool) -> set[str]:
        """Replicas that answered requests for `uri` before/after the kill (a request cut off by the kill
        is logged when nginx notices, with a 499 or 502: not counted)."""
        return {
            e["upstream"].split(",")[-1].strip()  # the replica that answered (after any that refused)
            for e in log
            if e["uri"] == uri and e["status"] == "200" and (float(e["msec"]) > at) == after
        }

    gateways = [f"127.0.0.1:{g.port}" for g in shape.gateways]
    engines = [f"127.0.0.1:{n.rasa_port}" for n in shape.cluster.nodes]
    assert served("/telegram", after=False) == set(gateways), log
    assert served("/telegram", after=True) == {
        gateways[i] for i, g in enumerate(shape.gateways) if g.proc.poll() is None
    }
    assert served(ENGINE_TURN, after=False) == set(engines), log
    assert served(ENGINE_TURN, after=True) == {f"127.0.0.1:{survivor.rasa_port}"}, log
    for gateway in shape.gateways:
        if gateway.name != killed["gateway"]:
            assert gateway.proc.poll() is None, gateway.diagnostics()

    note(
        "webhook conversation through nginx",
        f"{len(sent)} citizen messages, {len(sent)} answered, 1 ticket ({number}), {elapsed:.1f} s; "
        f"killed {killed['gateway']} and {killed['node']} {killed['when']}",
    )


def kill_mid_turn(shape: WebhookShape, external_id: str, nth: int) -> dict[str, str]:
    """SIGKILL the gateway that took this message and the engine node answering it, once the message is
    persisted and at the engine (dispatched); if the turn was over before we saw it there, node-a."""
    app_url, nodes = shape.cluster.services.app_url, shape.cluster.nodes
    deadline = time.monotonic() + TURN_TIMEOUT
    node: Node | None = None
    while time.monotonic() < deadline:
        row = inbound_row(app_url, external_id)
        if row is not None and row.state == MessageState.PROCESSED:
            break
        if row is not None and row.dispatched_at is not None:
            node = engine_answering(nodes)
            if node is not None:
                break
        time.sleep(0.01)
    else:
        pytest.fail(f"message {external_id} never reached the engine\n{shape.diagnostics()}")
    when = "while the engine answered the turn" if node is not None else "just after the turn (missed it)"
    victim_node = node or nodes[0]
    gateway = gateway_that_took_update(shape, nth)
    gateway.kill()
    victim_node.kill()
    return {
        "gateway": gateway.name,
        "node": victim_node.name,
        "when": when,
        "at": str(time.monotonic()),
        "at_epoch": str(time.time()),
    }


def _chat(exchanges: list[tuple[str, str]]) -> str:
    return "\n".join(f"市民: {c}\n助手: {b}" for c, b in exchanges)
