"""Gateway capacity: the Telegram gateway against a stub engine that answers after a fixed delay.

What decides whether engine replicas help: a gateway that takes one update at a time caps near
1 / engine-latency turns a second whatever the number of replicas behind it. This script is "the world"
(the local Bot API server of tests/fakes and a stub engine answering every turn after `--engine-ms`, both
in this process); the gateway under test runs unchanged in a child process (`python -m bot`'s transport,
long polling, SQLite in a temporary directory), so only the gateway's own CPU is in its process.

The last column is the gateway process's CPU time per turn (all threads): on a loaded machine turns/s
says how much CPU the gateway got, 1000 / (CPU ms per turn) what one free core would carry.

`--citizens` citizens send their first message at the same moment; each sends its next message as soon as
the previous one was answered, `--turns` times. Printed: first-reply latency of the burst (p50/p90/max),
per-turn latency, and turns/s; once for the concurrent gateway and once for the BEFORE configuration
(updates one at a time) in the same run, unless `--sequential` or `--concurrent` picks one.

    .venv/bin/python bench/bench_gateway_capacity.py --citizens 50 --turns 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.bot_api_server import FakeBotApi  # noqa: E402

TOKEN = "4242:bench"
FIRST_USER = 50_001


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# ---- the stub engine: Rasa's REST channel, answering after a fixed delay --------------------------------


class StubEngine:
    """`POST /webhooks/rest/webhook` answered with one text after `delay` s (a remote replica pool)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.port = 0
        self.turns = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                body = json.loads(await reader.readexactly(length)) if length else {}
                await asyncio.sleep(self.delay)
                self.turns += 1
                answer = json.dumps(
                    [{"recipient_id": body.get("sender"), "text": f"答复:{body.get('message')}"}]
                ).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(answer)}\r\n\r\n".encode()
                    + answer
                )
                await writer.drain()
        writer.close()

    async def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0, backlog=512)
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        async with server:
            await self._stop.wait()

    def start(self) -> StubEngine:
        ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve(ready)), daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)


# ---- the gateway under test (child process) -------------------------------------------------------------


def serve_gateway(args: argparse.Namespace) -> None:
    """The production transport and gateway, configured for the world above; runs until killed."""
    import logging

    from bot.engine import RasaRestEngine
    from bot.gateway import Gateway
    from bot.transports.telegram import TelegramTransport
    from hotline.db.session import get_sessionmaker
    from hotline.runtime import ready_database
    from hotline.settings import load_settings

    logging.basicConfig(level=logging.WARNING)
    env = {
        "DATABASE_URL": args.db,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": args.api,
        "RASA_URL": args.engine,
    }
    settings = load_settings(ROOT / "config" / "hotline.yaml", environ=env)
    telegram = settings.telegram.model_copy(
        update={
            "operators_chat_id": None,  # no desk: it would poll for tickets and post to a group
            "max_concurrent_updates": 1 if args.sequential else args.max_concurrent,
            "messages_per_second": 0,  # measure the gateway, not Telegram's broadcast limit
        }
    )
    settings = settings.model_copy(update={"telegram": telegram})
    url = ready_database(settings)
    gateway = Gateway(
        RasaRestEngine(settings.rasa.url, settings.rasa.timeout_seconds),
        get_sessionmaker(url),
        ticket_prefix=settings.city.ticket_prefix,
        timezone=settings.city.timezone,
    )
    TelegramTransport(gateway, settings).run()


# ---- the world: citizens, timing -------------------------------------------------------------------------


@dataclass
class Run:
    first: list[float] = field(default_factory=list)  # first reply of the burst, s
    turn: list[float] = field(default_factory=list)  # every turn, s
    elapsed: float = 0.0
    cpu: float = 0.0  # the gateway process's CPU seconds (user + system, all threads) during the run


async def citizens(api: FakeBotApi, n: int, turns: int) -> Run:
    """Burst of `n` first messages, then each citizen's next message as soon as it was answered."""
    run = Run()
    users = [FIRST_USER + i for i in range(n)]
    for user in users:
        api.add_user(user)
    sent_at: dict[int, float] = {}
    done: dict[int, int] = dict.fromkeys(users, 0)
    seen = len(api.calls)
    started = time.monotonic()
    for user in users:
        api.inject_text(user, user, "老板拖欠我三个月工资")
        sent_at[user] = time.monotonic()
    remaining = n
    while remaining:
        await asyncio.sleep(0.002)
        new, seen = api.calls[seen:], len(api.calls)
        for call in new:
            chat = call.params.get("chat_id")
            if call.method != "sendMessage" or not call.ok or chat not in done:
                continue
            latency = call.at - sent_at[chat]
            run.turn.append(latency)
            if done[chat] == 0:
                run.first.append(latency)
            done[chat] += 1
            if done[chat] < turns:
                api.inject_text(chat, chat, f"第{done[chat] + 1}句")
                sent_at[chat] = time.monotonic()
            else:
                remaining -= 1
        if time.monotonic() - started > 600:
            raise TimeoutError("no answers for 10 minutes")
    run.elapsed = time.monotonic() - started
    return run


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(sequential: bool, args: argparse.Namespace, root: Path = ROOT) -> Run:
    engine = StubEngine(args.engine_ms / 1000).start()
    with FakeBotApi(token=TOKEN) as api, tempfile.TemporaryDirectory(dir=args.db_dir) as tmp:
        cmd = [
            sys.executable,
            str(root / "bench" / Path(__file__).name),
            "--serve-gateway",
            "--api",
            api.base_url,
            "--engine",
            f"http://127.0.0.1:{engine.port}",
            "--db",
            f"sqlite:///{tmp}/hotline.db",
            "--max-concurrent",
            str(args.max_concurrent),
        ] + (["--sequential"] if sequential else [])
        env = {**os.environ, "HOTLINE_LOG_DIR": str(Path(tmp) / "log")}
        child = subprocess.Popen(cmd, env=env, cwd=root)
        try:
            api.wait_for_poll(120)
            # Warm-up: one citizen, one turn (connections, the first insert, PTB's handlers).
            warm = FIRST_USER - 1
            api.add_user(warm)
            said = api.inject_text(warm, warm, "你好")
            api.wait_for_messages(warm, 1, 60, after=said)
            before = cpu_seconds(child.pid)
            run = asyncio.run(citizens(api, args.citizens, args.turns))
            run.cpu = cpu_seconds(child.pid) - before
            return run
        finally:
            child.terminate()
            child.wait(30)
            engine.stop()


def row(name: str, run: Run) -> str:
    turns = len(run.turn)
    return (
        f"| {name:<24} | {statistics.median(run.first):6.3f} | {pct(run.first, 90):6.3f} | "
        f"{max(run.first):6.3f} | {statistics.median(run.turn):6.3f} | {pct(run.turn, 90):6.3f} | "
        f"{turns / run.elapsed:7.1f} | {run.cpu / turns * 1000:5.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--citizens", type=int, default=50)
    parser.add_argument("--turns", type=int, default=5, help="messages per citizen (closed loop)")
    parser.add_argument("--engine-ms", type=float, default=100.0)
    parser.add_argument("--max-concurrent", type=int, default=64)
    parser.add_argument("--db-dir", help="where the SQLite file goes (e.g. /dev/shm: no fsync cost)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--sequential", action="store_true", help="only the BEFORE configuration")
    which.add_argument("--concurrent", action="store_true", help="only the concurrent configuration")
    parser.add_argument(
        "--baseline-root",
        type=Path,
        help="another checkout (e.g. `git archive main | tar -x -C /tmp/before`): its gateway is measured "
        "too, concurrent, in the same run (a before/after table)",
    )
    parser.add_argument("--serve-gateway", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_gateway:
        serve_gateway(args)
        return
    configs = [("sequential (before)", True), (f"concurrent ({args.max_concurrent})", False)]
    if args.sequential:
        configs = configs[:1]
    elif args.concurrent:
        configs = configs[1:]
    print(
        f"{args.citizens} citizens at once, {args.turns} turns each, stub engine {args.engine_ms:.0f} ms, "
        f"{os.cpu_count()} CPUs, SQLite in {args.db_dir or tempfile.gettempdir()}\n"
    )
    print(
        "| gateway                  | first p50 s | p90 | max | turn p50 s | turn p90 | turns/s "
        "| gateway CPU ms/turn |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    if args.baseline_root is not None:
        name = f"baseline {args.baseline_root.name} concurrent"
        print(row(name, measure(False, args, args.baseline_root.resolve())), flush=True)
    for name, sequential in configs:
        print(row(name, measure(sequential, args)), flush=True)


if __name__ == "__main__":
    main()
