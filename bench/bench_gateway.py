"""Gateway turn cost: a full gateway turn (persist → engine → persist) next to a bare engine REST call.

Needs a running engine + action server (`python -m stack --no-gateway`, or pass --start to have
this script start one on free ports). Prints latency percentiles for sequential turns and throughput at
several concurrency levels, for both paths, so the gateway's own overhead is visible.

    .venv/bin/python bench/bench_gateway.py --start --turns 200 --concurrency 1,8,16

With --start it also prints the footprint: cold start of the stack to a ready engine, and the resident
memory (RSS) of each process idle (just ready) and after the load (the gateway runs in this process).
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
# Each cycle of MESSAGES is a new conversation (a fresh sender): repeated off-topic messages in one form
# would walk the fallback chain to a handoff, and a handed-off turn never reaches the engine either.
MESSAGES = ["你好", "老板拖欠我三个月工资", "定远县", "谢谢", "再见"]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux /proc; 0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def stack_processes(root: int) -> dict[str, int]:
    """name -> pid of `python -m stack` and its descendants (each child runs in its own session)."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        commands[int(entry.name)] = " ".join(a.decode(errors="replace") for a in argv)
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    found: dict[str, int] = {}
    for pid in sorted(tree):
        text = commands.get(pid, "")
        name = (
            "engine (rasa run)"
            if "rasa" in text and " run " in text
            else "action server"
            if "-m actions" in text
            else "stack supervisor"
            if "-m stack" in text
            else text[:40]
        )
        found[name if name not in found else f"{name} {pid}"] = pid
    return found


def footprint(title: str, session_id: int | None) -> None:
    rows = {"gateway + benchmark (this process)": os.getpid()}
    if session_id is not None:
        rows.update(stack_processes(session_id))
    for name, pid in sorted(rows.items()):
        print(f"| {title} | {name} | {rss_mb(pid):.0f} |")


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
            if i and i % len(MESSAGES) == 0:
                user = uuid.uuid4().hex[:10]
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
    ready = None
    if args.start:
        rasa_port, action_port = free_port(), free_port()
        rasa_url = f"http://127.0.0.1:{rasa_port}"
        env = with_run_secrets({**os.environ, "DATABASE_URL": db_url, "HOTLINE_LOG_DIR": str(tmp / "log")})
        env.setdefault("RASA_TRACKER_DB", str(tmp / "rasa_tracker.db"))
        proc = start_background(rasa_port=rasa_port, action_port=action_port, env=env)
        ready = wait_engine_ready(rasa_url, proc, token=env["RASA_AUTH_TOKEN"])
        print(f"stack ready in {ready:.1f} s", file=sys.stderr)
    try:
        if proc is not None:
            print(f"cold start (python -m stack --no-gateway) to a ready engine: {ready:.1f} s\n")
            print("| when | process | RSS MB |\n|---|---|---:|")
            footprint("idle (ready)", proc.pid)
            print()
        asyncio.run(run(rasa_url, db_url, args.turns, [int(x) for x in args.concurrency.split(",")]))
        if proc is not None:
            print("\n| when | process | RSS MB |\n|---|---|---:|")
            footprint("after the load", proc.pid)
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
