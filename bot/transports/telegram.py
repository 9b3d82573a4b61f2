"""Telegram transport: python-telegram-bot 22 `Application` with long polling.

Rasa buttons become inline keyboards. Telegram limits callback_data to 64 bytes and a Chinese payload
such as `/inform{"county":"琅琊区"}` can exceed it, so long payloads are stored and referenced by key.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import strings
from bot.desk import Desk
from bot.gateway import Attachment, Gateway, Inbound
from bot.notify import GatewayNotifier
from bot.replies import Reply
from bot.supervisors import SupervisorCommands
from bot.transports.telegram_edits import edited_message_handler
from hotline.db.models import ButtonPayload
from hotline.db.session import session_scope
from hotline.scheduler.runtime import default_notifier
from hotline.scheduler.service import SchedulerService, start_embedded
from hotline.settings import Settings

log = logging.getLogger(__name__)
CALLBACK_LIMIT = 64


def encode_payload(database_url: str, payload: str) -> str:
    if len(payload.encode()) <= CALLBACK_LIMIT and not payload.startswith("k:"):
        return payload
    key = "k:" + hashlib.sha1(payload.encode()).hexdigest()[:20]
    with session_scope(database_url) as session:
        if session.get(ButtonPayload, key) is None:
            session.add(ButtonPayload(key=key, payload=payload))
    return key


def decode_payload(database_url: str, data: str) -> str | None:
    if not data.startswith("k:"):
        return data
    with session_scope(database_url) as session:
        row = session.get(ButtonPayload, data)
        return row.payload if row else None


def keyboard(database_url: str, reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    rows = [
        [InlineKeyboardButton(b.title, callback_data=encode_payload(database_url, b.payload))]
        for b in reply.buttons
    ]
    # Two buttons per row keeps eight county buttons on one phone screen.
    paired = [[button for row in rows[i : i + 2] for button in row] for i in range(0, len(rows), 2)]
    return InlineKeyboardMarkup(paired)


class TelegramTransport:
    def __init__(
        self,
        gateway: Gateway,
        settings: Settings,
        request: BaseRequest | None = None,
        with_scheduler: bool = False,
    ) -> None:
        """`request` replaces the HTTP layer (tests use a fake Bot API; production passes nothing)."""
        self._gateway = gateway
        self._with_scheduler = with_scheduler
        self._scheduler: SchedulerService | None = None
        self._settings = settings
        self._db = settings.database_url
        assert settings.telegram_bot_token, "validated by Settings"
        builder = (
            Application.builder()
            .token(settings.telegram_bot_token)
            .base_url(settings.telegram.base_url)
            .post_init(self._post_init)
            .post_shutdown(self._post_shutdown)
        )
        if request is not None:
            builder = builder.request(request).get_updates_request(request)
        self.application: Application = builder.build()  # type: ignore[type-arg]
        app = self.application
        self.desk: Desk | None = None
        if settings.telegram.operators_chat_id is None:
            log.warning(strings.DESK_DISABLED)
        else:
            self.desk = Desk(settings, app, lambda chat, replies: self.send(app, chat, replies))
            gateway.set_handoff_sink(self.desk.on_handoff_message)
            gateway.set_attachment_sink(self.desk.on_handoff_attachment)
            for handler in self.desk.handlers():  # before the citizen handlers: first match wins
                app.add_handler(handler)
        for handler in SupervisorCommands(settings).handlers():
            app.add_handler(handler)
        # Citizens talk to the bot in private chats only; group chats belong to operators/supervisors.
        private = filters.ChatType.PRIVATE
        app.add_handler(CommandHandler("start", self._start, filters=private))
        app.add_handler(edited_message_handler(gateway, lambda chat, replies: self.send(app, chat, replies)))
        app.add_handler(CallbackQueryHandler(self._button))
        app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, self._text))
        app.add_handler(MessageHandler(private & ~filters.TEXT & ~filters.COMMAND, self._media))

    async def _post_init(self, app: Application) -> None:  # type: ignore[type-arg]
        app.create_task(self._retry_loop(app))
        if self.desk is not None:
            app.create_task(self.desk.run())
        if self._with_scheduler:
            notifier = GatewayNotifier(
                asyncio.get_running_loop(),
                lambda conversation, replies: self.send_to_conversation(app, conversation, replies),
                default_notifier(self._settings),
                to_chat=lambda chat, text, path: self.send_to_chat(app, chat, text, path),
            )
            self._scheduler = start_embedded(self._settings, notifier)

    async def _post_shutdown(self, app: Application) -> None:  # type: ignore[type-arg]
        if self._scheduler is not None:
            await asyncio.to_thread(self._scheduler.stop)

    async def send_to_conversation(
        self,
        app: Application,  # type: ignore[type-arg]
        conversation_id: str,
        replies: list[Reply],
    ) -> None:
        channel, _, user_id = conversation_id.partition("-")
        if channel == "telegram" and user_id.isdigit():
            await self.send(app, int(user_id), replies)
        else:
            log.warning("cannot reach conversation on channel %s from Telegram", channel)

    async def send_to_chat(
        self,
        app: Application,  # type: ignore[type-arg]
        chat: str,
        text: str,
        path: Path | None,
    ) -> None:
        if path is None:
            await app.bot.send_message(chat_id=int(chat), text=text)
        else:
            with path.open("rb") as fh:
                await app.bot.send_document(chat_id=int(chat), document=fh, caption=text[:1024] or None)

    async def _retry_loop(self, app: Application) -> None:  # type: ignore[type-arg]
        async def deliver(user_id: str, replies: list[Reply]) -> None:
            await self.send(app, int(user_id), replies)

        while True:
            await asyncio.sleep(self._settings.gateway.retry_interval_seconds)
            try:
                await self._gateway.retry_pending(deliver)
            except Exception:
                log.exception("retry loop failed; will try again")

    async def send(self, app: Application, chat_id: int, replies: list[Reply]) -> None:  # type: ignore[type-arg]
        for reply in replies:
            await app.bot.send_message(
                chat_id=chat_id, text=reply.text or "请选择：", reply_markup=keyboard(self._db, reply)
            )

    async def _start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat:
            await context.bot.send_message(update.effective_chat.id, strings.TELEGRAM_START)

    async def _text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None or message.text is None:
            return
        inbound = Inbound(
            channel="telegram",
            user_id=str(user.id),
            message_id=f"{message.chat_id}:{message.message_id}",
            text=message.text,
            display_name=None,  # minimal PII: Telegram names are not stored
        )
        replies = await self._gateway.handle(inbound)
        await self.send(context.application, message.chat_id, replies)

    async def _button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        user = update.effective_user
        if query is None or user is None or query.data is None:
            return
        await query.answer()
        payload = decode_payload(self._db, query.data)
        if payload is None:
            return
        markup = getattr(query.message, "reply_markup", None)
        rows = markup.inline_keyboard if markup else ()
        title = next((b.text for row in rows for b in row if b.callback_data == query.data), payload)
        inbound = Inbound(
            channel="telegram",
            user_id=str(user.id),
            message_id=f"cb:{query.id}",
            text=str(title),
            button_payload=payload,
        )
        replies = await self._gateway.handle(inbound)
        chat_id = update.effective_chat.id if update.effective_chat else user.id
        await self.send(context.application, chat_id, replies)

    async def _media(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Photos, documents, voice…: persisted and filed with the citizen's ticket like any message."""
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None:
            return
        inbound = Inbound(
            channel="telegram",
            user_id=str(user.id),
            message_id=f"{message.chat_id}:{message.message_id}",
            text=message.caption or "",
            attachment=attachment_of(message),
        )
        replies = await self._gateway.handle(inbound)
        await self.send(context.application, message.chat_id, replies)

    def run(self) -> None:
        self.application.run_polling(allowed_updates=Update.ALL_TYPES)


_FILE_KINDS = ("animation", "document", "voice", "audio", "video", "video_note", "sticker")


def attachment_of(message: Message) -> Attachment:
    """What to keep about a non-text message: kind and file id (never the content of a shared contact)."""
    source = f"{message.chat_id}:{message.message_id}"
    if message.photo:
        best = message.photo[-1]  # Telegram lists sizes smallest first
        return Attachment("photo", best.file_id, size=best.file_size, source=source)
    for kind in _FILE_KINDS:  # animation before document: Telegram sets both for a GIF
        item = getattr(message, kind, None)
        if item is not None:
            return Attachment(
                kind,
                getattr(item, "file_id", None),
                file_name=getattr(item, "file_name", None),
                mime_type=getattr(item, "mime_type", None),
                size=getattr(item, "file_size", None),
                source=source,
            )
    if message.location is not None:
        return Attachment("location", source=source)
    if message.contact is not None:  # the phone number stays in Telegram; staff see the copied message
        return Attachment("contact", source=source)
    return Attachment("other", source=source)
