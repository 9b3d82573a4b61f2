"""Unit-test doubles shared by several files: Telegram's Bot API inside PTB, and settings for the transports.

docs/architecture.md §7: the npm telegram-test-api is unusable with PTB 22, so the Bot API is faked inside
PTB's own request layer; everything above it (Application, handlers, keyboards, callback queries, the rate
limiter, the JobQueue) is real.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from telegram.request import BaseRequest, RequestData

from hotline.db.session import get_sessionmaker
from hotline.settings import Settings, get_settings

BOT = {"id": 42, "is_bot": True, "first_name": "12348助手", "username": "hotline_bot"}
DATE = 1764400000
# Endpoints that answer with the message they sent or edited.
_MESSAGE_ENDPOINTS = ("sendMessage", "sendDocument", "editMessageText", "editMessageReplyMarkup")


class FakeBotApi(BaseRequest):
    """Records every call and answers like Telegram, with message ids unique across 'restarts' (pass a
    different `first_id` to the API of a restarted transport)."""

    def __init__(self, first_id: int = 1000) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.next_id = first_id
        self.messages: list[tuple[int, int]] = []  # (chat id, message id) of every new message

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
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        self.calls.append((endpoint, params))
        result: Any = True
        if endpoint == "getMe":
            result = BOT
        elif endpoint in _MESSAGE_ENDPOINTS:
            chat_id = int(params["chat_id"])
            message_id = int(params["message_id"]) if "message_id" in params else self._new(chat_id)
            chat = {"id": chat_id, "type": "supergroup" if chat_id < 0 else "private"}
            result = {"message_id": message_id, "date": DATE, "chat": chat, "from": BOT}
            if endpoint == "sendDocument":
                result["document"] = {"file_id": f"f{message_id}", "file_unique_id": f"u{message_id}"}
            else:
                result["text"] = params.get("text", "")
        elif endpoint == "copyMessage":
            result = {"message_id": self._new(int(params["chat_id"]))}
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _new(self, chat_id: int) -> int:
        self.next_id += 1
        self.messages.append((chat_id, self.next_id))
        return self.next_id

    def sent(self) -> list[dict[str, Any]]:
        return [p for e, p in self.calls if e == "sendMessage"]

    def to(self, chat_id: int, endpoint: str = "sendMessage") -> list[dict[str, Any]]:
        return [p for e, p in self.calls if e == endpoint and int(p.get("chat_id", 0)) == chat_id]

    def last_id(self, chat_id: int) -> int:
        """Id of the last message sent to a chat."""
        return next(m for c, m in reversed(self.messages) if c == chat_id)

    def alerts(self) -> list[dict[str, Any]]:
        return [p for e, p in self.calls if e == "answerCallbackQuery"]


def telegram_settings(settings: Settings, **telegram: Any) -> Settings:
    """The test settings with the Telegram transport, a fake token and these `telegram:` fields."""
    return settings.model_copy(
        update={
            "transport": "telegram",
            "telegram_bot_token": "123:fake",
            "telegram": settings.telegram.model_copy(update=telegram),
        }
    )


@pytest.fixture
def sessions(db_url: str) -> sessionmaker[Session]:
    return get_sessionmaker(db_url)


@pytest.fixture
def env_settings(monkeypatch: pytest.MonkeyPatch, db_url: str) -> Iterator[None]:
    """For code that reads `get_settings()` (the actions): the test database, and no cached settings."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
