"""A python-telegram-bot Application long-polling in its own thread and event loop.

For tests and benchmarks that drive the bot from blocking code (the local Bot API server's injectors and
waits): the application runs as in production (`start`, `start_polling`), and stops cleanly on exit.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from telegram.ext import Application


@contextmanager
def polling_in_thread(
    app: Application[Any, Any, Any, Any, Any, Any], start_timeout: float = 60
) -> Iterator[None]:
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()

    async def serve() -> None:
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=None)
            started.set()
            try:
                await stop.wait()
            finally:
                await app.updater.stop()
                await app.stop()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    if not started.wait(start_timeout):
        raise RuntimeError("the Telegram transport did not start")
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
