"""Conversations a person has taken over (handoff), seen from the core: the citizen told what happens next
when nobody answers, the waiting handoffs listed, and an operator's answer queued for the citizen.

Used by the scheduler (`handoff_wait` job) and the CLI (`tickets handoffs`, `tickets reply`), so a handoff
is never a dead end, with or without an operators' group: messages to the citizen are queued in the outbox
(hotline.messages) and the running gateway delivers them, the Telegram one and the console one alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hotline.db.models import (
    OPEN_TICKET_STATUSES,
    Citizen,
    DeskCard,
    MessageDirection,
    MessageLog,
    Operator,
    Ticket,
    TicketEvent,
    TicketStatus,
    utcnow,
)
from hotline.messages import get_or_create_citizen, log_outbound
from hotline.sla import texts as sla_texts
from hotline.sla.clock import SlaClock
from hotline.sla.config import SlaConfig
from hotline.sla.office_hours import describe, next_opening
from hotline.tickets import lifecycle, texts
from hotline.tickets.access import Viewer, restrict
from hotline.tickets.service import TicketError, record_event

TOLD = "handoff_wait_told"
ACTOR = "system:scheduler"
CLI_ACTOR = "cli"  # a reply from the command line without --operator (the local console deployment)
_ANSWERED = ("operator_reply", TOLD)


def _events(session: Session, ticket: Ticket) -> list[TicketEvent]:
    return list(
        session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
        )
    )


def handoff_since(ticket: Ticket, events: Sequence[TicketEvent]) -> dt.datetime:
    """When the person was last asked for (the ticket's creation if the request left no event)."""
    asked = [e.created_at for e in events if e.kind == "handoff_requested"]
    return max(asked) if asked else ticket.created_at


def wait_message(config: SlaConfig, ticket: Ticket, now: dt.datetime) -> str:
    """What the citizen is told: when a person will answer, from the office hours and the SLA due time."""
    clock = SlaClock(config)
    local_now = clock.to_local(now)
    opening = next_opening(clock.calendar, local_now)
    if opening is not None:
        return sla_texts.HANDOFF_WAIT_CLOSED.format(
            number=ticket.number, opening=describe(opening, local_now)
        )
    if ticket.first_response_at is not None:  # someone took it (claimed) but has not written yet
        return sla_texts.HANDOFF_WAIT_CLAIMED.format(number=ticket.number)
    due = ticket.first_response_due
    clause = (
        sla_texts.HANDOFF_WAIT_DUE.format(due=describe(clock.to_local(due), local_now))
        if due is not None and due > now
        else ""
    )
    return sla_texts.HANDOFF_WAIT_OPEN.format(number=ticket.number, due=clause)


def tell_waiting_citizens(session: Session, config: SlaConfig, now: dt.datetime | None = None) -> list[str]:
    """Citizens in a handoff with no operator's answer for `sla.handoff_wait_minutes`: each told once per
    handoff what happens next (queued in the outbox, audited as `handoff_wait_told`). Returns the numbers."""
    at = now or utcnow()
    wait = dt.timedelta(minutes=config.handoff_wait_minutes)
    tickets = session.scalars(
        select(Ticket)
        .where(
            Ticket.handoff_requested.is_(True),
            Ticket.status.in_(OPEN_TICKET_STATUSES),
            Ticket.conversation_id.is_not(None),
        )
        .order_by(Ticket.id)
    ).all()
    told: list[str] = []
    for ticket in tickets:
        events = _events(session, ticket)
        since = handoff_since(ticket, events)
        if at - since < wait or any(e.kind in _ANSWERED and e.created_at >= since for e in events):
            continue
        citizen = session.scalar(select(Citizen).where(Citizen.conversation_id == ticket.conversation_id))
        if citizen is None:
            continue
        text = wait_message(config, ticket, at)
        log_outbound(session, citizen, text, queued=True).ticket_id = ticket.id
        record_event(session, ticket, TOLD, actor=ACTOR, data={"text": text}, now=at)
        told.append(ticket.number)
    return told


@dataclass(frozen=True)
class WaitingHandoff:
    number: str
    county_code: str | None
    category: str
    status: TicketStatus
    since: dt.datetime
    messages: list[str]  # the citizen's messages since the person was asked for, oldest first


def waiting_handoffs(session: Session, viewer: Viewer | None = None) -> list[WaitingHandoff]:
    """Open tickets in a handoff (the viewer's counties), oldest request first, with the citizen's words."""
    query = restrict(
        select(Ticket).where(Ticket.handoff_requested.is_(True), Ticket.status.in_(OPEN_TICKET_STATUSES)),
        viewer,
    )
    found: list[WaitingHandoff] = []
    for ticket in session.scalars(query.order_by(Ticket.id)):
        since = handoff_since(ticket, _events(session, ticket))
        words = session.scalars(
            select(MessageLog.text)
            .join(Citizen, Citizen.id == MessageLog.citizen_id)
            .where(
                Citizen.conversation_id == ticket.conversation_id,
                MessageLog.direction == MessageDirection.INBOUND,
                MessageLog.created_at >= since,
            )
            .order_by(MessageLog.id)
        ).all()
        found.append(
            WaitingHandoff(
                ticket.number,
                ticket.county_code,
                ticket.category,
                TicketStatus(ticket.status),
                since,
                [w for w in words if w],
            )
        )
    return sorted(found, key=lambda h: h.since)


def taken_by_operator(session: Session, ticket: Ticket, who: str, at: dt.datetime) -> None:
    """An operator wrote to the citizen: the conversation is with a person now (the citizen's answers go to
    the desk). Audited; the desk posts no "the citizen asks for a person" notice for it (the card is
    marked notified): the person is already there."""
    if ticket.handoff_requested:
        return
    ticket.handoff_requested = True
    ticket.handled_by_bot_only = False
    record_event(session, ticket, "handoff_requested", actor=who, data={"by": "operator"}, now=at)
    session.execute(
        update(DeskCard)
        .where(DeskCard.ticket_id == ticket.id, DeskCard.handoff_notified_at.is_(None))
        .values(handoff_notified_at=at)
    )


def operator_reply(
    session: Session,
    ticket: Ticket,
    operator: Operator | None,
    text: str,
    county_names: Mapping[str, str],
    *,
    sla: SlaClock | None = None,
    now: dt.datetime | None = None,
) -> MessageLog:
    """An operator's answer from the CLI, queued for the citizen (the running gateway delivers it).

    As on the desk (bot/desk/service.record_reply): an unclaimed ticket is claimed by the operator who
    answers, the conversation is with a person from now on, and the reply is audited. Without an operator
    (`tickets reply` with no --operator, the local console deployment) it is recorded as from the CLI.
    """
    at = now or utcnow()
    if operator is not None:
        lifecycle.check_access(operator, ticket, county_names)
    if TicketStatus(ticket.status) not in OPEN_TICKET_STATUSES or not ticket.conversation_id:
        raise TicketError(texts.CLI_CANNOT_REPLY.format(number=ticket.number))
    who = lifecycle.actor(operator) if operator is not None else CLI_ACTOR
    if operator is not None and ticket.assigned_operator_id is None:
        lifecycle.claim(session, ticket, operator, county_names, sla=sla, now=at)
    taken_by_operator(session, ticket, who, at)
    channel, _, external_id = ticket.conversation_id.partition("-")
    citizen = session.scalar(
        select(Citizen).where(Citizen.conversation_id == ticket.conversation_id)
    ) or get_or_create_citizen(session, channel, external_id)
    words = texts.TO_CITIZEN.format(text=text)
    payload = {"operator_id": operator.id} if operator is not None else {"from": CLI_ACTOR}
    message = log_outbound(session, citizen, words, payload, queued=True)
    message.ticket_id = ticket.id
    session.flush()
    record_event(session, ticket, "operator_reply", actor=who, data={"message_log_id": message.id}, now=at)
    return message
