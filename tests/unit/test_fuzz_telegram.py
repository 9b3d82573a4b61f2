"""Fuzz: the Telegram transport against the local Bot API server (tests/fakes/bot_api_server.py), issue 14.

The production transport (PTB Application, long polling over HTTP, the operators' desk enabled) with a fake
engine. Each example injects malformed callback data (random strings up to Telegram's 64 bytes, Unicode
digits, `desk:claim:1²`, buttons under messages that never had them, from the citizens' chat and from the
operators' group) and unusual but valid update shapes (stickers, contacts, service messages, edits of
unknown messages, channel posts, member updates), then a normal message: no error reaches the error handler
and the bot still answers the normal message.

It found (issue 14): a reply Telegram refused for good (a 400/403, e.g. to a user who never opened a chat)
stayed queued and held back every later reply of that citizen, and a flush that lost its claim to a
concurrent one left its reply for the next retry run; both made the citizen wait 30-60 s or for ever.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bot.gateway import Gateway
from bot.transports.telegram import TelegramTransport
from hotline.db.migrate import upgrade
from hotline.settings import PROJECT_ROOT, Settings, load_settings
from tests.fakes.bot_api_server import FakeBotApi
from tests.fakes.polling_thread import polling_in_thread
from tests.unit.test_gateway import FakeEngine

TOKEN = "4242:fuzz-test"
CITIZEN = 1001
DESK = -100123  # the operators' group
OPERATOR = 7
# Waiting for the bot's answer (generous: the full suite runs on 2 busy cores); a hang fails the example.
TIMEOUT = 60.0


class _Errors(logging.Handler):
    """Every ERROR logged by our code or PTB while the transport runs (log_error reports through it)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("bot", "hotline", "telegram")):
            self.records.append(record)


class Running:
    def __init__(self, api: FakeBotApi, errors: _Errors) -> None:
        self.api, self.errors = api, errors
        self._ids = itertools.count(10**9)

    def push(self, update: dict[str, Any]) -> None:
        """Inject a raw update, as Telegram would deliver it (the fake's own injectors validate too much)."""
        with self.api._lock:
            if "callback_query" in update:  # Telegram knows the queries it delivered: answering them works
                self.api._state.callback_queries[update["callback_query"]["id"]] = None
            for message in (update.get("message"), update.get("edited_message")):
                if message is not None:  # and the messages it delivered (copyMessage, replies)
                    self.api._state.messages[(message["chat"]["id"], message["message_id"])] = message
            self.api._push(update)

    def next_id(self) -> int:
        return next(self._ids)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The real transport polling the local server, in its own thread and event loop, for the module."""
    tmp_path: Path = tmp_path_factory.mktemp("telegram")
    db_url = f"sqlite:///{tmp_path / 'test.db'}"
    upgrade(db_url)
    base: Settings = load_settings(PROJECT_ROOT / "config" / "hotline.yaml", environ={"DATABASE_URL": db_url})
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    with FakeBotApi(token=TOKEN) as api:
        api.add_user(CITIZEN)
        api.add_group(DESK, members=[OPERATOR])
        telegram = base.telegram.model_copy(update={"base_url": api.base_url, "operators_chat_id": DESK})
        s = base.model_copy(
            update={"transport": "telegram", "telegram_bot_token": TOKEN, "telegram": telegram}
        )
        app = TelegramTransport(Gateway(FakeEngine(), s.database_url), s).application
        try:
            with polling_in_thread(app):
                yield Running(api, errors)
        finally:
            logging.getLogger().removeHandler(errors)


def _short(text: str) -> bool:
    return len(text.encode("utf-8", "surrogatepass")) <= 64


callback_data = st.one_of(
    st.text(max_size=64).filter(_short),
    st.sampled_from(
        [
            "desk:claim:1²",
            "desk:claim:١٢",
            "desk:claim:１２",
            "desk:claim:",
            "desk:claim:-1",
            "desk:claim:99999999999999999999",
            "desk:claim:1\n",
            "desk:",
            "desk::::",
            "/affirm",
            '/inform{"county":',
            "p:",
            "p:999999",
            "p:abc",
            "rate:1²",
            "",
        ]
    ),
    st.builds(
        lambda a, n: f"desk:{a}:{n}"[:64],
        st.text(max_size=10),
        st.text(alphabet="0123456789²٣١₂", max_size=8),
    ),
)
SHAPES = [
    {
        "sticker": {
            "file_id": "s1",
            "file_unique_id": "u1",
            "type": "regular",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
        }
    },
    {"contact": {"phone_number": "13800000000", "first_name": "张"}},
    {"location": {"latitude": 32.3, "longitude": 118.3}},
    {"text": "", "entities": [{"type": "bold", "offset": 5, "length": 99}]},
    {"text": "/start payload\x00"},
    {"text": "/unknown_command"},
    {"new_chat_members": [{"id": 99, "is_bot": False, "first_name": "新"}]},
    {"left_chat_member": {"id": 99, "is_bot": False, "first_name": "新"}},
    {"pinned_message": {"message_id": 1, "date": 0, "chat": {"id": DESK, "type": "supergroup"}}},
    {
        "text": "回复",
        "reply_to_message": {"message_id": 424242, "date": 0, "chat": {"id": DESK, "type": "supergroup"}},
    },
    {"caption": "\u202e😀", "document": {"file_id": "d1", "file_unique_id": "du1"}},
]


@st.composite
def updates(draw: st.DrawFn, running: Running) -> dict[str, Any]:
    user = draw(st.sampled_from([CITIZEN, OPERATOR, 555]))
    chat = draw(st.sampled_from([{"id": CITIZEN, "type": "private"}, {"id": DESK, "type": "supergroup"}]))
    sender = {"id": user, "is_bot": False, "first_name": "某"}
    message = {"message_id": running.next_id(), "date": 1764400000, "chat": chat, "from": sender}
    kind = draw(st.sampled_from(["callback", "callback", "message", "edited", "channel", "member"]))
    if kind == "callback":
        query: dict[str, Any] = {
            "id": str(running.next_id()),
            "from": sender,
            "chat_instance": "x",
            "data": draw(callback_data),
        }
        if draw(st.booleans()):
            query["message"] = {
                **message,
                "text": "旧消息",
                "from": {"id": 4242, "is_bot": True, "first_name": "b"},
            }
        else:
            query["inline_message_id"] = "inline-1"
        return {"callback_query": query}
    if kind in ("message", "edited"):
        body = {**message, **draw(st.sampled_from(SHAPES))}
        if kind == "edited":
            body["edit_date"] = 1764400001
        return {"message" if kind == "message" else "edited_message": body}
    if kind == "channel":
        return {
            "channel_post": {
                "message_id": running.next_id(),
                "date": 0,
                "chat": {"id": -1009, "type": "channel"},
                "text": "x",
            }
        }
    member = {"user": {"id": 4242, "is_bot": True, "first_name": "b"}, "status": "member"}
    return {
        "my_chat_member": {
            "chat": chat,
            "from": sender,
            "date": 0,
            "old_chat_member": member,
            "new_chat_member": {**member, "status": "kicked", "until_date": 0},
        }
    }


@settings(
    max_examples=30,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # each example waits for the bot: no shrinking
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_malformed_updates_never_break_the_bot(running: Running, data: st.DataObject) -> None:
    for update in data.draw(st.lists(updates(running), min_size=1, max_size=4)):
        running.push(update)
    said = running.api.inject_text(CITIZEN, CITIZEN, "你好")
    # Answers to the injected updates may come before or after it: wait for this one's answer.
    running.api.wait_until(
        lambda: any(m.get("text") == "答复:你好" for m in running.api.bot_messages(CITIZEN, said)),
        TIMEOUT,
        "the answer to the normal message",
    )
    assert not running.errors.records, [r.getMessage()[:500] for r in running.errors.records]
