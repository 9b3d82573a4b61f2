"""Terminal chat for local use: the default transport when no Telegram token is configured.

There is no operators' group here, so a handoff is answered from the command line (`python -m hotline
tickets handoffs`, `tickets reply 工单号 文本`): the answer waits in the outbox and this chat polls it every
`outbox_interval` seconds, printing it while the citizen types."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import sys
import uuid
from typing import TextIO

from bot import strings
from bot.gateway import Gateway, Inbound
from bot.replies import Button, Reply


class ConsoleChat:
    def __init__(
        self,
        gateway: Gateway,
        *,
        user_id: str | None = None,
        retry_interval: float = 30.0,
        outbox_interval: float = 2.0,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        self._gateway = gateway
        self._user_id = user_id or getpass.getuser()
        self._retry_interval = retry_interval
        self._outbox_interval = outbox_interval
        self._in = stdin or sys.stdin
        self._out = stdout or sys.stdout
        self._buttons: tuple[Button, ...] = ()

    def _print(self, replies: list[Reply]) -> None:
        """Buttons of one batch are numbered on from each other (several appointments, each with its own
        取消/改约), so every button shown can be chosen by its number."""
        shown: tuple[Button, ...] = ()
        for reply in replies:
            if reply.text:
                print(f"{strings.CONSOLE_BOT}{reply.text}", file=self._out)
            for index, button in enumerate(reply.buttons, start=len(shown) + 1):
                print(strings.BUTTON_LINE.format(index=index, title=button.title), file=self._out)
            shown += reply.buttons
        if shown:
            self._buttons = shown
        self._out.flush()

    def _to_inbound(self, line: str) -> Inbound:
        text, payload = line, None
        if line.isdigit() and 1 <= int(line) <= len(self._buttons):
            button = self._buttons[int(line) - 1]
            text, payload = button.title, button.payload
        self._buttons = ()
        return Inbound(
            channel="console",
            user_id=self._user_id,
            message_id=uuid.uuid4().hex,
            text=text,
            button_payload=payload,
        )

    async def deliver(self, _conversation: str, replies: list[Reply]) -> None:
        """Out-of-turn messages (retried answers, follow-up visits, an operator's answer) are printed like
        any reply, on their own lines below the waiting prompt, which is shown again after them."""
        print(file=self._out)
        self._print(replies)
        print(strings.CONSOLE_PROMPT, end="", file=self._out, flush=True)

    async def _retry_loop(self) -> None:
        while True:
            await asyncio.sleep(self._retry_interval)
            await self._gateway.retry_pending(self.deliver)

    async def _outbox_loop(self) -> None:
        """Messages queued for this citizen by others (an operator's CLI reply, the scheduler)."""
        while True:
            await asyncio.sleep(self._outbox_interval)
            await self._gateway.deliver_queued("console", self._user_id, self.deliver)

    async def run(self) -> None:
        print(strings.CONSOLE_BANNER, file=self._out)
        tasks = [asyncio.create_task(self._retry_loop()), asyncio.create_task(self._outbox_loop())]
        loop = asyncio.get_running_loop()
        try:
            while True:
                print(strings.CONSOLE_PROMPT, end="", file=self._out, flush=True)
                line = await loop.run_in_executor(None, self._in.readline)
                if not line:
                    break
                line = line.strip()
                if not line:
                    continue
                if line in ("/quit", "/exit"):
                    break
                self._print(await self._gateway.handle(self._to_inbound(line)))
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            print(strings.CONSOLE_BYE, file=self._out)
