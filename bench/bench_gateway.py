"""Gateway turn cost: a full gateway turn (persist → engine → persist) next to a bare engine REST call.

Needs a running engine + action server (`python -m stack --no-gateway`, or pass --start to have
this script start one on free ports). Prints latency percentiles for sequential turns and throughput at
several concurrency levels, for both paths, so the gateway's own overhead is visible.

    .venv/bin/python bench/bench_gateway.py --start --turns 200 --concurrency 1,8,16
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.engine import RasaRestEngine  # noqa: E402
from bot.gateway import Gateway, Inbound  # noqa: E402
from hotline.db.migrate import upgrade  # noqa: E402
from stack.background import start_background, wait_engine_ready, with_run_secrets  # noqa: E402

# No "我要转人工": after a handoff the gateway forwards to the staff without calling the engine
# (a ~3 ms turn), which would hide the engine turn this benchmark is about.
MESSAGES = ["你好", "老板拖欠我三个月工资", "谢谢", "定远县", "包工头跑了工钱没给", "再见"]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def timed(
    turn: Callable[[str, str], Awaitable[object]], users: int, turns: int
) -> tuple[list[float], float]:
    latencies: list[float] = []

    async def conversation(user: str, n: int) -> None:
        for i in range(n):
            t0 = time.perf_counter()
            await turn(user, MESSAGES[i % len(MESSAGES)])
            latencies.append((time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    per_user = max(1, turns // users)
    await asyncio.gather(*(conversation(uuid.uuid4().hex[:10], per_user) for _ in range(users)))
    return latencies, time.perf_counter() - started


async def run(rasa_url: str, db_url: str, turns: int, levels: list[int]) -> None:
    engine = RasaRestEngine(rasa_url)
    gateway = Gateway(engine, db_url)
    client = httpx.AsyncClient(timeout=30)

    async def bare(user: str, text: str) -> object:
        r = await client.post(f"{rasa_url}/webhooks/rest/webhook", json={"sender": user, "message": text})
        return r.json()

    async def full(user: str, text: str) -> object:
        return await gateway.handle(Inbound("bench", user, uuid.uuid4().hex, text))

    await timed(bare, 1, 12)  # warm-up
    print(f"{'path':<22}{'conc':>5}{'turns':>7}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'turns/s':>9}")
    for level in levels:
        for name, fn in (("engine REST (baseline)", bare), ("gateway full turn", full)):
            lat, wall = await timed(fn, level, turns)
            print(
                f"{name:<22}{level:>5}{len(lat):>7}{statistics.median(lat):>9.1f}{pct(lat, 90):>9.1f}"
                f"{pct(lat, 99):>9.1f}{len(lat) / wall:>9.1f}"
            )
    await client.aclose()
    await engine.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rasa-url", default="http://127.0.0.1:5005")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--concurrency", default="1,8,16")
    parser.add_argument("--start", action="store_true", help="start engine + action server on free ports")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-gw-"))
    db_url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    upgrade(db_url)
    proc = None
    rasa_url = args.rasa_url
    if args.start:
        rasa_port, action_port = free_port(), free_port()
        rasa_url = f"http://127.0.0.1:{rasa_port}"
        env = with_run_secrets({**os.environ, "DATABASE_URL": db_url, "HOTLINE_LOG_DIR": str(tmp / "log")})
        env.setdefault("RASA_TRACKER_DB", str(tmp / "rasa_tracker.db"))
        proc = start_background(rasa_port=rasa_port, action_port=action_port, env=env)
        ready = wait_engine_ready(rasa_url, proc, token=env["RASA_AUTH_TOKEN"])
        print(f"stack ready in {ready:.1f} s", file=sys.stderr)
    try:
        asyncio.run(run(rasa_url, db_url, args.turns, [int(x) for x in args.concurrency.split(",")]))
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
