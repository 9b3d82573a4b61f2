"""A citizen's edited message in Telegram: answered (asked to send it again), never silently ignored.

python-telegram-bot hands edits to any MessageHandler whose filters match the edited message, so the
citizen text handler used to get it, found the message id already in the log and dropped it as a duplicate
delivery. Registered before that handler, this one catches edits first; the logic is in
`Gateway.handle_edit`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes, MessageHandler, filters

from bot.gateway import Gateway, Inbound
from bot.replies import Reply

Send = Callable[[int, list[Reply]], Awaitable[None]]


def edit_inbound(update: Update) -> Inbound | None:
    """The edit as an inbound message; its id names this edit (edit date), so each edit is answered once."""
    message, user = update.edited_message, update.effective_user
    if message is None or user is None:
        return None
    stamp = int(message.edit_date.timestamp()) if message.edit_date else 0
    return Inbound(
        channel="telegram",
        user_id=str(user.id),
        message_id=f"{message.chat_id}:{message.message_id}:e{stamp}",
        text=message.text or message.caption or "",
    )


def edited_message_handler(gateway: Gateway, send: Send) -> MessageHandler[Any, Any]:
    """Private-chat edits → `gateway.handle_edit`; its replies go out through `send(chat_id, replies)`."""

    async def on_edit(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        inbound = edit_inbound(update)
        if inbound is None or update.edited_message is None:
            return
        await send(update.edited_message.chat_id, await gateway.handle_edit(inbound))

    return MessageHandler(filters.ChatType.PRIVATE & filters.UpdateType.EDITED_MESSAGE, on_edit)
