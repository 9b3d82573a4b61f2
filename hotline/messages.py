"""Message log: every inbound message is written before anything else happens to it.

The log is also the retry queue: a message whose processing failed (dialog engine down) stays in state
RETRY and is picked up again in arrival order, so a crash or an outage never loses what a citizen wrote.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.db.models import (
    OPEN_TICKET_STATUSES,
    Citizen,
    MessageDirection,
    MessageLog,
    MessageState,
    Ticket,
    utcnow,
)

PENDING = (MessageState.RECEIVED, MessageState.RETRY)


def conversation_id_for(channel: str, external_id: str) -> str:
    return f"{channel}-{external_id}"


def get_or_create_citizen(
    session: Session, channel: str, external_id: str, display_name: str | None = None
) -> Citizen:
    citizen = session.scalar(
        select(Citizen).where(Citizen.channel == channel, Citizen.external_id == external_id)
    )
    if citizen is not None:
        return citizen
    citizen = Citizen(
        channel=channel,
        external_id=external_id,
        conversation_id=conversation_id_for(channel, external_id),
        display_name=display_name,
    )
    try:
        with session.begin_nested():
            session.add(citizen)
    except IntegrityError:
        return session.scalars(
            select(Citizen).where(Citizen.channel == channel, Citizen.external_id == external_id)
        ).one()
    return citizen


def log_inbound(
    session: Session,
    citizen: Citizen,
    *,
    external_message_id: str | None,
    text: str,
    payload: dict[str, Any] | None = None,
) -> tuple[MessageLog, bool]:
    """Persist an inbound message; (message, False) when the transport delivered it twice."""
    if external_message_id is not None:
        existing = session.scalar(
            select(MessageLog).where(
                MessageLog.channel == citizen.channel,
                MessageLog.external_message_id == external_message_id,
                MessageLog.direction == MessageDirection.INBOUND,
            )
        )
        if existing is not None:
            return existing, False
    message = MessageLog(
        citizen_id=citizen.id,
        channel=citizen.channel,
        external_message_id=external_message_id,
        direction=MessageDirection.INBOUND,
        text=text,
        payload=payload,
        state=MessageState.RECEIVED,
        attempts=0,
    )
    session.add(message)
    session.flush()
    return message, True


def log_outbound(
    session: Session, citizen: Citizen, text: str, payload: dict[str, Any] | None = None
) -> MessageLog:
    message = MessageLog(
        citizen_id=citizen.id,
        channel=citizen.channel,
        direction=MessageDirection.OUTBOUND,
        text=text,
        payload=payload,
        state=MessageState.SENT,
        processed_at=utcnow(),
    )
    session.add(message)
    return message


def pending_for(session: Session, citizen_id: int) -> list[MessageLog]:
    """Unprocessed inbound messages of one citizen, oldest first."""
    return list(
        session.scalars(
            select(MessageLog)
            .where(
                MessageLog.citizen_id == citizen_id,
                MessageLog.direction == MessageDirection.INBOUND,
                MessageLog.state.in_(PENDING),
            )
            .order_by(MessageLog.id)
        )
    )


def citizens_with_retries(
    session: Session, max_attempts: int, received_before: dt.datetime | None = None
) -> list[int]:
    """Citizens with queued messages: RETRY ones, and RECEIVED ones left behind by a crash.

    RECEIVED messages younger than `received_before` are being handled right now and are skipped.
    """
    stale = received_before or (utcnow() - dt.timedelta(seconds=30))
    return list(
        session.scalars(
            select(MessageLog.citizen_id)
            .where(
                MessageLog.direction == MessageDirection.INBOUND,
                MessageLog.attempts < max_attempts,
                (MessageLog.state == MessageState.RETRY)
                | ((MessageLog.state == MessageState.RECEIVED) & (MessageLog.created_at < stale)),
            )
            .distinct()
        )
    )


def mark(
    message: MessageLog, state: MessageState, error: str | None = None, now: dt.datetime | None = None
) -> None:
    message.state = state
    if state in (MessageState.RETRY, MessageState.FAILED):
        message.attempts += 1
        message.last_error = (error or "")[:255]
    else:
        message.processed_at = now or utcnow()


def active_handoff_ticket(session: Session, conversation_id: str) -> Ticket | None:
    """The open handoff ticket of this citizen, claimed or not, if any (the bot stays silent).

    A citizen who asked for a human is told "your next messages go straight to the staff": from that
    moment (NEW, before anyone claims the ticket) until it is resolved, the bot stays out of the way.
    """
    return session.scalar(
        select(Ticket)
        .where(
            Ticket.conversation_id == conversation_id,
            Ticket.handoff_requested.is_(True),
            Ticket.status.in_(OPEN_TICKET_STATUSES),
        )
        .order_by(Ticket.id.desc())
        .limit(1)
    )
