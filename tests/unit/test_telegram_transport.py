"""The Telegram transport against a fake Bot API (python-telegram-bot's request layer replaced).

DESIGN.md: the npm telegram-test-api is unusable with PTB 22, so the Bot API is faked inside PTB's own
request layer; everything above it (Application, handlers, keyboards, callback queries) is real.
"""

from __future__ import annotations

import json
from typing import Any

from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot.gateway import Gateway
from bot.transports.telegram import TelegramTransport
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
