"""Record an inquiry the bot resolved by itself with a knowledge-base answer (机器人独立办结).

The inquiry becomes a consultation work order like any other (so "all inquiries" in the reports still
counts it), created and resolved in one transaction by the bot, with the entry on the ticket
(`facts["faq_id"]`) and an audited `faq_resolved` event. Being resolved, it gets the usual satisfaction
request (hotline.followup). The reports count these tickets as bot-resolved (hotline.reports.metrics).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from hotline.db.models import CaseType, Ticket, TicketStatus
from hotline.tickets.service import NewTicket, change_status, record_event

FAQ_FACT = "faq_id"


def bot_resolved_ticket(
    category: str, question: str, faq_id: str, conversation_id: str | None, key: str
) -> NewTicket:
    """The work order of an inquiry answered from the knowledge base (a consultation, no county asked)."""
    return NewTicket(
        category=category,
        conversation_id=conversation_id,
        intake_key=key,
        case_type=CaseType.CONSULTATION,
        description=question,
        facts={FAQ_FACT: faq_id},
    )


def mark_bot_resolved(
    session: Session,
    ticket: Ticket,
    faq_id: str,
    *,
    score: float | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Resolve a just-created ticket as answered by the bot; audited (faq_resolved + status events)."""
    record_event(
        session,
        ticket,
        "faq_resolved",
        actor="bot",
        data={FAQ_FACT: faq_id, **({"score": round(score, 3)} if score is not None else {})},
        now=now,
    )
    if TicketStatus(ticket.status) is not TicketStatus.RESOLVED:
        change_status(session, ticket, TicketStatus.RESOLVED, actor="bot", now=now)
