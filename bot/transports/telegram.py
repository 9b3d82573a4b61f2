"""Telegram transport: python-telegram-bot 22 `Application` with long polling.

Rasa buttons become inline keyboards. Telegram limits callback_data to 64 bytes and a Chinese payload
such as `/inform{"county":"琅琊区"}` can exceed it, so long payloads are stored and referenced by key.
Telegram's flood limits (30 messages a second, 20 a minute per group) are kept by PTB's AIORateLimiter;
periodic work (the gateway's retry queue, the desk's card sync) runs on the application's JobQueue, and
whatever a handler or job raises reaches one error handler that logs it without personal data.

Updates of different chats are processed concurrently, each chat's in order (telegram_updates). Updates
arrive by long polling (the local default: one gateway per bot token) or, with `telegram.mode: webhook`,
through PTB's webhook server, so several replicas behind a load balancer share one token; Telegram's
secret token is required there and a request without it is refused (403).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import traceback
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    JobQueue,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import strings
from bot.desk import Desk, relay
from bot.desk.handlers import SYNC_JOB
from bot.gateway import Attachment, Gateway, Inbound
from bot.notify import GatewayNotifier
from bot.outbox import Undeliverable
from bot.replies import Reply
from bot.supervisors import SupervisorCommands, send_report_file
from bot.transports import update_journal
from bot.transports.telegram_edits import edited_message_handler
from bot.transports.telegram_updates import ChatOrderedProcessor
from bot.transports.update_journal import JournalQueue
from hotline.db.models import ButtonPayload
from hotline.db.session import get_sessionmaker, in_thread
from hotline.scheduler.runtime import default_notifier
from hotline.scheduler.service import SchedulerService, start_embedded
from hotline.settings import Settings

log = logging.getLogger(__name__)
CALLBACK_LIMIT = 64
RETRY_JOB = "gateway-retry"
REPLAY_JOB = "update-journal-replay"


class QuietFrequentJobs(logging.Filter):
    """APScheduler logs two INFO lines for every run of every job; the gateway's own jobs run every few
    seconds (the hand-written loops they replace logged only failures), so only their warnings pass."""

    def __init__(self, *names: str) -> None:
        super().__init__()
        self.names = set(names)

    def filter(self, record: logging.LogRecord) -> bool:
        job = record.args[0] if isinstance(record.args, tuple) and record.args else None
        return record.levelno >= logging.WARNING or getattr(job, "name", None) not in self.names


_QUIET_JOBS = QuietFrequentJobs(RETRY_JOB, SYNC_JOB)


def encode_payload(sessions: sessionmaker[Session], payload: str) -> str:
    if len(payload.encode()) <= CALLBACK_LIMIT and not payload.startswith("k:"):
        return payload
    key = "k:" + hashlib.sha1(payload.encode()).hexdigest()[:20]
    with sessions.begin() as session:
        if session.get(ButtonPayload, key) is None:
            session.add(ButtonPayload(key=key, payload=payload))
    return key


def decode_payload(sessions: sessionmaker[Session], data: str) -> str | None:
    if not data.startswith("k:"):
        return data
    with sessions() as session:
        row = session.get(ButtonPayload, data)
        return row.payload if row else None


def keyboard(sessions: sessionmaker[Session], reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    rows = [
        [InlineKeyboardButton(b.title, callback_data=encode_payload(sessions, b.payload))]
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
        self._sessions = get_sessionmaker(settings.database_url)
        self._journal = JournalQueue(self._sessions)  # updates survive a crash before their handlers ran
        assert settings.telegram_bot_token, "validated by Settings"
        builder = (
            Application.builder()
            .token(settings.telegram_bot_token)
            .base_url(settings.telegram.base_url)
            .rate_limiter(AIORateLimiter(overall_max_rate=settings.telegram.messages_per_second))
            .post_init(self._post_init)
            .post_shutdown(self._post_shutdown)
            .concurrent_updates(
                ChatOrderedProcessor(
                    settings.telegram.max_concurrent_updates,
                    on_done=self._journal_done,
                    # Several replicas behind a load balancer: one chat's updates in order across them.
                    before=self._after_earlier_updates if settings.telegram.mode == "webhook" else None,
                )
            )
            .update_queue(self._journal)
        )
        if request is not None:
            builder = builder.request(request).get_updates_request(request)
        self.application: Application = builder.build()  # type: ignore[type-arg]
        app = self.application
        # Replies through the gateway's outbox: marked sent only once Telegram accepted them.
        gateway.set_sender(lambda user_id, replies: self.deliver(app, user_id, replies))
        self.desk: Desk | None = None
        if settings.telegram.operators_chat_id is None:
            log.warning(strings.DESK_DISABLED)
        else:
            self.desk = Desk(
                settings, self._sessions, app, lambda chat, replies: self.send(app, chat, replies)
            )
            # Raises when the group post failed, so the message stays queued (never marked forwarded).
            gateway.set_handoff_sink(relay.handoff_sink(self.desk))
            gateway.set_attachment_sink(self.desk.on_handoff_attachment)
            for handler in self.desk.handlers():  # before the citizen handlers: first match wins
                app.add_handler(handler)
        for handler in SupervisorCommands(settings, self._sessions).handlers():
            app.add_handler(handler)
        # Citizens talk to the bot in private chats only; group chats belong to operators/supervisors.
        private = filters.ChatType.PRIVATE
        app.add_handler(CommandHandler("start", self._start, filters=private))
        app.add_handler(
            CommandHandler("yuyue", self._text, filters=private)
        )  # my appointments (bot/appointments)
        app.add_handler(edited_message_handler(gateway, lambda chat, replies: self.send(app, chat, replies)))
        app.add_handler(CallbackQueryHandler(self._button))
        app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, self._text))
        app.add_handler(MessageHandler(private & ~filters.TEXT & ~filters.COMMAND, self._media))
        app.add_error_handler(log_error)
        logging.getLogger("apscheduler.executors.default").addFilter(_QUIET_JOBS)  # added once

    @property
    def jobs(self) -> JobQueue:  # type: ignore[type-arg]
        assert self.application.job_queue is not None, "python-telegram-bot[job-queue] is a requirement"
        return self.application.job_queue

    async def _post_init(self, app: Application) -> None:  # type: ignore[type-arg]
        every = self._settings.gateway.retry_interval_seconds
        self.jobs.run_repeating(self._retry_pending, interval=every, first=every, name=RETRY_JOB)
        self.jobs.run_repeating(self._replay_updates, interval=every, first=every, name=REPLAY_JOB)
        if self.desk is not None:
            self.desk.schedule(self.jobs)
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
            await send_report_file(app.bot, int(chat), path, text[:1024])

    async def _after_earlier_updates(self, update: Update) -> bool:
        wait = self._settings.gateway.claim_ttl_seconds  # as long as another replica's turn may hold on
        return await update_journal.after_earlier_updates(self._sessions, update, wait)

    async def _journal_done(self, update: Update) -> None:
        await in_thread(self._sessions, lambda s: update_journal.mark_done(s, update.update_id))

    async def _replay_updates(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Job: updates journalled but never finished (their gateway died) are processed again."""
        stale = dt.timedelta(seconds=self._settings.gateway.claim_ttl_seconds)
        await update_journal.replay(self._sessions, self._journal, context.bot, stale)

    async def _retry_pending(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Job: answer messages the engine could not take earlier; a failure waits for the next run."""

        async def deliver(user_id: str, replies: list[Reply]) -> None:
            await self.deliver(context.application, user_id, replies)

        await self._gateway.retry_pending(deliver)

    async def deliver(self, app: Application, user_id: str, replies: list[Reply]) -> None:  # type: ignore[type-arg]
        """The outbox's sender: Telegram's 400 and 403 are final for this reply (`Undeliverable`).

        Kept queued, a refused reply would hold back every later reply of the citizen.
        """
        try:
            await self.send(app, int(user_id), replies)
        except (BadRequest, Forbidden) as exc:
            raise Undeliverable(exc.message) from exc

    async def send(self, app: Application, chat_id: int, replies: list[Reply]) -> None:  # type: ignore[type-arg]
        for reply in replies:
            # A long button payload is stored in the database: off the event loop, like the gateway's work.
            markup = await asyncio.to_thread(keyboard, self._sessions, reply) if reply.buttons else None
            await app.bot.send_message(chat_id=chat_id, text=reply.text or "请选择：", reply_markup=markup)

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
        try:
            await query.answer()
        except BadRequest:  # too old to answer (a replayed update): the press itself still counts
            log.info("callback query %s too old to answer", query.id)
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE:
            return  # citizens' buttons live in private chats: a group's or an inline one is not theirs
        payload = await asyncio.to_thread(decode_payload, self._sessions, query.data)
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
        await self.send(context.application, chat.id, replies)

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

    def webhook_options(self) -> dict[str, Any]:
        """PTB's webhook arguments from the settings (validated: webhook mode has a secret)."""
        tg = self._settings.telegram
        assert tg.webhook_secret is not None, "validated by TelegramSettings"
        path = tg.webhook_url_path.strip("/")
        return {
            "listen": tg.webhook_listen,
            "port": tg.webhook_port,
            "url_path": path,
            "webhook_url": tg.webhook_url or f"http://{tg.webhook_listen}:{tg.webhook_port}/{path}",
            "secret_token": tg.webhook_secret.get_secret_value(),
            "allowed_updates": Update.ALL_TYPES,
        }

    async def start_receiving(self) -> None:
        """Start taking updates (after `application.start()`): long polling, or the webhook server."""
        updater = self.application.updater
        assert updater is not None
        if self._settings.telegram.mode == "webhook":
            await updater.start_webhook(**self.webhook_options())
        else:
            await updater.start_polling(allowed_updates=Update.ALL_TYPES)

    def run(self) -> None:
        if self._settings.telegram.mode == "webhook":
            self.application.run_webhook(**self.webhook_options())
        else:
            self.application.run_polling(allowed_updates=Update.ALL_TYPES)


async def log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Error handler for every handler and job: what failed and where, never what anyone wrote.

    The update (citizen text, names) is not logged, nor the exception's message unless Telegram wrote
    it: a database error's message carries the statement's parameters, which can be a citizen's words.
    """
    error = context.error
    if error is None:
        return
    where = (
        f"job {context.job.name}"
        if context.job is not None
        else f"update {update.update_id}"
        if isinstance(update, Update)
        else "no update"
    )
    said = f": {error.message}" if isinstance(error, TelegramError) else ""
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error("%s in %s%s\n%s", type(error).__name__, where, said, frames.rstrip())


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
