"""Soak: simulated citizens doing full intakes through the gateway for minutes; nothing lost, memory bounded.

Each simulated citizen runs wage-arrears intakes back to back (a new conversation each time): the opening
message, the form's questions answered with their buttons, "对，提交", then a rating. Every message goes
through the production `Gateway` (persist → engine → persist, retry queue) in this process, talking REST to
the real Rasa engine and action server of `python -m stack --no-gateway` (started here on free ports with a
throwaway SQLite database, or an already running one with --rasa-url/--db-url). No Telegram transport: the
gateway core and the engine are what is soaked (the transport's own capacity is bench_gateway_capacity.py).

Printed: messages sent and answered (lost = sent − answered, must be 0), intakes completed and the tickets
in the database for them (exactly one per completed intake, none for an unfinished one), turn latency
p50/p95, and the resident memory (VmRSS from /proc) of every process at start, middle and end. The gateway
waits up to --engine-timeout (60 s) for one engine turn; production's 15 s would send the slowest turns of
an overloaded engine to the gateway's retry queue instead.

    .venv/bin/python bench/soak.py --citizens 50 --minutes 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import statistics
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.telegram_harness import running_stack  # noqa: E402
from bot.engine import RasaRestEngine  # noqa: E402
from bot.gateway import Gateway, Inbound  # noqa: E402
from bot.replies import Reply  # noqa: E402
from hotline.db.models import Ticket  # noqa: E402
from hotline.db.session import session_scope  # noqa: E402
from tests.integration.services import rss_mb  # noqa: E402

OPENERS = ("老板拖欠我三个月工资", "工地老板欠我工钱不给", "公司拖欠工资半年了怎么办")
COUNTIES = ("定远县", "凤阳县", "全椒县", "明光市", "天长市", "来安县")
# {fragment of the question: button to press}; the county is drawn per intake.
ANSWERS = {"农民工吗": "是农民工", "证明身份的材料": "能拿出", "期限还有几天": "还早"}
SUMMARY, SUBMIT = "以上对吗", "对，提交"
MAX_TURNS = 12  # an intake that has not reached its summary by then is abandoned (and counted)


@dataclass
class Figures:
    sent: int = 0
    answered: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    started: int = 0
    completed: dict[str, str] = field(default_factory=dict)  # conversation_id -> number in the reply
    abandoned: list[str] = field(default_factory=list)  # transcripts' tails, for the report
    conversations: list[str] = field(default_factory=list)
    rss: dict[str, dict[str, float]] = field(default_factory=dict)  # when -> process -> MiB

    @property
    def lost(self) -> int:
        return self.sent - self.answered


@dataclass
class TicketCheck:
    tickets: int
    duplicated: list[str]  # conversations with more than one ticket
    missing: list[str]  # completed intakes without a ticket (or another number than the reply said)
    unexpected: list[str]  # tickets of intakes that were not completed

    @property
    def ok(self) -> bool:
        return not (self.duplicated or self.missing or self.unexpected)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0


def sample_rss(pids: dict[str, int]) -> dict[str, float]:
    return {name: round(rss_mb(pid), 1) for name, pid in pids.items()}


class Citizen:
    """One simulated citizen; `intake()` runs one full intake in a new conversation."""

    def __init__(self, gateway: Gateway, figures: Figures, think: float, rng: random.Random) -> None:
        self.gateway, self.figures, self.think, self.rng = gateway, figures, think, rng
        self.user = ""
        self.replies: list[Reply] = []
        self.transcript: list[str] = []

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)

    async def send(self, text: str, payload: str | None = None) -> bool:
        if self.think:
            await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.think)
        self.figures.sent += 1
        t0 = time.perf_counter()
        try:
            self.replies = await self.gateway.handle(
                Inbound("console", self.user, uuid.uuid4().hex, text, payload)
            )
        except Exception as exc:  # counted and reported: a soak must finish to show its figures
            self.figures.errors[type(exc).__name__] += 1
            self.replies = []
        self.figures.latencies.append(time.perf_counter() - t0)
        self.transcript += [f"> {text}", self.text]
        if self.replies and any(r.text for r in self.replies):
            self.figures.answered += 1
            return True
        return False

    async def click(self, title: str) -> bool:
        button = next((b for r in self.replies for b in r.buttons if b.title == title), None)
        if button is None:
            return False
        return await self.send(button.title, button.payload)

    async def intake(self) -> None:
        self.user = uuid.uuid4().hex[:10]
        self.transcript = []
        conversation = f"console-{self.user}"
        self.figures.conversations.append(conversation)
        self.figures.started += 1
        answers = {"哪个县": self.rng.choice(COUNTIES), **ANSWERS}
        await self.send(self.rng.choice(OPENERS))
        for _ in range(MAX_TURNS):
            if SUMMARY in self.text:
                break
            key = next((k for k in answers if k in self.text), None)
            if key is None or not await self.click(answers[key]):
                break
        if SUMMARY in self.text and await self.click(SUBMIT):
            number = ticket_number(self.text)
            if number:
                self.figures.completed[conversation] = number
                rating = next(
                    (b.title for r in self.replies for b in r.buttons if b.title.startswith("5")), None
                )
                if rating:
                    await self.click(rating)
                return
        self.figures.abandoned.append("\n".join(self.transcript[-4:]))


def ticket_number(text: str) -> str | None:
    """The work-order number the submit reply names (工单号 such as 滁-20261206-0001)."""
    match = re.search(r"[\u4e00-\u9fff]+-\d+-\d{4,}", text)
    return match.group(0) if match else None


def check_tickets(db_url: str, figures: Figures) -> TicketCheck:
    with session_scope(db_url) as session:
        rows = session.execute(
            select(Ticket.conversation_id, Ticket.number).where(
                Ticket.conversation_id.in_(figures.conversations)
            )
        ).all()
    by_conversation: dict[str, list[str]] = {}
    for conversation_id, number in rows:
        by_conversation.setdefault(str(conversation_id), []).append(str(number))
    return TicketCheck(
        tickets=len(rows),
        duplicated=[c for c, numbers in by_conversation.items() if len(numbers) > 1],
        missing=[c for c, n in figures.completed.items() if by_conversation.get(c) != [n]],
        unexpected=[c for c in by_conversation if c not in figures.completed],
    )


async def soak(
    rasa_url: str,
    db_url: str,
    *,
    citizens: int,
    minutes: float,
    think: float = 1.0,
    pids: dict[str, int] | None = None,
    rasa_token: str | None = None,
    engine_timeout: float = 60.0,
    seed: int = 12348,
) -> tuple[Figures, TicketCheck]:
    """Run the soak against a running engine + action server; intakes started before the time is up finish."""
    figures = Figures()
    processes = {"soak (gateway)": os.getpid(), **(pids or {})}
    engine = RasaRestEngine(rasa_url, api_token=rasa_token, timeout=engine_timeout)
    gateway = Gateway(engine, db_url)
    figures.rss["start"] = sample_rss(processes)
    deadline = time.monotonic() + minutes * 60
    middle_at = time.monotonic() + minutes * 30

    async def citizen(i: int) -> None:
        person = Citizen(gateway, figures, think, random.Random(seed + i))
        while time.monotonic() < deadline:
            await person.intake()

    async def middle() -> None:
        await asyncio.sleep(max(0.0, middle_at - time.monotonic()))
        figures.rss["middle"] = sample_rss(processes)

    sampler = asyncio.create_task(middle())
    await asyncio.gather(*(citizen(i) for i in range(citizens)))
    await sampler
    figures.rss["end"] = sample_rss(processes)
    return figures, check_tickets(db_url, figures)


def report(figures: Figures, check: TicketCheck, citizens: int, minutes: float, wall: float) -> str:
    lat = figures.latencies
    lines = [
        f"citizens {citizens}, {minutes:g} min (wall {wall:.0f} s incl. finishing the last intakes)",
        f"messages sent {figures.sent}, answered {figures.answered}, lost {figures.lost}"
        + (f", exceptions {dict(figures.errors)}" if figures.errors else ""),
        f"intakes started {figures.started}, completed {len(figures.completed)}, "
        f"abandoned {len(figures.abandoned)}",
        f"tickets {check.tickets} for {len(figures.completed)} completed intakes: "
        f"duplicated {len(check.duplicated)}, missing {len(check.missing)}, "
        f"for unfinished intakes {len(check.unexpected)}",
        f"turn latency s: p50 {pct(lat, 50):.3f}, p95 {pct(lat, 95):.3f}, max {max(lat, default=0):.3f}, "
        f"mean {statistics.fmean(lat) if lat else 0:.3f} ({len(lat)} turns, "
        f"{len(lat) / wall if wall else 0:.1f} turns/s)",
        "RSS MiB (VmRSS):",
    ]
    names = list(figures.rss.get("start", {}))
    lines.append("  " + "process".ljust(22) + "".join(w.rjust(10) for w in figures.rss))
    for name in names:
        lines.append(
            "  " + name.ljust(22) + "".join(f"{figures.rss[w].get(name, 0):10.1f}" for w in figures.rss)
        )
    for tail in figures.abandoned[:3]:
        lines.append("abandoned intake, last turns:\n    " + tail.replace("\n", "\n    "))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--citizens", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean seconds a citizen waits between messages"
    )
    parser.add_argument("--rasa-url", help="a running engine (else a stack is started here)")
    parser.add_argument("--db-url", help="its database (with --rasa-url)")
    parser.add_argument(
        "--engine-timeout",
        type=float,
        default=60.0,
        help="seconds the gateway waits for one engine turn (production default: rasa.timeout_seconds, 15)",
    )
    args = parser.parse_args(argv)

    with contextlib.ExitStack() as stack:
        if args.rasa_url:
            if not args.db_url:
                parser.error("--rasa-url needs --db-url")
            rasa_url, token, db_url = args.rasa_url, os.environ.get("RASA_AUTH_TOKEN"), args.db_url
            pids: dict[str, int] = {}
        else:
            rasa_url, token, db_url, pids = stack.enter_context(running_stack("hotline-soak-"))
        t0 = time.monotonic()
        figures, check = asyncio.run(
            soak(
                rasa_url,
                db_url,
                citizens=args.citizens,
                minutes=args.minutes,
                think=args.think,
                engine_timeout=args.engine_timeout,
                pids=pids,
                rasa_token=token,
            )
        )
        print(report(figures, check, args.citizens, args.minutes, time.monotonic() - t0))
        return 0 if figures.lost == 0 and check.ok else 1


if __name__ == "__main__":
    sys.exit(main())
