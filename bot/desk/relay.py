"""The persisted map between operators' group messages and tickets, and the per-ticket card row.

Kept in the database (not in memory, not in `bot_data`) so a reply to a card posted before a restart, or by
another gateway replica, still reaches the right citizen.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.db.models import OPEN_TICKET_STATUSES, DeskCard, DeskMessage, Ticket, utcnow

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


def mark_handoff_notified(session: Session, ticket_id: int, now: dt.datetime | None = None) -> bool:
    taken = session.execute(
        update(DeskCard)
        .where(DeskCard.ticket_id == ticket_id, DeskCard.handoff_notified_at.is_(None))
        .values(handoff_notified_at=now or utcnow())
    )
    return bool(getattr(taken, "rowcount", 0) == 1)
