"""Message log: every inbound message is written before anything else happens to it.

The log is also the queue in both directions. Inbound: a message whose processing failed (dialog engine
or operators' desk down) stays in state RETRY and is picked up again in arrival order, so a crash or an
outage never loses what a citizen wrote; nothing is ever dropped after a number of attempts. Outbound: a
reply waits in state QUEUED until the transport confirmed delivery (the outbox), with backoff.

Several gateway replicas may share the database, and an in-process lock cannot keep them apart: a message
is *claimed* in the database (one conditional UPDATE, so exactly one replica wins) before it is sent
anywhere, and the claim expires after a time-to-live so a crashed replica's messages are taken over.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import Text, cast, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline import attachments
from hotline.attachments import link_unlinked
from hotline.db.models import (
    OPEN_TICKET_STATUSES,
    Citizen,
    MessageDirection,
    MessageLog,
    MessageState,
    Ticket,
    utcnow,
)
from hotline.tickets.service import NewTicket, create_ticket, record_event

PENDING = (MessageState.RECEIVED, MessageState.RETRY)
CLAIMABLE = (*PENDING, MessageState.QUEUED)
# Queued messages quoted in the description of a ticket opened because the engine stayed down.
ESCALATION_DESCRIPTION_LIMIT = 2000
# Longer than the engine's request timeout, so a live replica's claim never expires under it.
CLAIM_TTL = dt.timedelta(minutes=2)


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


EXTERNAL_ID_MAX = 64  # message_log.external_message_id is String(64), enforced by PostgreSQL


def storable_message_id(external_message_id: str | None) -> str | None:
    """The transport's message id as stored: unchanged when it fits the column and is valid UTF-8 without
    NUL; otherwise a stable digest of it, so a longer or broken id (found by fuzzing) still deduplicates
    instead of failing the insert and losing the message."""
    if external_message_id is None:
        return None
    raw = external_message_id.encode("utf-8", "surrogatepass")
    fits = len(external_message_id) <= EXTERNAL_ID_MAX and "\x00" not in external_message_id
    if fits and raw == external_message_id.encode("utf-8", "replace"):
        return external_message_id
    return "sha256:" + hashlib.sha256(raw).hexdigest()[: EXTERNAL_ID_MAX - 7]


def log_inbound(
    session: Session,
    citizen: Citizen,
    *,
    external_message_id: str | None,
    text: str,
    payload: dict[str, Any] | None = None,
) -> tuple[MessageLog, bool]:
    """Persist an inbound message; (message, False) when the transport delivered it twice."""
    external_message_id = storable_message_id(external_message_id)
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
    session: Session,
    citizen: Citizen,
    text: str,
    payload: dict[str, Any] | None = None,
    *,
    queued: bool = False,
) -> MessageLog:
    """Record a reply; `queued` puts it in the outbox until the transport confirms delivery."""
    message = MessageLog(
        citizen_id=citizen.id,
        channel=citizen.channel,
        direction=MessageDirection.OUTBOUND,
        text=text,
        payload=payload,
        state=MessageState.QUEUED if queued else MessageState.SENT,
        processed_at=None if queued else utcnow(),
        attempts=0,
    )
    session.add(message)
    return message


def _in_order(
    session: Session, citizen_id: int, direction: MessageDirection, states: tuple[MessageState, ...]
) -> list[MessageLog]:
    return list(
        session.scalars(
            select(MessageLog)
            .where(
                MessageLog.citizen_id == citizen_id,
                MessageLog.direction == direction,
                MessageLog.state.in_(states),
            )
            .order_by(MessageLog.id)
        )
    )


def offered_since_last_inbound(session: Session, citizen_id: int) -> dict[str, Any] | None:
    """The payload of our latest reply that offered buttons, when the citizen has written nothing since
    (call it before logging the new message); None otherwise. A typed button title answers it."""
    mine = MessageLog.citizen_id == citizen_id
    last_inbound = (
        select(func.max(MessageLog.id)).where(mine, MessageLog.direction == MessageDirection.INBOUND)
    ).scalar_subquery()
    payload = session.scalar(
        select(MessageLog.payload)
        .where(
            mine,
            MessageLog.direction == MessageDirection.OUTBOUND,
            MessageLog.id > func.coalesce(last_inbound, 0),
            # a JSON column keeps "no payload" as JSON null, which IS NOT NULL does not exclude
            cast(MessageLog.payload, Text).contains('"buttons"'),
        )
        .order_by(MessageLog.id.desc())
        .limit(1)
    )
    return payload if isinstance(payload, dict) and payload.get("buttons") else None


def pending_for(session: Session, citizen_id: int) -> list[MessageLog]:
    """Unprocessed inbound messages of one citizen, oldest first."""
    return _in_order(session, citizen_id, MessageDirection.INBOUND, PENDING)


def later_pending(session: Session, citizen_id: int, after: int) -> list[int]:
    """Ids of one citizen's unprocessed inbound messages newer than `after`, oldest first (ids only: one
    indexed read in the commit that settles `after`)."""
    return list(
        session.scalars(
            select(MessageLog.id)
            .where(
                MessageLog.citizen_id == citizen_id,
                MessageLog.direction == MessageDirection.INBOUND,
                MessageLog.state.in_(PENDING),
                MessageLog.id > after,
            )
            .order_by(MessageLog.id)
        )
    )


def citizens_with_retries(session: Session, received_before: dt.datetime | None = None) -> list[int]:
    """Citizens with queued messages: RETRY ones, and RECEIVED ones left behind by a crash.

    RECEIVED messages younger than `received_before` are being handled right now and are skipped. There
    is no attempt limit: a message leaves the queue only once the engine answered or a human has it.
    """
    stale = received_before or (utcnow() - dt.timedelta(seconds=30))
    return list(
        session.scalars(
            select(MessageLog.citizen_id)
            .where(
                MessageLog.direction == MessageDirection.INBOUND,
                (MessageLog.state == MessageState.RETRY)
                | ((MessageLog.state == MessageState.RECEIVED) & (MessageLog.created_at < stale)),
            )
            .distinct()
        )
    )


def previous_answer_at(session: Session, message_id: int) -> dt.datetime | None:
    """When the engine answered this citizen's turn before this message (None if there was none)."""
    message = session.get_one(MessageLog, message_id)
    return session.scalar(
        select(MessageLog.processed_at)
        .where(
            MessageLog.citizen_id == message.citizen_id,
            MessageLog.direction == MessageDirection.INBOUND,
            MessageLog.id < message_id,
            MessageLog.state == MessageState.PROCESSED,
            MessageLog.dispatched_at.is_not(None),
        )
        .order_by(MessageLog.id.desc())
        .limit(1)
    )


def claim(
    session: Session,
    message_id: int,
    token: str,
    *,
    ttl: dt.timedelta = CLAIM_TTL,
    now: dt.datetime | None = None,
) -> bool:
    """Take a queued message for this replica; False when it is done or another replica holds it.

    One conditional UPDATE, committed by the caller before anything is sent: of two replicas racing for
    the same message exactly one sees a row count of 1.
    """
    at = now or utcnow()
    taken = session.execute(
        update(MessageLog)
        .where(
            MessageLog.id == message_id,
            MessageLog.state.in_(CLAIMABLE),
            or_(MessageLog.claimed_until.is_(None), MessageLog.claimed_until < at),
        )
        .values(claim_token=token, claimed_until=at + ttl)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(taken, "rowcount", 0) == 1)


def release(message: MessageLog) -> None:
    """Give a claimed message back to the queue (the next tick, of any replica, may take it)."""
    message.claim_token = None
    message.claimed_until = None


def outbox_citizens(session: Session, now: dt.datetime | None = None) -> list[int]:
    """Citizens with replies waiting for delivery whose backoff has run out."""
    at = now or utcnow()
    return list(
        session.scalars(
            select(MessageLog.citizen_id)
            .where(
                MessageLog.direction == MessageDirection.OUTBOUND,
                MessageLog.state == MessageState.QUEUED,
                or_(MessageLog.next_attempt_at.is_(None), MessageLog.next_attempt_at <= at),
            )
            .distinct()
        )
    )


def outbox_for(session: Session, citizen_id: int) -> list[MessageLog]:
    """One citizen's undelivered replies, oldest first (delivered strictly in this order)."""
    return _in_order(session, citizen_id, MessageDirection.OUTBOUND, (MessageState.QUEUED,))


def mark_undelivered(
    message: MessageLog, error: str, backoff: dt.timedelta, now: dt.datetime | None = None
) -> None:
    """The transport refused a reply: keep it queued and try again after `backoff`."""
    message.attempts += 1
    message.last_error = error[:255]
    message.next_attempt_at = (now or utcnow()) + backoff
    release(message)


def mark(
    message: MessageLog, state: MessageState, error: str | None = None, now: dt.datetime | None = None
) -> None:
    message.state = state
    release(message)
    if state in (MessageState.RETRY, MessageState.FAILED):
        message.attempts += 1
        message.last_error = (error or "")[:255]
    else:
        message.processed_at = now or utcnow()


def mark_done(
    session: Session, message_ids: list[int], state: MessageState, now: dt.datetime | None = None
) -> None:
    """`mark(…, state)` for messages that leave the queue (PROCESSED, SENT, …) as one UPDATE, no load."""
    if not message_ids:
        return
    session.execute(
        update(MessageLog)
        .where(MessageLog.id.in_(message_ids))
        .values(state=state, claim_token=None, claimed_until=None, processed_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )


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


def escalate_outage(
    session: Session, citizen_id: int, conversation_id: str, *, prefix: str, timezone: str
) -> str:
    """The dialog engine stayed down past the retry budget: hand the conversation to a human for real.

    The open ticket of this conversation (or a new "handoff" ticket quoting the queued messages) is flagged
    for a human and audited like any handoff, so the desk posts its card or a handoff notice; every queued
    message is attached to it and marked escalated: relayed to the desk, and still kept for the engine.
    Returns the ticket number.
    """
    queued = pending_for(session, citizen_id)
    ticket = attachments.open_ticket_for(session, conversation_id)
    if ticket is None:
        text = "\n".join(m.text for m in queued if m.text)
        new = NewTicket(
            category="handoff",
            conversation_id=conversation_id,
            intake_key=f"outage-{queued[0].id}" if queued else None,
            description=text[:ESCALATION_DESCRIPTION_LIMIT],
            facts={"handoff_reason": "engine_unavailable"},
        )
        ticket, created = create_ticket(session, new, prefix=prefix, timezone=timezone, actor="gateway")
        if created:
            link_unlinked(session, ticket, ticket.created_at)  # files sent while the engine was down
    if not ticket.handoff_requested:
        ticket.handoff_requested = True
        ticket.handled_by_bot_only = False
        record_event(
            session, ticket, "handoff_requested", actor="gateway", data={"reason": "engine_unavailable"}
        )
    for message in queued:
        message.escalated = True
        message.ticket_id = ticket.id
    return ticket.number
