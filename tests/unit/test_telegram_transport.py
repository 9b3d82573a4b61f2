"""The Telegram transport against a fake Bot API (conftest: python-telegram-bot's request layer replaced)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Message, Update

from bot import strings
from bot.gateway import Attachment, Gateway, Inbound
from bot.transports.telegram import RETRY_JOB, QuietFrequentJobs, TelegramTransport, attachment_of
from hotline.db.models import MessageLog
from hotline.db.session import session_scope
from hotline.settings import Settings
from tests.unit.conftest import BOT, FakeBotApi, telegram_settings
from tests.unit.test_gateway import FakeEngine

USER = {"id": 1001, "is_bot": False, "first_name": "张"}
CHAT = {"id": 1001, "type": "private"}


async def test_text_message_round_trip_with_inline_keyboard(settings: Settings) -> None:
    api, engine = FakeBotApi(), FakeEngine()
    s = telegram_settings(settings)
    transport = TelegramTransport(Gateway(engine, s.database_url), s, request=api)
    app = transport.application
    async with app:
        update = Update.de_json(
            {
                "update_id": 1,
                "message": {
                    "message_id": 7,
                    "date": 1764400000,
                    "chat": CHAT,
                    "from": USER,
                    "text": "老板拖欠我三个月工资",
                },
            },
            app.bot,
        )
        await app.process_update(update)
        assert engine.seen == [("telegram-1001", "老板拖欠我三个月工资")]
        sent = api.sent()
        assert sent[0]["chat_id"] == 1001 and sent[0]["text"] == "答复:老板拖欠我三个月工资"
        markup = sent[0]["reply_markup"]
        markup = json.loads(markup) if isinstance(markup, str) else markup
        assert markup["inline_keyboard"][0][0] == {"text": "是", "callback_data": "/affirm"}

        press = Update.de_json(
            {
                "update_id": 2,
                "callback_query": {
                    "id": "cb1",
                    "from": USER,
                    "chat_instance": "x",
                    "data": "/affirm",
                    "message": {
                        "message_id": 8,
                        "date": 1764400000,
                        "chat": CHAT,
                        "from": BOT,
                        "text": "?",
                        "reply_markup": markup,
                    },
                },
            },
            app.bot,
        )
        await app.process_update(press)
        assert engine.seen[-1] == ("telegram-1001", "/affirm")
        assert any(e == "answerCallbackQuery" for e, _ in api.calls)
        # Telegram redelivers an update after a restart: the message id makes it a no-op.
        await app.process_update(update)
        assert len(engine.seen) == 2


async def test_buttons_pressed_outside_a_private_chat_never_reach_the_dialog(settings: Settings) -> None:
    """A callback from a group (non-desk data) or an inline message is not a citizen's answer: before,
    the bot answered it in a private message to whoever pressed (an operator it cannot write to)."""
    api, engine = FakeBotApi(), FakeEngine()
    s = telegram_settings(settings)
    app = TelegramTransport(Gateway(engine, s.database_url), s, request=api).application
    group = {"id": -100123, "type": "supergroup"}
    async with app:
        places: tuple[dict[str, Any], ...] = (
            {"message": {"message_id": 9, "date": 0, "chat": group, "from": BOT, "text": "?"}},
            {"inline_message_id": "inline-1"},
        )
        for n, where in enumerate(places):
            query = {"id": f"cb{n}", "from": USER, "chat_instance": "x", "data": "/affirm", **where}
            await app.process_update(Update.de_json({"update_id": n, "callback_query": query}, app.bot))
        assert engine.seen == []
        assert [m for m, _ in api.calls].count("answerCallbackQuery") == 2  # the spinner still stops
        assert api.sent() == []


async def test_photo_is_persisted_and_acknowledged_not_refused(settings: Settings) -> None:
    api, engine = FakeBotApi(), FakeEngine()
    s = telegram_settings(settings)
    transport = TelegramTransport(Gateway(engine, s.database_url), s, request=api)
    app = transport.application
    async with app:
        photo = [
            {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 1000},
            {"file_id": "big", "file_unique_id": "b", "width": 1280, "height": 960, "file_size": 90000},
        ]
        update = Update.de_json(
            {
                "update_id": 3,
                "message": {"message_id": 9, "date": 1764400000, "chat": CHAT, "from": USER, "photo": photo},
            },
            app.bot,
        )
        await app.process_update(update)
        assert engine.seen == []
        assert api.sent()[-1]["text"] == strings.ATTACHMENT_NO_TICKET.format(kind="图片")
        with session_scope(s.database_url) as session:
            row = session.scalars(select(MessageLog).where(MessageLog.external_message_id == "1001:9")).one()
            assert row.payload == {
                "attachment": {"kind": "photo", "file_id": "big", "size": 90000, "source": "1001:9"}
            }


def test_attachment_of_each_kind_keeps_ids_not_contents() -> None:
    base: dict[str, Any] = {"message_id": 5, "date": 1764400000, "chat": CHAT, "from": USER}
    doc = {"file_id": "d1", "file_unique_id": "d", "file_name": "欠条.pdf", "mime_type": "application/pdf"}
    voice = {"file_id": "v1", "file_unique_id": "v", "duration": 4, "mime_type": "audio/ogg"}
    contact = {"phone_number": "13955012345", "first_name": "李"}
    cases: list[tuple[dict[str, Any], Attachment]] = [
        ({"document": doc}, Attachment("document", "d1", "欠条.pdf", "application/pdf", None, "1001:5")),
        ({"voice": voice}, Attachment("voice", "v1", None, "audio/ogg", None, "1001:5")),
        ({"contact": contact}, Attachment("contact", source="1001:5")),
        ({"location": {"latitude": 32.3, "longitude": 118.3}}, Attachment("location", source="1001:5")),
    ]
    for extra, expected in cases:
        message = Message.de_json({**base, **extra}, None)
        assert message is not None
        assert attachment_of(message) == expected
        assert "13955012345" not in json.dumps(expected.as_payload())


def citizen_text(update_id: int, text: str) -> dict[str, Any]:
    message = {"message_id": update_id, "date": 1764400000, "chat": CHAT, "from": USER, "text": text}
    return {"update_id": update_id, "message": message}


async def test_a_failing_handler_is_logged_without_what_the_citizen_wrote(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    s = telegram_settings(settings)
    gateway = Gateway(FakeEngine(), s.database_url)

    async def broken(inbound: Inbound) -> list[Any]:
        raise RuntimeError(f"cannot store {inbound.text!r}")  # as a database error quotes its parameters

    gateway.handle = broken  # type: ignore[method-assign]
    app = TelegramTransport(gateway, s, request=FakeBotApi()).application
    async with app:
        with caplog.at_level(logging.ERROR):
            await app.process_update(Update.de_json(citizen_text(5, "我叫张三，电话13812345678"), app.bot))
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.getMessage().startswith("RuntimeError in update 5\n")
    assert "broken" in record.getMessage()  # the traceback says where
    assert "13812345678" not in caplog.text and "张三" not in caplog.text


async def test_retry_queue_is_a_job_and_its_failures_reach_the_error_handler(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    s = telegram_settings(settings)
    gateway = Gateway(FakeEngine(), s.database_url)

    pending = "我叫张三"  # what a queued citizen message could say

    async def broken(deliver: object) -> int:
        raise RuntimeError(f"pending message {pending}")  # the traceback shows this line, not the text

    gateway.retry_pending = broken  # type: ignore[method-assign]
    app = TelegramTransport(gateway, s, request=FakeBotApi()).application
    async with app:
        assert app.post_init is not None and app.job_queue is not None
        await app.post_init(app)  # as run_polling does, before it starts the JobQueue
        (job,) = app.job_queue.get_jobs_by_name(RETRY_JOB)
        every = dt.timedelta(seconds=s.gateway.retry_interval_seconds)
        assert job.job.trigger.interval == every
        await app.start()  # the first run is a retry interval away; run it now
        try:
            with caplog.at_level(logging.ERROR):
                await job.run(app)
        finally:
            await app.stop()
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.getMessage().startswith(f"RuntimeError in job {RETRY_JOB}\n")
    assert "张三" not in caplog.text


def test_frequent_jobs_log_only_their_warnings() -> None:
    quiet = QuietFrequentJobs(RETRY_JOB)

    def record(level: int, job_name: str) -> logging.LogRecord:
        job = type("Job", (), {"name": job_name})()
        return logging.LogRecord("apscheduler", level, "", 0, 'Running job "%s"', (job,), None)

    assert not quiet.filter(record(logging.INFO, RETRY_JOB))
    assert quiet.filter(record(logging.WARNING, RETRY_JOB))  # e.g. a run skipped: still worth knowing
    assert quiet.filter(record(logging.INFO, "weekly_report"))  # the report scheduler's jobs
