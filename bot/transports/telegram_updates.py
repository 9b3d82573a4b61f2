"""Concurrent update processing, ordered per chat.

python-telegram-bot processes one update at a time by default, so while one citizen's turn waits for the
dialog engine every other citizen waits too (a 100 ms engine caps a gateway near 10 turns a second). With
`ChatOrderedProcessor`, updates of different chats run concurrently (bounded), while updates of the same
chat run one after another in arrival order: a citizen's second message never overtakes the first, and an
operator group's commands keep their order. (The gateway's per-citizen lock and database claims still
guard the same order across replicas; this keeps it inside one process before the gateway is reached.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

WAITING_PER_RUNNING = 16  # updates that may wait for their chat's turn, per update running


class ChatOrderedProcessor(BaseUpdateProcessor):
    """At most `running` updates processed at once; one at a time per chat, in arrival order.

    PTB starts one task per update in arrival order; each task takes a slot of PTB's bounded semaphore,
    then its chat's lock, then a slot of `running`. All three queue their waiters first come, first
    served, so a chat's updates enter the lock in the order Telegram sent them. An update waiting for its
    chat's lock holds no running slot: a citizen who sends fifty messages at once waits in their own line
    while other citizens are served (PTB's semaphore, sized WAITING_PER_RUNNING × running, only bounds
    how many updates wait). Updates without a chat (e.g. inline queries) are not serialised.
    """

    def __init__(
        self,
        running: int,
        on_done: Callable[[Update], Awaitable[None]] | None = None,
        before: Callable[[Update], Awaitable[object]] | None = None,
    ) -> None:
        """`on_done` runs after an update's handlers finished (the update journal marks it done);
        `before` once the update holds its chat's lock, before it takes a running slot (webhook replicas
        wait there for the chat's earlier updates on other replicas)."""
        super().__init__(running * WAITING_PER_RUNNING)
        self._on_done = on_done
        self._before = before
        self._running = asyncio.BoundedSemaphore(running)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}  # tasks holding or waiting for each chat's lock

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            try:
                async with self._running:
                    await coroutine
            finally:
                await self._done(update)
            return
        key = chat.id
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                try:
                    if self._before is not None and isinstance(update, Update):
                        await self._before(update)
                    async with self._running:
                        await coroutine
                finally:
                    await self._done(update)  # before the chat's next update may start
        finally:
            self._users[key] -= 1
            if not self._users[key]:  # forget idle chats: the map stays as small as the traffic in flight
                del self._users[key], self._locks[key]

    async def _done(self, update: object) -> None:
        if self._on_done is not None and isinstance(update, Update):
            await self._on_done(update)

    @property
    def chats_in_flight(self) -> int:
        """How many chats have an update being processed or waiting (a queue-depth figure)."""
        return len(self._users)

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free: PTB waits for running updates itself."""
