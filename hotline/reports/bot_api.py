"""Reports and alerts sent straight to the Telegram Bot API, for the standalone scheduler.

`python -m hotline scheduler` is a core entry point: it may not import the gateway (`bot/` depends on
`hotline/`, never the reverse), and it runs no python-telegram-bot Application (that one belongs to the
gateway's event loop and polling). So this is a deliberately small synchronous client over httpx (already
a pinned dependency) that implements `Notifier`: sendMessage for texts, sendPhoto for charts, sendDocument
for workbooks and drafts (the same rule as the gateway, `delivery.sends_as_photo`).

What it cannot address as a Telegram chat (a non-numeric chat such as the default "supervisors", or a
citizen's conversation, whose rating buttons need the gateway's stored payloads) goes to the fallback
(the file outbox), so nothing is silently dropped. The token is part of every URL: it is never logged
(httpx is quietened in logging_setup, and errors here name the method, not the URL).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import httpx

from hotline.reports.delivery import Notifier, sends_as_photo

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # Telegram's limit for one message, in UTF-16 code units (Chinese: one per character)
MAX_CAPTION = 1024


class BotApiError(RuntimeError):
    """Telegram refused a delivery; the scheduler's run is then retried (see scheduler/runs.py)."""


def _chunks(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split a long report text at line ends into messages of at most `limit` characters."""
    out: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current:
                out.append(current)
                current = ""
            out.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            out.append(current)
            current = ""
        current += line
    if current.strip():
        out.append(current)
    return [c.rstrip("\n") for c in out] or [text[:limit]]


class BotApiNotifier:
    """`Notifier` over the Bot API: numeric chat ids go to Telegram, anything else to `fallback`."""

    def __init__(
        self,
        token: str,
        base_url: str,
        fallback: Notifier,
        *,
        timeout: float = 60.0,
        max_retries: int = 3,
        client: httpx.Client | None = None,
    ) -> None:
        self._url = f"{base_url}{token}/"  # as python-telegram-bot builds it: base_url + token + /method
        self._fallback = fallback
        self._max_retries = max_retries
        self._client = client or httpx.Client(timeout=timeout)

    @staticmethod
    def _chat_id(chat: str) -> int | None:
        return int(chat) if chat.lstrip("-").isdigit() else None

    def _call(self, method: str, data: dict[str, Any], files: dict[str, Any] | None = None) -> Any:
        """One Bot API call; waits out a 429 (retry_after) a few times, raises BotApiError otherwise."""
        for _ in range(self._max_retries + 1):
            try:
                response = self._client.post(self._url + method, data=data, files=files)
                body = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise BotApiError(f"{method}: {type(exc).__name__}") from None  # the URL holds the token
            if body.get("ok"):
                return body.get("result")
            retry_after = (body.get("parameters") or {}).get("retry_after")
            if response.status_code == 429 and isinstance(retry_after, int):
                time.sleep(min(retry_after, 60))
                continue
            raise BotApiError(f"{method}: {response.status_code} {body.get('description', '')}")
        raise BotApiError(f"{method}: still rate-limited after {self._max_retries} retries")

    def send_text(self, chat: str, text: str) -> None:
        chat_id = self._chat_id(chat)
        if chat_id is None:
            self._fallback.send_text(chat, text)
            return
        for part in _chunks(text):
            self._call("sendMessage", {"chat_id": str(chat_id), "text": part})

    def send_file(self, chat: str, path: Path, caption: str = "") -> None:
        chat_id = self._chat_id(chat)
        if chat_id is None:
            self._fallback.send_file(chat, path, caption)
            return
        path = Path(path)
        field, method = ("photo", "sendPhoto") if sends_as_photo(path) else ("document", "sendDocument")
        data = {"chat_id": str(chat_id)}
        if caption:
            data["caption"] = caption[:MAX_CAPTION]
        self._call(method, data, {field: (path.name, path.read_bytes())})  # bytes: a retry can resend
        log.info("已发送 %s 到 Telegram 聊天 %s", path.name, chat_id)

    def close(self) -> None:
        self._client.close()
