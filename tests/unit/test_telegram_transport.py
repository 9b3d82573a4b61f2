"""The Telegram transport against a fake Bot API (python-telegram-bot's request layer replaced).

docs/architecture.md §7: the npm telegram-test-api is unusable with PTB 22, so the Bot API is faked inside
PTB's own request layer; everything above it (Application, handlers, keyboards, callback queries) is real.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from telegram import Message, Update
from telegram.request import BaseRequest, RequestData

from bot import strings
from bot.gateway import Attachment, Gateway
from bot.transports.telegram import TelegramTransport, attachment_of
from hotline.db.models import MessageLog
from hotline.db.session import session_scope
from hotline.settings import Settings
from tests.unit.test_gateway import FakeEngine

BOT = {"id": 42, "is_bot": True, "first_name": "12348助手", "username": "hotline_bot"}
USER = {"id": 1001, "is_bot": False, "first_name": "张"}
CHAT = {"id": 1001, "type": "private"}


class FakeBotApi(BaseRequest):
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = None,
        write_timeout: object = None,
        connect_timeout: object = None,
        pool_timeout: object = None,
    ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        self.calls.append((endpoint, dict(params)))
        result: Any = True
        if endpoint == "getMe":
            result = BOT
        elif endpoint == "sendMessage":
            result = {
                "message_id": len(self.calls),
                "date": 1764400000,
                "chat": CHAT,
                "from": BOT,
                "text": params.get("text", ""),
            }
        elif endpoint == "sendDocument":
            document = {"file_id": f"f{len(self.calls)}", "file_unique_id": f"u{len(self.calls)}"}
            result = {
                "message_id": len(self.calls),
                "date": 1764400000,
                "chat": CHAT,
                "from": BOT,
                "document": document,
            }
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def sent(self) -> list[dict[str, Any]]:
        return [p for e, p in self.calls if e == "sendMessage"]


def telegram_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"transport": "telegram", "telegram_bot_token": "123:fake"})


async def test_text_message_round_trip_with_inline_keyboard(settings: Settings) -> None:
    api, engine = FakeBotApi(), FakeEngine()
    s = telegram_settings(settings)
    transport = TelegramTransport(Gateway(engine, s.database_url), s, request=api)
    app = transport.application
    await app.initialize()
    try:
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
    finally:
        await app.shutdown()


async def test_photo_is_persisted_and_acknowledged_not_refused(settings: Settings) -> None:
    api, engine = FakeBotApi(), FakeEngine()
    s = telegram_settings(settings)
    transport = TelegramTransport(Gateway(engine, s.database_url), s, request=api)
    app = transport.application
    await app.initialize()
    try:
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
    finally:
        await app.shutdown()


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
