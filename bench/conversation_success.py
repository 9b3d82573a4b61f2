"""Conversation success (issue 11): cooperative simulated citizens through the Telegram transport.

Each legal opener of the real-citizen-style blind set (`tests/nlu_eval_real`, never trained on) starts a new
private chat. A cooperative simulated citizen answers what the bot asks — presses the button that fits (the
right category when offered two, a county, "对，提交" under the summary) or types a short answer (an age, an
income, a county); asked to rephrase, it says its problem in one plain sentence. Everything goes through
the production path: python-telegram-bot long-polling a local Bot API server on loopback
(tests/fakes/bot_api_server.py), the gateway, the real Rasa engine and action server
(`python -m stack --no-gateway`, started here on free ports with a throwaway SQLite database).

Success: within 12 of the citizen's messages the bot gave its eligibility answer and a ticket with a
decision exists for the conversation. A handoff to a person is counted apart (never a dead end, but not an
answer). Also printed: turns used, how often the citizen had to rephrase, and the longest run of
"没太明白"-type replies (target: never three in a row).

    .venv/bin/python -m bench.conversation_success --per-category 5
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.nlu_eval.data import LoadReport, load_nlu_dir  # noqa: E402
from bench.telegram_harness import running_stack, telegram_gateway  # noqa: E402
from hotline.categories import INTAKE_CATEGORIES, label  # noqa: E402
from hotline.db.models import Ticket  # noqa: E402
from hotline.db.session import session_scope  # noqa: E402
from tests.fakes.bot_api_server import FakeBotApi  # noqa: E402

MAX_TURNS = 12
QUIET = 1.5  # seconds without a new bot message after which the bot's turn is taken as complete
TURN_TIMEOUT = 90.0
COUNTY = "定远县"
SUMMARY, SUBMIT = "以上对吗", "对，提交"
MISUNDERSTOOD = re.compile(r"没太明白|没弄明白|没听明白|换个说法")
HANDOFF = re.compile(r"转接人工|转人工，工单|已为您转人工|请工作人员来帮您")
NEVER_PRESS = ("转人工", "人工", "取消", "都不是", "重新开始")
# What a cooperative citizen says when asked to say it again: one plain sentence per category.
PLAIN = {
    "wage_arrears": "老板欠我工资不给",
    "work_injury": "我在工地干活受伤了，想认定工伤",
    "disability_rights": "我是残疾人，权益受到侵害",
    "minors": "我家孩子被人欺负了",
    "elderly": "儿女不给老人赡养费",
    "domestic_violence": "我老公打我",
    "marriage_family": "我想离婚",
    "personal_injury": "我被人打伤了，要求赔偿",
    "criminal_defence": "我家人被公安抓了，需要律师",
    "social_insurance": "单位不给我交社保",
    "other_legal": "别人借我钱不还",
}
AGE = {"elderly": "七十二岁", "minors": "十三岁"}


@dataclass
class Outcome:
    category: str
    opener: str
    success: bool = False
    right_category: bool = False  # the ticket's category is the opener's
    handoff: bool = False
    turns: int = 0
    rephrased: int = 0
    max_misunderstood_run: int = 0
    transcript: list[str] = field(default_factory=list)


def openers(eval_dir: Path, per_category: int | None, seed: int) -> list[tuple[str, str]]:
    """(category, opener) pairs of the blind set's legal categories, `per_category` of each (all if None)."""
    examples = [e for e in load_nlu_dir(eval_dir, LoadReport()) if e.intent in INTAKE_CATEGORIES]
    rng = random.Random(seed)
    chosen: list[tuple[str, str]] = []
    for category in INTAKE_CATEGORIES:
        texts = [e.text for e in examples if e.intent == category]
        rng.shuffle(texts)
        chosen += [(category, t) for t in (texts if per_category is None else texts[:per_category])]
    return chosen


def choose_button(text: str, titles: list[str], category: str) -> str | None:
    """What a cooperative citizen presses under a message with buttons (None: answer in words)."""
    if SUMMARY in text and SUBMIT in titles:
        return SUBMIT
    if label(category) in titles:  # the bot offers categories: the citizen knows theirs
        return label(category)
    if COUNTY in titles:
        return COUNTY
    usable = [t for t in titles if not any(word in t for word in NEVER_PRESS)]
    return usable[0] if usable else None


def typed_answer(text: str, category: str) -> tuple[str, bool]:
    """A short typed answer to a question without (usable) buttons; True when it is a rephrasing."""
    if MISUNDERSTOOD.search(text) or "说说发生了什么" in text or "说说您遇到的问题" in text:
        return PLAIN[category], True
    if "多大" in text or "岁数" in text or "年龄" in text:
        return AGE.get(category, "四十五岁"), False
    if "收入" in text:
        return "每人每月一千二", False
    if "县" in text:
        return COUNTY, False
    return "不清楚", False


class Driver:
    """Talks to the bot as citizens do, through the local Bot API server."""

    def __init__(self, api: FakeBotApi, db_url: str) -> None:
        self.api, self.db_url = api, db_url

    def bot_turn(self, chat: int, after: int) -> list[dict[str, Any]]:
        """The bot's messages after `after`, once it has stopped sending for QUIET seconds."""
        self.api.wait_until(lambda: self.api.bot_messages(chat, after), TURN_TIMEOUT, "the bot's answer")
        seen = -1
        while True:
            messages = self.api.bot_messages(chat, after)
            if len(messages) == seen:
                return messages
            seen = len(messages)
            time.sleep(QUIET)

    def decided_ticket(self, conversation: str) -> str | None:
        """The category of the conversation's ticket that carries an eligibility decision, if any."""
        with session_scope(self.db_url) as session:
            rows = session.execute(
                select(Ticket.category, Ticket.eligibility_outcome).where(
                    Ticket.conversation_id == conversation
                )
            ).all()
        return next((str(category) for category, decided in rows if decided), None)

    def converse(self, chat: int, category: str, opener: str) -> Outcome:
        outcome = Outcome(category, opener)
        self.api.add_user(chat)
        last = self.api.inject_text(chat, chat, opener)
        outcome.transcript.append(f"> {opener}")
        run = 0
        for turn in range(1, MAX_TURNS + 1):
            outcome.turns = turn
            messages = self.bot_turn(chat, last)
            texts = [str(m.get("text", "")) for m in messages]
            outcome.transcript += texts
            for text in texts:
                run = run + 1 if MISUNDERSTOOD.search(text) else 0
                outcome.max_misunderstood_run = max(outcome.max_misunderstood_run, run)
            decided = self.decided_ticket(f"telegram-{chat}")
            if decided is not None:
                outcome.success, outcome.right_category = True, decided == category
                return outcome
            if any(HANDOFF.search(t) for t in texts):
                outcome.handoff = True
                return outcome
            if turn == MAX_TURNS:
                break
            asking = messages[-1]
            titles = self.api.buttons(asking)
            press = choose_button(texts[-1], titles, category) if titles else None
            last = max(int(m["message_id"]) for m in messages)
            if press is not None:
                outcome.transcript.append(f"[{press}]")
                self.api.press(chat, chat, int(asking["message_id"]), press)
            else:
                answer, rephrased = typed_answer("\n".join(texts[-2:]), category)
                outcome.rephrased += rephrased
                outcome.transcript.append(f"> {answer}")
                last = max(last, self.api.inject_text(chat, chat, answer))
        return outcome


def report(outcomes: list[Outcome], wall: float) -> str:
    n = len(outcomes)
    ok = sum(o.success for o in outcomes)
    handoffs = sum(o.handoff for o in outcomes)
    lines = [
        f"Conversation success through the Telegram transport: {n} openers of the blind set, "
        f"≤ {MAX_TURNS} citizen messages each ({wall:.0f} s)",
        "",
        "| category | openers | answer + ticket | of which in this category | handed to a person | neither |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for category in INTAKE_CATEGORIES:
        group = [o for o in outcomes if o.category == category]
        if group:
            s, h = sum(o.success for o in group), sum(o.handoff for o in group)
            right = sum(o.right_category for o in group)
            lines.append(f"| {category} | {len(group)} | {s} | {right} | {h} | {len(group) - s - h} |")
    right = sum(o.right_category for o in outcomes)
    lines.append(
        f"| **all** | {n} | **{ok} ({ok / n:.1%})** | {right} ({right / n:.1%}) | {handoffs} "
        f"| {n - ok - handoffs} |"
    )
    turns = [o.turns for o in outcomes if o.success]
    runs = Counter(o.max_misunderstood_run for o in outcomes)
    lines += [
        "",
        f"turns to the answer: median {statistics.median(turns) if turns else 0:.0f}, "
        f"max {max(turns, default=0)}; "
        f"conversations where the citizen had to rephrase: {sum(o.rephrased > 0 for o in outcomes)}",
        "longest run of 没太明白-type replies: "
        + ", ".join(f"{k} in a row: {v}" for k, v in sorted(runs.items()))
        + f" (three or more: {sum(v for k, v in runs.items() if k >= 3)})",
    ]
    failed = [o for o in outcomes if not o.success]
    if failed:
        lines += ["", "Not answered (last lines of each):"]
        for o in failed[:15]:
            tail = " ⏎ ".join(t.replace("\n", " ")[:80] for t in o.transcript[-4:])
            lines.append(f"- [{o.category}{', handoff' if o.handoff else ''}] {o.opener[:40]} … {tail}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval-dir", type=Path, default=ROOT / "tests" / "nlu_eval_real")
    parser.add_argument("--per-category", type=int, default=5, help="openers per category (0 = all)")
    parser.add_argument("--seed", type=int, default=12348)
    parser.add_argument("--concurrency", type=int, default=4, help="citizens talking at the same time")
    args = parser.parse_args(argv)

    chosen = openers(args.eval_dir, args.per_category or None, args.seed)
    with running_stack("hotline-conv-") as (rasa_url, token, db_url, _):
        print(f"{len(chosen)} conversations…", flush=True)
        t0 = time.monotonic()
        with telegram_gateway(rasa_url, token, db_url) as api:
            driver = Driver(api, db_url)
            jobs = [(10_000 + i, c, o) for i, (c, o) in enumerate(chosen)]
            outcomes: list[Outcome] = []

            def work(job: tuple[int, str, str]) -> Outcome:
                return driver.converse(*job)

            with ThreadPoolExecutor(max(1, args.concurrency)) as pool:
                for done in pool.map(work, jobs):
                    outcomes.append(done)
                    print(".", end="", flush=True)
        print()
        print(report(outcomes, time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
