"""What an intake's eligibility decision writes on its work order: flags, eligibility columns, audit event.

Kept out of the dialog actions so the ticket written after an intake is decided in the core (the action
only gathers the slots and calls these).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hotline.db.models import Ticket
from hotline.eligibility import Decision
from hotline.intake.urgency import is_urgent
from hotline.tickets.service import record_event


def ticket_facts(decision: Decision, category: str) -> dict[str, Any]:
    """The ticket's `facts` column: the category, then the decision's facts, the county answer among them,
    with `as_of` so hotline.eligibility.replay decides on the same day."""
    return {"category": category, **decision.to_ticket_fields()["facts"]}


def ticket_flags(decision: Decision) -> dict[str, Any]:
    """Priority and special-group columns; an urgent intake (hotline.intake.urgency) is an urgent ticket."""
    flags = decision.ticket_flags()
    if is_urgent(decision):
        flags["priority"] = "urgent"
    return flags


def record_decision(session: Session, ticket: Ticket, decision: Decision) -> None:
    """Write the decision's eligibility columns on a new ticket and audit it as an "eligibility" event."""
    fields = decision.to_ticket_fields()
    ticket.eligibility_outcome = fields["eligibility_outcome"]
    ticket.eligibility_reasons = fields["eligibility_reasons"]
    ticket.eligibility_articles = fields["eligibility_articles"]
    ticket.eligibility_rules_version = fields["eligibility_rules_version"]
    record_event(
        session,
        ticket,
        "eligibility",
        actor="bot",
        data={"outcome": fields["eligibility_outcome"], "rule": decision.rule_id},
    )
