"""Burst (issue 13): N citizens send their first message at the same moment — first-reply latency.

Through Telegram: N new users each write an opener to the bot at once (the local Bot API server of
tests/fakes/bot_api_server.py delivers them to the production transport long-polling it on loopback, which
talks REST to the real engine and action server); the latency is from the injection to the bot's first
sendMessage to that user. Baseline in the same run: the same burst as bare engine REST calls
(`/webhooks/rest/webhook`, fresh senders). Target (issue 13): p90 through Telegram ≤ 1.1× bare engine.

    .venv/bin/python -m bench.bench_burst --sizes 1,20,50
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.telegram_harness import running_stack, telegram_gateway  # noqa: E402
from tests.fakes.bot_api_server import Call, FakeBotApi  # noqa: E402

OPENERS = ("老板拖欠我三个月工资", "工地老板欠我工钱不给", "公司拖欠工资半年了怎么办")
TIMEOUT = 300.0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


async def bare_burst(rasa_url: str, n: int) -> list[float]:
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:

        async def one(i: int) -> float:
            t0 = time.monotonic()
            r = await client.post(
                f"{rasa_url}/webhooks/rest/webhook",
                json={"sender": f"bare-{uuid.uuid4().hex[:8]}", "message": OPENERS[i % len(OPENERS)]},
            )
            r.raise_for_status()
            return time.monotonic() - t0

        return list(await asyncio.gather(*(one(i) for i in range(n))))


def telegram_burst(api: FakeBotApi, users: itertools.count[int], n: int) -> list[float]:
    ids = [next(users) for _ in range(n)]
    for user in ids:
        api.add_user(user)
    sent: dict[int, float] = {}
    for i, user in enumerate(ids):  # as close to "at once" as the server's lock allows (≈ µs apart)
        sent[user] = time.monotonic()
        api.inject_text(user, user, OPENERS[i % len(OPENERS)])
    latencies = []
    for user in ids:

        def first_reply(call: Call, user: int = user) -> bool:
            return bool(call.params.get("chat_id") == user and call.at >= sent[user])

        latencies.append(api.wait_for_call("sendMessage", TIMEOUT, first_reply).at - sent[user])
    return latencies


def row(name: str, n: int, values: list[float]) -> str:
    return f"| {name} | {n} | {statistics.median(values):.2f} | {pct(values, 90):.2f} | {max(values):.2f} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1,20,50", help="burst sizes, comma-separated")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    users = itertools.count(20_000)
    lines = ["| path | citizens at once | first reply p50 s | p90 s | max s |", "|---|---:|---:|---:|---:|"]
    ratios = []
    with (
        running_stack("hotline-burst-") as (rasa_url, token, db_url, _),
        telegram_gateway(rasa_url, token, db_url) as api,
    ):
        asyncio.run(bare_burst(rasa_url, 3))  # warm-up: the first turns load lazily
        telegram_burst(api, users, 3)
        for n in sizes:
            bare = asyncio.run(bare_burst(rasa_url, n))
            through = telegram_burst(api, users, n)
            lines += [row("bare engine REST (baseline)", n, bare), row("through Telegram", n, through)]
            ratios.append(f"{n}: {pct(through, 90) / pct(bare, 90):.2f}×")
            print(lines[-2] + "\n" + lines[-1], flush=True)
    print("\n".join(["", *lines, "", "p90 through Telegram / p90 bare engine: " + ", ".join(ratios)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
