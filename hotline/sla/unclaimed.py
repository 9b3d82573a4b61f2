"""Urgent tickets nobody claimed in time: escalated once, audited, for the desk and the supervisors.

The scheduler's `urgent_unclaimed` job calls `escalate_unclaimed_urgent`: an urgent ticket still waiting for
an operator (NEW or REOPENED, nobody holds it) for `sla.urgent_claim_minutes` of office time (the SLA's
business calendar, so a ticket opened at night is not "late" before the desk opens) gets one
`unclaimed_escalated` event. The supervisors are alerted by the job; the operators' desk sees the event and
posts the card again (bot/desk/sync.py). Once per unclaimed spell: a ticket given back to the queue (退回,
转办, reopened) starts a new spell and can be escalated again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db.models import Ticket, TicketEvent, TicketStatus, utcnow
from hotline.sla.clock import SlaClock
from hotline.tickets.service import record_event

ESCALATED = "unclaimed_escalated"
ACTOR = "system:scheduler"
_WAITING_FOR_OPERATOR = (TicketStatus.NEW, TicketStatus.REOPENED)
# Events after which a ticket waits in the queue again: a new unclaimed spell starts.
_BACK_IN_QUEUE = ("unassigned", "transferred", "county_set")


@dataclass(frozen=True)
class Escalation:
    ticket_id: int
    number: str
    category: str
    county_code: str | None
    minutes: float


def unclaimed_since(ticket: Ticket, events: list[TicketEvent]) -> dt.datetime:
    """When the ticket last started waiting for an operator: created, reopened, given back or moved."""
    since = ticket.created_at
    for event in events:
        back = event.kind in _BACK_IN_QUEUE or (
            event.kind == "status" and event.to_status in {s.value for s in _WAITING_FOR_OPERATOR}
        )
        if back and event.created_at > since:
            since = event.created_at
    return since


def escalate_unclaimed_urgent(
    session: Session, clock: SlaClock, minutes: float, now: dt.datetime | None = None
) -> list[Escalation]:
    """Record one `unclaimed_escalated` event on each urgent ticket unclaimed for `minutes` of office time
    since its spell began (and not escalated in this spell); returns them for the supervisors' alert."""
    at = now or utcnow()
    tickets = session.scalars(
        select(Ticket)
        .where(
            Ticket.priority == "urgent",
            Ticket.status.in_(_WAITING_FOR_OPERATOR),
            Ticket.assigned_operator_id.is_(None),
        )
        .order_by(Ticket.id)
    ).all()
    found: list[Escalation] = []
    for ticket in tickets:
        events = list(
            session.scalars(
                select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
            )
        )
        since = unclaimed_since(ticket, events)
        if any(e.kind == ESCALATED and e.created_at >= since for e in events):
            continue
        waited = clock.business_hours_between(since, at) * 60
        if waited < minutes:
            continue
        record_event(
            session,
            ticket,
            ESCALATED,
            actor=ACTOR,
            data={"minutes": minutes, "since": since.isoformat(timespec="seconds")},
            now=at,
        )
        found.append(Escalation(ticket.id, ticket.number, ticket.category, ticket.county_code, minutes))
    return found
