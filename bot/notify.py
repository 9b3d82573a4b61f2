"""The gateway's side of `hotline.reports.delivery.Notifier`: reports, alerts and follow-ups leave here.

The scheduler runs in a worker thread; Telegram sending is async on the gateway's event loop, so calls
are handed to that loop and waited for. Chats that the gateway cannot reach (no supervisors' chat
configured, console mode) fall back to the file outbox, so nothing scheduled is ever silently dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from bot import strings
from bot.replies import Button, Reply
from hotline.followup.service import OutboundMessage
from hotline.reports.delivery import Notifier

log = logging.getLogger(__name__)

RATE_PREFIX = "#rate:"

SendToConversation = Callable[[str, list[Reply]], Awaitable[None]]
SendToChat = Callable[[str, str, Path | None], Awaitable[None]]


def rating_buttons(ticket_number: str) -> tuple[Button, ...]:
    return tuple(
        Button(title=strings.RATING_LABELS[score], payload=f"{RATE_PREFIX}{ticket_number}:{score}")
        for score in (5, 4, 3, 2, 1)
    )


def parse_rating(payload: str | None) -> tuple[str, int] | None:
    """`#rate:滁-20261129-0007:4` → ("滁-20261129-0007", 4); anything else → None."""
    if not payload or not payload.startswith(RATE_PREFIX):
        return None
    number, _, score = payload[len(RATE_PREFIX) :].rpartition(":")
    if not number or score not in {"1", "2", "3", "4", "5"}:
        return None
    return number, int(score)


class GatewayNotifier:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        to_conversation: SendToConversation,
        fallback: Notifier,
        to_chat: SendToChat | None = None,
        timeout: float = 60.0,
    ) -> None:
        self._loop = loop
        self._to_conversation = to_conversation
        self._to_chat = to_chat
        self._fallback = fallback
        self._timeout = timeout

    def _run(self, coro: Awaitable[Any]) -> None:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]
        future.result(self._timeout)

    def _is_conversation(self, chat: str) -> bool:
        return chat.startswith(("telegram-", "console-"))

    def send_text(self, chat: str, text: str) -> None:
        if self._is_conversation(chat):
            self._run(self._to_conversation(chat, [Reply(text)]))
        elif self._to_chat is not None and chat.lstrip("-").isdigit():
            self._run(self._to_chat(chat, text, None))
        else:
            self._fallback.send_text(chat, text)

    def send_file(self, chat: str, path: Path, caption: str = "") -> None:
        if self._to_chat is not None and chat.lstrip("-").isdigit():
            self._run(self._to_chat(chat, caption, Path(path)))
        else:
            self._fallback.send_file(chat, path, caption)

    def send_to_citizen(self, message: OutboundMessage) -> None:
        if not message.conversation_id:
            return
        buttons = (
            rating_buttons(message.ticket_number)
            if message.kind in ("rating_request", "rating_reminder")
            else ()
        )
        self._run(self._to_conversation(message.conversation_id, [Reply(message.text, buttons)]))
