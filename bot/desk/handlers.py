"""python-telegram-bot handlers for the operators' group, and the desk's outgoing side.

In the group: buttons on cards (认领 / 办结 → 确认办结 / 转办 → county), replies to any mapped message
(card, relayed citizen message, notice, another operator's reply) are relayed to the citizen, and the
commands /note, /tickets, /ticket. Everything else said in the group is ignored, so operators' own chat
never reaches the citizen dialog. Who may act is decided from the database (Operator.telegram_user_id,
role and counties), never from Telegram group membership.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.orm import Session
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import strings
from bot.desk import relay, service
from bot.desk.cards import (
    card_keyboard,
    confirm_resolve_keyboard,
    county_name,
    parse_callback,
    render_card,
    render_events,
    render_list,
    transfer_keyboard,
)
from bot.desk.service import DeskContext, DeskRefusal
from bot.desk.sync import DEFAULT_INTERVAL, sync_loop
from bot.gateway import Attachment
from bot.notify import rating_buttons
from bot.replies import Reply
from hotline import attachments
from hotline.db.models import Citizen, Operator, Ticket
from hotline.db.session import session_scope
from hotline.logging_setup import mask_pii
from hotline.messages import log_outbound
from hotline.settings import Settings
from hotline.sla.clock import SlaClock
from hotline.tickets.queries import ticket_history
from hotline.tickets.service import get_by_number, record_event

log = logging.getLogger(__name__)

SendToCitizen = Callable[[int, list[Reply]], Awaitable[None]]
LIST_LIMIT = 30
HISTORY_LIMIT = 8


def citizen_chat(conversation_id: str | None) -> int | None:
    """`telegram-1001` → 1001; console and imported tickets cannot be reached from Telegram."""
    channel, _, user_id = (conversation_id or "").partition("-")
    return int(user_id) if channel == "telegram" and user_id.isdigit() else None


class Desk:
    def __init__(
        self,
        settings: Settings,
        application: Application,  # type: ignore[type-arg]
        send_to_citizen: SendToCitizen,
        *,
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        chat_id = settings.telegram.operators_chat_id
        assert chat_id is not None, "the transport only builds a desk when the chat is configured"
        self.chat_id: int = chat_id
        self.db = settings.database_url
        self.timezone = settings.city.timezone
        self.counties = list(settings.county_names.items())
        self.county_names = settings.county_names
        self.ctx = DeskContext(self.county_names, SlaClock(settings.sla))
        self._app = application
        self._send = send_to_citizen
        self._interval = interval

    @property
    def bot(self) -> Any:
        return self._app.bot

    def handlers(self) -> list[BaseHandler[Any, Any, Any]]:
        """Register these before the citizen handlers: the first match in a handler group wins."""
        group = filters.Chat(chat_id=self.chat_id)
        return [
            CallbackQueryHandler(self._on_button, pattern=r"^desk:"),
            CommandHandler("note", self._on_note, filters=group),
            CommandHandler("tickets", self._on_tickets, filters=group),
            CommandHandler("ticket", self._on_ticket, filters=group),
            CommandHandler("files", self._on_files, filters=group),
            MessageHandler(group & filters.REPLY & filters.TEXT & ~filters.COMMAND, self._on_reply),
            MessageHandler(group, self._ignore),
        ]

    async def run(self) -> None:
        await sync_loop(self, self._interval)

    # ---- rendering -------------------------------------------------------------------------------------

    def render(self, session: Session, ticket: Ticket) -> str:
        return render_card(
            ticket,
            county_names=self.county_names,
            timezone=self.timezone,
            assignee=service.assignee_name(session, ticket),
        )

    async def refresh_card(self, ticket_id: int, fallback: Message | None = None) -> None:
        """Edit the ticket's card to its current state (buttons disappear once it is no longer open)."""
        with session_scope(self.db) as session:
            ticket = session.get_one(Ticket, ticket_id)
            card = relay.card_of(session, ticket_id)
            text, markup = self.render(session, ticket), card_keyboard(ticket)
            target = (card.chat_id, card.message_id) if card else None
        if target is None and fallback is not None:
            target = (fallback.chat_id, fallback.message_id)
        if target is None:
            return
        try:
            await self.bot.edit_message_text(
                text, chat_id=target[0], message_id=target[1], reply_markup=markup
            )
        except BadRequest as exc:  # "message is not modified" and cards too old to edit
            log.info("card of ticket %s not edited: %s", ticket_id, exc)

    async def _edit_markup(self, message: Any, markup: InlineKeyboardMarkup | None) -> None:
        try:
            await self.bot.edit_message_reply_markup(
                chat_id=message.chat.id, message_id=message.message_id, reply_markup=markup
            )
        except BadRequest as exc:
            log.info("keyboard not edited: %s", exc)

    async def _say(self, text: str, reply_to: int | None = None, ticket_id: int | None = None) -> None:
        """Post in the group; mapped to the ticket when given, so operators can reply to it."""
        message = await self.bot.send_message(
            self.chat_id, text, reply_to_message_id=reply_to, allow_sending_without_reply=True
        )
        if ticket_id is not None:
            with session_scope(self.db) as session:
                relay.map_message(session, self.chat_id, message.message_id, ticket_id, "notice")

    # ---- citizen → group -------------------------------------------------------------------------------

    async def _post_for_citizen(self, number: str, text: str) -> None:
        """Post under the ticket's card; replying to the post answers the citizen."""
        with session_scope(self.db) as session:
            ticket = get_by_number(session, number)
            if ticket is None:
                log.warning("citizen message for unknown ticket %s dropped", number)
                return
            ticket_id = ticket.id
            card = relay.card_of(session, ticket_id)
            reply_to = card.message_id if card else None
        message = await self.bot.send_message(
            self.chat_id, text, reply_to_message_id=reply_to, allow_sending_without_reply=True
        )
        with session_scope(self.db) as session:
            relay.map_message(session, self.chat_id, message.message_id, ticket_id, "citizen")

    async def on_handoff_message(self, number: str, conversation_id: str, text: str) -> None:
        """Gateway sink: a citizen wrote while their ticket is with a human; post it under the card."""
        try:
            await self._post_for_citizen(
                number, strings.DESK_CITIZEN_MESSAGE.format(number=number, text=mask_pii(text))
            )
        except TelegramError:
            # The message stays in the message log (state forwarded, with its ticket id).
            log.exception("citizen message of ticket %s not relayed to the operators' group", number)

    async def on_handoff_attachment(
        self, number: str, conversation_id: str, attachment: Attachment, caption: str
    ) -> None:
        """Gateway sink: announce a citizen's file under the card; the file itself only via /files."""
        text = strings.DESK_CITIZEN_ATTACHMENT.format(
            number=number,
            kind=attachments.label(attachment.kind),
            caption=f"：{mask_pii(caption)}" if caption else "",
        )
        await self._post_for_citizen(number, text)

    def _command_ticket(
        self, session: Session, user_id: int, args: list[str], usage: str
    ) -> tuple[Operator, Ticket]:
        """The ticket a command names, if the operator may see it; else a DeskRefusal saying why."""
        operator = service.operator_for(session, user_id)
        ticket = get_by_number(session, args[0]) if args else None
        if ticket is None:
            raise DeskRefusal(strings.DESK_UNKNOWN_TICKET.format(number=args[0]) if args else usage)
        service.check_access(operator, ticket, self.ctx)
        return operator, ticket

    async def _on_files(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/files 工单号: the ticket's files, sent privately to an operator allowed to see the ticket."""
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None:
            return
        args = list(context.args or [])
        sources: list[tuple[int, int]] = []
        try:
            with session_scope(self.db) as session:
                operator, ticket = self._command_ticket(session, user.id, args, strings.DESK_FILES_USAGE)
                number = ticket.number
                for _, attachment in attachments.files_of(session, ticket.id):
                    chat, _, msg = str(attachment.get("source") or "").partition(":")
                    if chat.lstrip("-").isdigit() and msg.isdigit():
                        sources.append((int(chat), int(msg)))
                if not sources:
                    raise DeskRefusal(strings.DESK_FILES_NONE.format(number=number))
                record_event(
                    session,
                    ticket,
                    "files_viewed",
                    actor=f"operator:{operator.id}",
                    data={"count": len(sources)},
                )
        except DeskRefusal as refusal:
            await message.reply_text(str(refusal))
            return
        try:
            for source_chat, source_message in sources:
                await self.bot.copy_message(user.id, from_chat_id=source_chat, message_id=source_message)
        except Forbidden:  # the operator never opened a private chat with the bot
            await message.reply_text(strings.DESK_FILES_START_BOT.format(number=number))
            return
        await message.reply_text(strings.DESK_FILES_SENT.format(number=number, count=len(sources)))

    # ---- buttons ---------------------------------------------------------------------------------------

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        user = update.effective_user
        if query is None or user is None or query.data is None:
            return
        parsed = parse_callback(query.data)
        chat = query.message.chat.id if query.message is not None else None
        if parsed is None or chat != self.chat_id:
            await query.answer(strings.DESK_STALE_BUTTON, show_alert=True)
            return
        action, ticket_id, arg = parsed
        keyboard_only: InlineKeyboardMarkup | None = None
        answer, rating, notice = "", None, None
        try:
            with session_scope(self.db) as session:
                operator = service.operator_for(session, user.id)
                ticket = service.ticket_or_refuse(session, ticket_id)
                service.check_access(operator, ticket, self.ctx)
                number = ticket.number
                if action == "xfer":
                    service.ensure_open(ticket)
                    keyboard_only = transfer_keyboard(ticket, self.counties)
                elif action == "resolve":
                    service.ensure_open(ticket)
                    keyboard_only = confirm_resolve_keyboard(ticket)
                elif action == "back":
                    keyboard_only = card_keyboard(ticket) or InlineKeyboardMarkup([])
                elif action == "claim":
                    answer = service.claim(session, ticket, operator, self.ctx)
                elif action == "done":
                    message = service.resolve(session, ticket, operator, self.ctx)
                    answer = strings.DESK_RESOLVED.format(number=number)
                    target = citizen_chat(ticket.conversation_id)
                    if message is not None and target is not None:
                        rating = (target, Reply(message.text, rating_buttons(number)))
                        self._log_to_citizen(session, ticket, message.text)
                    elif target is None:
                        notice = strings.DESK_RESOLVED_UNREACHABLE.format(
                            number=number, operator=operator.name
                        )
                elif action == "to":
                    source = service.transfer(session, ticket, operator, arg, self.ctx)
                    answer = strings.DESK_TRANSFERRED.format(county=self.county_names[arg])
                    notice = strings.DESK_TRANSFER_NOTICE.format(
                        number=number,
                        operator=operator.name,
                        source=county_name(source, self.county_names),
                        target=self.county_names[arg],
                    )
                else:
                    raise DeskRefusal(strings.DESK_STALE_BUTTON)
        except DeskRefusal as refusal:
            await query.answer(str(refusal), show_alert=True)
            return
        await query.answer(answer or None)
        if keyboard_only is not None:
            await self._edit_markup(query.message, keyboard_only)
            return
        await self.refresh_card(
            ticket_id, fallback=query.message if isinstance(query.message, Message) else None
        )
        if rating is not None:
            try:
                await self._send(rating[0], [rating[1]])
            except TelegramError:  # the scheduler's single reminder will ask again
                log.exception("rating request for %s not delivered", number)
        if notice is not None:
            card = query.message.message_id if query.message is not None else None
            await self._say(notice, reply_to=card, ticket_id=ticket_id)

    @staticmethod
    def _log_to_citizen(session: Session, ticket: Ticket, text: str) -> None:
        citizen = session.get(Citizen, ticket.citizen_id) if ticket.citizen_id else None
        if citizen is not None:
            log_outbound(session, citizen, text).ticket_id = ticket.id

    # ---- replies: group → citizen ----------------------------------------------------------------------

    async def _on_reply(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None or not message.text or message.reply_to_message is None:
            return
        try:
            with session_scope(self.db) as session:
                ticket = relay.ticket_for_message(session, self.chat_id, message.reply_to_message.message_id)
                if ticket is None:
                    return  # operators talking among themselves
                ticket_id, number = ticket.id, ticket.number
                operator = service.operator_for(session, user.id)
                service.check_reply(ticket, operator, self.ctx)
                operator_id, target = operator.id, citizen_chat(ticket.conversation_id)
        except DeskRefusal as refusal:
            await message.reply_text(str(refusal))
            return
        if target is None:
            await message.reply_text(strings.DESK_CITIZEN_UNREACHABLE.format(number=number))
            return
        text = strings.DESK_TO_CITIZEN.format(text=message.text)
        try:
            await self._send(target, [Reply(text)])
        except TelegramError as exc:
            await message.reply_text(strings.DESK_SEND_FAILED.format(error=exc.message))
            return
        with session_scope(self.db) as session:
            ticket = session.get_one(Ticket, ticket_id)
            operator = session.get_one(Operator, operator_id)
            _, claimed = service.record_reply(session, ticket, operator, text, self.ctx)
            relay.map_message(session, self.chat_id, message.message_id, ticket_id, "operator")
        if claimed:
            await self.refresh_card(ticket_id)
        try:
            await self.bot.set_message_reaction(self.chat_id, message.message_id, "👍")
        except TelegramError:
            log.debug("reaction not set", exc_info=True)

    # ---- commands --------------------------------------------------------------------------------------

    async def _on_note(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None:
            return
        args = list(context.args or [])
        try:
            with session_scope(self.db) as session:
                operator = service.operator_for(session, user.id)
                ticket = get_by_number(session, args[0]) if args else None
                if ticket is not None:
                    args = args[1:]
                elif message.reply_to_message is not None:
                    ticket = relay.ticket_for_message(
                        session, self.chat_id, message.reply_to_message.message_id
                    )
                text = " ".join(args).strip()
                if ticket is None or not text:
                    raise DeskRefusal(strings.DESK_NOTE_USAGE)
                service.note(session, ticket, operator, text, self.ctx)
                answer = strings.DESK_NOTE_SAVED.format(number=ticket.number)
        except DeskRefusal as refusal:
            answer = str(refusal)
        await message.reply_text(answer)

    async def _on_tickets(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None:
            return
        try:
            with session_scope(self.db) as session:
                operator = service.operator_for(session, user.id)
                tickets = service.open_tickets_for(session, operator, limit=LIST_LIMIT + 1)
                text = render_list(tickets, county_names=self.county_names, limit=LIST_LIMIT)
        except DeskRefusal as refusal:
            text = str(refusal)
        await message.reply_text(text)

    async def _on_ticket(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None:
            return
        args = list(context.args or [])
        ticket_id = None
        try:
            with session_scope(self.db) as session:
                _, ticket = self._command_ticket(session, user.id, args, strings.DESK_TICKET_USAGE)
                events = ticket_history(session, ticket)[-HISTORY_LIMIT:]
                text = self.render(session, ticket) + "\n\n" + render_events(events, self.timezone)
                ticket_id = ticket.id
        except DeskRefusal as refusal:
            text = str(refusal)
        sent = await message.reply_text(text)
        if ticket_id is not None:  # replying to this view reaches the citizen too
            with session_scope(self.db) as session:
                relay.map_message(session, self.chat_id, sent.message_id, ticket_id, "view")

    async def _ignore(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        return None
