"""Read-side ticket queries for the CLI and the operator desk, always filtered by the viewer's access."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db.models import Operator, Ticket, TicketEvent, TicketStatus, utcnow
from hotline.sla.clock import overdue_query
from hotline.tickets.access import Viewer, restrict


def list_tickets(
    session: Session,
    *,
    viewer: Viewer | None = None,
    status: TicketStatus | None = None,
    county: str | None = None,
    overdue: bool = False,
    now: dt.datetime | None = None,
    limit: int = 50,
) -> list[Ticket]:
    query = overdue_query(now or utcnow()) if overdue else select(Ticket).order_by(Ticket.created_at.desc())
    if status is not None:
        query = query.where(Ticket.status == status)
    if county:
        query = query.where(Ticket.county_code == county)
    return list(session.scalars(restrict(query, viewer).limit(limit)))


def ticket_history(session: Session, ticket: Ticket) -> list[TicketEvent]:
    return list(
        session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
        )
    )


def operator_names(session: Session, events: Sequence[TicketEvent]) -> dict[str, str]:
    """`operator:12` → the operator's name, for the actors of these events (history views)."""
    ids = {
        int(e.actor.partition(":")[2])
        for e in events
        if e.actor.startswith("operator:") and e.actor[9:].isdigit()
    }
    if not ids:
        return {}
    return {f"operator:{o.id}": o.name for o in session.scalars(select(Operator).where(Operator.id.in_(ids)))}
