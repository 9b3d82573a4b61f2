"""Scale-out (issue 13): 1 vs 2 webhook gateways, and 1 vs 2 engine replicas, on PostgreSQL + Redis.

The distributed shape of tests/integration/test_distributed.py, measured: throwaway PostgreSQL (application
database; the engines' tracker store) and Redis (the engines' lock store), nginx (the shape of
deploy/nginx/hotline12348.conf) in front of `python -m bot` gateways in webhook mode, and the local Bot API
server of tests/fakes delivering each update to nginx with the webhook secret (up to 40 requests at once,
one chat's updates one at a time and in order, as Telegram's Bot API server does).

A. Gateway scale-out: 1, then 2 gateway processes behind nginx against the stub engine of
   bench_gateway_capacity.py (every turn answered after a fixed --engine-ms, so the engine is never the
   limit). --citizens citizens start at the same moment; each sends --burst messages in a row (a citizen
   typing several short messages), waits for every reply, and does that --rounds times. Printed: turns/s,
   first-reply latency (each citizen's first message) and turn latency (every message, from the moment it
   was sent to its reply) p50/p90/max; per-citizen order (citizens whose replies came in another order than
   they wrote: must be 0) and messages answered exactly once (unanswered / answered twice: must be 0).
B. Engine scale-out: two engine nodes (`python -m stack --no-gateway`, the real trained model: an action
   server and a `rasa run` replica each, tracker in PostgreSQL, locks in Redis) are started together; one
   gateway behind nginx talks to the engines through nginx, first with 1 replica in the engine upstream,
   then with 2. --intake-citizens citizens run the scripted wage-arrears intake of the distributed test
   (buttons pressed through the fake Bot API) until a ticket number, one turn after the other. Printed:
   turns/s and turn latency p50/p90/max, tickets (one per citizen).

After every configuration: the CPU each process used during it (user + system seconds over the wall time,
in cores, from /proc; children included) and the whole machine's, so whatever limits the figures shows.
Progress goes to stderr, the tables to stdout. Cold start of the engine nodes: ~1-2 minutes.

    .venv/bin/python bench/bench_scaleout.py                 # both parts, ~3 minutes
    .venv/bin/python bench/bench_scaleout.py --part gateways --citizens 50 --rounds 3 --burst 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench.bench_gateway_capacity import StubEngine, cpu_seconds, pct  # noqa: E402
from hotline.db.migrate import upgrade  # noqa: E402
from hotline.db.models import Citizen, MessageDirection, MessageLog, MessageState, Ticket  # noqa: E402
from hotline.db.session import get_engine, session_scope  # noqa: E402
from stack.background import with_run_secrets  # noqa: E402
from tests.fakes.bot_api_server import Call, FakeBotApi  # noqa: E402
from tests.integration.services import Nginx, Postgres, Redis, children_of, free_port  # noqa: E402
from tests.integration.test_distributed import (  # noqa: E402
    OPENING,
    TICKET_RE,
    TRACKER_DB,
    Node,
    Services,
    WebhookGateway,
    _accepts,
    next_answer,
    nginx_http_block,
    replies_from,
    start_node,
    start_webhook_gateway,
    wait_ready,
)

TOKEN = "7000003:scaleout"
RUN_TIMEOUT = 180.0  # one configuration; a message stuck behind a stale claim waits for the 30 s retry tick


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# ---- CPU per process ---------------------------------------------------------------------------------


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its descendants so far (exited, reaped children included)."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = cpu_seconds(pid) + (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0
    return total + sum(tree_cpu(child) for child in children_of(pid))


def machine_busy() -> tuple[float, float]:
    """(busy CPU seconds of all cores, wall seconds) from /proc/stat's first line."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK"), time.monotonic()


def pid_of(proc: subprocess.Popen[bytes] | None) -> Callable[[], list[int]]:
    return lambda: [proc.pid] if proc is not None and proc.poll() is None else []


class CpuMeter:
    """CPU use (in cores) of named process trees and of the whole machine between start() and stop()."""

    def __init__(self, processes: dict[str, Callable[[], list[int]]]) -> None:
        self.processes = processes
        self.cores: dict[str, float] = {}

    def _sample(self) -> dict[str, float]:
        sample = {name: sum(tree_cpu(pid) for pid in pids()) for name, pids in self.processes.items()}
        sample["bench (this process)"] = cpu_seconds(os.getpid())  # its children are the rows above
        return sample

    def start(self) -> None:
        self._before, self._machine = self._sample(), machine_busy()

    def stop(self) -> None:
        after, (busy, now) = self._sample(), machine_busy()
        wall = now - self._machine[1]
        self.seconds = {name: after[name] - self._before[name] for name in after}
        self.cores = {name: used / wall for name, used in self.seconds.items()}
        self.cores["whole machine"] = (busy - self._machine[0]) / wall

    def line(self) -> str:
        return ", ".join(f"{name} {cores:.2f}" for name, cores in self.cores.items())

    def ms_per_turn(self, prefix: str, turns: int) -> float:
        """CPU milliseconds per turn of the processes whose name starts with `prefix`."""
        used = sum(v for k, v in self.seconds.items() if k.startswith(prefix))
        return used / max(1, turns) * 1000


# ---- the shared services and the webhook front --------------------------------------------------------


@contextmanager
def services() -> Iterator[Services]:
    pg, redis = Postgres(), Redis()
    try:
        pg.start()
        redis.start()
        progress(f"PostgreSQL :{pg.port} and Redis :{redis.port} up")
        drawn = with_run_secrets(dict(os.environ))
        secrets = {key: drawn[key] for key in ("RASA_AUTH_TOKEN", "ACTION_SERVER_TOKEN")}
        yield Services(pg, redis, "", Path(tempfile.mkdtemp(prefix="bench-scaleout-")), secrets)
    finally:
        redis.stop()
        pg.stop()


def app_database(svc: Services, name: str) -> str:
    url = svc.pg.create_database(name)
    upgrade(url)
    return url


@dataclass
class Front:
    """nginx + the fake Bot API + N webhook gateways on one application database."""

    api: FakeBotApi
    nginx: Nginx
    gateways: list[WebhookGateway]
    db_url: str

    def pids(self) -> list[int]:
        return [g.proc.pid for g in self.gateways]

    def split_since(self, before: int, uri: str) -> Counter[str]:
        """Requests for `uri` nginx passed to each upstream (by port) after its first `before` log lines."""
        return Counter(
            entry["upstream"].rsplit(":", 1)[-1]
            for entry in self.nginx.upstream_log()[before:]
            if entry.get("uri") == uri
        )


@contextmanager
def webhook_front(
    svc: Services, api: FakeBotApi, db_url: str, n_gateways: int, engine_ports: list[int], tag: str
) -> Iterator[Front]:
    """`n_gateways` gateways behind nginx; their engine is nginx's upstream of `engine_ports`.

    One Bot API fake serves every configuration: its update, message and callback ids keep counting, so
    a button press of one configuration is never taken for a repeat of another's on a shared database.
    """
    gateway_ports = [free_port() for _ in range(n_gateways)]
    webhook_port, engine_port = free_port(), free_port()
    nginx = Nginx(nginx_http_block(gateway_ports, engine_ports, webhook_port, engine_port))
    gateways: list[WebhookGateway] = []
    hooks = len(api.calls_to("setWebhook"))
    try:
        nginx.start([webhook_port, engine_port])
        env = {
            **os.environ,
            **svc.secrets,
            "DATABASE_URL": db_url,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": api.base_url,
            "HOTLINE_TELEGRAM__MODE": "webhook",
            "HOTLINE_TELEGRAM__WEBHOOK_URL": f"http://127.0.0.1:{webhook_port}/telegram",
            "HOTLINE_TELEGRAM__MESSAGES_PER_SECOND": "0",  # the gateways are measured, not Telegram's limit
            "TELEGRAM_WEBHOOK_SECRET": uuid.uuid4().hex,
            "RASA_URL": f"http://127.0.0.1:{engine_port}",
            "HOTLINE_RASA__TIMEOUT_SECONDS": "60",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("HOTLINE_TRANSPORT", None)
        gateways = [
            start_webhook_gateway(f"{tag}-gateway-{i}", port, env, svc.tmp)
            for i, port in enumerate(gateway_ports)
        ]
        front = Front(api, nginx, gateways, db_url)
        api.wait_until(
            lambda: len([c for c in api.calls_to("setWebhook")[hooks:] if c.ok]) == n_gateways,
            120,
            "setWebhook",
        )
        deadline = time.monotonic() + 60
        while not all(_accepts(g.port) for g in gateways):
            if any(g.proc.poll() is not None for g in gateways) or time.monotonic() > deadline:
                raise RuntimeError(
                    "webhook gateways did not start\n" + "\n".join(g.diagnostics() for g in gateways)
                )
            time.sleep(0.2)
        yield front
    finally:
        for gateway in gateways:
            gateway.stop()
        nginx.stop()


def replies_to(api: FakeBotApi, seen: int) -> tuple[list[Call], int]:
    calls = api.calls[seen:]
    return [c for c in calls if c.method == "sendMessage" and c.ok], seen + len(calls)


# ---- A: gateways against the stub engine ----------------------------------------------------------------


@dataclass
class GatewayRun:
    first: list[float] = field(default_factory=list)
    turn: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    sent: int = 0
    unanswered: int = 0
    twice: int = 0
    out_of_order: int = 0  # citizens whose replies came in another order than they wrote
    not_processed: int = 0  # inbound rows not PROCESSED in the database at the end
    persisted_out_of_order: int = 0  # citizens whose messages got database ids in another order
    gateway_cpu_ms: float = 0.0  # all gateway processes' CPU per turn
    per_gateway: Counter[str] = field(default_factory=Counter)  # webhook requests nginx passed to each
    cpu: str = ""


async def bursts(api: FakeBotApi, users: list[int], rounds: int, burst: int) -> GatewayRun:
    """Each citizen writes `burst` messages in a row, waits for all their replies, `rounds` times."""
    run = GatewayRun()
    sent_at: dict[str, float] = {}
    wrote: dict[int, list[str]] = {u: [] for u in users}
    got: dict[int, list[str]] = {u: [] for u in users}
    waiting: dict[int, int] = {}  # citizen -> replies still due this round
    done_rounds = dict.fromkeys(users, 0)
    seen = len(api.calls)

    def write(user: int) -> None:
        for b in range(burst):
            text = f"{user}:{done_rounds[user]}:{b}"
            api.inject_text(user, user, text)
            sent_at[text] = time.monotonic()
            wrote[user].append(text)
        waiting[user] = burst
        run.sent += burst

    started = time.monotonic()
    for user in users:
        write(user)
    while waiting and time.monotonic() - started < RUN_TIMEOUT:
        await asyncio.sleep(0.005)
        calls, seen = replies_to(api, seen)
        for call in calls:
            user, text = int(call.params.get("chat_id") or 0), str(call.params.get("text", ""))
            if user not in got or not text.startswith("答复:"):
                continue
            said = text.removeprefix("答复:")
            if said in got[user]:
                run.twice += 1
                continue
            got[user].append(said)
            latency = call.at - sent_at[said]
            run.turn.append(latency)
            if said.endswith(":0:0"):
                run.first.append(latency)
            waiting[user] -= 1
            if not waiting[user]:
                del waiting[user]
                done_rounds[user] += 1
                if done_rounds[user] < rounds:
                    write(user)
    run.elapsed = time.monotonic() - started
    run.unanswered = sum(len(wrote[u]) - len(got[u]) for u in users)
    late = [u for u in users if got[u] != wrote[u][: len(got[u])]]
    run.out_of_order = len(late)
    for user in late[:5]:
        progress(f"replies out of order for {user}: wrote {wrote[user]}, answered {got[user]}")
    return run


def measure_gateways(
    svc: Services, api: FakeBotApi, n_gateways: int, engine: StubEngine, args: argparse.Namespace
) -> GatewayRun:
    db_url = app_database(svc, f"scaleout_gw{n_gateways}")
    progress(f"A: {n_gateways} gateway(s) behind nginx, stub engine {args.engine_ms:.0f} ms")
    with webhook_front(svc, api, db_url, n_gateways, [engine.port], f"a{n_gateways}") as front:
        warm = 10 * n_gateways  # warm-up: every gateway answers once (connections, first inserts)
        for i in range(n_gateways * 2):
            api.add_user(warm + i)
            said = api.inject_text(warm + i, warm + i, "你好")
            api.wait_for_messages(warm + i, 1, 60, after=said)
        users = [100_000 * n_gateways + i for i in range(args.citizens)]
        for user in users:
            api.add_user(user)
        meter = CpuMeter(
            {
                **{f"gateway {i}": pid_of(g.proc) for i, g in enumerate(front.gateways)},
                "postgres": lambda: [p for p in [svc.pg.pid()] if p],
                "nginx": pid_of(front.nginx.proc),
            }
        )
        before = len(front.nginx.upstream_log())
        meter.start()
        run = asyncio.run(bursts(api, users, args.rounds, args.burst))
        meter.stop()
        run.cpu = meter.line()
        run.gateway_cpu_ms = meter.ms_per_turn("gateway", len(run.turn))
        run.persisted_out_of_order = persisted_out_of_order(db_url, users)
        run.per_gateway = front.split_since(before, "/telegram")
        with session_scope(db_url) as s:
            run.not_processed = (
                s.scalar(
                    select(func.count())
                    .select_from(MessageLog)
                    .where(
                        MessageLog.direction == MessageDirection.INBOUND,
                        MessageLog.state != MessageState.PROCESSED,
                    )
                )
                or 0
            )
    get_engine(db_url).dispose()
    return run


def persisted_out_of_order(db_url: str, users: list[int]) -> int:
    """Citizens whose messages ("user:round:index") were persisted (row ids) in another order than sent."""
    with session_scope(db_url) as s:
        rows = s.execute(
            select(Citizen.external_id, MessageLog.text)
            .join(Citizen)
            .where(
                MessageLog.direction == MessageDirection.INBOUND,
                Citizen.external_id.in_([str(u) for u in users]),
            )
            .order_by(MessageLog.id)
        ).all()
    persisted: dict[str, list[tuple[int, int]]] = {}
    for user, text in rows:
        _, round_, index = text.split(":")
        persisted.setdefault(user, []).append((int(round_), int(index)))
    late = [user for user, order in persisted.items() if order != sorted(order)]
    for user in late[:5]:
        progress(f"persisted out of order for {user}: {persisted[user]}")
    return len(late)


def gateway_table(runs: dict[int, GatewayRun], args: argparse.Namespace) -> str:
    lines = [
        f"A. {args.citizens} citizens at once, {args.rounds} rounds of {args.burst} messages each, "
        f"stub engine {args.engine_ms:.0f} ms, webhooks through nginx, PostgreSQL, {os.cpu_count()} CPUs",
        "",
        "| gateways | turns | turns/s | first p50 s | first p90 s | first max s | turn p50 s | turn p90 s "
        "| turn max s | order violations (persisted out of order) | unanswered | answered twice "
        "| not processed in DB | webhooks per gateway | gateway CPU ms/turn |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for n, run in runs.items():
        first, turn = run.first or [0.0], run.turn or [0.0]
        split = " / ".join(str(v) for v in run.per_gateway.values())
        lines.append(
            f"| {n} | {len(run.turn)} | {len(run.turn) / run.elapsed:.1f} | "
            f"{statistics.median(first):.3f} | {pct(first, 90):.3f} | {max(first):.3f} | "
            f"{statistics.median(turn):.3f} | {pct(turn, 90):.3f} | {max(turn):.3f} | "
            f"{run.out_of_order} ({run.persisted_out_of_order}) | {run.unanswered} | {run.twice} | "
            f"{run.not_processed} | {split} | {run.gateway_cpu_ms:.1f} |"
        )
    lines.append("")
    lines += [f"CPU in cores, {n} gateway(s): {run.cpu}" for n, run in runs.items()]
    return "\n".join(lines)


# ---- B: engine replicas, scripted intakes ---------------------------------------------------------------


@dataclass
class IntakeRun:
    turn: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    tickets_told: int = 0
    unfinished: int = 0
    tickets_in_db: int = 0
    per_engine: Counter[str] = field(default_factory=Counter)
    engine_cpu_ms: float = 0.0  # both engine nodes' CPU (rasa + action server) per turn
    cpu: str = ""


def _turn_done(db_url: str, external_ids: dict[int, str]) -> set[int]:
    """Citizens whose pending message is answered and none of whose replies waits in the outbox."""
    with session_scope(db_url) as s:
        rows = s.execute(
            select(
                Citizen.external_id, MessageLog.external_message_id, MessageLog.direction, MessageLog.state
            )
            .join(Citizen)
            .where(Citizen.external_id.in_([str(u) for u in external_ids]))
        ).all()
    answered, queued = set(), set()
    for user, message_id, direction, state in rows:
        if direction == MessageDirection.OUTBOUND and state == MessageState.QUEUED:
            queued.add(int(user))
        elif message_id == external_ids.get(int(user)) and state == MessageState.PROCESSED:
            answered.add(int(user))
    return answered - queued


async def intakes(front: Front, users: list[int], max_turns: int) -> IntakeRun:
    """Every citizen runs the intake, one turn after the other, until a ticket number (or max_turns)."""
    api, run = front.api, IntakeRun()
    turns = dict.fromkeys(users, 0)
    in_flight: dict[int, str] = {}
    sent_at: dict[int, float] = {}
    last_seen = {u: 0 for u in users}

    def send(user: int, text: str, payload: str | None) -> None:
        last_seen[user] = max((int(m["message_id"]) for m in api.bot_messages(user)), default=0)
        if payload is None:
            in_flight[user] = f"{user}:{api.inject_text(user, user, text)}"
        else:
            keyboard = next(m for m in reversed(api.bot_messages(user)) if api.buttons(m))
            in_flight[user] = f"cb:{api.press(user, user, int(keyboard['message_id']), text)}"
        sent_at[user] = time.monotonic()
        turns[user] += 1

    started = time.monotonic()
    for user in users:
        send(user, OPENING, None)
    while in_flight and time.monotonic() - started < RUN_TIMEOUT * 2:
        await asyncio.sleep(0.05)
        for user in await asyncio.to_thread(_turn_done, front.db_url, dict(in_flight)):
            del in_flight[user]
            answer = api.bot_messages(user, after=last_seen[user])
            at = max(
                (c.at for c in api.calls_to("sendMessage") if c.params.get("chat_id") == user), default=0.0
            )
            run.turn.append(at - sent_at[user])
            text = "\n".join(str(m.get("text", "")) for m in answer)
            if TICKET_RE.search(text):
                run.tickets_told += 1
                continue
            if turns[user] >= max_turns:
                run.unfinished += 1
                continue
            title, payload = next_answer(replies_from(front.db_url, answer))
            send(user, title, payload)
    run.elapsed = time.monotonic() - started
    run.unfinished += len(in_flight)
    return run


def measure_engines(
    svc: Services,
    api: FakeBotApi,
    db_url: str,
    nodes: list[Node],
    n_engines: int,
    args: argparse.Namespace,
    first_user: int,
) -> IntakeRun:
    engines = nodes[:n_engines]
    progress(f"B: 1 gateway, {n_engines} engine replica(s) behind nginx, {args.intake_citizens} intakes")
    with webhook_front(svc, api, db_url, 1, [n.rasa_port for n in engines], f"b{n_engines}") as front:
        users = [first_user + i for i in range(args.intake_citizens)]
        for user in users:
            front.api.add_user(user)
        meter = CpuMeter(
            {
                "gateway": front.pids,
                **{f"engine node {n.name} (rasa + actions)": pid_of(n.proc) for n in nodes},
                "postgres": lambda: [p for p in [svc.pg.pid()] if p],
                "redis": pid_of(svc.redis.proc),
                "nginx": pid_of(front.nginx.proc),
            }
        )
        before = len(front.nginx.upstream_log())
        meter.start()
        run = asyncio.run(intakes(front, users, args.max_turns))
        meter.stop()
        run.cpu = meter.line()
        run.engine_cpu_ms = meter.ms_per_turn("engine node", len(run.turn))
        run.per_engine = front.split_since(before, "/webhooks/rest/webhook")
        with session_scope(db_url) as s:
            run.tickets_in_db = (
                s.scalar(
                    select(func.count())
                    .select_from(Ticket)
                    .where(Ticket.conversation_id.in_([f"telegram-{u}" for u in users]))
                )
                or 0
            )
    return run


def engine_table(runs: dict[int, IntakeRun], args: argparse.Namespace) -> str:
    lines = [
        f"B. {args.intake_citizens} citizens at once, each the scripted wage-arrears intake to a ticket "
        "(one turn after the other), real engine replicas (tracker in PostgreSQL, locks in Redis), 1 gateway",
        "",
        "| engine replicas | turns | turns/s | turn p50 s | turn p90 s | turn max s | tickets told / in DB "
        "| unfinished | engine turns per replica | engine CPU ms/turn |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for n, run in runs.items():
        turn = run.turn or [0.0]
        split = " / ".join(str(v) for v in run.per_engine.values())
        lines.append(
            f"| {n} | {len(run.turn)} | {len(run.turn) / run.elapsed:.2f} | {statistics.median(turn):.2f} | "
            f"{pct(turn, 90):.2f} | {max(turn):.2f} | {run.tickets_told} / {run.tickets_in_db} | "
            f"{run.unfinished} | {split} | {run.engine_cpu_ms:.0f} |"
        )
    lines.append("")
    lines += [f"CPU in cores, {n} replica(s): {run.cpu}" for n, run in runs.items()]
    return "\n".join(lines)


def warm_up(nodes: list[Node]) -> None:
    """The engines load parts of the pipeline on their first turns: two bare REST turns each."""
    for node in nodes:
        for text in ("你好", OPENING):
            httpx.post(
                f"{node.rasa_url}/webhooks/rest/webhook",
                params=node.token,
                json={"sender": f"warm-{uuid.uuid4().hex[:8]}", "message": text},
                timeout=120,
            ).raise_for_status()


# ---- main ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=["gateways", "engines", "both"], default="both")
    parser.add_argument("--citizens", type=int, default=50, help="A: citizens at once (default 50)")
    parser.add_argument("--rounds", type=int, default=4, help="A: rounds per citizen (default 4)")
    parser.add_argument(
        "--burst", type=int, default=2, help="A: messages written in a row per round (default 2)"
    )
    parser.add_argument("--engine-ms", type=float, default=100.0, help="A: the stub engine's answer time")
    parser.add_argument("--intake-citizens", type=int, default=32, help="B: citizens at once (default 32)")
    parser.add_argument(
        "--max-turns", type=int, default=15, help="B: an intake without a ticket by then stops"
    )
    args = parser.parse_args(argv)
    out: list[str] = []
    with services() as svc, FakeBotApi(token=TOKEN) as api:
        if args.part in ("gateways", "both"):
            engine = StubEngine(args.engine_ms / 1000).start()
            try:
                runs = {n: measure_gateways(svc, api, n, engine, args) for n in (1, 2)}
            finally:
                engine.stop()
            out.append(gateway_table(runs, args))
            print(out[-1] + "\n", flush=True)
        if args.part in ("engines", "both"):
            svc.app_url = app_database(svc, "scaleout_engines")
            svc.pg.create_database(TRACKER_DB)
            nodes: list[Node] = []
            try:
                t0 = time.monotonic()
                progress("B: starting two engine nodes (cold start, a few minutes)")
                nodes = [start_node("node-a", svc), start_node("node-b", svc)]
                wait_ready(nodes, 900)
                progress(f"B: both engine nodes ready in {time.monotonic() - t0:.0f} s")
                warm_up(nodes)
                intake_runs = {
                    n: measure_engines(svc, api, svc.app_url, nodes, n, args, 200_000 + 1000 * n)
                    for n in (1, 2)
                }
            finally:
                for node in nodes:
                    node.stop()
                get_engine(svc.app_url).dispose()
            out.append(engine_table(intake_runs, args))
            print(out[-1] + "\n", flush=True)
    print("\n\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
