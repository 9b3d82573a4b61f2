"""CPU cost of one gateway turn without the transport: `Gateway.handle` in a loop, a fake engine, the outbox.

Counts the database transactions (commits) and statements per turn and the CPU milliseconds per turn
(`time.process_time`, this process only); `--profile` prints the cProfile top functions by own time.
This is the part of the Telegram gateway's ~20 ms per turn that the gateway's own code decides.

    .venv/bin/python bench/profile_gateway_turn.py --turns 300 [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from bot.gateway import Gateway, Inbound  # noqa: E402
from bot.replies import Reply  # noqa: E402
from hotline.db.migrate import upgrade  # noqa: E402
from hotline.db.session import get_engine, get_sessionmaker  # noqa: E402


class FakeEngine:
    async def send(self, sender_id: str, text: str) -> list[dict[str, Any]]:
        return [{"recipient_id": sender_id, "text": f"答复:{text}"}]


async def turns(gateway: Gateway, n: int, citizens: int, tag: str) -> None:
    for i in range(n):
        user = str(1000 + i % citizens)
        await gateway.handle(Inbound("telegram", user, f"{tag}{i}", "老板拖欠我三个月工资"))


def inline_units() -> None:
    import bot.gateway
    import bot.outbox
    from hotline.db.session import session_scope

    async def inline(database: Any, work: Any) -> Any:
        with session_scope(database) as session:
            return work(session)

    setattr(bot.gateway, "in_thread", inline)  # noqa: B010
    setattr(bot.outbox, "in_thread", inline)  # noqa: B010


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--citizens", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/hotline.db"
        upgrade(url)
        engine = get_engine(url)
        counts = {"commit": 0, "statement": 0}
        event.listen(engine, "commit", lambda _c: counts.__setitem__("commit", counts["commit"] + 1))
        event.listen(
            engine,
            "before_cursor_execute",
            lambda *_a: counts.__setitem__("statement", counts["statement"] + 1),
        )
        gateway = Gateway(FakeEngine(), get_sessionmaker(url), ticket_prefix="B", timezone="Asia/Shanghai")
        sent: list[tuple[str, list[Reply]]] = []

        async def deliver(user: str, replies: list[Reply]) -> None:
            sent.append((user, replies))

        gateway.set_sender(deliver)
        asyncio.run(turns(gateway, args.citizens, args.citizens, "warm"))  # warm-up: citizens exist
        counts.update(commit=0, statement=0)
        sent.clear()
        profiler = cProfile.Profile() if args.profile else None
        if profiler:  # cProfile sees one thread: run the units of work inline for the profile
            inline_units()
        cpu = time.process_time()
        if profiler:
            profiler.enable()
        asyncio.run(turns(gateway, args.turns, args.citizens, "m"))
        if profiler:
            profiler.disable()
        cpu = time.process_time() - cpu
        assert len(sent) == args.turns, len(sent)
        print(
            f"{args.turns} turns: {cpu / args.turns * 1000:.2f} ms CPU/turn, "
            f"{counts['commit'] / args.turns:.1f} commits/turn, "
            f"{counts['statement'] / args.turns:.1f} statements/turn"
        )
        if profiler:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
