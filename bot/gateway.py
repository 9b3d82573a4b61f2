"""Transport-independent gateway: persist → dialog engine → replies → persist.

Order of operations is the guarantee: the inbound message is committed before the engine sees it, and
it only leaves the RECEIVED/RETRY states once the engine has answered (or a human has it). A citizen's
messages are processed strictly in arrival order, one at a time, so a retried old message can never
overtake a newer one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot import strings
from bot.engine import DialogEngine, EngineUnavailable
from bot.notify import parse_rating
from bot.replies import Reply, from_rasa
from hotline import attachments
from hotline.db.models import Citizen, MessageLog, MessageState
from hotline.db.session import session_scope
from hotline.followup.service import FollowupError, record_rating
from hotline.messages import (
    PENDING,
    active_handoff_ticket,
    citizens_with_retries,
    get_or_create_citizen,
    log_inbound,
    log_outbound,
    mark,
    pending_for,
)
from hotline.tickets.service import get_by_number

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    """A file the citizen sent (no content, only what is needed to fetch or forward it later)."""

    kind: str  # photo, document, voice, … (hotline.attachments.KIND_LABELS)
    file_id: str | None = None
    file_name: str | None = None
    mime_type: str | None = None
    size: int | None = None
    source: str | None = None  # transport's address of the original message, e.g. "chat:message_id"

    def as_payload(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Inbound:
    channel: str
    user_id: str
    message_id: str | None
    text: str  # for an attachment: its caption, possibly empty
    button_payload: str | None = None
    display_name: str | None = None
    attachment: Attachment | None = None


@dataclass(frozen=True)
class _Pending:
    id: int
    engine_text: str
    attempts: int


Deliver = Callable[[str, list[Reply]], Awaitable[None]]
HandoffSink = Callable[[str, str, str], Awaitable[None]]  # (ticket number, conversation id, text)
# (ticket number, conversation id, the file, its caption)
AttachmentSink = Callable[[str, str, Attachment, str], Awaitable[None]]


class Gateway:
    def __init__(
        self,
        engine: DialogEngine,
        database_url: str,
        *,
        max_attempts: int = 20,
        on_handoff_message: HandoffSink | None = None,
        low_rating_max: int = 2,
        on_handoff_attachment: AttachmentSink | None = None,
    ) -> None:
        self._engine = engine
        self._db = database_url
        self._max_attempts = max_attempts
        self._on_handoff_message = on_handoff_message
        self._low_rating_max = low_rating_max
        self._on_handoff_attachment = on_handoff_attachment
        self._locks: dict[int, asyncio.Lock] = {}

    def set_handoff_sink(self, sink: HandoffSink | None) -> None:
        """Where messages of tickets in human handoff go; the Telegram transport wires its operator desk."""
        self._on_handoff_message = sink

    def set_attachment_sink(self, sink: AttachmentSink | None) -> None:
        """Who hears of files of tickets in human handoff (the operators' desk announces them)."""
        self._on_handoff_attachment = sink

    def _lock(self, citizen_id: int) -> asyncio.Lock:
        return self._locks.setdefault(citizen_id, asyncio.Lock())

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Persist one inbound message, then answer everything this citizen has pending."""
        with session_scope(self._db) as session:
            citizen = get_or_create_citizen(session, inbound.channel, inbound.user_id, inbound.display_name)
            payload: dict[str, Any] | None = None
            if inbound.button_payload:
                payload = {"button": inbound.button_payload}
            elif inbound.attachment is not None:
                payload = {"attachment": inbound.attachment.as_payload()}
            message, new = log_inbound(
                session,
                citizen,
                external_message_id=inbound.message_id,
                text=inbound.text,
                payload=payload,
            )
            citizen_id, duplicate_done = citizen.id, (not new and message.state not in PENDING)
            message_id = message.id
        if duplicate_done:
            log.info("duplicate delivery of message %s ignored", inbound.message_id)
            return []
        rating = parse_rating(inbound.button_payload)
        if rating is not None:
            return await self._rate(message_id, citizen_id, *rating)
        async with self._lock(citizen_id):
            first = await self._file(message_id, inbound.attachment) if inbound.attachment else []
            replies, _ = await self._drain(citizen_id)
        return first + replies

    async def retry_pending(self, deliver: Deliver) -> int:
        """Re-send queued messages of every citizen; deliver answers through the transport."""
        with session_scope(self._db) as session:
            citizen_ids = citizens_with_retries(session, self._max_attempts)
        answered = 0
        for citizen_id in citizen_ids:
            async with self._lock(citizen_id):
                replies, engine_answered = await self._drain(citizen_id, quiet_when_down=True)
            if engine_answered and replies:
                with session_scope(self._db) as session:
                    user_id = _external_id(session, citizen_id)
                await deliver(user_id, [Reply(strings.ENGINE_BACK), *replies])
                answered += 1
        return answered

    async def _drain(self, citizen_id: int, quiet_when_down: bool = False) -> tuple[list[Reply], bool]:
        replies: list[Reply] = []
        engine_answered = False
        with session_scope(self._db) as session:
            pending = [
                _Pending(m.id, (m.payload or {}).get("button") or m.text, m.attempts)
                for m in pending_for(session, citizen_id)
            ]
            conversation_id = _conversation_id(session, citizen_id)
        for item in pending:
            try:
                handoff_reply = await self._forward_if_handoff(item, conversation_id)
                if handoff_reply is not None:
                    replies.append(handoff_reply)
                    continue
                raw = await self._engine.send(conversation_id, item.engine_text)
            except EngineUnavailable as exc:
                gave_up = item.attempts + 1 >= self._max_attempts
                with session_scope(self._db) as session:
                    message = session.get_one(MessageLog, item.id)
                    mark(message, MessageState.FAILED if gave_up else MessageState.RETRY, str(exc))
                log.warning("next hop unavailable (message %s kept for retry): %s", item.id, exc)
                if gave_up:
                    replies.append(Reply(strings.GAVE_UP))
                elif not quiet_when_down:
                    replies.append(Reply(strings.ENGINE_DOWN))
                break  # keep order: later messages wait behind this one
            engine_answered = True
            answer = from_rasa(raw) or [Reply(strings.EMPTY_REPLY)]
            with session_scope(self._db) as session:
                message = session.get_one(MessageLog, item.id)
                mark(message, MessageState.PROCESSED)
                citizen = session.get_one(Citizen, citizen_id)
                for reply in answer:
                    log_outbound(session, citizen, reply.text, reply.as_payload())
            replies.extend(answer)
        return replies, engine_answered

    async def _rate(self, message_id: int, citizen_id: int, number: str, score: int) -> list[Reply]:
        """A tap on a follow-up rating button: recorded directly, the dialog engine is not involved."""
        with session_scope(self._db) as session:
            message = session.get_one(MessageLog, message_id)
            citizen = session.get_one(Citizen, citizen_id)
            ticket = get_by_number(session, number)
            mark(message, MessageState.PROCESSED)
            if ticket is None or ticket.conversation_id != citizen.conversation_id:
                reply = strings.RATING_UNKNOWN_TICKET
            else:
                try:
                    # A low score opens a review item; the scheduler's review_alerts job tells supervisors.
                    reply = record_rating(session, ticket, score, low_max=self._low_rating_max).reply
                except FollowupError as exc:  # already rated, or no rating was asked
                    reply = str(exc)
            log_outbound(session, citizen, reply)
        return [Reply(reply)]

    async def _file(self, message_id: int, attachment: Attachment) -> list[Reply]:
        """Keep a file with the citizen's open ticket (audited); in a handoff, tell the staff too.

        A caption is an ordinary message: unless a human has the ticket it stays queued for the engine.
        """
        with session_scope(self._db) as session:
            message = session.get_one(MessageLog, message_id)
            citizen = session.get_one(Citizen, message.citizen_id)
            conversation_id, caption = citizen.conversation_id, (message.text or "").strip()
            handoff = active_handoff_ticket(session, conversation_id)
            ticket = handoff or attachments.open_ticket_for(session, conversation_id)
            if ticket is not None:
                attachments.link(session, message, ticket)
            number = ticket.number if ticket is not None else None
            if handoff is not None or not caption:
                mark(message, MessageState.FORWARDED if handoff is not None else MessageState.PROCESSED)
            kind = attachments.label(attachment.kind)
            if handoff is not None:
                text = strings.ATTACHMENT_TO_STAFF.format(kind=kind)
            elif number is not None:
                text = strings.ATTACHMENT_ON_TICKET.format(kind=kind, number=number)
            else:
                text = strings.ATTACHMENT_NO_TICKET.format(kind=kind)
            if attachment.kind in {"voice", "audio", "video_note"} and handoff is None:
                text += strings.VOICE_HINT
            log_outbound(session, citizen, text)
        if handoff is not None and number is not None and self._on_handoff_attachment is not None:
            try:
                await self._on_handoff_attachment(number, conversation_id, attachment, caption)
            except Exception:  # kept and linked in the database either way; staff see it with the ticket
                log.exception("attachment of ticket %s not announced to the operators' group", number)
        return [Reply(text)]

    async def _forward_if_handoff(self, item: _Pending, conversation_id: str) -> Reply | None:
        """Messages of a ticket an operator handles go to the desk; marked forwarded only once posted."""
        with session_scope(self._db) as session:
            ticket = active_handoff_ticket(session, conversation_id)
            if ticket is None:
                return None
            ticket_id, number = ticket.id, ticket.number
        if self._on_handoff_message is not None:
            try:
                await self._on_handoff_message(number, conversation_id, item.engine_text)
            except Exception as exc:  # the desk (Telegram) failed: keep the message for the retry loop
                raise EngineUnavailable(f"operator desk: {type(exc).__name__}: {exc}") from exc
        with session_scope(self._db) as session:
            message = session.get_one(MessageLog, item.id)
            message.ticket_id = ticket_id
            mark(message, MessageState.FORWARDED)
        return Reply(strings.FORWARDED_TO_OPERATOR)


def _conversation_id(session: Session, citizen_id: int) -> str:
    return session.get_one(Citizen, citizen_id).conversation_id


def _external_id(session: Session, citizen_id: int) -> str:
    return session.get_one(Citizen, citizen_id).external_id
