"""What an operator can do to a ticket from the group, with the permission checks and the audit trail.

Database only (no Telegram): each function runs inside the caller's session and raises DeskRefusal with a
short Chinese sentence when the operator may not do it. Every change goes through hotline.tickets.service,
so status changes, first-response stamps and SLA due times are the same as from the CLI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import strings
from bot.desk.cards import county_name
from hotline.db.models import (
    OPEN_TICKET_STATUSES,
    Citizen,
    MessageLog,
    Operator,
    Ticket,
    TicketStatus,
    utcnow,
)
from hotline.followup.service import OutboundMessage, request_rating
from hotline.messages import get_or_create_citizen, log_outbound
from hotline.sla.clock import SlaClock
from hotline.tickets.access import Viewer, can_see, restrict
from hotline.tickets.handoffs import taken_by_operator
from hotline.tickets.service import STATUS_LABELS, TicketError, change_status, record_event

S = TicketStatus
CLAIMABLE = (S.NEW, S.REOPENED, S.WAITING_CITIZEN)


class DeskRefusal(Exception):
    """The operator may not do this; the message is shown to them as is."""


@dataclass(frozen=True)
class DeskContext:
    county_names: Mapping[str, str]
    sla: SlaClock | None = None
    # The counties of the desk (operators' group) the operator acts from; None: the shared, city-wide desk.
    desk_counties: tuple[str, ...] | None = None

    def viewer(self, operator: Operator) -> Viewer:
        return Viewer.of(operator).within(self.desk_counties)


def actor(operator: Operator) -> str:
    return f"operator:{operator.id}"


def operator_for(session: Session, telegram_user_id: int) -> Operator:
    operator = session.scalar(select(Operator).where(Operator.telegram_user_id == telegram_user_id))
    if operator is None or not operator.active:
        raise DeskRefusal(strings.DESK_NOT_OPERATOR)
    return operator


def check_access(operator: Operator, ticket: Ticket, ctx: DeskContext) -> None:
    county = county_name(ticket.county_code, ctx.county_names)
    if not can_see(Viewer.of(operator), ticket):
        raise DeskRefusal(strings.DESK_NOT_YOUR_COUNTY.format(number=ticket.number, county=county))
    if not can_see(ctx.viewer(operator), ticket):  # a county desk acts on its own county's tickets only
        raise DeskRefusal(strings.DESK_OTHER_DESK.format(number=ticket.number, county=county))


def ticket_or_refuse(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise DeskRefusal(strings.DESK_STALE_BUTTON)
    return ticket


def ensure_open(ticket: Ticket) -> None:
    status = TicketStatus(ticket.status)
    if status not in OPEN_TICKET_STATUSES:
        raise DeskRefusal(strings.DESK_NOT_OPEN.format(number=ticket.number, status=STATUS_LABELS[status]))


def assignee_name(session: Session, ticket: Ticket) -> str | None:
    if ticket.assigned_operator_id is None:
        return None
    operator = session.get(Operator, ticket.assigned_operator_id)
    return operator.name if operator else None


def _change(
    session: Session, ticket: Ticket, to: TicketStatus, who: str, ctx: DeskContext, at: dt.datetime
) -> None:
    try:
        change_status(session, ticket, to, actor=who, now=at, sla=ctx.sla)
    except TicketError as exc:
        raise DeskRefusal(str(exc)) from exc


def _assign(session: Session, ticket: Ticket, operator: Operator, at: dt.datetime) -> None:
    ticket.assigned_operator_id = operator.id
    ticket.handled_by_bot_only = False
    record_event(
        session,
        ticket,
        "assigned",
        actor=actor(operator),
        data={"operator_id": operator.id, "name": operator.name},
        now=at,
    )


def claim(
    session: Session, ticket: Ticket, operator: Operator, ctx: DeskContext, *, now: dt.datetime | None = None
) -> str:
    """认领: the ticket becomes ASSIGNED to this operator (first response stamped by change_status)."""
    at = now or utcnow()
    check_access(operator, ticket, ctx)
    ensure_open(ticket)
    status = TicketStatus(ticket.status)
    if ticket.assigned_operator_id is not None and status is S.ASSIGNED:
        if ticket.assigned_operator_id == operator.id:
            return strings.DESK_ALREADY_YOURS.format(number=ticket.number)
        raise DeskRefusal(
            strings.DESK_CLAIMED_BY_OTHER.format(number=ticket.number, name=assignee_name(session, ticket))
        )
    if ticket.assigned_operator_id != operator.id:
        _assign(session, ticket, operator, at)
    if status is not S.ASSIGNED:
        _change(session, ticket, S.ASSIGNED, actor(operator), ctx, at)
    return strings.DESK_CLAIMED.format(number=ticket.number)


def resolve(
    session: Session, ticket: Ticket, operator: Operator, ctx: DeskContext, *, now: dt.datetime | None = None
) -> OutboundMessage | None:
    """办结: RESOLVED, then the rating round is opened at the same instant, so the scheduler's
    request_due_ratings (which looks for tickets not asked since their resolution) will not ask again."""
    at = now or utcnow()
    check_access(operator, ticket, ctx)
    ensure_open(ticket)
    if ticket.assigned_operator_id is None:
        _assign(session, ticket, operator, at)  # whoever resolves it is credited with it (and its rating)
    _change(session, ticket, S.RESOLVED, actor(operator), ctx, at)
    if not ticket.conversation_id:
        return None
    return request_rating(session, ticket, now=at)


def transfer(
    session: Session,
    ticket: Ticket,
    operator: Operator,
    county_code: str,
    ctx: DeskContext,
    *,
    now: dt.datetime | None = None,
) -> str | None:
    """转办: route to another county, unassigned and back to NEW; returns the previous county code."""
    at = now or utcnow()
    check_access(operator, ticket, ctx)
    ensure_open(ticket)
    if county_code not in ctx.county_names:
        raise DeskRefusal(strings.DESK_STALE_BUTTON)
    if county_code == ticket.county_code:
        raise DeskRefusal(strings.DESK_SAME_COUNTY.format(county=ctx.county_names[county_code]))
    source = ticket.county_code
    record_event(
        session,
        ticket,
        "transferred",
        actor=actor(operator),
        data={"from": source, "to": county_code, "from_operator": ticket.assigned_operator_id},
        now=at,
    )
    ticket.county_code = county_code
    ticket.assigned_operator_id = None
    status = TicketStatus(ticket.status)
    if status is S.WAITING_CITIZEN:  # the lifecycle has no waiting → new edge; go through assigned
        _change(session, ticket, S.ASSIGNED, actor(operator), ctx, at)
        status = S.ASSIGNED
    if status is S.ASSIGNED:
        _change(session, ticket, S.NEW, actor(operator), ctx, at)
    return source


def note(session: Session, ticket: Ticket, operator: Operator, text: str, ctx: DeskContext) -> None:
    """Internal note: audit trail only, never sent to the citizen."""
    check_access(operator, ticket, ctx)
    record_event(session, ticket, "note", actor=actor(operator), data={"text": text})


def check_reply(ticket: Ticket, operator: Operator, ctx: DeskContext) -> None:
    check_access(operator, ticket, ctx)
    ensure_open(ticket)


def record_reply(
    session: Session,
    ticket: Ticket,
    operator: Operator,
    text: str,
    ctx: DeskContext,
    *,
    now: dt.datetime | None = None,
) -> tuple[MessageLog, bool]:
    """Log a delivered operator reply; an unclaimed ticket is claimed by whoever answers it. The conversation
    is now with a human, so the ticket is flagged for handoff (the citizen's answers come back to the group,
    not to the bot). Returns (outbound log row, claimed now)."""
    at = now or utcnow()
    claimed = False
    if TicketStatus(ticket.status) in (S.NEW, S.REOPENED) and ticket.assigned_operator_id is None:
        try:
            with session.begin_nested():
                claim(session, ticket, operator, ctx, now=at)
            claimed = True
        except DeskRefusal:  # lost a race for the claim: the reply was delivered all the same
            session.refresh(ticket)
    taken_by_operator(session, ticket, actor(operator), at)
    citizen = session.scalar(select(Citizen).where(Citizen.conversation_id == ticket.conversation_id))
    if citizen is None:  # delivered to a chat the gateway has not seen yet: record the citizen now
        channel, _, external_id = (ticket.conversation_id or "").partition("-")
        citizen = get_or_create_citizen(session, channel, external_id)
    message = log_outbound(session, citizen, text, {"operator_id": operator.id})
    message.ticket_id = ticket.id
    session.flush()
    record_event(
        session, ticket, "operator_reply", actor=actor(operator), data={"message_log_id": message.id}, now=at
    )
    return message, claimed


def open_tickets_for(
    session: Session, operator: Operator, *, limit: int, ctx: DeskContext | None = None
) -> list[Ticket]:
    """Open tickets this operator may handle (from this desk): urgent first, then oldest first."""
    query = (
        select(Ticket)
        .where(Ticket.status.in_(OPEN_TICKET_STATUSES))
        .order_by((Ticket.priority != "urgent").asc(), Ticket.created_at, Ticket.id)
    )
    viewer = ctx.viewer(operator) if ctx is not None else Viewer.of(operator)
    return list(session.scalars(restrict(query, viewer).limit(limit)))
