"""The update journal (issue 13/14): an update Telegram handed over is never lost to a gateway crash."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker
from telegram import Update
from telegram.error import NetworkError

from bot.gateway import Gateway
from bot.transports import update_journal
from bot.transports.telegram import TelegramTransport
from bot.transports.update_journal import MAX_ATTEMPTS, JournalQueue
from hotline.db.models import UpdateJournal, utcnow
from hotline.db.session import session_scope
from hotline.settings import Settings
from tests.unit.conftest import FakeBotApi, telegram_settings
from tests.unit.test_gateway import FakeEngine

USER = {"id": 1001, "is_bot": False, "first_name": "张"}
CHAT = {"id": 1001, "type": "private"}


def text_update(update_id: int, text: str) -> dict[str, Any]:
    message = {"message_id": update_id, "date": 1764400000, "chat": CHAT, "from": USER, "text": text}
    return {"update_id": update_id, "message": message}


def journal(db_url: str) -> list[tuple[int, bool, int]]:
    with session_scope(db_url) as s:
        rows = s.scalars(select(UpdateJournal).order_by(UpdateJournal.update_id))
        return [(r.update_id, r.done_at is not None, r.attempts) for r in rows]


async def wait_for(probe: Any, what: str, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if probe():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_an_update_is_journalled_before_it_is_queued_and_done_after_its_handlers(
    settings: Settings,
) -> None:
    engine = FakeEngine()
    s = telegram_settings(settings)
    app = TelegramTransport(Gateway(engine, s.database_url), s, request=FakeBotApi()).application
    async with app:
        await app.start()
        await app.update_queue.put(Update.de_json(text_update(1, "老板拖欠工资"), app.bot))
        assert [u for u, _, _ in journal(s.database_url)] == [1]  # put returns once it is journalled
        await wait_for(lambda: journal(s.database_url) == [(1, True, 0)], "the update marked done")
        await app.stop()
    assert engine.seen == [("telegram-1001", "老板拖欠工资")]


async def test_an_update_a_dead_gateway_never_processed_is_replayed_by_another(settings: Settings) -> None:
    s = telegram_settings(settings)
    dead = TelegramTransport(Gateway(FakeEngine(), s.database_url), s, request=FakeBotApi())
    # Telegram handed the update over (webhook 200 / offset confirmed); the process died before handling it.
    await dead.application.update_queue.put(
        Update.de_json(text_update(7, "我被拖欠工资"), dead.application.bot)
    )
    assert journal(s.database_url) == [(7, False, 0)]

    engine = FakeEngine()
    alive = TelegramTransport(Gateway(engine, s.database_url), s, request=FakeBotApi(first_id=5000))
    app = alive.application
    async with app:
        await app.start()
        queue = app.update_queue
        assert isinstance(queue, JournalQueue)
        assert await update_journal.replay(alive._sessions, queue, app.bot, dt.timedelta(0)) == 1
        await wait_for(lambda: engine.seen, "the replayed message answered")
        await wait_for(lambda: journal(s.database_url) == [(7, True, 1)], "the replay marked done")
        # A second replay finds nothing: the update is done.
        assert await update_journal.replay(alive._sessions, queue, app.bot, dt.timedelta(0)) == 0
        await app.stop()
    assert engine.seen == [("telegram-1001", "我被拖欠工资")]


async def test_a_redelivered_update_is_queued_again_and_handled_once(settings: Settings) -> None:
    engine = FakeEngine()
    s = telegram_settings(settings)
    app = TelegramTransport(Gateway(engine, s.database_url), s, request=FakeBotApi()).application
    async with app:
        await app.start()
        for _ in range(2):  # Telegram resends after a 500, or two replicas got it
            await app.update_queue.put(Update.de_json(text_update(3, "你好"), app.bot))
        await wait_for(lambda: journal(s.database_url) == [(3, True, 0)], "done")
        await asyncio.sleep(0.3)
        await app.stop()
    assert engine.seen == [("telegram-1001", "你好")]  # the gateway deduplicates the message id


async def test_journal_unreachable_refuses_the_update_so_telegram_resends_it(tmp_path: Any) -> None:
    broken = sessionmaker(create_engine(f"sqlite:///{tmp_path / 'no-tables.db'}"))  # no schema: insert fails
    queue = JournalQueue(broken)
    with pytest.raises(NetworkError):
        await queue.put(Update.de_json(text_update(9, "x"), None))
    assert queue.empty()


async def test_an_update_ptb_cannot_serialise_itself_is_journalled_all_the_same(
    sessions: sessionmaker[Session],
) -> None:
    """Found by the Telegram fuzz: PTB's to_dict() keeps an inaccessible pinned message's date as a
    datetime; the journal write failed and, refused as a network error, held up polling for good."""
    raw = text_update(26, "x")
    raw["message"]["pinned_message"] = {"message_id": 1, "date": 0, "chat": CHAT}
    queue = JournalQueue(sessions)
    await queue.put(Update.de_json(raw, None))
    assert not queue.empty()
    with sessions.begin() as s:
        body = s.scalars(select(UpdateJournal.body)).one()
    assert Update.de_json(body, None).update_id == 26  # it replays


def test_stale_updates_are_claimed_once_given_up_after_max_attempts_and_done_rows_forgotten(
    sessions: sessionmaker[Session],
) -> None:
    now = utcnow()
    with sessions.begin() as s:
        assert update_journal.record(s, 1, text_update(1, "a"))
        assert not update_journal.record(s, 1, text_update(1, "a"))  # a redelivery
        assert update_journal.record(s, 2, text_update(2, "b"))
        s.get_one(UpdateJournal, 2).attempts = MAX_ATTEMPTS
    later = now + dt.timedelta(minutes=5)
    with sessions.begin() as s:
        taken = update_journal.take_stale(s, dt.timedelta(minutes=2), now=later)
    assert [b["update_id"] for b in taken] == [1]  # update 2 given up (logged), not replayed again
    with sessions.begin() as s:  # just claimed: its clock restarted, another replica does not take it
        assert update_journal.take_stale(s, dt.timedelta(minutes=2), now=later) == []
        update_journal.mark_done(s, 1, now=later)
    with sessions.begin() as s:
        assert update_journal.forget_done(s, now=later + dt.timedelta(minutes=30)) == 0
        assert update_journal.forget_done(s, now=later + dt.timedelta(hours=2)) == 2
        assert s.scalars(select(UpdateJournal)).all() == []


async def test_a_webhook_replica_waits_for_the_chats_earlier_update_on_another_replica(db_url: str) -> None:
    """Behind nginx, update 2 of a chat can reach replica B while update 1 is still being handled on A
    (journalled, not done): B waits until it is done, so the citizen's messages are stored in the order
    sent (bench_scaleout found 14 of 50 citizens answered out of order with two gateways)."""
    sessions = sessionmaker(create_engine(db_url))
    first, second = (Update.de_json(text_update(i, f"第{i}句"), None) for i in (1, 2))
    with sessions.begin() as s:
        update_journal.record(s, 1, text_update(1, "第1句"), chat_id=1001)
        update_journal.record(s, 2, text_update(2, "第2句"), chat_id=1001)
        update_journal.record(s, 3, text_update(3, "另一位"), chat_id=2002)
    with sessions.begin() as s:
        assert update_journal.earlier_undone(s, 1001, 2)
        assert not update_journal.earlier_undone(s, 1001, 1)  # nothing before the first
        assert not update_journal.earlier_undone(s, 2002, 3)  # another chat's update does not wait
    assert await update_journal.after_earlier_updates(sessions, first, timeout=5)
    waiting = asyncio.ensure_future(update_journal.after_earlier_updates(sessions, second, timeout=10))
    await asyncio.sleep(0.3)
    assert not waiting.done()  # update 1 is still being handled on the other replica
    with sessions.begin() as s:
        update_journal.mark_done(s, 1)
    assert await asyncio.wait_for(waiting, 5)
    with sessions.begin() as s:  # update 3's replica died (never done): update 4 waits a bounded time
        update_journal.record(s, 4, text_update(4, "另一位"), chat_id=2002)
    other_chat = text_update(4, "另一位")
    other_chat["message"]["chat"] = {"id": 2002, "type": "private"}
    later = Update.de_json(other_chat, None)
    assert not await update_journal.after_earlier_updates(sessions, later, timeout=0.2)
