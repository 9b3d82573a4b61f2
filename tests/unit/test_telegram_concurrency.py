"""Citizens are served concurrently, each citizen's messages in order (bot/transports/telegram_updates.py).

No timing asserts: concurrency is shown by a turn that can only finish once another citizen's turn ran
(one update at a time would wait forever), order by what the engine saw.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from telegram import Chat, Update, User
from telegram import Message as TgMessage

from bot.gateway import Gateway
from bot.transports.telegram import TelegramTransport
from bot.transports.telegram_updates import ChatOrderedProcessor
from hotline.settings import Settings
from tests.fakes.bot_api_server import FakeBotApi

TOKEN = "4242:unit-test"
ALICE, BOB = 1001, 1002


def update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, Chat.PRIVATE)
    user = User(chat_id, "市民", is_bot=False)
    message = TgMessage(update_id, None, chat, from_user=user, text="你好")  # type: ignore[arg-type]
    return Update(update_id, message=message)


async def test_other_chats_run_while_one_chat_waits_and_a_chat_keeps_its_order() -> None:
    processor = ChatOrderedProcessor(8)
    started: list[tuple[int, int]] = []
    release_alice = asyncio.Event()

    async def work(update_id: int, chat_id: int, gate: asyncio.Event | None = None) -> None:
        started.append((chat_id, update_id))
        if gate is not None:
            await gate.wait()

    async with processor:
        tasks = [
            asyncio.create_task(processor.process_update(update(1, ALICE), work(1, ALICE, release_alice))),
            asyncio.create_task(processor.process_update(update(2, ALICE), work(2, ALICE))),
            asyncio.create_task(processor.process_update(update(3, BOB), work(3, BOB))),
        ]
        await tasks[2]  # Bob is answered while Alice's first update is still running
        assert started == [(ALICE, 1), (BOB, 3)]  # Alice's second waits for her first
        assert processor.chats_in_flight == 1
        release_alice.set()
        await asyncio.gather(*tasks)
    assert started == [(ALICE, 1), (BOB, 3), (ALICE, 2)]
    assert processor.chats_in_flight == 0  # idle chats are forgotten


async def test_updates_without_a_chat_are_not_serialised() -> None:
    processor = ChatOrderedProcessor(4)
    gate = asyncio.Event()
    ran: list[str] = []

    async def blocked() -> None:
        await gate.wait()

    async def other() -> None:
        ran.append("other")

    first = asyncio.create_task(processor.process_update(object(), blocked()))
    await processor.process_update(object(), other())
    assert ran == ["other"]
    gate.set()
    await first


class GatedEngine:
    """Alice's first turn is answered only once Bob's turn reached the engine."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.bob_seen = asyncio.Event()

    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        self.seen.append((sender, text))
        if sender == f"telegram-{BOB}":
            self.bob_seen.set()
        elif text == "一":
            await asyncio.wait_for(self.bob_seen.wait(), 30)
        return [{"text": f"答复:{text}"}]


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(token=TOKEN) as server:
        yield server


def telegram_settings(settings: Settings, api: FakeBotApi) -> Settings:
    telegram = settings.telegram.model_copy(update={"base_url": api.base_url, "operators_chat_id": None})
    return settings.model_copy(
        update={"transport": "telegram", "telegram_bot_token": TOKEN, "telegram": telegram}
    )


async def test_citizens_are_served_concurrently_over_http_each_in_order(
    api: FakeBotApi, settings: Settings
) -> None:
    s = telegram_settings(settings, api)
    engine = GatedEngine()
    app = TelegramTransport(Gateway(engine, s.database_url), s).application
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=10)
        try:
            for text in ("一", "二", "三"):
                api.inject_text(ALICE, ALICE, text)
            api.inject_text(BOB, BOB, "你好")
            alice = await asyncio.to_thread(api.wait_for_messages, ALICE, 3, 30)
            bob = await asyncio.to_thread(api.wait_for_messages, BOB, 1, 30)
        finally:
            await app.updater.stop()
            await app.stop()
    assert [m["text"] for m in alice] == ["答复:一", "答复:二", "答复:三"]
    assert [m["text"] for m in bob] == ["答复:你好"]
    alice_turns = [text for sender, text in engine.seen if sender == f"telegram-{ALICE}"]
    assert alice_turns == ["一", "二", "三"]
    # Bob reached the engine while Alice's first turn was still waiting for it.
    assert engine.seen.index((f"telegram-{BOB}", "你好")) < engine.seen.index((f"telegram-{ALICE}", "二"))


async def test_many_citizens_at_once_share_sqlite_from_worker_threads(db_url: str) -> None:
    """The gateway's database work runs in worker threads: concurrent writers wait for SQLite's lock
    (WAL, busy_timeout) instead of failing with "database is locked", and every reply is delivered."""
    from bot.gateway import Inbound
    from tests.unit.test_gateway import FakeEngine, log_rows

    delivered: dict[str, list[str]] = {}

    async def deliver(user_id: str, replies: list[Any]) -> None:
        delivered.setdefault(user_id, []).extend(r.text for r in replies)

    gateway = Gateway(FakeEngine(), db_url)
    gateway.set_sender(deliver)

    async def citizen(n: int) -> None:
        for turn in range(3):
            await gateway.handle(Inbound("telegram", str(n), f"{n}:{turn}", f"第{turn}句"))

    await asyncio.gather(*(citizen(n) for n in range(30)))
    assert delivered == {str(n): ["答复:第0句", "答复:第1句", "答复:第2句"] for n in range(30)}
    rows = log_rows(db_url)
    assert len(rows) == 30 * 3 * 2
    assert {state for direction, _, state in rows if direction == "in"} == {"processed"}
    assert {state for direction, _, state in rows if direction == "out"} == {"sent"}


async def test_a_chat_flooding_the_bot_does_not_hold_the_other_citizens_slots() -> None:
    processor = ChatOrderedProcessor(2)  # two updates run at once
    gate = asyncio.Event()
    done: list[tuple[int, int]] = []

    async def work(update_id: int, chat_id: int, wait: bool = False) -> None:
        if wait:
            await gate.wait()
        done.append((chat_id, update_id))

    alice = [
        asyncio.create_task(processor.process_update(update(n, ALICE), work(n, ALICE, wait=n == 1)))
        for n in range(1, 6)
    ]
    # Bob is served while Alice's line waits (before the fix, her waiting updates held both slots).
    await asyncio.wait_for(processor.process_update(update(9, BOB), work(9, BOB)), 30)
    assert done == [(BOB, 9)]
    gate.set()
    await asyncio.gather(*alice)
    assert done == [(BOB, 9)] + [(ALICE, n) for n in range(1, 6)]
