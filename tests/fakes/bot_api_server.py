"""A small Telegram Bot API server on loopback, speaking the real HTTP protocol (stdlib asyncio only).

Why: the transport's unit tests replace python-telegram-bot's request layer, so nothing checks what really
goes over the wire (form/multipart encoding, callback_data limits, long polling, webhook delivery, error
replies). This server is what `TELEGRAM_BASE_URL=http://127.0.0.1:<port>/bot` points at: the bot under test
runs unchanged, in its own process, and tests act as citizens and operators through `inject_*`.

Protocol (as documented at core.telegram.org/bots/api): `POST|GET /bot<token>/<method>` with JSON,
form-encoded or multipart bodies (and query strings); replies `{"ok": true, "result": …}` or
`{"ok": false, "error_code": …, "description": …, "parameters": {"retry_after": …}}`. Files are served at
`/file/bot<token>/<file_path>`. Errors use Telegram's own descriptions (too long, not modified, chat not
found, 409 conflicts, 429 with retry_after) so the bot's error handling is exercised as in production.

Standalone (a human chatting with `make run`):

    .venv/bin/python -m tests.fakes.bot_api_server --port 8081 --operators-chat -1001
    TELEGRAM_BOT_TOKEN=123:local TELEGRAM_BASE_URL=http://127.0.0.1:8081/bot make run

then type as the citizen in the server's terminal (see `--help`). Other processes can drive it over HTTP
too: `POST /_fake/inject_text`, `/_fake/inject_callback` and `GET /_fake/messages?chat_id=…`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx

MAX_TEXT = 4096  # UTF-16 code units, as Telegram counts them
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
DEFAULT_ALLOWED = ("message", "edited_message", "channel_post", "edited_channel_post", "callback_query")
UPDATE_KINDS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "callback_query",
    "inline_query",
    "chosen_inline_result",
    "shipping_query",
    "pre_checkout_query",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "message_reaction",
    "message_reaction_count",
)
# Form and multipart values are strings; Telegram decodes these fields as JSON or numbers.
JSON_FIELDS = {
    "reply_markup",
    "reply_parameters",
    "allowed_updates",
    "commands",
    "scope",
    "reaction",
    "entities",
    "caption_entities",
    "link_preview_options",
}
INT_FIELDS = {
    "chat_id",
    "from_chat_id",
    "message_id",
    "offset",
    "limit",
    "timeout",
    "reply_to_message_id",
    "message_thread_id",
    "user_id",
    "cache_time",
    "max_connections",
}
BOOL_FIELDS = {
    "show_alert",
    "drop_pending_updates",
    "allow_sending_without_reply",
    "disable_notification",
    "protect_content",
    "is_big",
}
SENDING = {"sendmessage", "senddocument", "sendphoto", "copymessage"}
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """An error reply, with Telegram's status code and description."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(text: str) -> ApiError:
    return ApiError(400, f"Bad Request: {text}")


@dataclass(frozen=True)
class Upload:
    """A file sent in a multipart body."""

    filename: str | None
    content_type: str
    data: bytes


@dataclass
class Call:
    """One request the bot made, and what it was answered."""

    method: str  # as Telegram spells it, e.g. "sendMessage"
    params: dict[str, Any]
    files: dict[str, Upload]
    status: int
    response: dict[str, Any]
    at: float  # time.monotonic()

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def result(self) -> Any:
        return self.response.get("result")


@dataclass
class RateLimit:
    """At most `messages` sent to one chat within `per_seconds`; more gets 429 with retry_after."""

    messages: int
    per_seconds: float


@dataclass
class _StoredFile:
    file_id: str
    unique_id: str
    path: str
    data: bytes


@dataclass
class _Poller:
    future: asyncio.Future[None]
    superseded: bool = False


@dataclass
class _State:
    chats: dict[int, dict[str, Any]] = field(default_factory=dict)
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    members: dict[int, set[int]] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    next_message_id: dict[int, int] = field(default_factory=dict)
    updates: deque[dict[str, Any]] = field(default_factory=deque)
    callback_queries: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # id → answer
    files: dict[str, _StoredFile] = field(default_factory=dict)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sent_at: dict[int, deque[float]] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)
    allowed_updates: tuple[str, ...] = DEFAULT_ALLOWED


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[dict[str, Any]]:
    """A leading `/command` (or `/command@bot`) is a bot_command entity, as Telegram's clients send it."""
    match = re.match(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?", text)
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}] if match else []


def _coerce(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in JSON_FIELDS:
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise bad_request(f"can't parse {name} JSON object") from exc
    if name in INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if name in BOOL_FIELDS:
        return value.lower() in ("true", "1")
    return value


def _markup(params: dict[str, Any]) -> dict[str, Any] | None:
    """The inline keyboard to store on a message, validated like Telegram does; other markups are not kept."""
    markup = params.get("reply_markup")
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or any(not isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for row in rows:
        for button in row:
            if not button.get("text"):
                raise bad_request("text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                raise bad_request("BUTTON_DATA_INVALID")
    return {"inline_keyboard": rows} if rows else None


def _chat_key(update: dict[str, Any]) -> object:
    """The chat an update belongs to (its delivery order is kept per chat); the update itself if none."""
    for kind in ("message", "edited_message", "channel_post", "edited_channel_post"):
        if kind in update:
            return update[kind]["chat"]["id"]
    message = update.get("callback_query", {}).get("message")
    return message["chat"]["id"] if message else ("update", update["update_id"])


class FakeBotApi:
    """The server: state, protocol, and a thread-safe API for tests. Start it with `start()` or `serve()`."""

    def __init__(
        self,
        *,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: RateLimit | None = None,
        bot_username: str = "hotline12348_bot",
    ) -> None:
        """`token=None` accepts any well-formed token (the bot's id is the token's number, as at Telegram)."""
        self.token, self.host, self.port = token, host, port
        self.rate_limit = rate_limit
        self.bot_username = bot_username
        self.calls: list[Call] = []
        self._state = _State()
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._update_ids = itertools.count(1)
        self._ids = itertools.count(1)
        self._bot_id = int(token.split(":", 1)[0]) if token else 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._pollers: list[_Poller] = []
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None
        self._failures: dict[str, deque[ApiError]] = {}

    # ---- lifecycle ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What TELEGRAM_BASE_URL must be set to."""
        return f"{self.url}/bot"

    async def serve(self, ready: threading.Event | None = None) -> None:
        """Run in the current event loop until `stop()`."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._server = await asyncio.start_server(self._connection, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        delivery = asyncio.create_task(self._deliver_webhooks())
        if ready is not None:
            ready.set()
        try:
            await self._stopped.wait()
        finally:
            delivery.cancel()
            for poller in self._pollers:
                if not poller.future.done():
                    poller.future.set_result(None)
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def start(self) -> FakeBotApi:
        """Serve from a background thread (tests); returns once the port is bound."""
        ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self.serve(ready)), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Bot API did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- test API: the world outside the bot --------------------------------------------------------

    def add_user(
        self, user_id: int, first_name: str = "市民", language_code: str = "zh-hans"
    ) -> dict[str, Any]:
        with self._lock:
            return self._state.users.setdefault(
                user_id,
                {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code},
            )

    def add_group(
        self, chat_id: int, title: str = "12348 工作群", members: Iterable[int] = (), *, forum: bool = False
    ) -> dict[str, Any]:
        """A supergroup the bot is an administrator of (e.g. the operators' desk)."""
        assert chat_id < 0, "group chat ids are negative"
        with self._lock:
            chat = {"id": chat_id, "type": "supergroup", "title": title}
            if forum:
                chat["is_forum"] = True
            self._state.chats[chat_id] = chat
            self._state.members.setdefault(chat_id, set()).update(members)
            for user in members:
                self.add_user(user, f"工作人员{user}")
            return chat

    def block(self, user_id: int) -> None:
        """The user blocked the bot: sending to them answers 403."""
        with self._lock:
            self._state.blocked.add(user_id)

    def fail_next(self, method: str, status: int, description: str, retry_after: int | None = None) -> None:
        """Answer the next call of `method` with this error (e.g. a 502 from Telegram's front end)."""
        with self._lock:
            self._failures.setdefault(method.lower(), deque()).append(
                ApiError(status, description, retry_after)
            )

    def inject_text(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        reply_to: int | None = None,
        message_thread_id: int | None = None,
    ) -> int:
        """A user writes `text` in a chat (private when chat_id == user_id); returns the message id."""
        return self.inject_message(
            chat_id, user_id, {"text": text}, reply_to=reply_to, message_thread_id=message_thread_id
        )

    def inject_message(
        self,
        chat_id: int,
        user_id: int,
        content: dict[str, Any],
        *,
        reply_to: int | None = None,
        message_thread_id: int | None = None,
    ) -> int:
        """Any message content (text, photo, document, …) from a user; returns the message id."""
        with self._lock:
            chat = self._chat_for(chat_id, user_id)
            message: dict[str, Any] = {
                "message_id": self._next_message_id(chat_id),
                "date": int(time.time()),
                "chat": chat,
                "from": self._state.users[user_id],
                **content,
            }
            text = content.get("text")
            if isinstance(text, str) and command_entities(text):
                message["entities"] = command_entities(text)
            if reply_to is not None:
                message["reply_to_message"] = self._message(chat_id, reply_to)
            if message_thread_id is not None:
                message["message_thread_id"] = message_thread_id
                message["is_topic_message"] = bool(chat.get("is_forum"))
            self._state.messages[(chat_id, message["message_id"])] = message
            if chat_id < 0:
                self._state.members.setdefault(chat_id, set()).add(user_id)
            self._push({"message": message})
            return int(message["message_id"])

    def inject_document(
        self,
        chat_id: int,
        user_id: int,
        file_name: str,
        data: bytes = b"%PDF-1.4",
        caption: str | None = None,
    ) -> int:
        stored = self._store_file(data, f"documents/{file_name}")
        content: dict[str, Any] = {
            "document": {
                "file_id": stored.file_id,
                "file_unique_id": stored.unique_id,
                "file_name": file_name,
                "mime_type": "application/octet-stream",
                "file_size": len(data),
            }
        }
        if caption:
            content["caption"] = caption
        return self.inject_message(chat_id, user_id, content)

    def inject_photo(
        self, chat_id: int, user_id: int, data: bytes = b"\xff\xd8", caption: str | None = None
    ) -> int:
        content: dict[str, Any] = {"photo": self._photo_sizes(data)}
        if caption:
            content["caption"] = caption
        return self.inject_message(chat_id, user_id, content)

    def inject_edited(self, chat_id: int, user_id: int, message_id: int, text: str) -> None:
        """The user edits one of their messages: an `edited_message` update with the new text."""
        with self._lock:
            message = dict(self._message(chat_id, message_id))
            if message["from"]["id"] != user_id:
                raise ValueError("users can only edit their own messages")
            message["text"] = text
            message["edit_date"] = int(time.time())
            self._state.messages[(chat_id, message_id)] = message
            self._push({"edited_message": message})

    def inject_callback(self, chat_id: int, user_id: int, message_id: int, data: str) -> str:
        """The user presses the button carrying `data` under a bot message; returns the callback query id.

        Raises ValueError if that message has no such button now: a client cannot press a button that is
        not shown (catches tests, and bots, relying on a keyboard that an edit removed).
        """
        with self._lock:
            message = self._message(chat_id, message_id)
            datas = [b.get("callback_data") for row in self._keyboard(message) for b in row]
            if data not in datas:
                raise ValueError(f"message {message_id} in chat {chat_id} has no button {data!r}: {datas}")
            user = self._state.users.get(user_id) or self.add_user(user_id)
            query_id = str(next(self._ids) * 7919 + 10**15)
            self._state.callback_queries[query_id] = None
            self._push(
                {
                    "callback_query": {
                        "id": query_id,
                        "from": user,
                        "message": message,
                        "chat_instance": str(abs(chat_id) * 31 + 7),
                        "data": data,
                    }
                }
            )
            return query_id

    def press(self, chat_id: int, user_id: int, message_id: int, title: str) -> str:
        """Press the button titled `title` (what a person sees) under a bot message."""
        with self._lock:
            message = self._message(chat_id, message_id)
            for row in self._keyboard(message):
                for button in row:
                    if button["text"] == title:
                        return self.inject_callback(chat_id, user_id, message_id, button["callback_data"])
        raise ValueError(f"no button {title!r} under message {message_id}: {self.buttons(message)}")

    # ---- test API: what the bot did ----------------------------------------------------------------

    def bot_messages(self, chat_id: int, after: int = 0) -> list[dict[str, Any]]:
        """The bot's messages in a chat with id > after, in order, as they are now (edits applied)."""
        with self._lock:
            return [
                m
                for (chat, mid), m in sorted(self._state.messages.items())
                if chat == chat_id and mid > after and m["from"]["id"] == self._bot_id
            ]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        with self._lock:
            return self._message(chat_id, message_id)

    def wait_for_messages(
        self, chat_id: int, n: int = 1, timeout: float = 30.0, *, after: int = 0
    ) -> list[dict[str, Any]]:
        """Block until the bot has sent at least `n` messages (id > after) to the chat; return them all."""

        def enough() -> list[dict[str, Any]] | None:
            sent = self.bot_messages(chat_id, after)
            return sent if len(sent) >= n else None

        result: list[dict[str, Any]] = self.wait_until(
            enough, timeout, f"{n} bot message(s) in chat {chat_id}"
        )
        return result

    def wait_for_reply(
        self, chat_id: int, *, after: int, timeout: float = 30.0, settle: float = 0.3
    ) -> list[dict[str, Any]]:
        """The bot's whole answer to one turn: its messages after `after`, once none came for `settle` s."""
        seen = [len(self.wait_for_messages(chat_id, 1, timeout, after=after))]
        with self._changed:
            while self._changed.wait_for(lambda: len(self.bot_messages(chat_id, after)) != seen[0], settle):
                seen[0] = len(self.bot_messages(chat_id, after))
        return self.bot_messages(chat_id, after)

    def wait_for_call(
        self, method: str, timeout: float = 30.0, where: Callable[[Call], bool] = lambda c: True
    ) -> Call:
        """Block until the bot has called `method` (and `where` holds for the call); returns the call."""

        def found() -> Call | None:
            return next((c for c in self.calls_to(method) if where(c)), None)

        call: Call = self.wait_until(found, timeout, f"a {method} call")
        return call

    def wait_for_poll(self, timeout: float = 30.0) -> None:
        """Block until a getUpdates long poll is parked here (the bot is listening)."""
        self.wait_until(lambda: self.polling, timeout, "a parked getUpdates long poll")

    @property
    def polling(self) -> int:
        """How many getUpdates requests are waiting for updates right now."""
        with self._lock:
            return sum(not p.superseded for p in self._pollers)

    def wait_until(self, probe: Callable[[], Any], timeout: float, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = probe()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
                self._changed.wait(min(remaining, 0.5))

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method.lower() == method.lower()]

    def callback_answer(self, query_id: str) -> dict[str, Any] | None:
        """The bot's answerCallbackQuery parameters for this query (None while unanswered)."""
        with self._lock:
            return self._state.callback_queries.get(query_id)

    @property
    def webhook(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._state.webhook)

    @property
    def pending_updates(self) -> int:
        with self._lock:
            return len(self._state.updates)

    @staticmethod
    def buttons(message: dict[str, Any]) -> list[str]:
        return [b["text"] for row in FakeBotApi._keyboard(message) for b in row]

    # ---- state helpers (call with the lock held) ------------------------------------------------------

    @staticmethod
    def _keyboard(message: dict[str, Any]) -> list[list[dict[str, Any]]]:
        markup = message.get("reply_markup") or {}
        rows: list[list[dict[str, Any]]] = markup.get("inline_keyboard", [])
        return rows

    def _chat_for(self, chat_id: int, user_id: int) -> dict[str, Any]:
        self.add_user(user_id)
        if chat_id > 0:
            if chat_id != user_id:
                raise ValueError("a private chat's id is the user's id")
            user = self._state.users[user_id]
            return self._state.chats.setdefault(
                chat_id, {"id": chat_id, "type": "private", "first_name": user["first_name"]}
            )
        return self._state.chats.get(chat_id) or self.add_group(chat_id)

    def _next_message_id(self, chat_id: int) -> int:
        value = self._state.next_message_id.get(chat_id, 0) + 1
        self._state.next_message_id[chat_id] = value
        return value

    def _message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        message = self._state.messages.get((chat_id, message_id))
        if message is None:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        return message

    def _push(self, update: dict[str, Any]) -> None:
        update = {"update_id": next(self._update_ids), **update}
        self._state.updates.append(update)
        self._changed.notify_all()
        self._signal()

    def _signal(self) -> None:
        """Wake long polls and webhook delivery (from any thread)."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    def _store_file(self, data: bytes, path: str) -> _StoredFile:
        with self._lock:
            n = next(self._ids)
            stored = _StoredFile(
                f"BQAC{n:06d}fake", f"AgAD{n:04d}", f"{path.rsplit('/', 1)[0]}/file_{n}", data
            )
            self._state.files[stored.file_id] = stored
            return stored

    def _photo_sizes(self, data: bytes) -> list[dict[str, Any]]:
        small, big = self._store_file(data[:64], "photos/x.jpg"), self._store_file(data, "photos/x.jpg")
        return [
            {
                "file_id": small.file_id,
                "file_unique_id": small.unique_id,
                "width": 90,
                "height": 90,
                "file_size": len(small.data),
            },
            {
                "file_id": big.file_id,
                "file_unique_id": big.unique_id,
                "width": 1280,
                "height": 960,
                "file_size": len(big.data),
            },
        ]

    # ---- HTTP ----------------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request_line = await reader.readline()
                if not request_line.strip():
                    break
                verb, target, _ = request_line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await self._read_body(reader, headers)
                status, content_type, payload = await self._route(verb, target, headers, body)
                reason = {
                    200: "OK",
                    400: "Bad Request",
                    401: "Unauthorized",
                    403: "Forbidden",
                    404: "Not Found",
                    409: "Conflict",
                    429: "Too Many Requests",
                }.get(status, "Error")
                head = (
                    f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
                    f"Content-Length: {len(payload)}\r\nConnection: keep-alive\r\n\r\n"
                )
                writer.write(head.encode() + payload)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while (size := int((await reader.readline()).split(b";")[0].strip() or b"0", 16)) > 0:
                chunks.append(await reader.readexactly(size))
                await reader.readline()
            await reader.readline()
            return b"".join(chunks)
        length = int(headers.get("content-length", "0") or 0)
        return await reader.readexactly(length) if length else b""

    async def _route(
        self, verb: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, bytes]:
        url = urlsplit(target)
        path = unquote(url.path)
        if path.startswith("/_fake/"):
            return await self._control(path.removeprefix("/_fake/"), url.query, body)
        file_match = re.fullmatch(r"/file/bot([^/]+)/(.+)", path)
        if file_match and self._token_ok(file_match.group(1)):
            with self._lock:
                stored = next((f for f in self._state.files.values() if f.path == file_match.group(2)), None)
            if stored is None:
                return (
                    404,
                    "application/json",
                    json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}).encode(),
                )
            return 200, "application/octet-stream", stored.data
        match = re.fullmatch(r"/bot([^/]*)/([A-Za-z]+)", path)
        if match is None:
            return (
                404,
                "application/json",
                json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}).encode(),
            )
        token, method = match.groups()
        params: dict[str, Any] = {}
        files: dict[str, Upload] = {}
        started = time.monotonic()
        try:
            if not self._token_ok(token):
                raise ApiError(401, "Unauthorized")
            params, files = self._parse(url.query, headers.get("content-type", ""), body)
            result = await self._dispatch(method, params, files)
            status, response = 200, {"ok": True, "result": result}
        except ApiError as exc:
            status, response = exc.status, exc.body()
        with self._changed:
            self.calls.append(Call(self._canonical(method), params, files, status, response, started))
            self._changed.notify_all()
        return status, "application/json", json.dumps(response, ensure_ascii=False).encode()

    def _token_ok(self, token: str) -> bool:
        if self.token is not None:
            return token == self.token
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", token):
            return False
        if not self._bot_id:
            self._bot_id = int(token.split(":", 1)[0])
        return True

    @staticmethod
    def _parse(query: str, content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, Upload]]:
        raw: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        files: dict[str, Upload] = {}
        kind = content_type.split(";", 1)[0].strip().lower()
        if kind == "application/json" and body:
            try:
                decoded = json.loads(body)
            except json.JSONDecodeError as exc:
                raise bad_request("can't parse JSON") from exc
            if not isinstance(decoded, dict):
                raise bad_request("request body must be a JSON object")
            raw.update(decoded)
        elif kind == "application/x-www-form-urlencoded":
            raw.update(parse_qsl(body.decode(), keep_blank_values=True))
        elif kind == "multipart/form-data":
            envelope = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body
            for part in BytesParser(policy=HTTP).parsebytes(envelope).iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                if not isinstance(name, str) or not isinstance(payload, bytes):
                    continue
                filename = part.get_filename()
                if filename is not None:
                    files[name] = Upload(filename, part.get_content_type(), payload)
                else:
                    raw[name] = payload.decode(part.get_content_charset() or "utf-8")
        return {name: _coerce(name, value) for name, value in raw.items()}, files

    async def _control(self, action: str, query: str, body: bytes) -> tuple[int, str, bytes]:
        """Drive the server from another process (a benchmark, a second terminal)."""
        args: dict[str, Any] = dict(parse_qsl(query))
        if body:
            args.update(json.loads(body))
        try:
            if action == "inject_text":
                result: Any = self.inject_text(
                    int(args["chat_id"]),
                    int(args["user_id"]),
                    str(args["text"]),
                    reply_to=args.get("reply_to"),
                )
            elif action == "inject_callback":
                result = self.inject_callback(
                    int(args["chat_id"]), int(args["user_id"]), int(args["message_id"]), str(args["data"])
                )
            elif action == "messages":
                result = self.bot_messages(int(args["chat_id"]), int(args.get("after", 0)))
            elif action == "calls":
                with self._lock:
                    result = [
                        {"method": c.method, "params": c.params, "status": c.status} for c in self.calls
                    ]
            else:
                return 404, "application/json", b'{"ok":false,"description":"unknown control action"}'
        except (KeyError, ValueError) as exc:
            return 400, "application/json", json.dumps({"ok": False, "description": str(exc)}).encode()
        return (
            200,
            "application/json",
            json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode(),
        )

    # ---- Bot API methods ---------------------------------------------------------------------------

    _METHODS = (
        "getMe",
        "getUpdates",
        "setWebhook",
        "deleteWebhook",
        "getWebhookInfo",
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "deleteMessage",
        "answerCallbackQuery",
        "getChat",
        "getChatMember",
        "sendDocument",
        "sendPhoto",
        "getFile",
        "setMyCommands",
        "getMyCommands",
        "deleteMyCommands",
        "copyMessage",
        "setMessageReaction",
        "sendChatAction",
        "logOut",
        "close",
    )

    @classmethod
    def _canonical(cls, method: str) -> str:
        return next((m for m in cls._METHODS if m.lower() == method.lower()), method)

    async def _dispatch(self, method: str, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        name = method.lower()
        with self._lock:
            queued = self._failures.get(name)
            if queued:
                raise queued.popleft()
        if name == "getupdates":
            return await self._get_updates(params)
        handler = getattr(self, f"_api_{name}", None)
        if handler is None:
            raise ApiError(404, "Not Found")
        with self._changed:
            if name in SENDING:
                self._check_rate(params.get("chat_id"))
            result = handler(params, files)
            if name in SENDING and isinstance(params.get("chat_id"), int):
                self._state.sent_at.setdefault(params["chat_id"], deque()).append(time.monotonic())
            self._changed.notify_all()
        return result

    def _bot(self) -> dict[str, Any]:
        return {
            "id": self._bot_id,
            "is_bot": True,
            "first_name": "12348法律援助助手",
            "username": self.bot_username,
        }

    def _api_getme(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        return {
            **self._bot(),
            "can_join_groups": True,
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
        }

    def _api_logout(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        return True

    _api_close = _api_logout
    _api_sendchataction = _api_logout

    # -- updates --

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self._lock:
            if self._state.webhook.get("url"):
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use "
                    "deleteWebhook to delete the webhook first",
                )
            if "allowed_updates" in params and params["allowed_updates"] is not None:
                allowed = tuple(params["allowed_updates"])
                self._state.allowed_updates = allowed or DEFAULT_ALLOWED
            offset = params.get("offset")
            if isinstance(offset, int) and offset > 0:
                while self._state.updates and self._state.updates[0]["update_id"] < offset:
                    self._state.updates.popleft()
            for poller in self._pollers:  # a newer getUpdates ends the older one with 409, as at Telegram
                poller.superseded = True
                if not poller.future.done():
                    poller.future.set_result(None)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        deadline = time.monotonic() + max(0.0, min(50.0, float(params.get("timeout") or 0)))
        assert self._loop is not None
        poller = _Poller(self._loop.create_future())
        with self._changed:
            self._pollers.append(poller)
            self._changed.notify_all()
        try:
            while True:
                with self._lock:
                    ready = self._deliverable(limit)
                if ready or time.monotonic() >= deadline:
                    return ready
                assert self._wake is not None
                self._wake.clear()
                waiter: asyncio.Future[Any] = asyncio.ensure_future(self._wake.wait())
                await asyncio.wait(
                    [waiter, poller.future],
                    timeout=deadline - time.monotonic(),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                waiter.cancel()
                if poller.superseded:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that "
                        "only one bot instance is running",
                    )
                if self._stopped is not None and self._stopped.is_set():
                    return []
        finally:
            with self._changed:
                self._pollers.remove(poller)
                self._changed.notify_all()

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        """Pending updates of allowed kinds; others are dropped, as Telegram does."""
        kept = deque(u for u in self._state.updates if self._kind(u) in self._state.allowed_updates)
        self._state.updates = kept
        return list(itertools.islice(kept, limit))

    @staticmethod
    def _kind(update: dict[str, Any]) -> str:
        return next(k for k in UPDATE_KINDS if k in update)

    def _api_setwebhook(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        url = str(params.get("url") or "")
        secret = params.get("secret_token")
        if url and not url.startswith(("https://", "http://")):
            raise bad_request("bad webhook: invalid webhook URL specified")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._state.updates.clear()
        if not url:
            self._state.webhook = {}
            return True
        self._state.webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": params.get("max_connections"),
        }
        if params.get("allowed_updates") is not None:
            self._state.allowed_updates = tuple(params["allowed_updates"]) or DEFAULT_ALLOWED
        self._signal()
        return True

    def _api_deletewebhook(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        if params.get("drop_pending_updates"):
            self._state.updates.clear()
        self._state.webhook = {}
        return True

    def _api_getwebhookinfo(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        hook = self._state.webhook
        info: dict[str, Any] = {
            "url": hook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._state.updates),
        }
        if hook.get("last_error_message"):
            info["last_error_date"], info["last_error_message"] = (
                hook["last_error_date"],
                hook["last_error_message"],
            )
        return info

    async def _deliver_webhooks(self) -> None:
        """POST pending updates to the webhook with its secret header, as the Bot API server does: up to
        `max_connections` (setWebhook's, default 40) requests at once, one chat's updates one at a time and
        in order (a chat's next update waits until the previous one was answered 200)."""
        assert self._wake is not None
        busy: set[object] = set()  # chats with a delivery in flight
        tasks: set[asyncio.Task[None]] = set()
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=None)) as client:
            try:
                while True:
                    self._wake.clear()  # before reading the queue: a wake-up after this is not lost
                    with self._lock:
                        hook = dict(self._state.webhook)
                        pending = self._deliverable(len(self._state.updates)) if hook.get("url") else []
                    room = int(hook.get("max_connections") or 40) - len(busy)
                    picked: list[tuple[object, dict[str, Any]]] = []
                    seen: set[object] = set()
                    for update in pending:
                        chat = _chat_key(update)
                        if chat not in seen and chat not in busy and len(picked) < room:
                            picked.append((chat, update))
                        seen.add(chat)  # only a chat's oldest pending update may go
                    if not picked:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), 1.0)
                        continue
                    for chat, update in picked:
                        busy.add(chat)
                        task = asyncio.create_task(self._deliver_one(client, hook, update, chat, busy))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
            finally:
                for task in tasks:
                    task.cancel()

    async def _deliver_one(
        self,
        client: httpx.AsyncClient,
        hook: dict[str, Any],
        update: dict[str, Any],
        chat: object,
        busy: set[object],
    ) -> None:
        headers = {"Content-Type": "application/json"}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(hook["secret_token"])
        try:
            try:
                response = await client.post(hook["url"], content=json.dumps(update), headers=headers)
                delivered, error = (
                    response.status_code == 200,
                    f"Wrong response from the webhook: {response.status_code}",
                )
            except httpx.HTTPError as exc:
                delivered, error = False, f"Connection failed: {exc!r}"
            with self._changed:
                if delivered:
                    with contextlib.suppress(ValueError):
                        self._state.updates.remove(update)
                else:
                    self._state.webhook.update(last_error_date=int(time.time()), last_error_message=error)
                self._changed.notify_all()
            if not delivered:
                await asyncio.sleep(0.5)  # this chat's retry pace; other chats go on
        finally:
            busy.discard(chat)
            assert self._wake is not None
            self._wake.set()

    # -- sending --

    def _check_rate(self, chat_id: Any) -> None:
        if self.rate_limit is None or not isinstance(chat_id, int):
            return
        now = time.monotonic()
        window = self._state.sent_at.setdefault(chat_id, deque())
        while window and now - window[0] >= self.rate_limit.per_seconds:
            window.popleft()
        if len(window) >= self.rate_limit.messages:
            wait = max(1, math.ceil(self.rate_limit.per_seconds - (now - window[0])))
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)

    def _target_chat(self, chat_id: Any) -> dict[str, Any]:
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            raise bad_request("chat not found")
        if not isinstance(chat_id, int):
            raise bad_request("chat_id is empty" if chat_id in (None, "") else "chat not found")
        if chat_id in self._state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        chat = self._state.chats.get(chat_id)
        if chat is None:
            if chat_id in self._state.users:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            raise bad_request("chat not found")
        return chat

    def _new_bot_message(self, params: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params.get("chat_id"))
        reply_to = params.get("reply_to_message_id")
        allow_without = bool(params.get("allow_sending_without_reply"))
        reply_parameters = params.get("reply_parameters")
        if isinstance(reply_parameters, dict):
            reply_to = reply_parameters.get("message_id")
            allow_without = bool(reply_parameters.get("allow_sending_without_reply", allow_without))
            if reply_parameters.get("chat_id") not in (None, chat["id"]):
                raise bad_request("replying to messages in other chats is not supported by this fake")
        replied = self._state.messages.get((chat["id"], reply_to)) if isinstance(reply_to, int) else None
        if reply_to is not None and replied is None and not allow_without:
            raise bad_request("message to be replied not found")
        markup = _markup(params)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            "from": self._bot(),
            **content,
        }
        if replied is not None:
            message["reply_to_message"] = {k: v for k, v in replied.items() if k != "reply_to_message"}
        thread = params.get("message_thread_id")
        if thread is not None:
            if chat["type"] == "private":
                raise bad_request("message thread not found")
            message["message_thread_id"] = thread
            message["is_topic_message"] = bool(chat.get("is_forum"))
        if markup is not None:
            message["reply_markup"] = markup
        self._state.messages[(chat["id"], message["message_id"])] = message
        return message

    def _api_sendmessage(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise bad_request("message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        return self._new_bot_message(params, {"text": text})

    def _caption(self, params: dict[str, Any]) -> dict[str, Any]:
        caption = params.get("caption")
        if caption and utf16_len(str(caption)) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        return {"caption": caption} if caption else {}

    def _input_file(
        self, field_name: str, params: dict[str, Any], files: dict[str, Upload]
    ) -> tuple[_StoredFile, str]:
        value = params.get(field_name)
        upload = files.get(field_name)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
        if upload is not None:
            name = upload.filename or "file"
            return self._store_file(upload.data, f"{field_name}s/{name}"), name
        if isinstance(value, str) and value in self._state.files:
            stored = self._state.files[value]
            return stored, stored.path.rsplit("/", 1)[-1]
        raise bad_request(f"invalid file HTTP URL specified: there is no {field_name} in the request")

    def _api_senddocument(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        stored, name = self._input_file("document", params, files)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_name": name,
            "mime_type": "application/octet-stream",
            "file_size": len(stored.data),
        }
        return self._new_bot_message(params, {"document": document, **self._caption(params)})

    def _api_sendphoto(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        stored, _ = self._input_file("photo", params, files)
        return self._new_bot_message(
            params, {"photo": self._photo_sizes(stored.data), **self._caption(params)}
        )

    def _api_copymessage(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        source = self._state.messages.get((params.get("from_chat_id"), params.get("message_id")))  # type: ignore[arg-type]
        if source is None:
            raise bad_request("message to copy not found")
        content = {k: v for k, v in source.items() if k in ("text", "photo", "document", "voice", "caption")}
        copy = self._new_bot_message(params, content)
        return {"message_id": copy["message_id"]}

    def _own_message(self, params: dict[str, Any], missing: str) -> dict[str, Any]:
        if "inline_message_id" in params:
            raise bad_request("inline messages are not supported by this fake")
        message = self._state.messages.get((params.get("chat_id"), params.get("message_id")))  # type: ignore[arg-type]
        if message is None:
            raise bad_request(missing)
        if message["from"]["id"] != self._bot_id:
            raise bad_request("message can't be edited")
        return message

    def _api_editmessagetext(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        message = self._own_message(params, "message to edit not found")
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise bad_request("message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise bad_request("MESSAGE_TOO_LONG")
        markup = _markup(params)  # no reply_markup in an edit removes the keyboard, as at Telegram
        if message.get("text") == text and message.get("reply_markup") == markup:
            raise bad_request(NOT_MODIFIED)
        return self._apply_edit(message, text=text, reply_markup=markup)

    def _api_editmessagereplymarkup(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        message = self._own_message(params, "message to edit not found")
        markup = _markup(params)
        if message.get("reply_markup") == markup:
            raise bad_request(NOT_MODIFIED)
        return self._apply_edit(message, reply_markup=markup)

    def _apply_edit(self, message: dict[str, Any], **changes: Any) -> dict[str, Any]:
        edited = {**message, **changes, "edit_date": int(time.time())}
        if edited.get("reply_markup") is None:
            edited.pop("reply_markup", None)
        self._state.messages[(message["chat"]["id"], message["message_id"])] = edited
        return edited

    def _api_deletemessage(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        key = (params.get("chat_id"), params.get("message_id"))
        if self._state.messages.pop(key, None) is None:  # type: ignore[arg-type]
            raise bad_request("message to delete not found")
        return True

    def _api_setmessagereaction(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        key = (params.get("chat_id"), params.get("message_id"))
        if key not in self._state.messages:
            raise bad_request("message to react not found")
        return True

    def _api_answercallbackquery(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._state.callback_queries or self._state.callback_queries[query_id] is not None:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text and len(str(text)) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self._state.callback_queries[query_id] = dict(params)
        return True

    # -- chats, files, commands --

    def _api_getchat(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        chat = self._state.chats.get(params.get("chat_id"))  # type: ignore[arg-type]
        if chat is None:
            raise bad_request("chat not found")
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11}

    def _api_getchatmember(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        chat_id, user_id = params.get("chat_id"), params.get("user_id")
        if chat_id not in self._state.chats:
            raise bad_request("chat not found")
        if user_id == self._bot_id:
            return {
                "status": "administrator",
                "user": self._bot(),
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": True,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": True,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
            }
        user = self._state.users.get(user_id)  # type: ignore[arg-type]
        if user is None:
            raise bad_request("PARTICIPANT_ID_INVALID")
        member = chat_id == user_id or user_id in self._state.members.get(chat_id, set())  # type: ignore[arg-type]
        return {"status": "member" if member else "left", "user": user}

    def _api_getfile(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        stored = self._state.files.get(str(params.get("file_id")))
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data),
            "file_path": stored.path,
        }

    @staticmethod
    def _scope_key(params: dict[str, Any]) -> str:
        return json.dumps([params.get("scope") or {"type": "default"}, params.get("language_code") or ""])

    def _api_setmycommands(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("command description must be 1-256 characters")
        self._state.commands[self._scope_key(params)] = commands
        return True

    def _api_getmycommands(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        return self._state.commands.get(self._scope_key(params), [])

    def _api_deletemycommands(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        self._state.commands.pop(self._scope_key(params), None)
        return True


# ---- standalone: a terminal citizen ------------------------------------------------------------------


def _show(message: dict[str, Any]) -> str:
    chat = message["chat"]
    where = chat.get("title") or f"私聊 {chat['id']}"
    body = message.get("text") or message.get("caption") or ("[文件]" if "document" in message else "[消息]")
    lines = [f"[{where} #{message['message_id']}] {body}"]
    buttons = FakeBotApi.buttons(message)
    if buttons:
        lines.append("   " + "  ".join(f"({i}) {t}" for i, t in enumerate(buttons, 1)))
    return "\n".join(lines)


def _terminal(server: FakeBotApi, citizen: int, operators_chat: int | None, operator: int) -> None:
    """Read lines from stdin: text is the citizen's message; a number presses a button of the last keyboard;
    `/op <text>` speaks in the operators' group; `/op>ID <text>` replies there to message ID;
    `/oppress ID N` presses button N of group message ID as the operator."""
    printed: set[tuple[int, int, str]] = set()

    def printer() -> None:
        while True:
            for chat_id in [citizen, *([operators_chat] if operators_chat else [])]:
                for message in server.bot_messages(chat_id):
                    key = (chat_id, message["message_id"], json.dumps(message, ensure_ascii=False))
                    if key not in printed:
                        printed.add(key)
                        print(_show(message), flush=True)
            with server._changed:
                server._changed.wait(0.5)

    threading.Thread(target=printer, daemon=True).start()
    for line in sys.stdin:
        text = line.strip()
        if not text:
            continue
        try:
            if text.isdigit():
                keyboards = [m for m in server.bot_messages(citizen) if FakeBotApi.buttons(m)]
                if not keyboards:
                    print("(没有按钮)")
                    continue
                last = keyboards[-1]
                server.press(citizen, citizen, last["message_id"], FakeBotApi.buttons(last)[int(text) - 1])
            elif text.startswith("/oppress ") and operators_chat:
                _, mid, n = text.split()
                target = server.message(operators_chat, int(mid))
                server.press(operators_chat, operator, int(mid), FakeBotApi.buttons(target)[int(n) - 1])
            elif text.startswith("/op") and operators_chat:
                head, _, said = text.partition(" ")
                reply_to = int(head[4:]) if head.startswith("/op>") else None
                server.inject_text(operators_chat, operator, said, reply_to=reply_to)
            else:
                server.inject_text(citizen, citizen, text)
        except (ValueError, IndexError) as exc:
            print(f"(无法执行: {exc})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.bot_api_server",
        description="本地 Telegram Bot API 模拟服务器 / a local fake Telegram Bot API to chat with the bot. "
        "Then: TELEGRAM_BOT_TOKEN=123:local TELEGRAM_BASE_URL=http://127.0.0.1:PORT/bot make run",
    )
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--citizen", type=int, default=10001, help="the terminal user's Telegram id")
    parser.add_argument(
        "--operators-chat",
        type=int,
        default=None,
        help="id of the operators' group (set the same in config telegram.operators_chat_id)",
    )
    parser.add_argument("--operator", type=int, default=20001, help="Telegram id of the operator you play")
    parser.add_argument("--rate", default=None, help="rate limit per chat, e.g. 20/60 (messages/seconds)")
    parser.add_argument("--no-terminal", action="store_true", help="serve only (drive it over /_fake/…)")
    args = parser.parse_args(argv)
    rate = None
    if args.rate:
        messages, seconds = args.rate.split("/")
        rate = RateLimit(int(messages), float(seconds))
    server = FakeBotApi(host=args.host, port=args.port, rate_limit=rate)
    if args.operators_chat:
        server.add_group(args.operators_chat, members=[args.operator])
    server.start()
    print(f"fake Bot API on {server.url}; TELEGRAM_BASE_URL={server.base_url}", flush=True)
    try:
        if args.no_terminal:
            threading.Event().wait()
        else:
            print("输入文字即为市民消息，输入数字按下最近一条消息的按钮。Ctrl-D 退出。", flush=True)
            _terminal(server, args.citizen, args.operators_chat, args.operator)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
