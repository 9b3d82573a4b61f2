"""Handoff both ways (issue 12): a citizen in a handoff goes back to the bot ("返回机器人", typed or
pressed) and the dialog starts afresh while the ticket stays open for the operators; after
`sla.handoff_wait_minutes` without an operator's answer the citizen is told once what happens next; in
console mode an operator answers from the CLI and the running console chat prints it.

Telegram paths run through the real python-telegram-bot handlers with the fake Bot API; the console path
through ConsoleChat reading a fake stdin, the CLI through `hotline.cli.main`."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import queue
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot import strings
from bot.gateway import ENGINE_RESET, LEAVE_HANDOFF_PAYLOAD, Gateway
from bot.transports.console import ConsoleChat
from hotline.cli import main
from hotline.db.models import MessageDirection, MessageLog, MessageState, Ticket, TicketStatus
from hotline.db.session import session_scope
from hotline.reports.delivery import RecordingNotifier
from hotline.scheduler import jobs
from hotline.scheduler.runtime import Runtime, install
from hotline.settings import PROJECT_ROOT, Settings
from hotline.sla import texts as sla_texts
from hotline.tickets.handoffs import TOLD, tell_waiting_citizens
from hotline.tickets.service import record_event
from tests.unit.conftest import BOT, DATE
from tests.unit.test_desk import (
    CITIZEN,
    GROUP_ID,
    OPS,
    Desk,
    buttons,
    events,
    make_ticket,
    operators,
    posted_card,
    ticket,
)
from tests.unit.test_gateway import FakeEngine

__all__ = ["operators"]

CONVERSATION = f"telegram-{CITIZEN}"


async def citizen_presses(desk: Desk, payload: str) -> None:
    await desk._process(
        {
            "callback_query": {
                "id": f"c{desk._update_id}",
                "from": {"id": CITIZEN, "is_bot": False, "first_name": "张"},
                "chat_instance": "private",
                "data": payload,
                "message": {
                    "message_id": 9,
                    "date": DATE,
                    "chat": {"id": CITIZEN, "type": "private"},
                    "from": BOT,
                    "text": strings.FORWARDED_TO_OPERATOR,
                },
            }
        }
    )


def handoff(db: str, ticket_id: int, at: dt.datetime | None = None) -> None:
    with session_scope(db) as s:
        t = s.get_one(Ticket, ticket_id)
        t.handoff_requested = True
        record_event(s, t, "handoff_requested", actor="bot", now=at)


async def test_citizen_goes_back_to_the_bot_and_the_ticket_stays_with_the_desk(
    settings: Settings, operators: dict[str, int]
) -> None:
    db = settings.database_url
    ticket_id, number, card = await posted_card(settings)
    handoff(db, ticket_id)
    async with Desk(settings, first_id=3000) as desk:
        await desk.citizen_text("老板还是不给钱", message_id=71)
        told = desk.api.to(CITIZEN)[-1]
        assert told["text"] == strings.FORWARDED_TO_OPERATOR
        assert buttons(told) == [(strings.LEAVE_HANDOFF_BUTTON, LEAVE_HANDOFF_PAYLOAD)]
        assert desk.engine.seen == []

        await citizen_presses(desk, LEAVE_HANDOFF_PAYLOAD)  # the button under "forwarded to staff"
        assert desk.api.to(CITIZEN)[-1]["text"] == strings.HANDOFF_LEFT.format(number=number)
        assert desk.engine.seen == [(CONVERSATION, ENGINE_RESET)]  # the dialog starts afresh
        group = [p["text"] for p in desk.api.to(GROUP_ID)]
        assert group[-1] == strings.DESK_CITIZEN_LEFT_HANDOFF.format(number=number)
        assert strings.LEAVE_HANDOFF_BUTTON in group[-2] and number in group[-2]
        assert strings.DESK_CARD_HANDOFF not in desk.api.to(GROUP_ID, "editMessageText")[-1]["text"]

        await desk.citizen_text("我还想问问工伤怎么认定", message_id=72)  # now the bot answers
        assert desk.engine.seen[-1] == (CONVERSATION, "我还想问问工伤怎么认定")
        assert desk.api.to(CITIZEN)[-1]["text"] == "答复:我还想问问工伤怎么认定"

        await citizen_presses(desk, LEAVE_HANDOFF_PAYLOAD)  # pressed again: not sent to the engine
        assert desk.api.to(CITIZEN)[-1]["text"] == strings.HANDOFF_NOT_ACTIVE
        assert len(desk.engine.seen) == 2

        # the operator answers from the card: the person has the conversation again
        await desk.group_text(OPS["dingyuan"], "您好，工伤的事也可以一起说", reply_to=card)
        assert desk.api.to(CITIZEN)[-1]["text"] == "【12348工作人员】您好，工伤的事也可以一起说"
        assert await desk.sync() == 0  # no "the citizen asks for a person" notice: the person is there
        await desk.citizen_text("好的，我是上个月受的伤", message_id=73)
        assert "上个月受的伤" in desk.api.to(GROUP_ID)[-1]["text"] and len(desk.engine.seen) == 2
        await desk.citizen_text("返回机器人", message_id=74)  # typed works as well
        assert desk.api.to(CITIZEN)[-1]["text"] == strings.HANDOFF_LEFT.format(number=number)
        assert desk.engine.seen[-1] == (CONVERSATION, ENGINE_RESET)
    t = ticket(db, ticket_id)
    assert t.status is TicketStatus.ASSIGNED and not t.handoff_requested  # still open, with the operator
    trail = [(k, a, d.get("note")) for k, a, _, d in events(db, ticket_id) if k == "handoff_left"]
    assert trail == [("handoff_left", "citizen", "市民选择返回机器人，工单仍待工作人员处理")] * 2


MONDAY_1000 = dt.datetime(2026, 11, 30, 2, 0)  # UTC; 10:00 in Chuzhou, a working Monday
FRIDAY_1700 = dt.datetime(2026, 12, 4, 9, 0)  # UTC; 17:00, half an hour before closing


def outbox(db: str) -> list[tuple[str, int | None]]:
    with session_scope(db) as s:
        rows = s.scalars(
            select(MessageLog).where(
                MessageLog.direction == MessageDirection.OUTBOUND, MessageLog.state == MessageState.QUEUED
            )
        )
        return [(m.text, m.ticket_id) for m in rows]


def tell(settings: Settings, now: dt.datetime) -> list[str]:
    with session_scope(settings.database_url) as s:
        return tell_waiting_citizens(s, settings.sla, now)


def test_citizen_is_told_once_what_happens_next_when_nobody_answers(settings: Settings) -> None:
    db = settings.database_url
    assert settings.sla.handoff_wait_minutes == 60
    ticket_id, number = make_ticket(settings, key="open")
    handoff(db, ticket_id, MONDAY_1000)
    with session_scope(db) as s:  # urgent-free wage case: first response due 2 office hours later
        s.get_one(Ticket, ticket_id).first_response_due = MONDAY_1000 + dt.timedelta(hours=2)
    assert tell(settings, MONDAY_1000 + dt.timedelta(minutes=50)) == []
    assert tell(settings, MONDAY_1000 + dt.timedelta(minutes=70)) == [number]
    assert tell(settings, MONDAY_1000 + dt.timedelta(hours=3)) == []  # once
    due = sla_texts.HANDOFF_WAIT_DUE.format(due="今天中午12:00")
    assert outbox(db) == [(sla_texts.HANDOFF_WAIT_OPEN.format(number=number, due=due), ticket_id)]
    assert [(k, a) for k, a, _, _ in events(db, ticket_id) if k == TOLD] == [(TOLD, "system:scheduler")]

    late_id, late_no = make_ticket(settings, key="late", conversation="telegram-1002")
    handoff(db, late_id, FRIDAY_1700)
    answered_id, _ = make_ticket(settings, key="answered", conversation="telegram-1003")
    handoff(db, answered_id, FRIDAY_1700)
    with session_scope(db) as s:
        record_event(s, s.get_one(Ticket, answered_id), "operator_reply", actor="operator:1", now=FRIDAY_1700)
    assert tell(settings, FRIDAY_1700 + dt.timedelta(minutes=70)) == [late_no]  # answered: not told
    opening = "12月7日（星期一）上午8:30"  # after the weekend
    assert (sla_texts.HANDOFF_WAIT_CLOSED.format(number=late_no, opening=opening), late_id) in outbox(db)


def test_handoff_wait_job_queues_for_the_gateway(settings: Settings, tmp_path: Path) -> None:
    ticket_id, _ = make_ticket(settings)
    handoff(settings.database_url, ticket_id, MONDAY_1000)  # a week before the test's real time
    install(Runtime(settings, RecordingNotifier(), tmp_path))
    assert jobs.handoff_wait() == 1
    assert jobs.handoff_wait() == 0
    assert [t for _, t in outbox(settings.database_url)] == [ticket_id]


class Keyboard:
    """A console's stdin typed by the test: each line when the test puts it, EOF on ''."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str] = queue.Queue()

    def readline(self) -> str:
        return self.lines.get(timeout=30)


async def shown(out: io.StringIO, text: str) -> None:
    for _ in range(600):
        if text in out.getvalue():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not shown: {text!r}\n{out.getvalue()}")


async def test_console_operator_answers_from_the_cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = settings.database_url
    monkeypatch.setenv("DATABASE_URL", db)
    monkeypatch.setenv("HOTLINE_CONFIG", str(PROJECT_ROOT / "config" / "hotline.yaml"))
    ticket_id, number = make_ticket(settings, conversation="console-alice")
    handoff(db, ticket_id)
    engine = FakeEngine()
    keyboard, screen = Keyboard(), io.StringIO()
    chat = ConsoleChat(
        Gateway(engine, db),
        user_id="alice",
        outbox_interval=0.05,
        stdin=keyboard,  # type: ignore[arg-type]
        stdout=screen,
    )
    running = asyncio.create_task(chat.run())
    keyboard.lines.put("我的工资还是没人管，电话13812345678\n")
    await shown(screen, strings.FORWARDED_TO_OPERATOR)
    assert f"[1] {strings.LEAVE_HANDOFF_BUTTON}" in screen.getvalue()

    assert main(["tickets", "handoffs"]) == 0
    listed = capsys.readouterr().out
    assert number in listed and "我的工资还是没人管" in listed and "138****5678" in listed
    assert main(["tickets", "reply", number, "您好，请明天上午带上劳动合同来"]) == 0
    assert number in capsys.readouterr().out
    await shown(screen, "【12348工作人员】您好，请明天上午带上劳动合同来")  # printed while waiting for input

    keyboard.lines.put("1\n")  # the button: back to the bot
    await shown(screen, strings.HANDOFF_LEFT.format(number=number))
    keyboard.lines.put("")
    await asyncio.wait_for(running, 30)
    assert engine.seen == [("console-alice", ENGINE_RESET)]
    trail = [(k, a) for k, a, _, _ in events(db, ticket_id)]
    assert ("operator_reply", "cli") in trail and ("handoff_left", "citizen") in trail
    assert outbox(db) == []  # delivered

    assert main(["tickets", "handoffs"]) == 0
    assert capsys.readouterr().out.strip() == "没有等待人工答复的工单。"


def test_cli_reply_checks_the_operators_county(
    settings: Settings,
    operators: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("HOTLINE_CONFIG", str(PROJECT_ROOT / "config" / "hotline.yaml"))
    ticket_id, number = make_ticket(settings)
    args: list[Any] = ["tickets", "reply", number, "您好"]
    assert main([*args, "--operator", str(operators["langya"])]) == 1
    assert "无权处理" in capsys.readouterr().err
    assert main([*args, "--operator", str(operators["dingyuan"])]) == 0
    t = ticket(settings.database_url, ticket_id)
    assert (t.status, t.assigned_operator_id, t.handoff_requested) == (
        TicketStatus.ASSIGNED,
        operators["dingyuan"],
        True,
    )
    assert outbox(settings.database_url) == [("【12348工作人员】您好", ticket_id)]
