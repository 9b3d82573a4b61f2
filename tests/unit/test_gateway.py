"""Gateway core with a fake dialog engine: persistence first, retry on outage, order, handoff."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot import strings
from bot.engine import EngineUnavailable
from bot.gateway import FORWARDED, Gateway, Inbound
from bot.replies import Reply
from hotline.db.models import MessageLog, Ticket, TicketStatus
from hotline.db.session import session_scope
from hotline.tickets.service import NewTicket, change_status, create_ticket


class FakeEngine:
    def __init__(self) -> None:
        self.up = True
        self.seen: list[tuple[str, str]] = []

    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        if not self.up:
            raise EngineUnavailable("connection refused")
        self.seen.append((sender, text))
        return [{"text": f"答复:{text}", "buttons": [{"title": "是", "payload": "/affirm"}]}]


def msg(n: int, text: str = "你好", payload: str | None = None) -> Inbound:
    return Inbound(channel="console", user_id="u1", message_id=f"m{n}", text=text, button_payload=payload)


def log_rows(db_url: str) -> list[tuple[str, str, str]]:
    with session_scope(db_url) as s:
        rows = s.scalars(select(MessageLog).order_by(MessageLog.id)).all()
        return [(r.direction.value, r.text, r.state.value) for r in rows]


async def test_message_persisted_then_answered(db_url: str) -> None:
    engine = FakeEngine()
    replies = await Gateway(engine, db_url).handle(msg(1, "老板拖欠我三个月工资"))
    assert replies == [Reply("答复:老板拖欠我三个月工资", replies[0].buttons)]
    assert replies[0].buttons[0].payload == "/affirm"
    assert engine.seen == [("console-u1", "老板拖欠我三个月工资")]
    assert log_rows(db_url) == [
        ("in", "老板拖欠我三个月工资", "processed"),
        ("out", "答复:老板拖欠我三个月工资", "sent"),
    ]


async def test_button_sends_payload_but_logs_title(db_url: str) -> None:
    engine = FakeEngine()
    await Gateway(engine, db_url).handle(msg(1, "定远县", payload='/inform{"county":"定远县"}'))
    assert engine.seen[0][1] == '/inform{"county":"定远县"}'
    assert log_rows(db_url)[0][1] == "定远县"


async def test_duplicate_delivery_is_ignored(db_url: str) -> None:
    engine = FakeEngine()
    gateway = Gateway(engine, db_url)
    await gateway.handle(msg(1))
    assert await gateway.handle(msg(1)) == []
    assert len(engine.seen) == 1


async def test_engine_down_apologises_keeps_message_and_retries_in_order(db_url: str) -> None:
    engine = FakeEngine()
    gateway = Gateway(engine, db_url)
    engine.up = False
    assert await gateway.handle(msg(1, "第一条")) == [Reply(strings.ENGINE_DOWN)]
    assert await gateway.handle(msg(2, "第二条")) == [Reply(strings.ENGINE_DOWN)]
    # The first is queued for retry; the second waits behind it, untouched.
    assert [r[2] for r in log_rows(db_url) if r[0] == "in"] == ["retry", "received"]
    delivered: list[tuple[str, list[Reply]]] = []

    async def deliver(user: str, replies: list[Reply]) -> None:
        delivered.append((user, replies))

    assert await gateway.retry_pending(deliver) == 0  # still down: nothing delivered, nothing lost
    engine.up = True
    assert await gateway.retry_pending(deliver) == 1
    assert [t for _, t in engine.seen] == ["第一条", "第二条"]
    assert {user for user, _ in delivered} == {"u1"}
    replies = [r for _, batch in delivered for r in batch]  # one reply per delivery (the outbox)
    assert [r.text for r in replies] == [strings.ENGINE_BACK, "答复:第一条", "答复:第二条"]
    assert [r[2] for r in log_rows(db_url) if r[0] == "in"] == ["processed", "processed"]


async def test_new_message_waits_behind_queued_one(db_url: str) -> None:
    engine = FakeEngine()
    gateway = Gateway(engine, db_url)
    engine.up = False
    await gateway.handle(msg(1, "旧消息"))
    engine.up = True
    replies = await gateway.handle(msg(2, "新消息"))
    assert [t for _, t in engine.seen] == ["旧消息", "新消息"]
    assert [r.text for r in replies] == ["答复:旧消息", "答复:新消息"]


async def test_handoff_forwards_to_operator_instead_of_engine(db_url: str) -> None:
    engine = FakeEngine()
    forwarded: list[tuple[str, str, str]] = []

    async def sink(number: str, conversation: str, text: str) -> None:
        forwarded.append((number, conversation, text))

    gateway = Gateway(engine, db_url, on_handoff_message=sink)
    await gateway.handle(msg(1, "你好"))
    with session_scope(db_url) as s:
        ticket, _ = create_ticket(s, NewTicket(category="handoff", conversation_id="console-u1"), prefix="滁")
        ticket.handoff_requested = True
        change_status(s, ticket, TicketStatus.ASSIGNED, actor="operator:1")
        number = ticket.number
    replies = await gateway.handle(msg(2, "我还想补充一点"))
    assert replies == [FORWARDED]
    assert forwarded == [(number, "console-u1", "我还想补充一点")]
    assert len(engine.seen) == 1
    assert [r for r in log_rows(db_url) if r[0] == "in"][-1] == ("in", "我还想补充一点", "forwarded")


async def test_after_asking_for_a_human_messages_wait_for_staff_not_the_bot(db_url: str) -> None:
    """utter_handoff promises the next messages reach the staff, also before anyone claims the ticket."""
    engine = FakeEngine()
    forwarded: list[str] = []

    async def sink(number: str, conversation: str, text: str) -> None:
        forwarded.append(text)

    gateway = Gateway(engine, db_url, on_handoff_message=sink)
    with session_scope(db_url) as s:
        ticket, _ = create_ticket(s, NewTicket(category="handoff", conversation_id="console-u1"), prefix="滁")
        ticket.handoff_requested = True  # status stays NEW: nobody has claimed it yet
    assert await gateway.handle(msg(1, "还有一件事")) == [FORWARDED]
    assert forwarded == ["还有一件事"] and engine.seen == []
    with session_scope(db_url) as s:
        change_status(s, s.scalars(select(Ticket)).one(), TicketStatus.RESOLVED, actor="operator:1")
    await gateway.handle(msg(2, "你好"))  # resolved: the bot answers again
    assert engine.seen == [("console-u1", "你好")]


async def test_an_intake_ticket_without_handoff_leaves_the_bot_in_charge(db_url: str) -> None:
    engine = FakeEngine()
    gateway = Gateway(engine, db_url, on_handoff_message=None)
    with session_scope(db_url) as s:
        create_ticket(s, NewTicket(category="wage_arrears", conversation_id="console-u1"), prefix="滁")
    await gateway.handle(msg(1, "查一下我的工单"))
    assert engine.seen == [("console-u1", "查一下我的工单")]


async def test_message_left_received_by_a_crash_is_recovered(db_url: str) -> None:
    import datetime as dt

    from hotline.db.models import utcnow
    from hotline.messages import get_or_create_citizen, log_inbound

    with session_scope(db_url) as s:  # a gateway died right after persisting this message
        citizen = get_or_create_citizen(s, "console", "u1")
        m, _ = log_inbound(s, citizen, external_message_id="m9", text="崩溃前的消息")
        m.created_at = utcnow() - dt.timedelta(minutes=5)
    engine = FakeEngine()
    delivered: list[list[Reply]] = []

    async def deliver(user: str, replies: list[Reply]) -> None:
        delivered.append(replies)

    assert await Gateway(engine, db_url).retry_pending(deliver) == 1
    assert engine.seen == [("console-u1", "崩溃前的消息")]
    assert delivered[-1][-1].text == "答复:崩溃前的消息"


async def test_failed_desk_post_keeps_the_message_for_retry(db_url: str) -> None:
    engine, calls = FakeEngine(), []

    async def flaky_sink(number: str, conversation: str, text: str) -> None:
        calls.append(text)
        if len(calls) == 1:
            raise RuntimeError("telegram timeout")

    gateway = Gateway(engine, db_url, on_handoff_message=flaky_sink)
    with session_scope(db_url) as s:
        ticket, _ = create_ticket(s, NewTicket(category="handoff", conversation_id="console-u1"), prefix="滁")
        ticket.handoff_requested = True
        change_status(s, ticket, TicketStatus.ASSIGNED, actor="operator:1")
    assert await gateway.handle(msg(1, "补充材料")) == [Reply(strings.DESK_DOWN)]
    assert [r for r in log_rows(db_url) if r[0] == "in"] == [("in", "补充材料", "retry")]

    async def deliver(user: str, replies: list[Reply]) -> None:
        return None

    await gateway.retry_pending(deliver)
    assert calls == ["补充材料", "补充材料"]
    assert [r for r in log_rows(db_url) if r[0] == "in"] == [("in", "补充材料", "forwarded")]
    assert engine.seen == []


async def test_text_is_sanitised_before_it_is_stored_and_a_capped_message_is_announced(db_url: str) -> None:
    """A NUL or lone surrogate broke the PostgreSQL insert (message lost, no reply); an endless message
    is capped and the citizen is told how much was kept."""
    engine = FakeEngine()
    gateway = Gateway(engine, db_url)
    story = "老板\x00拖欠\ud800工资" + "。" * 5000
    replies = await gateway.handle(msg(1, story))
    assert replies[0].text == strings.MESSAGE_TOO_LONG.format(max_chars=4096)
    assert replies[1:] and all("答复" in r.text for r in replies[1:])
    inbound = [text for direction, text, _ in log_rows(db_url) if direction == "in"]
    assert len(inbound) == 1 and len(inbound[0]) == 4096
    assert "\x00" not in inbound[0] and "\ud800" not in inbound[0] and inbound[0].startswith("老板拖欠")
    assert [text for _, text in engine.seen] == [inbound[0]]
    # A short, clean message gets no note.
    assert strings.MESSAGE_TOO_LONG[:6] not in [r.text[:6] for r in await gateway.handle(msg(2, "谢谢"))]
