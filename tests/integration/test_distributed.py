"""The distributed shape on one machine, from configuration alone (docs/architecture.md §6).

PostgreSQL (application database + Rasa tracker store) and Redis (Rasa lock store) are started as throwaway
servers; two engine "nodes" are started with the same supervisor as `make run`
(`python -m stack --no-gateway --endpoints config/endpoints.distributed.yml`), each an action server
plus a `rasa run` replica; two gateways share the application database, each talking to its own replica.
Nothing but environment variables and the endpoints file differs from the embedded default.

- one citizen's turns alternate between gateways/replicas and still end in exactly one ticket (shared
  tracker), and both replicas report the same tracker;
- several conversations in parallel across both replicas each get one ticket, no duplicate numbers;
- two schedulers on the same PostgreSQL database: exactly one leader; the other takes over when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
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

import httpx
import pytest
from sqlalchemy import select

from bot.engine import RasaRestEngine
from bot.gateway import Gateway, Inbound
from bot.replies import Button, Reply
from hotline.db.migrate import upgrade
from hotline.db.models import Ticket, TicketEvent
from hotline.db.session import get_engine, get_sessionmaker, session_scope
from hotline.reports.delivery import RecordingNotifier
from hotline.scheduler import LeaderLock, SchedulerService
from hotline.settings import PROJECT_ROOT, Settings, load_settings
from stack.background import with_run_secrets
from stack.components import CURRENT_MODEL, RASA_BIN
from tests.integration.services import (
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


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    missing = missing_binaries()
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
        yield Services(pg, redis, app_url, tmp_path_factory.mktemp("distributed"))
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
        **with_run_secrets(dict(os.environ)),
        "DATABASE_URL": services.app_url,
        "HOTLINE_LOG_DIR": str(log_dir),
        "TRACKER_DB_HOST": "127.0.0.1",
        "TRACKER_DB_PORT": str(services.pg.port),
        "TRACKER_DB_NAME": TRACKER_DB,
        "TRACKER_DB_USER": services.pg.user,
        "TRACKER_DB_PASSWORD": services.pg.password,
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(services.redis.port),
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
            note(f"{node.name} RSS after the tests", rss)
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
