"""Follow-up visits through the gateway: rating buttons, low-rating alerts, delivery from the scheduler."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.gateway import Gateway, Inbound
from bot.notify import GatewayNotifier, parse_rating, rating_buttons
from bot.replies import Reply
from hotline.db.models import Citizen, MessageLog, Rating, ReviewItem, TicketStatus
from hotline.db.session import session_scope
from hotline.followup.service import OutboundMessage, pending_review_alerts, request_rating
from hotline.normalise import parse_typed_rating
from hotline.reports.delivery import RecordingNotifier
from hotline.tickets.service import NewTicket, change_status, create_ticket
from tests.unit.test_gateway import FakeEngine


def resolved_ticket(db_url: str, conversation: str) -> str:
    with session_scope(db_url) as s:
        t, _ = create_ticket(s, NewTicket(category="wage_arrears", conversation_id=conversation), prefix="滁")
        change_status(s, t, TicketStatus.ASSIGNED, actor="operator:1")
        change_status(s, t, TicketStatus.RESOLVED, actor="operator:1")
        request_rating(s, t)
        return t.number


def tap(number: str, score: int, user: str = "u1", n: int = 1) -> Inbound:
    button = next(b for b in rating_buttons(number) if b.payload.endswith(f":{score}"))
    return Inbound("console", user, f"tap{n}", button.title, button_payload=button.payload)


def test_parse_rating() -> None:
    assert parse_rating("#rate:滁-20261129-0007:4") == ("滁-20261129-0007", 4)
    assert parse_rating("#rate:滁-20261129-0007:9") is None
    assert parse_rating('/inform{"county":"定远县"}') is None
    assert parse_rating(None) is None


async def test_low_rating_is_recorded_and_alerted_once_by_the_scheduler(db_url: str) -> None:
    engine = FakeEngine()
    gateway = Gateway(engine, db_url)
    number = resolved_ticket(db_url, "console-u1")
    replies = await gateway.handle(tap(number, 1))
    assert "回访" in replies[0].text
    assert engine.seen == []  # the engine is not involved in a rating tap
    with session_scope(db_url) as s:
        assert s.scalars(select(Rating.score)).one() == 1
        assert s.scalars(select(ReviewItem.reason)).one() == "low_rating"
        alerts = pending_review_alerts(s)
        assert [a.kind for a in alerts] == ["low_rating"]
        assert number in alerts[0].text and "评分 1 分" in alerts[0].text
    with session_scope(db_url) as s:
        assert pending_review_alerts(s) == []  # alerted exactly once
    again = await gateway.handle(tap(number, 5, n=2))  # second tap: no open round any more
    assert number in again[0].text


async def test_cannot_rate_someone_elses_ticket(db_url: str) -> None:
    gateway = Gateway(FakeEngine(), db_url)
    number = resolved_ticket(db_url, "console-someone-else")
    replies = await gateway.handle(tap(number, 5))
    assert replies == [Reply("没有找到需要您评价的工单，谢谢。")]
    with session_scope(db_url) as s:
        assert s.scalars(select(Rating.score)).one() is None


async def test_notifier_delivers_from_scheduler_thread_with_buttons(tmp_path: Path) -> None:
    delivered: list[tuple[str, list[Reply]]] = []

    async def to_conversation(conversation: str, replies: list[Reply]) -> None:
        delivered.append((conversation, replies))

    fallback = RecordingNotifier()
    notifier = GatewayNotifier(asyncio.get_running_loop(), to_conversation, fallback)
    message = OutboundMessage("rating_request", "citizen", "请评价", "滁-20261129-0001", "telegram-7")

    def scheduler_thread() -> None:
        notifier.send_to_citizen(message)
        notifier.send_text("supervisors", "周报")  # no chat configured → outbox fallback

    worker = threading.Thread(target=scheduler_thread)
    worker.start()
    while worker.is_alive():
        await asyncio.sleep(0.01)
    conversation, replies = delivered[0]
    assert conversation == "telegram-7"
    assert replies[0].buttons[0].payload == "#rate:滁-20261129-0001:5"
    assert fallback.texts == [("supervisors", "周报")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", (5, None)),
        ("５分", (5, None)),
        ("五星", (5, None)),
        ("非常满意，谢谢律师", (5, "谢谢律师")),
        ("满意", (4, None)),
        ("满意！", (4, None)),
        ("基本满意", (3, None)),
        ("一般", (3, None)),
        ("不满意 律师一直没回电话", (2, "律师一直没回电话")),
        ("很不满意", (1, None)),
        ("1", (1, None)),
        ("好评", (5, None)),
        ("不太满意", (2, None)),
        ("差评", (1, None)),
        # not ratings: the dialog's
        ("满意度怎么评", None),
        ("5分钟前老板打电话", None),
        ("我对判决不满意", None),
        ("一般来说工伤怎么认定", None),
        ("6", None),
        ("", None),
    ],
)
def test_typed_rating(text: str, expected: tuple[int, str | None] | None) -> None:
    assert parse_typed_rating(text) == expected


def typed(text: str, n: int, user: str = "u1") -> Inbound:
    return Inbound("console", user, f"typed{n}", text)


async def test_a_rating_typed_right_after_the_request_answers_it_with_the_comment(db_url: str) -> None:
    engine = FakeEngine()
    gateway = Gateway(engine, db_url)
    await gateway.handle(typed("你好", 0))  # the citizen talked to the bot before
    resolved_ticket(db_url, "console-u1")
    replies = await gateway.handle(typed("不满意，律师一直没回电话", 1))
    assert "回访" in replies[0].text
    assert [text for _, text in engine.seen] == ["你好"]  # the typed rating did not reach the engine
    with session_scope(db_url) as s:
        rating = s.scalars(select(Rating)).one()
        assert (rating.score, rating.comment) == (2, "律师一直没回电话")
        assert s.scalars(select(ReviewItem.detail)).one() == "律师一直没回电话"
    await gateway.handle(typed("满意", 2))  # answered already: now ordinary words for the dialog
    assert [text for _, text in engine.seen] == ["你好", "满意"]


async def test_a_number_typed_later_in_a_new_conversation_is_not_taken_for_a_rating(db_url: str) -> None:
    engine = FakeEngine()
    gateway = Gateway(engine, db_url)
    resolved_ticket(db_url, "console-u1")
    await gateway.handle(typed("我又被拖欠工资了", 1))  # the citizen went on without rating
    await gateway.handle(typed("3", 2))  # e.g. household size in the new intake
    assert [text for _, text in engine.seen] == ["我又被拖欠工资了", "3"]
    with session_scope(db_url) as s:
        assert s.scalars(select(Rating.score)).one() is None


async def test_a_reminder_opens_the_question_again(db_url: str) -> None:
    engine = FakeEngine()
    gateway = Gateway(engine, db_url)
    resolved_ticket(db_url, "console-u1")
    await gateway.handle(typed("还有个问题", 1))
    with session_scope(db_url) as s:
        later = s.scalar(select(MessageLog.created_at).order_by(MessageLog.id.desc()).limit(1))
        assert later is not None
        s.scalars(select(Rating)).one().reminded_at = later + dt.timedelta(seconds=1)
    await gateway.handle(typed("五星", 2))
    assert [text for _, text in engine.seen] == ["还有个问题"]
    with session_scope(db_url) as s:
        assert s.scalars(select(Rating.score)).one() == 5
        assert s.scalars(select(Citizen)).one().conversation_id == "console-u1"
