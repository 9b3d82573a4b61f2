"""python-telegram-bot handlers for the operators' group, and the desk's outgoing side.

In the group: buttons on cards (认领 / 办结 → 确认办结 / 转办 → county), replies to any mapped message
(card, relayed citizen message, notice, another operator's reply) are relayed to the citizen, and the
commands /note, /tickets, /ticket, /files. Everything else said in the group is ignored, so operators' own
chat never reaches the citizen dialog. Who may act is decided from the database (Operator.telegram_user_id,
role and counties), never from Telegram group membership.

In python-telegram-bot's own terms: one CallbackQueryHandler per button action (a strict pattern each), a
DeskRefusal raised anywhere in a handler is shown to the operator by `shows_refusals`, anything else goes to
the application's error handler, and the card sync is a repeating job on the application's JobQueue.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any, ParamSpec

from sqlalchemy.orm import Session, sessionmaker
from telegram import InlineKeyboardMarkup, Message, Update, User
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    JobQueue,
    MessageHandler,
    filters,
)

from bot import strings
from bot.desk import appointments as desk_appointments
from bot.desk import relay, service
from bot.desk.cards import (
    PREFIX,
    callback_pattern,
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
from bot.desk.sync import move_card, sync_once
from bot.gateway import Attachment
from bot.notify import rating_buttons
from bot.replies import Reply
from bot.textsplit import split_text
from hotline import attachments
from hotline.categories import label
from hotline.db.models import Citizen, Operator, Ticket
from hotline.followup.service import request_rating
from hotline.knowledge import proposals
from hotline.logging_setup import mask_pii
from hotline.messages import log_outbound
from hotline.settings import Settings, today_in
from hotline.sla.clock import SlaClock
from hotline.tickets import lifecycle
from hotline.tickets.access import Viewer
from hotline.tickets.queries import operator_names, ticket_history
from hotline.tickets.search import find_tickets, parse_words
from hotline.tickets.service import TicketError, get_by_number, record_event

log = logging.getLogger(__name__)

SendToCitizen = Callable[[int, list[Reply]], Awaitable[None]]
LIST_LIMIT = 30
SYNC_JOB = "desk-sync"
P = ParamSpec("P")
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def shows_refusals(
    handler: Callable[P, Coroutine[Any, Any, None]],
) -> Callable[P, Coroutine[Any, Any, None]]:
    """A DeskRefusal raised by the handler is shown to the operator who acted, as is: an alert on a
    button, a reply to a message. The database work it interrupted is rolled back by its session."""

    @functools.wraps(handler)
    async def showing(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            await handler(*args, **kwargs)
        except (DeskRefusal, TicketError) as refusal:  # TicketError: the lifecycle's Chinese reason
            update = next(a for a in args if isinstance(a, Update))
            if update.callback_query is not None:
                await update.callback_query.answer(str(refusal), show_alert=True)
            elif update.effective_message is not None:
                await update.effective_message.reply_text(str(refusal))

    return showing


def group_command(
    body: Callable[[Desk, Message, User, list[str]], Coroutine[Any, Any, None]],
) -> Callable[[Desk, Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    """A command in the operators' group, given its message, sender and arguments; refusals shown."""

    @functools.wraps(body)
    @shows_refusals
    async def on_command(desk: Desk, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        if message is not None and user is not None:
            await body(desk, message, user, list(context.args or []))

    return on_command


@dataclass(frozen=True)
class Pressed:
    """What a button did in the database, and what to tell Telegram afterwards."""

    answer: str = ""
    keyboard: InlineKeyboardMarkup | None = None  # set: only the card's buttons change
    rating: tuple[int, Reply] | None = None  # (citizen chat, rating request)
    notice: str | None = None  # posted under the card


# One button action: runs in the press's session, after the operator's access to the ticket is checked.
ButtonAction = Callable[[Session, Operator, Ticket, str], Pressed]


def citizen_chat(conversation_id: str | None) -> int | None:
    """`telegram-1001` → 1001; console and imported tickets cannot be reached from Telegram."""
    channel, _, user_id = (conversation_id or "").partition("-")
    return int(user_id) if channel == "telegram" and user_id.isdigit() else None


class Desk:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        application: Application,  # type: ignore[type-arg]
        send_to_citizen: SendToCitizen,
    ) -> None:
        chat_id = settings.telegram.operators_chat_id
        assert chat_id is not None, "the transport only builds a desk when the chat is configured"
        self.chat_id: int = chat_id  # the shared group: city-wide, and every county without its own desk
        self.county_chats = dict(settings.telegram.county_chats)
        self.chats = sorted({chat_id, *self.county_chats.values()})
        self.sessions = sessions
        self.timezone = settings.city.timezone
        self.counties = list(settings.county_names.items())
        self.county_names = settings.county_names
        self.county_specs = list(settings.counties)
        self.settings = settings
        self.ctx = DeskContext(self.county_names, SlaClock(settings.sla))
        self.urgent_claim_minutes = f"{settings.sla.urgent_claim_minutes:g}"
        self.cards_per_tick = settings.telegram.desk_cards_per_tick
        self._sync_seconds = settings.telegram.desk_sync_seconds
        self._settings = settings  # knowledge.review_days and the city's day for /kb_approve
        self._app = application
        self._send = send_to_citizen

    @property
    def bot(self) -> Any:
        return self._app.bot

    # ---- county desks (telegram.county_chats) ----------------------------------------------------------

    def chat_for(self, county_code: str | None) -> int:
        """The group where a ticket of this county is worked: its county desk, else the shared group."""
        return self.county_chats.get(county_code or "", self.chat_id)

    def ctx_for(self, chat_id: int) -> DeskContext:
        """Access from this group: a county desk acts on its counties' tickets only, the shared one on all."""
        if chat_id == self.chat_id:
            return self.ctx
        desk = tuple(code for code, chat in self.county_chats.items() if chat == chat_id)
        return replace(self.ctx, desk_counties=desk)

    def handlers(self) -> list[BaseHandler[Any, Any, Any]]:
        """Register these before the citizen handlers: the first match in a handler group wins."""
        group = filters.Chat(chat_id=self.chats)
        # Callback data is `desk:<action>:<ticket id>`; only "to" carries an argument (the county code).
        actions: dict[str, ButtonAction] = {
            "claim": self._claim,
            "resolve": self._confirm_resolve,
            "done": self._resolve,
            "xfer": self._choose_county,
            "to": self._transfer,
            "back": self._back,
        }
        return [
            *(
                CallbackQueryHandler(self._button(act), pattern=callback_pattern(name, with_arg=name == "to"))
                for name, act in actions.items()
            ),
            CallbackQueryHandler(self._stale_button, pattern=rf"^{PREFIX}:"),  # forged or from old code
            CommandHandler("note", self._on_note, filters=group),
            CommandHandler("tickets", self._on_tickets, filters=group),
            CommandHandler("ticket", self._on_ticket, filters=group),
            CommandHandler("files", self._on_files, filters=group),
            CommandHandler("wait", self._on_wait, filters=group),
            CommandHandler("close", self._on_close, filters=group),
            CommandHandler("reopen", self._on_reopen, filters=group),
            CommandHandler("cancel", self._on_cancel, filters=group),
            CommandHandler("refer", self._on_refer, filters=group),
            CommandHandler("unclaim", self._on_unclaim, filters=group),
            CommandHandler("assign", self._on_assign, filters=group),
            CommandHandler("county", self._on_county, filters=group),
            CommandHandler("category", self._on_category, filters=group),
            CommandHandler("find", self._on_find, filters=group),
            CommandHandler("appointments", self._on_appointments, filters=group),
            CommandHandler("noshow", self._on_noshow, filters=group),
            CommandHandler("kb_propose", self._on_kb_propose, filters=group),
            CommandHandler("kb_pending", self._on_kb_pending, filters=group),
            CommandHandler("kb_approve", self._on_kb_approve, filters=group),
            CommandHandler("kb_reject", self._on_kb_reject, filters=group),
            MessageHandler(group & filters.REPLY & filters.TEXT & ~filters.COMMAND, self._on_reply),
            MessageHandler(group, self._ignore),
        ]

    def schedule(self, jobs: JobQueue[Any]) -> None:
        """Post cards now and every `desk_sync_seconds`; a failed tick goes to the error handler."""
        jobs.run_repeating(self._sync_tick, interval=self._sync_seconds, first=0, name=SYNC_JOB)

    async def _sync_tick(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        await sync_once(self)

    # ---- rendering -------------------------------------------------------------------------------------

    def render(self, session: Session, ticket: Ticket) -> str:
        return render_card(
            ticket,
            county_names=self.county_names,
            timezone=self.timezone,
            assignee=service.assignee_name(session, ticket),
        )

    async def refresh_card(self, ticket_id: int, fallback: Message | None = None) -> None:
        """Edit the ticket's card to its current state (buttons disappear once it is no longer open); a
        ticket now of another county desk gets its card there instead (sync.move_card)."""
        if await move_card(self, ticket_id):
            return
        with self.sessions.begin() as session:
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

    def where(self, session: Session, ticket: Ticket) -> tuple[int, int | None]:
        """(group, card message) for posts about a ticket: under its card, else in its county's group."""
        card = relay.card_of(session, ticket.id)
        return (card.chat_id, card.message_id) if card else (self.chat_for(ticket.county_code), None)

    async def _say(self, text: str, ticket_id: int, kind: str = "notice") -> None:
        """Post under the ticket's card, mapped to the ticket so operators can reply to it."""
        with self.sessions.begin() as session:
            chat, reply_to = self.where(session, session.get_one(Ticket, ticket_id))
        message = await self.bot.send_message(
            chat, text, reply_to_message_id=reply_to, allow_sending_without_reply=True
        )
        with self.sessions.begin() as session:
            relay.map_message(session, chat, message.message_id, ticket_id, kind)

    # ---- citizen → group -------------------------------------------------------------------------------

    async def _post_for_citizen(self, number: str, text: str) -> None:
        """Post under the ticket's card; replying to the post answers the citizen."""
        with self.sessions.begin() as session:
            ticket = get_by_number(session, number)
            if ticket is None:
                log.warning("citizen message for unknown ticket %s dropped", number)
                return
            ticket_id = ticket.id
        await self._say(text, ticket_id, "citizen")

    async def on_citizen_message(self, number: str, text: str) -> None:
        """After a citizen's handoff message reached the group: a ticket waiting for them resumes (SLA clock
        runs again) and a county-less one gets the county they name (lifecycle.citizen_replied); the group
        is told under the card and the card refreshed. To be called by the handoff sink after posting."""
        with self.sessions.begin() as session:
            ticket = get_by_number(session, number)
            if ticket is None:
                return
            reply = lifecycle.citizen_replied(
                session, ticket, text, counties=self.county_specs, sla=self.ctx.sla
            )
            # the gateway's "返回机器人" (Gateway._leave_handoff): the ticket stays here, the bot answers
            left = text == strings.LEAVE_HANDOFF_BUTTON and not ticket.handoff_requested
            ticket_id = ticket.id
        notices = [strings.DESK_CITIZEN_LEFT_HANDOFF.format(number=number)] if left else []
        if reply.resumed:
            notices.append(strings.DESK_RESUMED_NOTICE.format(number=number))
        if reply.county is not None:
            county = self.county_names[reply.county]
            notices.append(strings.DESK_COUNTY_FROM_CITIZEN.format(number=number, county=county))
        if not notices:
            return
        await self.refresh_card(ticket_id)  # first: a county named by the citizen may move the card
        for notice in notices:
            await self._say(notice, ticket_id)

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
        self, session: Session, message: Message, user_id: int, args: list[str], usage: str
    ) -> tuple[Operator, Ticket]:
        """The ticket a command names, if the operator may see it (from this group); else a DeskRefusal."""
        operator = service.operator_for(session, user_id)
        ticket = get_by_number(session, args[0]) if args else None
        if ticket is None:
            raise DeskRefusal(strings.DESK_UNKNOWN_TICKET.format(number=args[0]) if args else usage)
        service.check_access(operator, ticket, self.ctx_for(message.chat_id))
        return operator, ticket

    @group_command
    async def _on_files(self, message: Message, user: User, args: list[str]) -> None:
        """/files 工单号: the ticket's files, sent privately to an operator allowed to see the ticket."""
        sources: list[tuple[int, int]] = []
        with self.sessions.begin() as session:
            operator, ticket = self._command_ticket(session, message, user.id, args, strings.DESK_FILES_USAGE)
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
        try:
            for source_chat, source_message in sources:
                await self.bot.copy_message(user.id, from_chat_id=source_chat, message_id=source_message)
        except Forbidden:  # the operator never opened a private chat with the bot
            await message.reply_text(strings.DESK_FILES_START_BOT.format(number=number))
            return
        await message.reply_text(strings.DESK_FILES_SENT.format(number=number, count=len(sources)))

    # ---- buttons ---------------------------------------------------------------------------------------

    def _button(self, action: ButtonAction) -> Handler:
        """The handler of one button action: who pressed, on which ticket, then the action, then Telegram."""

        @shows_refusals
        async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            query = update.callback_query
            user = update.effective_user
            if query is None or user is None or query.data is None:
                return
            parsed = parse_callback(query.data)  # always parses: the handler's pattern matched
            chat = query.message.chat.id if query.message is not None else None
            if parsed is None or chat not in self.chats:
                raise DeskRefusal(strings.DESK_STALE_BUTTON)
            _, ticket_id, arg = parsed
            with self.sessions.begin() as session:
                operator = service.operator_for(session, user.id)
                ticket = service.ticket_or_refuse(session, ticket_id)
                service.check_access(operator, ticket, self.ctx_for(chat))
                number = ticket.number
                pressed = action(session, operator, ticket, arg)
            await query.answer(pressed.answer or None)
            if pressed.keyboard is not None:
                await self._edit_markup(query.message, pressed.keyboard)
                return
            await self.refresh_card(
                ticket_id, fallback=query.message if isinstance(query.message, Message) else None
            )
            if pressed.rating is not None:
                target, request = pressed.rating
                try:
                    await self._send(target, [request])
                except TelegramError:  # the scheduler's single reminder will ask again
                    log.exception("rating request for %s not delivered", number)
            if pressed.notice is not None:
                await self._say(pressed.notice, ticket_id)

        return on_press

    async def _stale_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            await update.callback_query.answer(strings.DESK_STALE_BUTTON, show_alert=True)

    def _choose_county(self, session: Session, operator: Operator, ticket: Ticket, arg: str) -> Pressed:
        """转办: the card's buttons become the other counties."""
        service.ensure_open(ticket)
        return Pressed(keyboard=transfer_keyboard(ticket, self.counties))

    def _confirm_resolve(self, session: Session, operator: Operator, ticket: Ticket, arg: str) -> Pressed:
        """办结: asks for confirmation first (确认办结 / 返回)."""
        service.ensure_open(ticket)
        return Pressed(keyboard=confirm_resolve_keyboard(ticket))

    def _back(self, session: Session, operator: Operator, ticket: Ticket, arg: str) -> Pressed:
        return Pressed(keyboard=card_keyboard(ticket) or InlineKeyboardMarkup([]))

    def _claim(self, session: Session, operator: Operator, ticket: Ticket, arg: str) -> Pressed:
        return Pressed(answer=service.claim(session, ticket, operator, self.ctx))

    def _resolve(self, session: Session, operator: Operator, ticket: Ticket, arg: str) -> Pressed:
        """确认办结: resolved; the citizen is asked for a rating, or the group told they cannot be reached."""
        message = service.resolve(session, ticket, operator, self.ctx)
        number = ticket.number
        answer = strings.DESK_RESOLVED.format(number=number)
        target = citizen_chat(ticket.conversation_id)
        if message is not None and target is not None:
            self._log_to_citizen(session, ticket, message.text)
            return Pressed(answer=answer, rating=(target, Reply(message.text, rating_buttons(number))))
        if target is None:
            notice = strings.DESK_RESOLVED_UNREACHABLE.format(number=number, operator=operator.name)
            return Pressed(answer=answer, notice=notice)
        return Pressed(answer=answer)

    def _transfer(self, session: Session, operator: Operator, ticket: Ticket, county: str) -> Pressed:
        """转办 → a county: the ticket goes there, unassigned; the group is told under the card."""
        source = service.transfer(session, ticket, operator, county, self.ctx)
        target = self.county_names[county]
        notice = strings.DESK_TRANSFER_NOTICE.format(
            number=ticket.number,
            operator=operator.name,
            source=county_name(source, self.county_names),
            target=target,
        )
        return Pressed(answer=strings.DESK_TRANSFERRED.format(county=target), notice=notice)

    @staticmethod
    def _log_to_citizen(session: Session, ticket: Ticket, text: str) -> None:
        citizen = session.get(Citizen, ticket.citizen_id) if ticket.citizen_id else None
        if citizen is not None:
            log_outbound(session, citizen, text).ticket_id = ticket.id

    # ---- replies: group → citizen ----------------------------------------------------------------------

    @shows_refusals
    async def _on_reply(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None or not message.text or message.reply_to_message is None:
            return
        chat = message.chat_id
        with self.sessions.begin() as session:
            ticket = relay.ticket_for_message(session, chat, message.reply_to_message.message_id)
            if ticket is None:
                return  # operators talking among themselves
            ticket_id, number = ticket.id, ticket.number
            operator = service.operator_for(session, user.id)
            service.check_reply(ticket, operator, self.ctx_for(chat))
            operator_id, target = operator.id, citizen_chat(ticket.conversation_id)
        if target is None:
            await message.reply_text(strings.DESK_CITIZEN_UNREACHABLE.format(number=number))
            return
        text = strings.DESK_TO_CITIZEN.format(text=message.text)
        try:
            await self._send(target, [Reply(text)])
        except TelegramError as exc:
            await message.reply_text(strings.DESK_SEND_FAILED.format(error=exc.message))
            return
        with self.sessions.begin() as session:
            ticket = session.get_one(Ticket, ticket_id)
            operator = session.get_one(Operator, operator_id)
            _, claimed = service.record_reply(session, ticket, operator, text, self.ctx)
            relay.map_message(session, chat, message.message_id, ticket_id, "operator")
        if claimed:
            await self.refresh_card(ticket_id)
        try:
            await self.bot.set_message_reaction(chat, message.message_id, "👍")
        except TelegramError:
            log.debug("reaction not set", exc_info=True)

    # ---- commands --------------------------------------------------------------------------------------

    @group_command
    async def _on_note(self, message: Message, user: User, args: list[str]) -> None:
        """/note 工单号 文字, or /note 文字 in reply to a ticket's message: an internal note (audit only)."""
        with self.sessions.begin() as session:
            operator = service.operator_for(session, user.id)
            ticket = get_by_number(session, args[0]) if args else None
            if ticket is not None:
                args = args[1:]
            elif message.reply_to_message is not None:
                ticket = relay.ticket_for_message(
                    session, message.chat_id, message.reply_to_message.message_id
                )
            text = " ".join(args).strip()
            if ticket is None or not text:
                raise DeskRefusal(strings.DESK_NOTE_USAGE)
            service.note(session, ticket, operator, text, self.ctx_for(message.chat_id))
            number = ticket.number
        await message.reply_text(strings.DESK_NOTE_SAVED.format(number=number))

    @group_command
    async def _on_tickets(self, message: Message, user: User, args: list[str]) -> None:
        """/tickets: the open tickets this operator may handle, urgent first."""
        with self.sessions.begin() as session:
            operator = service.operator_for(session, user.id)
            tickets = service.open_tickets_for(
                session, operator, limit=LIST_LIMIT + 1, ctx=self.ctx_for(message.chat_id)
            )
            text = render_list(tickets, county_names=self.county_names, limit=LIST_LIMIT)
        await message.reply_text(text)

    @group_command
    async def _on_ticket(self, message: Message, user: User, args: list[str]) -> None:
        """/ticket 工单号: the card and its whole history; replying to this view reaches the citizen."""
        with self.sessions.begin() as session:
            _, ticket = self._command_ticket(session, message, user.id, args, strings.DESK_TICKET_USAGE)
            events = ticket_history(session, ticket)
            history = render_events(
                events,
                self.timezone,
                self.county_names,
                {**strings.DESK_ACTORS, **operator_names(session, events)},
            )
            text = self.render(session, ticket) + "\n\n" + history
            ticket_id = ticket.id
        for part in split_text(text):  # the whole history; long ones in several messages
            sent = await message.reply_text(part)
            with self.sessions.begin() as session:
                relay.map_message(session, message.chat_id, sent.message_id, ticket_id, "view")

    # ---- lifecycle commands (hotline.tickets.lifecycle; refusals are its Chinese reasons) ----------------

    def _named_ticket(
        self,
        session: Session,
        user_id: int,
        message: Message,
        args: list[str],
        usage: str,
        *,
        check: bool = True,
    ) -> tuple[Operator, Ticket, list[str]]:
        """The ticket named first in the arguments, or the one whose message this replies to; the rest of
        the arguments. With `check`, only if the operator may see it (everything but /county)."""
        operator = service.operator_for(session, user_id)
        ticket = get_by_number(session, args[0]) if args else None
        rest = args[1:]
        if ticket is None and message.reply_to_message is not None:
            ticket = relay.ticket_for_message(session, message.chat_id, message.reply_to_message.message_id)
            rest = args
        if ticket is None:
            looks_numbered = bool(args) and "-" in args[0]
            raise DeskRefusal(strings.DESK_UNKNOWN_TICKET.format(number=args[0]) if looks_numbered else usage)
        if check:
            service.check_access(operator, ticket, self.ctx_for(message.chat_id))
        return operator, ticket, rest

    async def _after(self, message: Message, ticket_id: int, text: str) -> None:
        """Confirm in the group, then bring the ticket's card up to date (buttons follow the status)."""
        await message.reply_text(text)
        await self.refresh_card(ticket_id)

    async def _tell_citizen(self, ticket_id: int, text: str, buttons: Any = None) -> bool:
        """Send to the ticket's citizen and log it; False when they cannot be reached through Telegram."""
        with self.sessions.begin() as session:
            ticket = session.get_one(Ticket, ticket_id)
            target = citizen_chat(ticket.conversation_id)
        if target is None:
            return False
        try:
            await self._send(target, [Reply(text, buttons) if buttons is not None else Reply(text)])
        except TelegramError:
            log.exception("message to the citizen of ticket %s not delivered", ticket_id)
            return False
        with self.sessions.begin() as session:
            self._log_to_citizen(session, session.get_one(Ticket, ticket_id), text)
        return True

    @group_command
    async def _on_wait(self, message: Message, user: User, args: list[str]) -> None:
        """/wait 工单号 [说明]: waiting for the citizen, SLA clock paused until they write again."""
        with self.sessions.begin() as session:
            operator, ticket, rest = self._named_ticket(
                session, user.id, message, args, strings.DESK_WAIT_USAGE
            )
            lifecycle.wait_for_citizen(
                session, ticket, operator, self.county_names, note=" ".join(rest), sla=self.ctx.sla
            )
            ticket_id, number = ticket.id, ticket.number
        await self._after(message, ticket_id, strings.DESK_WAITING.format(number=number))

    @group_command
    async def _on_close(self, message: Message, user: User, args: list[str]) -> None:
        """/close 工单号 结果 [说明]: closed with an outcome; an open ticket is resolved first and the
        citizen asked for a rating, as 办结 does."""
        usage = strings.DESK_CLOSE_USAGE.format(choices="、".join(lifecycle.data().outcomes.values()))
        with self.sessions.begin() as session:
            operator, ticket, rest = self._named_ticket(session, user.id, message, args, usage)
            if not rest:
                raise DeskRefusal(usage)
            resolved_now = lifecycle.close(
                session,
                ticket,
                operator,
                rest[0],
                self.county_names,
                note=" ".join(rest[1:]),
                sla=self.ctx.sla,
            )
            outcome = lifecycle.data().outcomes[lifecycle.outcome_code(rest[0])]
            rating = request_rating(session, ticket) if resolved_now and ticket.conversation_id else None
            ticket_id, number = ticket.id, ticket.number
        asked = rating is not None and await self._tell_citizen(
            ticket_id, rating.text, rating_buttons(number)
        )
        done = strings.DESK_CLOSED_RATING if asked else strings.DESK_CLOSED
        await self._after(message, ticket_id, done.format(number=number, outcome=outcome))

    @group_command
    async def _on_reopen(self, message: Message, user: User, args: list[str]) -> None:
        """/reopen 工单号 [原因]: back to work; the card gets its buttons again."""
        with self.sessions.begin() as session:
            operator, ticket, rest = self._named_ticket(
                session, user.id, message, args, strings.DESK_REOPEN_USAGE
            )
            lifecycle.reopen(
                session, ticket, operator, self.county_names, note=" ".join(rest), sla=self.ctx.sla
            )
            ticket_id, number = ticket.id, ticket.number
        await self._after(message, ticket_id, strings.DESK_REOPENED.format(number=number))

    @group_command
    async def _on_cancel(self, message: Message, user: User, args: list[str]) -> None:
        """/cancel 工单号 原因: duplicate, spam… (left out of the reports)."""
        usage = strings.DESK_CANCEL_USAGE.format(choices="、".join(lifecycle.data().cancel_reasons.values()))
        with self.sessions.begin() as session:
            operator, ticket, rest = self._named_ticket(session, user.id, message, args, usage)
            if not rest:
                raise DeskRefusal(usage)
            reason = lifecycle.cancel(
                session, ticket, operator, " ".join(rest), self.county_names, sla=self.ctx.sla
            )
            ticket_id, number = ticket.id, ticket.number
        await self._after(message, ticket_id, strings.DESK_CANCELLED.format(number=number, reason=reason))

    @group_command
    async def _on_refer(self, message: Message, user: User, args: list[str]) -> None:
        """/refer 工单号 部门: referred to another agency; the citizen gets the referral message."""
        agencies = "、".join(a.name for a in lifecycle.data().agencies.values())
        usage = strings.DESK_REFER_USAGE.format(choices=agencies)
        with self.sessions.begin() as session:
            operator, ticket, rest = self._named_ticket(session, user.id, message, args, usage)
            if not rest:
                raise DeskRefusal(usage)
            agency, text = lifecycle.refer(
                session, ticket, operator, " ".join(rest), self.county_names, sla=self.ctx.sla
            )
            ticket_id, number = ticket.id, ticket.number
        told = await self._tell_citizen(ticket_id, text)
        done = strings.DESK_REFERRED if told else strings.DESK_REFERRED_UNREACHABLE
        await self._after(message, ticket_id, done.format(number=number, agency=agency, message=text))

    @group_command
    async def _on_unclaim(self, message: Message, user: User, args: list[str]) -> None:
        """/unclaim 工单号: the holder (or a supervisor) gives the ticket back to the county's queue."""
        with self.sessions.begin() as session:
            operator, ticket, _ = self._named_ticket(
                session, user.id, message, args, strings.DESK_UNCLAIM_USAGE
            )
            lifecycle.unclaim(session, ticket, operator, self.county_names, sla=self.ctx.sla)
            ticket_id, number = ticket.id, ticket.number
        await self._after(message, ticket_id, strings.DESK_UNCLAIMED.format(number=number))

    @group_command
    async def _on_assign(self, message: Message, user: User, args: list[str]) -> None:
        """/assign 工单号 姓名|#编号: reassigned to an operator who may handle the ticket's county."""
        with self.sessions.begin() as session:
            operator, ticket, rest = self._named_ticket(
                session, user.id, message, args, strings.DESK_ASSIGN_USAGE
            )
            if not rest:
                raise DeskRefusal(strings.DESK_ASSIGN_USAGE)
            target = lifecycle.find_operator(session, " ".join(rest))
            lifecycle.reassign(session, ticket, operator, target, self.county_names, sla=self.ctx.sla)
            ticket_id, number, name = ticket.id, ticket.number, target.name
        await self._after(message, ticket_id, strings.DESK_ASSIGNED.format(number=number, name=name))

    @group_command
    async def _on_county(self, message: Message, user: User, args: list[str]) -> None:
        """/county 工单号 县区: sets the county of a county-less ticket (or moves a visible one)."""
        with self.sessions.begin() as session:
            operator, ticket, rest = self._named_ticket(
                session, user.id, message, args, strings.DESK_COUNTY_USAGE, check=False
            )
            found = next(
                (c for c in self.county_specs if rest and " ".join(rest) in (c.code, c.name, *c.aliases)),
                None,
            )
            if found is None:
                raise DeskRefusal(strings.DESK_COUNTY_USAGE)
            desk = self.ctx_for(message.chat_id)
            if ticket.county_code:
                service.check_access(operator, ticket, desk)
            elif desk.desk_counties is not None and found.code not in desk.desk_counties:
                raise DeskRefusal(strings.DESK_OTHER_DESK.format(number=ticket.number, county=found.name))
            lifecycle.set_county(session, ticket, operator, found.code, self.county_names)
            ticket_id, number = ticket.id, ticket.number
        await self._after(
            message, ticket_id, strings.DESK_COUNTY_SET.format(number=number, county=found.name)
        )

    @group_command
    async def _on_category(self, message: Message, user: User, args: list[str]) -> None:
        """/category 工单号 类别: corrects the category (audited); the citizen's words go to the NLU inbox."""
        with self.sessions.begin() as session:
            operator, ticket, rest = self._named_ticket(
                session, user.id, message, args, strings.DESK_CATEGORY_USAGE, check=False
            )
            if not rest:
                raise DeskRefusal(strings.DESK_CATEGORY_USAGE)
            previous = lifecycle.set_category(session, ticket, operator, " ".join(rest), self.county_names)
            ticket_id, number, now = ticket.id, ticket.number, ticket.category
        await self._after(
            message,
            ticket_id,
            strings.DESK_CATEGORY_SET.format(number=number, category=label(now), previous=label(previous)),
        )

    @group_command
    async def _on_find(self, message: Message, user: User, args: list[str]) -> None:
        """/find 条件…: search among the tickets this operator may see."""
        criteria = parse_words(args, self.county_specs)
        if criteria.empty:
            raise DeskRefusal(strings.DESK_FIND_USAGE)
        with self.sessions.begin() as session:
            operator = service.operator_for(session, user.id)
            found = find_tickets(
                session,
                criteria,
                viewer=self.ctx_for(message.chat_id).viewer(operator),
                timezone=self.timezone,
                limit=LIST_LIMIT + 1,
            )
            text = render_list(
                found,
                county_names=self.county_names,
                limit=LIST_LIMIT,
                header=strings.DESK_FIND_HEADER,
                empty=strings.DESK_FIND_NONE,
            )
        await message.reply_text(text)

    @group_command
    async def _on_appointments(self, message: Message, user: User, args: list[str]) -> None:
        """/appointments [县区] [日期]: the day's appointments per centre the operator may see."""
        with self.sessions.begin() as session:
            text = desk_appointments.day(session, self.settings, service.operator_for(session, user.id), args)
        for piece in split_text(text):
            await message.reply_text(piece)

    @group_command
    async def _on_noshow(self, message: Message, user: User, args: list[str]) -> None:
        """/noshow 编号: the citizen did not come (audited on the ticket)."""
        with self.sessions.begin() as session:
            text = desk_appointments.no_show(
                session, self.settings, service.operator_for(session, user.id), args
            )
        await message.reply_text(text)

    # ---- knowledge-base proposals (hotline.knowledge.proposals; refusals are its Chinese reasons) ---------

    @group_command
    async def _on_kb_propose(self, message: Message, user: User, args: list[str]) -> None:
        """/kb_propose 工单号 问法；问法 | 答案 | 条文 [| 详细说明]: an entry from a ticket's answer."""
        if len(args) < 2:
            raise DeskRefusal(strings.DESK_KB_PROPOSE_USAGE)
        draft = proposals.parse_draft(" ".join(args[1:]))
        with self.sessions.begin() as session:
            operator, ticket = self._command_ticket(
                session, message, user.id, args, strings.DESK_KB_PROPOSE_USAGE
            )
            proposal = proposals.propose(session, ticket, operator, draft, self.county_names)
            done = strings.DESK_KB_PROPOSED.format(id=proposal.id, number=ticket.number)
        await message.reply_text(done)

    @group_command
    async def _on_kb_pending(self, message: Message, user: User, args: list[str]) -> None:
        """/kb_pending: the proposals waiting for a supervisor, oldest first (supervisors only)."""
        from hotline.reports.texts import category_label

        with self.sessions.begin() as session:
            operator = service.operator_for(session, user.id)
            proposals.require_supervisor(operator)
            waiting = proposals.pending(session, Viewer.of(operator), limit=LIST_LIMIT)
            lines = [
                strings.DESK_KB_PENDING_LINE.format(
                    id=p.id,
                    category=category_label(p.category),
                    number=t.number,
                    proposer=proposer.name,
                    questions="；".join(p.questions),
                    answer=p.answer,
                    articles=proposals.citations(p) or strings.DESK_KB_NO_ARTICLES,
                )
                for p, t, proposer in waiting
            ]
        if not lines:
            await message.reply_text(strings.DESK_KB_PENDING_NONE)
            return
        text = "\n\n".join(
            [strings.DESK_KB_PENDING_HEADER.format(count=len(lines)), *lines, strings.DESK_KB_PENDING_HINT]
        )
        for part in split_text(text):
            await message.reply_text(part)

    @group_command
    async def _on_kb_approve(self, message: Message, user: User, args: list[str]) -> None:
        """/kb_approve 编号 [备注]: the entry is served from now on, checked by this supervisor."""
        if not args or not args[0].lstrip("#").isdigit():
            raise DeskRefusal(strings.DESK_KB_APPROVE_USAGE)
        with self.sessions.begin() as session:
            operator = service.operator_for(session, user.id)
            proposal = proposals.approve(
                session,
                int(args[0].lstrip("#")),
                operator,
                self.county_names,
                review_days=self._settings.knowledge.review_days,
                today=today_in(self._settings),
                note=" ".join(args[1:]),
            )
            done = strings.DESK_KB_APPROVED.format(
                id=proposal.id, entry=proposal.entry_id, due=proposal.review_due
            )
        await message.reply_text(done)

    @group_command
    async def _on_kb_reject(self, message: Message, user: User, args: list[str]) -> None:
        """/kb_reject 编号 理由: sent back with the reason (audited on the source ticket)."""
        if len(args) < 2 or not args[0].lstrip("#").isdigit():
            raise DeskRefusal(strings.DESK_KB_REJECT_USAGE)
        with self.sessions.begin() as session:
            operator = service.operator_for(session, user.id)
            reason = " ".join(args[1:])
            proposal = proposals.reject(
                session, int(args[0].lstrip("#")), operator, reason, self.county_names
            )
            done = strings.DESK_KB_REJECTED.format(id=proposal.id, reason=proposal.decision_note)
        await message.reply_text(done)

    async def _ignore(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        return None
