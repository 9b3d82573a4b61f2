"""Ticket service: the only place that creates tickets or changes their status.

Every change writes a TicketEvent in the same transaction, so the audit trail can never disagree with
the ticket. Creation is idempotent on (conversation, intake): the dialog engine may call an action twice
(retries, a citizen double-tapping a button) and the citizen must still get one ticket number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.db.models import (
    CaseType,
    Citizen,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketStatus,
    utcnow,
)

if TYPE_CHECKING:
    from hotline.sla.clock import SlaClock

# Allowed lifecycle transitions (the proposal in docs/legal_basis.md §7, mapped onto helpdesk statuses).
TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.NEW: frozenset(
        {
            TicketStatus.ASSIGNED,
            TicketStatus.WAITING_CITIZEN,
            TicketStatus.RESOLVED,
            TicketStatus.REFERRED,
            TicketStatus.CANCELLED,
        }
    ),
    TicketStatus.ASSIGNED: frozenset(
        {
            TicketStatus.WAITING_CITIZEN,
            TicketStatus.RESOLVED,
            TicketStatus.REFERRED,
            TicketStatus.CANCELLED,
            TicketStatus.NEW,
        }
    ),
    TicketStatus.WAITING_CITIZEN: frozenset(
        {
            TicketStatus.ASSIGNED,
            TicketStatus.NEW,  # the citizen replied to a ticket nobody holds (lifecycle.citizen_replied)
            TicketStatus.RESOLVED,
            TicketStatus.CANCELLED,
            TicketStatus.REFERRED,
        }
    ),
    TicketStatus.RESOLVED: frozenset({TicketStatus.CLOSED, TicketStatus.REOPENED}),
    TicketStatus.REFERRED: frozenset({TicketStatus.CLOSED, TicketStatus.REOPENED}),
    TicketStatus.CLOSED: frozenset({TicketStatus.REOPENED}),
    TicketStatus.CANCELLED: frozenset({TicketStatus.REOPENED}),
    TicketStatus.REOPENED: frozenset(
        {
            TicketStatus.ASSIGNED,
            TicketStatus.WAITING_CITIZEN,
            TicketStatus.RESOLVED,
            TicketStatus.REFERRED,
            TicketStatus.CANCELLED,
        }
    ),
}


class TicketError(Exception):
    """A request the lifecycle does not allow; the message is Chinese, for operators."""


@dataclass(frozen=True)
class NewTicket:
    category: str
    conversation_id: str | None = None
    intake_key: str | None = None
    county_code: str | None = None
    case_type: CaseType = CaseType.CONSULTATION
    description: str = ""
    priority: str = "normal"
    facts: dict[str, Any] = field(default_factory=dict)
    source: str = "bot"
    migrant_worker: bool = False
    disabled: bool = False
    minor: bool = False
    elderly: bool = False
    women: bool = False


def next_ticket_number(session: Session, prefix: str, local_day: dt.date) -> str:
    """The next number of the local day (滁-20261129-0007); also numbers imported historical cases."""
    day = local_day.strftime("%Y%m%d")
    bumped = session.execute(
        update(TicketCounter)
        .where(TicketCounter.day == day)
        .values(value=TicketCounter.value + 1)
        .returning(TicketCounter.value)
    ).scalar_one_or_none()
    if bumped is None:
        try:
            with session.begin_nested():
                session.add(TicketCounter(day=day, value=1))
            bumped = 1
        except IntegrityError:  # another process created today's row first
            return next_ticket_number(session, prefix, local_day)
    return f"{prefix}-{day}-{bumped:04d}"


def create_ticket(
    session: Session,
    new: NewTicket,
    *,
    prefix: str,
    timezone: str = "Asia/Shanghai",
    actor: str = "bot",
    now: dt.datetime | None = None,
    sla: SlaClock | None = None,
) -> tuple[Ticket, bool]:
    """Return (ticket, created). An existing ticket for the same conversation+intake is returned as is."""
    if new.conversation_id and new.intake_key:
        existing = session.scalar(
            select(Ticket).where(
                Ticket.conversation_id == new.conversation_id, Ticket.intake_key == new.intake_key
            )
        )
        if existing is not None:
            return existing, False
    created_at = now or utcnow()
    local_day = created_at.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(timezone)).date()
    citizen_id = None
    if new.conversation_id:
        citizen_id = session.scalar(select(Citizen.id).where(Citizen.conversation_id == new.conversation_id))
    ticket = Ticket(
        number=next_ticket_number(session, prefix, local_day),
        citizen_id=citizen_id,
        conversation_id=new.conversation_id,
        intake_key=new.intake_key,
        source=new.source,
        category=new.category,
        case_type=new.case_type,
        county_code=new.county_code,
        status=TicketStatus.NEW,
        priority=new.priority,
        description=new.description,
        facts=dict(new.facts),
        migrant_worker=new.migrant_worker,
        disabled=new.disabled,
        minor=new.minor,
        elderly=new.elderly,
        women=new.women,
        created_at=created_at,
        updated_at=created_at,
    )
    try:
        with session.begin_nested():
            session.add(ticket)
            session.flush()
    except IntegrityError:
        # Lost a race with a concurrent identical request: hand back the winner's ticket.
        winner = session.scalar(
            select(Ticket).where(
                Ticket.conversation_id == new.conversation_id, Ticket.intake_key == new.intake_key
            )
        )
        if winner is None:
            raise
        return winner, False
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            kind="created",
            actor=actor,
            to_status=TicketStatus.NEW.value,
            data={"category": new.category, "county": new.county_code, "priority": new.priority},
            created_at=created_at,
        )
    )
    # Due times in business time (hotline.sla) from the start, so a new card never shows "—"; callers that
    # do not pass a clock (the dialog's actions, the gateway) get the deployment's configured one.
    (sla or configured_clock()).apply(ticket, [], created_at)
    from hotline.attachments import link_unlinked  # here: attachments builds on this module

    link_unlinked(session, ticket, created_at)  # photos/documents sent before the ticket existed
    return ticket, True


def configured_clock() -> SlaClock:
    """The SLA clock of the deployment's configuration (`settings.sla`)."""
    from hotline.settings import get_settings
    from hotline.sla.clock import SlaClock

    return SlaClock(get_settings().sla)


def change_status(
    session: Session,
    ticket: Ticket,
    to: TicketStatus,
    *,
    actor: str,
    note: str = "",
    now: dt.datetime | None = None,
    sla: SlaClock | None = None,
) -> TicketEvent:
    """Move a ticket along its lifecycle and record who did it; stamps resolve/close times."""
    current = TicketStatus(ticket.status)
    if to not in TRANSITIONS[current]:
        raise TicketError(
            f"工单 {ticket.number} 不能从「{STATUS_LABELS[current]}」变为「{STATUS_LABELS[to]}」"
        )
    at = now or utcnow()
    ticket.status = to
    ticket.updated_at = at
    if to is TicketStatus.RESOLVED or to is TicketStatus.REFERRED:
        ticket.resolved_at = at
    elif to is TicketStatus.CLOSED:
        ticket.closed_at = at
        ticket.resolved_at = ticket.resolved_at or at
    elif to is TicketStatus.REOPENED:
        ticket.resolved_at = None
        ticket.closed_at = None
    if ticket.first_response_at is None and current is TicketStatus.NEW and to is not TicketStatus.CANCELLED:
        ticket.first_response_at = at  # the first human (or bot) action on the ticket stops that clock
    event = TicketEvent(
        ticket_id=ticket.id,
        kind="status",
        actor=actor,
        from_status=current.value,
        to_status=to.value,
        data={"note": note} if note else {},
        created_at=at,
    )
    session.add(event)
    if sla is not None:  # the clock pauses on waiting_citizen and resumes here
        from hotline.sla.clock import compute_due_times

        compute_due_times(session, ticket, sla, at)
    return event


def record_event(
    session: Session,
    ticket: Ticket,
    kind: str,
    *,
    actor: str,
    data: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> TicketEvent:
    """Audit a non-status change (assignment, note, eligibility decision, rating…)."""
    at = now or utcnow()
    ticket.updated_at = at
    event = TicketEvent(ticket_id=ticket.id, kind=kind, actor=actor, data=data or {}, created_at=at)
    session.add(event)
    return event


def get_by_number(session: Session, number: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.number == number.strip()))


def tickets_of_conversation(session: Session, conversation_id: str) -> list[Ticket]:
    return list(
        session.scalars(
            select(Ticket)
            .where(Ticket.conversation_id == conversation_id)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        )
    )


STATUS_LABELS: dict[TicketStatus, str] = {
    TicketStatus.NEW: "待受理",
    TicketStatus.ASSIGNED: "处理中",
    TicketStatus.WAITING_CITIZEN: "等待您补充材料",
    TicketStatus.RESOLVED: "已办结",
    TicketStatus.CLOSED: "已关闭",
    TicketStatus.REFERRED: "已转办",
    TicketStatus.CANCELLED: "已撤销",
    TicketStatus.REOPENED: "重新处理中",
}
