"""Erasure on request (PIPL Art 47): one citizen's personal data removed, the anonymous counts kept.

An administrator names the citizen by `channel:external_id` (e.g. `telegram:123456789`) or by one of their
ticket numbers. Erased: every message logged with them (text -> marker, payload with attachment
references dropped), their display name and external ids (the citizen row stays, renamed `erased-<id>`,
so tickets still count once per citizen), their tickets' description, eligibility facts and reasons,
conversation id, rating comments, review details and the free text of audit events (notes, file names),
and the engine's tracker events of their conversation. Kept: category, county, case type, status,
dates, the special-group flags, scores and `facts["fallbacks"]` — what the reports count.

Every erasure is audited: a `privacy_erased` event on each ticket naming the administrator and the counts
(never the erased data); a citizen without tickets is audited in the log (operator id, citizen row id).
Nothing is committed here; a dry run plans and counts without changing a row. The tracker store is a
separate database: its events are deleted at the end, after the application rows are flushed; if the
caller's commit then fails, running the erasure again finishes it (nothing else depends on those events).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Engine, delete, or_, select
from sqlalchemy.orm import Session

from hotline.db.models import (
    Citizen,
    MessageLog,
    MessageState,
    NluExample,
    Operator,
    OperatorRole,
    Rating,
    ReviewItem,
    Ticket,
    TicketEvent,
)
from hotline.privacy.masking import mask_pii
from hotline.privacy.retention import ERASED_MARKER, IN_FLIGHT, delete_conversation, stripped_payload

log = logging.getLogger(__name__)

ERASED_EVENT = "privacy_erased"
# Facts the reports read (hotline/reports/metrics.py); every other fact (age, income, ...) is erased.
STATISTIC_FACTS = ("fallbacks",)
# Audit-event keys holding free text someone typed or a file name; other string values are PII-masked.
FREE_TEXT_KEYS = frozenset(
    {"text", "note", "outcome", "comment", "detail", "caption", "description", "file_name"}
)


class ErasureRefused(Exception):
    """Not an active administrator, or no such citizen: the message says which (Chinese)."""


@dataclass
class ErasureResult:
    citizen_id: int | None
    tickets: list[str] = field(default_factory=list)  # ticket numbers (not personal data)
    messages: int = 0
    attachments: int = 0
    ratings: int = 0
    reviews: int = 0
    events: int = 0
    tracker_events: int | None = None  # None: no tracker store found


def erased_id(citizen_id: int) -> str:
    return f"erased-{citizen_id}"


def check_admin(operator: Operator | None) -> Operator:
    if operator is None or not operator.active:
        raise ErasureRefused("找不到在岗的工作人员")
    if operator.role != OperatorRole.ADMIN:
        raise ErasureRefused(f"#{operator.id} 不是管理员，无权删除市民个人信息")
    return operator


def find_target(session: Session, ref: str) -> tuple[Citizen | None, list[Ticket]]:
    """`channel:external_id` or a ticket number -> the citizen (None for an imported ticket without
    one) and every ticket of theirs."""
    ref = ref.strip()
    ticket = session.scalar(select(Ticket).where(Ticket.number == ref))
    citizen: Citizen | None = None
    if ticket is not None:
        if ticket.citizen_id is not None:
            citizen = session.get(Citizen, ticket.citizen_id)
        elif ticket.conversation_id:
            citizen = session.scalar(select(Citizen).where(Citizen.conversation_id == ticket.conversation_id))
    else:
        channel, sep, external_id = ref.partition(":")
        if sep and channel and external_id:
            citizen = session.scalar(
                select(Citizen).where(Citizen.channel == channel, Citizen.external_id == external_id)
            )
        if citizen is None:
            raise ErasureRefused(f"找不到市民或工单：{ref}（格式：渠道:编号，如 telegram:123456，或工单号）")
    if citizen is None:
        return None, [ticket] if ticket is not None else []
    tickets = list(
        session.scalars(
            select(Ticket)
            .where(or_(Ticket.citizen_id == citizen.id, Ticket.conversation_id == citizen.conversation_id))
            .order_by(Ticket.id)
        )
    )
    return citizen, tickets


def scrub_event_data(data: dict[str, Any]) -> dict[str, Any]:
    """Free text replaced by the marker, other strings masked; numbers, flags and keys kept."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, str) and value:
            out[key] = ERASED_MARKER if key in FREE_TEXT_KEYS else mask_pii(value)
        else:
            out[key] = value
    return out


def _erase_ticket(session: Session, ticket: Ticket, citizen: Citizen | None, result: ErasureResult) -> None:
    ticket.description = ERASED_MARKER if ticket.description else ""
    facts = ticket.facts or {}
    ticket.facts = {k: facts[k] for k in STATISTIC_FACTS if k in facts}
    ticket.eligibility_reasons = []
    if citizen is not None:
        ticket.conversation_id = erased_id(citizen.id)
    for rating in session.scalars(select(Rating).where(Rating.ticket_id == ticket.id)):
        if rating.comment:
            rating.comment = None
            result.ratings += 1
    for review in session.scalars(select(ReviewItem).where(ReviewItem.ticket_id == ticket.id)):
        if review.detail:
            review.detail = ERASED_MARKER
            result.reviews += 1
    for event in session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)):
        scrubbed = scrub_event_data(event.data or {})
        if scrubbed != (event.data or {}):
            event.data = scrubbed
            result.events += 1


def erase_citizen(
    session: Session,
    ref: str,
    operator: Operator | None,
    now: dt.datetime,
    *,
    dry_run: bool = False,
    trackers: Engine | None = None,
) -> ErasureResult:
    """Erase one citizen's personal data as `operator` (an active admin, else ErasureRefused)."""
    admin = check_admin(operator)
    citizen, tickets = find_target(session, ref)
    result = ErasureResult(citizen_id=citizen.id if citizen else None, tickets=[t.number for t in tickets])
    ticket_ids = [t.id for t in tickets]
    conditions: list[ColumnElement[bool]] = [MessageLog.ticket_id.in_(ticket_ids)] if ticket_ids else []
    if citizen is not None:
        conditions.append(MessageLog.citizen_id == citizen.id)
    messages = list(session.scalars(select(MessageLog).where(or_(*conditions)))) if conditions else []
    result.messages = sum(1 for m in messages if m.text != ERASED_MARKER or m.payload)
    result.attachments = sum(1 for m in messages if isinstance((m.payload or {}).get("attachment"), dict))
    conversation = citizen.conversation_id if citizen is not None else None
    if trackers is not None and conversation is not None:
        result.tracker_events = delete_conversation(trackers, conversation, dry_run=True)
    if dry_run:
        # Count what the ticket pass would change on copies: nothing in the session is touched.
        for ticket in tickets:
            result.ratings += sum(
                1 for r in session.scalars(select(Rating).where(Rating.ticket_id == ticket.id)) if r.comment
            )
            result.reviews += sum(
                1
                for r in session.scalars(select(ReviewItem).where(ReviewItem.ticket_id == ticket.id))
                if r.detail
            )
            result.events += sum(
                1
                for e in session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
                if scrub_event_data(e.data or {}) != (e.data or {})
            )
        return result

    for message in messages:
        message.text = ERASED_MARKER
        message.payload = stripped_payload(message.payload)
        message.last_error = None
        if message.state in IN_FLIGHT:  # never sent on to the engine or the citizen after erasure
            message.state = MessageState.FAILED
    for ticket in tickets:
        _erase_ticket(session, ticket, citizen, result)
    # The NLU inbox's examples of this citizen (hotline.learning): their words, masked but still theirs.
    learned: list[ColumnElement[bool]] = [NluExample.ticket_id.in_(ticket_ids)] if ticket_ids else []
    if conversation is not None:
        learned.append(NluExample.conversation_id == conversation)
    if learned:
        session.execute(delete(NluExample).where(or_(*learned)))
    if citizen is not None:
        citizen.external_id = erased_id(citizen.id)
        citizen.conversation_id = erased_id(citizen.id)
        citizen.display_name = None
    audit = {
        "messages": result.messages,
        "attachments": result.attachments,
        "tickets": len(tickets),
        "tracker_events": result.tracker_events,
    }
    actor = f"operator:{admin.id}"
    for ticket in tickets:
        # Added directly (not tickets.service.record_event) so updated_at, which exports show, stays.
        session.add(
            TicketEvent(ticket_id=ticket.id, kind=ERASED_EVENT, actor=actor, data=audit, created_at=now)
        )
    session.flush()
    if trackers is not None and conversation is not None:
        delete_conversation(trackers, conversation, dry_run=False)
    log.warning(
        "privacy erasure by %s: citizen row %s, %d tickets, %s",
        actor,
        result.citizen_id,
        len(tickets),
        audit,
    )
    return result
