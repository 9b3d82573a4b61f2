"""The persisted map between operators' group messages and tickets, the per-ticket card row, and the
relay of citizens' messages into the group.

Kept in the database (not in memory, not in `bot_data`) so a reply to a card posted before a restart, or by
another gateway replica, still reaches the right citizen.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import strings
from bot.textsplit import TELEGRAM_LIMIT, split_text, units
from hotline.db.models import OPEN_TICKET_STATUSES, DeskCard, DeskMessage, Ticket, TicketEvent, utcnow
from hotline.logging_setup import mask_pii
from hotline.sla.unclaimed import ESCALATED
from hotline.tickets.service import get_by_number

log = logging.getLogger(__name__)

# A reservation older than this whose card never got a message id belongs to a crashed sender: retake it.
STALE_RESERVATION = dt.timedelta(minutes=5)


def map_message(session: Session, chat_id: int, message_id: int, ticket_id: int, kind: str) -> None:
    """Remember that a group message belongs to a ticket (idempotent)."""
    known = session.scalar(
        select(DeskMessage.id).where(DeskMessage.chat_id == chat_id, DeskMessage.message_id == message_id)
    )
    if known is None:
        session.add(DeskMessage(chat_id=chat_id, message_id=message_id, ticket_id=ticket_id, kind=kind))
        session.flush()


def ticket_for_message(session: Session, chat_id: int, message_id: int) -> Ticket | None:
    return session.scalar(
        select(Ticket)
        .join(DeskMessage, DeskMessage.ticket_id == Ticket.id)
        .where(DeskMessage.chat_id == chat_id, DeskMessage.message_id == message_id)
    )


def card_of(session: Session, ticket_id: int) -> DeskCard | None:
    card = session.get(DeskCard, ticket_id)
    return card if card is not None and card.message_id is not None else None


def tickets_without_card(session: Session, *, limit: int, now: dt.datetime | None = None) -> list[int]:
    """Open tickets with no card (or a stale reservation), urgent first, then oldest first."""
    stale_before = (now or utcnow()) - STALE_RESERVATION
    has_card = exists().where(
        DeskCard.ticket_id == Ticket.id,
        or_(DeskCard.message_id.is_not(None), DeskCard.reserved_at >= stale_before),
    )
    urgent_first = (Ticket.priority != "urgent").asc()  # False (urgent) sorts before True
    return list(
        session.scalars(
            select(Ticket.id)
            .where(Ticket.status.in_(OPEN_TICKET_STATUSES), ~has_card)
            .order_by(urgent_first, Ticket.created_at, Ticket.id)
            .limit(limit)
        )
    )


def reserve_card(session: Session, ticket_id: int, chat_id: int, now: dt.datetime | None = None) -> bool:
    """Claim the right to post this ticket's card; False when another sender holds or has done it."""
    at = now or utcnow()
    if session.get(DeskCard, ticket_id) is None:
        try:
            with session.begin_nested():
                session.add(DeskCard(ticket_id=ticket_id, chat_id=chat_id, reserved_at=at))
        except IntegrityError:
            return False
        return True
    taken = session.execute(
        update(DeskCard)
        .where(
            DeskCard.ticket_id == ticket_id,
            DeskCard.message_id.is_(None),
            DeskCard.reserved_at < at - STALE_RESERVATION,
        )
        .values(reserved_at=at, chat_id=chat_id)
    )
    return bool(getattr(taken, "rowcount", 0) == 1)


def complete_card(
    session: Session, ticket: Ticket, chat_id: int, message_id: int, now: dt.datetime | None = None
) -> None:
    at = now or utcnow()
    card = session.get_one(DeskCard, ticket.id)
    card.chat_id, card.message_id, card.posted_at = chat_id, message_id, at
    if ticket.handoff_requested:  # the card itself says so; no separate notice
        card.handoff_notified_at = at
    map_message(session, chat_id, message_id, ticket.id, "card")


def release_card(session: Session, ticket_id: int) -> None:
    """Sending failed: drop the reservation so the next tick tries again."""
    card = session.get(DeskCard, ticket_id)
    if card is not None and card.message_id is None:
        session.delete(card)


def handoffs_to_notify(session: Session, *, limit: int) -> list[int]:
    """Tickets whose card is posted and whose citizen asked for a human since."""
    return list(
        session.scalars(
            select(DeskCard.ticket_id)
            .join(Ticket, Ticket.id == DeskCard.ticket_id)
            .where(
                DeskCard.message_id.is_not(None),
                DeskCard.handoff_notified_at.is_(None),
                Ticket.handoff_requested.is_(True),
                Ticket.status.in_(OPEN_TICKET_STATUSES),
            )
            .order_by(DeskCard.ticket_id)
            .limit(limit)
        )
    )


def escalations_to_repost(session: Session, *, limit: int) -> list[int]:
    """Open, still unclaimed tickets escalated (hotline.sla.unclaimed) since their card was posted."""
    latest = (
        select(TicketEvent.ticket_id, func.max(TicketEvent.created_at).label("at"))
        .where(TicketEvent.kind == ESCALATED)
        .group_by(TicketEvent.ticket_id)
        .subquery()
    )
    return list(
        session.scalars(
            select(DeskCard.ticket_id)
            .join(latest, latest.c.ticket_id == DeskCard.ticket_id)
            .join(Ticket, Ticket.id == DeskCard.ticket_id)
            .where(
                DeskCard.message_id.is_not(None),
                DeskCard.posted_at < latest.c.at,
                Ticket.status.in_(OPEN_TICKET_STATUSES),
                Ticket.assigned_operator_id.is_(None),
            )
            .order_by(DeskCard.ticket_id)
            .limit(limit)
        )
    )


def mark_handoff_notified(session: Session, ticket_id: int, now: dt.datetime | None = None) -> bool:
    taken = session.execute(
        update(DeskCard)
        .where(DeskCard.ticket_id == ticket_id, DeskCard.handoff_notified_at.is_(None))
        .values(handoff_notified_at=now or utcnow())
    )
    return bool(getattr(taken, "rowcount", 0) == 1)


class _Desk(Protocol):
    """What posting needs from the desk (bot.desk.handlers.Desk has these)."""

    sessions: sessionmaker[Session]

    @property
    def bot(self) -> Any: ...

    def where(self, session: Session, ticket: Ticket) -> tuple[int, int | None]: ...

    async def on_citizen_message(self, number: str, text: str) -> None: ...


def citizen_message_parts(number: str, text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """The group posts for one citizen message: masked, prefixed, and split so each fits Telegram's limit."""
    masked = mask_pii(text)
    whole = strings.DESK_CITIZEN_MESSAGE.format(number=number, text=masked)
    if units(whole) <= limit:
        return [whole]
    # Room for the widest prefix ("…3/3…"); the part count cannot grow past the digits assumed here.
    widest = strings.DESK_CITIZEN_MESSAGE_PART.format(number=number, part=999, total=999, text="")
    chunks = split_text(masked, limit - units(widest))
    return [
        strings.DESK_CITIZEN_MESSAGE_PART.format(number=number, part=i, total=len(chunks), text=chunk)
        for i, chunk in enumerate(chunks, start=1)
    ]


async def post_citizen_message(desk: _Desk, number: str, text: str) -> None:
    """Gateway sink: post a citizen's message under the ticket's card; raises when it was not posted.

    The gateway marks the message forwarded (and tells the citizen it reached a person) only when this
    returns; any Telegram error propagates so the message stays queued and is posted again on the next
    retry. A part posted before a later part failed is posted again then: a repeat beats a loss.
    """
    with desk.sessions.begin() as session:
        ticket = get_by_number(session, number)
        if ticket is None:
            raise LookupError(f"ticket {number} not found")
        ticket_id = ticket.id
        chat, reply_to = desk.where(session, ticket)  # under the card, in the ticket's county group
    for part in citizen_message_parts(number, text):
        message = await desk.bot.send_message(
            chat, part, reply_to_message_id=reply_to, allow_sending_without_reply=True
        )
        with desk.sessions.begin() as session:
            map_message(session, chat, message.message_id, ticket_id, "citizen")


def handoff_sink(desk: _Desk) -> Callable[[str, str, str], Awaitable[None]]:
    """The function to give `Gateway.set_handoff_sink` (instead of Desk.on_handoff_message)."""

    async def sink(number: str, _conversation_id: str, text: str) -> None:
        await post_citizen_message(desk, number, text)
        try:  # the message is in the group; resuming a waiting ticket is secondary and must not repost it
            await desk.on_citizen_message(number, text)
        except Exception:
            log.exception("ticket %s: resuming after the citizen's message failed", number)

    return sink
