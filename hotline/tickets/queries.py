"""Read-side ticket queries for the CLI and the operator desk, always filtered by the viewer's access."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db.models import Ticket, TicketEvent, TicketStatus, utcnow
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
