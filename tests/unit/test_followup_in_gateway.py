"""Follow-up visits through the gateway: rating buttons, low-rating alerts, delivery from the scheduler."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from sqlalchemy import select

from bot.gateway import Gateway, Inbound
from bot.notify import GatewayNotifier, parse_rating, rating_buttons
from bot.replies import Reply
from hotline.db.models import Rating, ReviewItem, TicketStatus
from hotline.db.session import session_scope
from hotline.followup.service import OutboundMessage, pending_review_alerts, request_rating
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
