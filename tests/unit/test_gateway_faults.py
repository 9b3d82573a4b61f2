"""Fault paths of the gateway (issue 14): nothing lost, nothing sent twice, nothing promised untrue.

Each test breaks one hop — the operators' group, the dialog engine (down, timing out after processing),
Telegram's delivery, a second gateway replica — and checks what is in the database and what the citizen
was told afterwards.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError

from bot import strings
from bot.desk import relay
from bot.engine import EngineUnavailable, RasaRestEngine, TurnInProgress, answer_from_tracker
from bot.gateway import FORWARDED, Gateway
from bot.outbox import Undeliverable, outbox_backoff
from bot.replies import Reply
from bot.textsplit import TELEGRAM_LIMIT, split_text, units
from bot.transports.telegram import TelegramTransport
from hotline.db.models import (
    DeskMessage,
    MessageDirection,
    MessageLog,
    MessageState,
    Ticket,
    TicketEvent,
    TicketStatus,
    utcnow,
)
from hotline.db.session import get_sessionmaker, session_scope
from hotline.messages import claim, get_or_create_citizen, log_inbound
from hotline.settings import Settings
from hotline.tickets.service import NewTicket, change_status, create_ticket
from tests.unit.conftest import FakeBotApi, telegram_settings
from tests.unit.test_gateway import FakeEngine, msg
from tests.unit.test_telegram_transport import CHAT, USER

# ---- helpers ---------------------------------------------------------------------------------------------


def inbound_rows(db_url: str) -> list[MessageLog]:
    with session_scope(db_url) as s:
        return list(
            s.scalars(
                select(MessageLog)
                .where(MessageLog.direction == MessageDirection.INBOUND)
                .order_by(MessageLog.id)
            )
        )


def outbound_rows(db_url: str) -> list[tuple[str, str]]:
    with session_scope(db_url) as s:
        rows = s.scalars(
            select(MessageLog)
            .where(MessageLog.direction == MessageDirection.OUTBOUND)
            .order_by(MessageLog.id)
        )
        return [(r.text, r.state.value) for r in rows]


def handoff_ticket(db_url: str, conversation: str = "console-u1") -> str:
    with session_scope(db_url) as s:
        ticket, _ = create_ticket(s, NewTicket(category="handoff", conversation_id=conversation), prefix="滁")
        ticket.handoff_requested = True
        change_status(s, ticket, TicketStatus.ASSIGNED, actor="operator:1")
        return ticket.number


class Collect:
    """A transport's deliver function that records what reached the citizen."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.got: list[tuple[str, str]] = []

    async def __call__(self, user: str, replies: list[Reply]) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise NetworkError("telegram unreachable")
        self.got.extend((user, r.text) for r in replies)

    @property
    def texts(self) -> list[str]:
        return [t for _, t in self.got]


@dataclass
class _Sent:
    message_id: int


@dataclass
class FakeGroupBot:
    """Telegram's sendMessage as the operators' group sees it: over 4,096 units is rejected, like Telegram."""

    down: bool = False
    posts: list[str] = field(default_factory=list)

    async def send_message(self, chat_id: int, text: str, **_: Any) -> _Sent:
        if self.down:
            raise NetworkError("group unreachable")
        if units(text) > TELEGRAM_LIMIT:
            raise BadRequest("Message is too long")
        self.posts.append(text)
        return _Sent(len(self.posts))


@dataclass
class FakeDesk:
    sessions: sessionmaker[Session]
    bot: FakeGroupBot = field(default_factory=FakeGroupBot)
    chat_id: int = -100
    resumed: list[str] = field(default_factory=list)

    async def on_citizen_message(self, number: str, text: str) -> None:
        self.resumed.append(number)

    def where(self, session: Session, ticket: Ticket) -> tuple[int, int | None]:
        return self.chat_id, None  # one shared group, no card


# ---- desk relay ------------------------------------------------------------------------------------------


async def test_failed_group_post_keeps_message_queued_and_says_so(db_url: str) -> None:
    desk = FakeDesk(get_sessionmaker(db_url), FakeGroupBot(down=True))
    engine = FakeEngine()
    gateway = Gateway(engine, db_url, on_handoff_message=relay.handoff_sink(desk))
    number = handoff_ticket(db_url)
    # The desk could not post: not "forwarded", and the citizen is not told it reached a person.
    assert await gateway.handle(msg(1, "补充：欠薪三个月")) == [Reply(strings.DESK_DOWN)]
    [row] = inbound_rows(db_url)
    assert row.state is MessageState.RETRY and row.relayed_at is None and row.claim_token is None
    desk.bot.down = False
    deliver = Collect()
    await gateway.retry_pending(deliver)
    [row] = inbound_rows(db_url)
    assert row.state is MessageState.FORWARDED and row.relayed_at is not None
    assert desk.bot.posts == [strings.DESK_CITIZEN_MESSAGE.format(number=number, text="补充：欠薪三个月")]
    assert deliver.texts == [strings.FORWARDED_TO_OPERATOR]
    assert engine.seen == []


async def test_message_near_the_limit_is_split_not_lost(db_url: str) -> None:
    desk = FakeDesk(get_sessionmaker(db_url))
    gateway = Gateway(FakeEngine(), db_url, on_handoff_message=relay.handoff_sink(desk))
    number = handoff_ticket(db_url)
    long_text = "老板拖欠工资。" * 585  # 4,095 characters: with the desk's prefix over Telegram's limit
    assert await gateway.handle(msg(1, long_text)) == [FORWARDED]
    assert len(desk.bot.posts) == 2
    assert all(units(p) <= TELEGRAM_LIMIT for p in desk.bot.posts)
    prefixes = [
        strings.DESK_CITIZEN_MESSAGE_PART.format(number=number, part=i, total=2, text="") for i in (1, 2)
    ]
    assert [p[: len(x)] for p, x in zip(desk.bot.posts, prefixes, strict=True)] == prefixes
    assert "".join(p[len(x) :] for p, x in zip(desk.bot.posts, prefixes, strict=True)) == long_text
    with session_scope(db_url) as s:  # an operator replying to either part reaches the citizen
        assert len(s.scalars(select(DeskMessage).where(DeskMessage.kind == "citizen")).all()) == 2
    assert inbound_rows(db_url)[0].state is MessageState.FORWARDED
    assert desk.resumed == [number]  # a ticket waiting for the citizen resumes once the post went out


def test_split_counts_utf16_units_and_keeps_every_character() -> None:
    text = "第一句。" * 3 + "😀" * 10 + "\n" + "a" * 7
    pieces = split_text(text, limit=9)
    assert "".join(pieces) == text
    assert all(units(p) <= 9 for p in pieces)
    assert pieces[0] == "第一句。第一句。"  # cut after a sentence end in the second half
    assert split_text("短", 9) == ["短"]
    with pytest.raises(ValueError):
        split_text("x", 1)


# ---- engine outage past the budget -----------------------------------------------------------------------


async def test_outage_past_budget_opens_a_real_handoff_and_replays_when_back(db_url: str) -> None:
    engine, desk = FakeEngine(), FakeDesk(get_sessionmaker(db_url))
    engine.up = False
    gateway = Gateway(
        engine, db_url, max_attempts=2, ticket_prefix="滁", on_handoff_message=relay.handoff_sink(desk)
    )
    assert await gateway.handle(msg(1, "我被拖欠工资")) == [Reply(strings.ENGINE_DOWN)]
    deliver = Collect()
    await gateway.retry_pending(deliver)  # second failure: the budget is spent
    with session_scope(db_url) as s:
        ticket = s.scalars(select(Ticket)).one()
        number = ticket.number
        assert ticket.handoff_requested and ticket.status is TicketStatus.NEW
        assert ticket.description == "我被拖欠工资" and ticket.facts["handoff_reason"] == "engine_unavailable"
        events = [
            (e.kind, e.actor)
            for e in s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
        ]
        assert ("handoff_requested", "gateway") in events
    assert deliver.texts == [strings.ENGINE_ESCALATED.format(number=number)]
    [row] = inbound_rows(db_url)
    assert row.state is MessageState.RETRY and row.escalated and row.ticket_id is not None  # never dropped

    await gateway.retry_pending(deliver)  # the queued message reaches the desk; still kept for the engine
    assert desk.bot.posts == [strings.DESK_CITIZEN_MESSAGE.format(number=number, text="我被拖欠工资")]
    [row] = inbound_rows(db_url)
    assert row.state is MessageState.RETRY and row.relayed_at is not None
    # While the engine is still down a new message goes to the staff at once, not behind the queued one.
    assert await gateway.handle(msg(2, "请尽快联系我")) == [FORWARDED]
    assert len(desk.bot.posts) == 2

    engine.up = True
    assert await gateway.retry_pending(deliver) == 1
    assert engine.seen == [("console-u1", "我被拖欠工资")]
    assert deliver.texts[-2:] == [strings.ENGINE_BACK, "答复:我被拖欠工资"]
    assert [r.state for r in inbound_rows(db_url)] == [MessageState.PROCESSED, MessageState.FORWARDED]
    assert len(desk.bot.posts) == 2  # relayed once, not again on the replay
    assert not any("转给人工" in text for text, _ in outbound_rows(db_url))


async def test_outage_handoff_reuses_the_open_intake_ticket(db_url: str) -> None:
    engine = FakeEngine()
    engine.up = False
    with session_scope(db_url) as s:
        get_or_create_citizen(s, "console", "u1")
        ticket, _ = create_ticket(
            s, NewTicket(category="wage_arrears", conversation_id="console-u1"), prefix="滁"
        )
        number = ticket.number
    gateway = Gateway(engine, db_url, max_attempts=1, ticket_prefix="滁")
    assert await gateway.handle(msg(1, "还在吗")) == [Reply(strings.ENGINE_ESCALATED.format(number=number))]
    with session_scope(db_url) as s:
        [ticket] = s.scalars(select(Ticket)).all()
        assert ticket.handoff_requested and not ticket.handled_by_bot_only


# ---- one turn, one engine call ---------------------------------------------------------------------------


class TrackerEngine:
    """An engine that processes a turn and then times out, and keeps a tracker like Rasa's."""

    def __init__(self, *, timeout_after_processing: int = 0, refuse: int = 0, lose: int = 0) -> None:
        self.timeout_after_processing = timeout_after_processing
        self.refuse = refuse
        self.lose = lose  # requests that time out before the engine got them
        self.seen: list[str] = []
        self.events: list[dict[str, Any]] = []
        self.lookups = 0

    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        if self.refuse > 0:
            self.refuse -= 1
            raise EngineUnavailable("ConnectError", maybe_processed=False)
        if self.lose > 0:
            self.lose -= 1
            raise EngineUnavailable("ReadTimeout")
        self.seen.append(text)
        answer = [{"text": f"答复:{text}"}]
        self.events += [
            {"event": "user", "text": text, "timestamp": dt.datetime.now(dt.UTC).timestamp()},
            {"event": "bot", "text": answer[0]["text"], "data": {}},
            {"event": "action", "name": "action_listen"},
        ]
        if self.timeout_after_processing > 0:
            self.timeout_after_processing -= 1
            raise EngineUnavailable("ReadTimeout")
        return answer

    async def turn_answer(
        self, sender: str, text: str, since: dt.datetime, after: dt.datetime | None = None
    ) -> list[dict[str, Any]] | None:
        self.lookups += 1
        return answer_from_tracker(self.events, text, since, after)


async def test_turn_processed_before_a_timeout_is_not_sent_again(db_url: str) -> None:
    engine = TrackerEngine(timeout_after_processing=1)
    gateway = Gateway(engine, db_url)
    assert await gateway.handle(msg(1, "定远县")) == [Reply(strings.ENGINE_DOWN)]
    deliver = Collect()
    assert await gateway.retry_pending(deliver) == 1
    assert engine.seen == ["定远县"] and engine.lookups == 1  # the answer came from the tracker
    assert deliver.texts == [strings.ENGINE_BACK, "答复:定远县"]
    assert inbound_rows(db_url)[0].state is MessageState.PROCESSED


async def test_same_words_twice_the_lost_second_turn_is_resent(db_url: str) -> None:
    engine = TrackerEngine()
    gateway = Gateway(engine, db_url)
    await gateway.handle(msg(1, "是"))
    engine.lose = 1
    assert await gateway.handle(msg(2, "是")) == [Reply(strings.ENGINE_DOWN)]
    deliver = Collect()
    await gateway.retry_pending(deliver)
    # The tracker's last "是" is the first turn, answered before the second was sent: not taken for it.
    assert engine.seen == ["是", "是"] and engine.lookups == 1
    assert deliver.texts == [strings.ENGINE_BACK, "答复:是"]


async def test_refused_connection_is_resent_without_a_lookup(db_url: str) -> None:
    engine = TrackerEngine(refuse=1)
    gateway = Gateway(engine, db_url)
    await gateway.handle(msg(1, "你好"))
    assert inbound_rows(db_url)[0].dispatched_at is None  # it never reached the engine
    await gateway.retry_pending(Collect())
    assert engine.seen == ["你好"] and engine.lookups == 0


async def test_message_left_by_another_replica_is_answered_without_claiming_a_recovery(db_url: str) -> None:
    with session_scope(db_url) as s:  # persisted by a replica that died before the engine saw it
        citizen = get_or_create_citizen(s, "console", "u1")
        message, _ = log_inbound(s, citizen, external_message_id="m1", text="你好")
        message.created_at = utcnow() - dt.timedelta(minutes=1)
    deliver = Collect()
    assert await Gateway(FakeEngine(), db_url).retry_pending(deliver) == 1
    assert deliver.texts == ["答复:你好"]  # no "系统已恢复": nobody told this citizen it was down


class SlowEngine(FakeEngine):
    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        await self.release.wait()
        return await super().send(sender, text)


async def test_two_replicas_replaying_one_message_send_it_once(db_url: str) -> None:
    engine = SlowEngine()
    engine.up = False
    engine.release.set()
    first = Gateway(engine, db_url)
    await first.handle(msg(1, "排队的消息"))  # now RETRY
    engine.up = True
    engine.release.clear()
    second = Gateway(engine, get_sessionmaker(db_url))  # another replica, given a session factory
    a, b = Collect(), Collect()
    runs = asyncio.gather(first.retry_pending(a), second.retry_pending(b))
    await asyncio.sleep(0.2)
    engine.release.set()
    assert sorted(await runs) == [0, 1]
    assert engine.seen == [("console-u1", "排队的消息")]
    assert a.texts + b.texts == [strings.ENGINE_BACK, "答复:排队的消息"]


async def test_next_message_left_by_another_replica_is_answered_in_the_same_round(db_url: str) -> None:
    """Behind a load balancer a citizen's second message can reach replica b while replica a holds the
    first at the engine: b leaves it (order), and a answers it right after the first — not the retry tick,
    30-60 s later (found by bench/bench_scaleout.py: turn p90 60 s with two gateways)."""
    engine = SlowEngine()
    a, b = Gateway(engine, db_url), Gateway(engine, get_sessionmaker(db_url))
    first: asyncio.Future[list[Reply]] = asyncio.ensure_future(a.handle(msg(1, "第一句")))
    for _ in range(200):  # until a holds the first message at the engine
        if inbound_rows(db_url) and inbound_rows(db_url)[0].dispatched_at is not None:
            break
        await asyncio.sleep(0.01)
    assert await b.handle(msg(2, "第二句")) == []  # b keeps the order: a is on this citizen
    engine.release.set()
    replies = await first
    assert [r.text for r in replies] == ["答复:第一句", "答复:第二句"]
    assert engine.seen == [("console-u1", "第一句"), ("console-u1", "第二句")]
    assert [r.state for r in inbound_rows(db_url)] == [MessageState.PROCESSED] * 2


def test_claim_is_exclusive_until_its_time_to_live_runs_out(db_url: str) -> None:
    with session_scope(db_url) as s:
        message, _ = log_inbound(
            s, get_or_create_citizen(s, "console", "u1"), external_message_id="m1", text="x"
        )
        message_id = message.id
    now = utcnow()
    ttl = dt.timedelta(minutes=2)
    with session_scope(db_url) as s:
        assert claim(s, message_id, "replica-a", ttl=ttl, now=now)
    with session_scope(db_url) as s:
        assert not claim(s, message_id, "replica-b", ttl=ttl, now=now + dt.timedelta(minutes=1))
    with session_scope(db_url) as s:  # replica a died: its claim expires
        assert claim(s, message_id, "replica-b", ttl=ttl, now=now + dt.timedelta(minutes=3))
        assert s.get_one(MessageLog, message_id).claim_token == "replica-b"


def test_tracker_answer_only_for_the_dispatched_finished_turn() -> None:
    since = dt.datetime(2026, 12, 6, 12, 0, 0)
    stamp = since.replace(tzinfo=dt.UTC).timestamp()
    user = {"event": "user", "text": "你好", "timestamp": stamp + 1}
    bot = {"event": "bot", "text": "您好", "data": {"buttons": [{"title": "是", "payload": "/affirm"}]}}
    listen = {"event": "action", "name": "action_listen"}
    assert answer_from_tracker([user, bot, listen], "你好", since) == [
        {"text": "您好", "buttons": [{"title": "是", "payload": "/affirm"}]}
    ]
    assert answer_from_tracker([user, bot, listen], "别的", since) is None
    assert answer_from_tracker([{**user, "timestamp": stamp - 60}, listen], "你好", since) is None
    assert answer_from_tracker([], "你好", since) is None
    # the same words just before, already answered: that turn is not this one
    after = since + dt.timedelta(seconds=2)
    assert answer_from_tracker([user, bot, listen], "你好", since, after) is None
    with pytest.raises(TurnInProgress):
        answer_from_tracker([user, bot], "你好", since)


async def test_rest_engine_tracker_lookup_and_error_kinds() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/tracker"):
            if "off" in request.url.path:
                return httpx.Response(404)
            return httpx.Response(200, json={"events": [{"event": "user", "text": "t", "timestamp": 4e9}]})
        raise httpx.ConnectError("refused")

    engine = RasaRestEngine("http://engine", api_token="s3cret")
    engine._client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    with pytest.raises(TurnInProgress):
        await engine.turn_answer("telegram-1", "t", utcnow())
    assert seen[-1].url.params["token"] == "s3cret"
    assert await engine.turn_answer("telegram-off", "t", utcnow()) is None  # API off: resend is all we can do
    with pytest.raises(EngineUnavailable) as refused:
        await engine.send("telegram-1", "t")
    assert refused.value.maybe_processed is False
    await engine.aclose()


# ---- outbound queue --------------------------------------------------------------------------------------


async def test_reply_telegram_refused_stays_queued_and_is_delivered_later_in_order(db_url: str) -> None:
    gateway = Gateway(FakeEngine(), db_url)
    sender = Collect(failures=1)
    gateway.set_sender(sender)
    assert await gateway.handle(msg(1, "第一条")) == []  # the gateway delivers itself
    assert outbound_rows(db_url) == [("答复:第一条", "queued")]
    with session_scope(db_url) as s:
        row = s.scalars(select(MessageLog).where(MessageLog.direction == MessageDirection.OUTBOUND)).one()
        assert row.attempts == 1 and row.next_attempt_at is not None and row.next_attempt_at > utcnow()
    deliver = Collect()
    await gateway.retry_pending(deliver)
    assert deliver.got == []  # backing off
    await gateway.handle(msg(2, "第二条"))  # the citizen writes again: Telegram works, the old reply first
    assert sender.texts == ["答复:第一条", "答复:第二条"]
    assert outbound_rows(db_url) == [("答复:第一条", "sent"), ("答复:第二条", "sent")]


async def test_retry_loop_delivers_due_replies(db_url: str) -> None:
    gateway = Gateway(FakeEngine(), db_url)
    gateway.set_sender(Collect(failures=1))
    await gateway.handle(msg(1, "你好"))
    with session_scope(db_url) as s:
        for row in s.scalars(select(MessageLog).where(MessageLog.state == MessageState.QUEUED)):
            row.next_attempt_at = utcnow() - dt.timedelta(seconds=1)
    deliver = Collect()
    await gateway.retry_pending(deliver)
    assert deliver.got == [("u1", "答复:你好")]
    assert outbound_rows(db_url) == [("答复:你好", "sent")]


async def test_reply_over_telegrams_limit_is_delivered_in_pieces(db_url: str) -> None:
    class Wordy(FakeEngine):
        async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
            return [{"text": "很长的说明。" * 1000, "buttons": [{"title": "是", "payload": "/affirm"}]}]

    gateway = Gateway(Wordy(), db_url)
    got: list[Reply] = []

    async def sender(user: str, replies: list[Reply]) -> None:
        assert all(units(r.text) <= TELEGRAM_LIMIT for r in replies), "Telegram would refuse it"
        got.extend(replies)

    gateway.set_sender(sender)
    await gateway.handle(msg(1))
    assert "".join(r.text for r in got) == "很长的说明。" * 1000
    assert [bool(r.buttons) for r in got] == [False, True]  # the buttons under the last piece
    assert outbound_rows(db_url) == [("很长的说明。" * 1000, "sent")]


async def test_reply_refused_for_good_is_set_aside_and_later_replies_go_on(db_url: str) -> None:
    """A 400/403 (`Undeliverable`) is final: kept queued, it would hold back every later reply."""
    gateway = Gateway(FakeEngine(), db_url)
    refused = True

    async def sender(user: str, replies: list[Reply]) -> None:
        nonlocal refused
        if refused:
            refused = False
            raise Undeliverable("Bad Request: message to be replied not found")
        delivered.extend(r.text for r in replies)

    delivered: list[str] = []
    gateway.set_sender(sender)
    await gateway.handle(msg(1, "第一条"))
    await gateway.handle(msg(2, "第二条"))
    assert delivered == ["答复:第二条"]
    assert outbound_rows(db_url) == [("答复:第一条", "failed"), ("答复:第二条", "sent")]
    with session_scope(db_url) as s:
        failed = s.scalars(select(MessageLog).where(MessageLog.state == MessageState.FAILED)).one()
        assert failed.last_error == "Undeliverable: Bad Request: message to be replied not found"


async def test_telegram_400_and_403_are_undeliverable_but_network_errors_are_not(
    db_url: str, settings: Settings
) -> None:
    transport = TelegramTransport(Gateway(FakeEngine(), db_url), telegram_settings(settings))
    app = transport.application
    for error in (BadRequest("chat not found"), Forbidden("bot was blocked by the user")):

        async def refuse(*_: Any, error: Exception = error) -> None:
            raise error

        transport.send = refuse  # type: ignore[method-assign,assignment]
        with pytest.raises(Undeliverable):
            await transport.deliver(app, "1", [Reply("x")])

    async def down(*_: Any) -> None:
        raise NetworkError("down")

    transport.send = down  # type: ignore[method-assign,assignment]
    with pytest.raises(NetworkError):
        await transport.deliver(app, "1", [Reply("x")])


async def test_a_flush_that_loses_the_claim_leaves_its_reply_to_the_holder(db_url: str) -> None:
    """Two flushes of one citizen at once (the retry job and a new message, or two updates): the one
    holding the claim reads the queue again, so a reply queued meanwhile never waits for the next job."""
    gateway = Gateway(FakeEngine(), db_url)
    release_first = asyncio.Event()
    delivered: list[str] = []

    async def slow(user: str, replies: list[Reply]) -> None:
        if not delivered and not release_first.is_set():
            await release_first.wait()  # the first reply is on its way while the citizen writes again
        delivered.extend(r.text for r in replies)

    gateway.set_sender(slow)
    first = asyncio.ensure_future(gateway.handle(msg(1, "第一条")))
    while outbound_rows(db_url) == [] or not any(
        r.claimed_until for r in _outbound(db_url)
    ):  # until the first reply is claimed
        await asyncio.sleep(0.01)
    await gateway.handle(msg(2, "第二条"))  # its flush finds the first reply claimed and stops
    release_first.set()
    await first
    assert delivered == ["答复:第一条", "答复:第二条"]
    assert outbound_rows(db_url) == [("答复:第一条", "sent"), ("答复:第二条", "sent")]


def _outbound(db_url: str) -> list[MessageLog]:
    with session_scope(db_url) as s:
        return list(s.scalars(select(MessageLog).where(MessageLog.direction == MessageDirection.OUTBOUND)))


def test_outbox_backoff_doubles_and_is_capped() -> None:
    assert [outbox_backoff(n).total_seconds() for n in (1, 2, 3)] == [5, 10, 20]
    assert outbox_backoff(50) == dt.timedelta(hours=1)


# ---- edited messages -------------------------------------------------------------------------------------


def _update(update_id: int, key: str, text: str, edit_date: int | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"message_id": 7, "date": 1764400000, "chat": CHAT, "from": USER, "text": text}
    if edit_date is not None:
        message["edit_date"] = edit_date
    return {"update_id": update_id, key: message}


async def test_edited_message_gets_an_answer_asking_to_resend(settings: Settings) -> None:
    api, engine = FakeBotApi(), FakeEngine()
    s = telegram_settings(settings)
    transport = TelegramTransport(Gateway(engine, s.database_url), s, request=api)
    app = transport.application
    await app.initialize()
    try:
        await app.process_update(Update.de_json(_update(1, "message", "我在定远县"), app.bot))
        edit = Update.de_json(_update(2, "edited_message", "我在凤阳县", edit_date=1764400060), app.bot)
        await app.process_update(edit)
        assert engine.seen == [("telegram-1001", "我在定远县")]  # the edit is not applied to the dialog
        assert [p["text"] for p in api.sent()] == ["答复:我在定远县", strings.EDIT_NOT_APPLIED]
        await app.process_update(edit)  # redelivered: answered once
        assert len(api.sent()) == 2
    finally:
        await app.shutdown()
    with session_scope(s.database_url) as session:
        edited = session.scalars(select(MessageLog).where(MessageLog.text == "我在凤阳县")).one()
        assert edited.payload == {"edited": True} and edited.state is MessageState.PROCESSED
