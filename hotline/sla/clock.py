"""SLA due times computed from the audit trail, so they can always be recomputed and explained.

The clock runs from ticket creation in business time; it pauses while the ticket waits for the citizen
(waiting_citizen) and between a resolution and a reopening, and it stops at the first response (for the
first-response clock) or at resolution (for the resolution clock). Times in the database are naive UTC;
the calendar works in local time, so conversion happens at the edges of this module only.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from hotline.db.models import OPEN_TICKET_STATUSES, Ticket, TicketEvent, TicketStatus, utcnow
from hotline.sla.calendar import BusinessCalendar
from hotline.sla.config import SlaConfig

# Statuses during which the agency's clock does not run.
_PAUSING = {
    TicketStatus.WAITING_CITIZEN.value,
    TicketStatus.RESOLVED.value,
    TicketStatus.REFERRED.value,
    TicketStatus.CLOSED.value,
    TicketStatus.CANCELLED.value,
}


@dataclass(frozen=True)
class DueTimes:
    first_response_due: dt.datetime  # naive UTC
    resolution_due: dt.datetime  # naive UTC
    paused: bool


class SlaClock:
    """Due-time arithmetic for one deployment (configuration + business calendar)."""

    def __init__(self, config: SlaConfig | None = None, calendar: BusinessCalendar | None = None) -> None:
        self.config = config or SlaConfig()
        self.tz = ZoneInfo(self.config.timezone)
        self.calendar = calendar or BusinessCalendar(
            self.config.windows, self.config.holidays, self.config.workdays
        )

    def to_local(self, utc: dt.datetime) -> dt.datetime:
        return utc.replace(tzinfo=dt.UTC).astimezone(self.tz).replace(tzinfo=None)

    def to_utc(self, local: dt.datetime) -> dt.datetime:
        return local.replace(tzinfo=self.tz).astimezone(dt.UTC).replace(tzinfo=None)

    @staticmethod
    def pauses(
        events: Iterable[TicketEvent], now: dt.datetime
    ) -> list[tuple[dt.datetime, dt.datetime | None]]:
        """Intervals (UTC) during which the clock stood still, from the status events in order."""
        result: list[tuple[dt.datetime, dt.datetime | None]] = []
        started: dt.datetime | None = None
        for event in sorted(events, key=lambda e: (e.created_at, e.id or 0)):
            if event.kind != "status":
                continue
            if event.to_status in _PAUSING and started is None:
                started = event.created_at
            elif event.to_status not in _PAUSING and started is not None:
                result.append((started, event.created_at))
                started = None
        if started is not None:
            result.append((started, None))
        return result

    def _due(
        self,
        start: dt.datetime,
        budget: float,
        pauses: Sequence[tuple[dt.datetime, dt.datetime | None]],
        now: dt.datetime,
    ) -> dt.datetime:
        cal = self.calendar
        due = cal.add_business_seconds(self.to_local(start), budget)
        for a_utc, b_utc in pauses:
            a = self.to_local(a_utc)
            if a >= due:
                break
            b = self.to_local(b_utc if b_utc is not None else max(now, a_utc))
            due = cal.add_business_seconds(due, cal.business_seconds_between(a, b))
        return self.to_utc(due)

    def due_times(
        self, ticket: Ticket, events: Iterable[TicketEvent], now: dt.datetime | None = None
    ) -> DueTimes:
        now = now or utcnow()
        target = self.config.target_for(ticket.category, ticket.priority or "normal")
        pauses = self.pauses(events, now)
        first = self._due(ticket.created_at, target.first_response_hours * 3600, pauses, now)
        resolution = self._due(
            ticket.created_at, target.resolution_days * self.config.workday_seconds, pauses, now
        )
        paused = bool(pauses) and pauses[-1][1] is None
        return DueTimes(first, resolution, paused)

    def apply(
        self, ticket: Ticket, events: Iterable[TicketEvent], now: dt.datetime | None = None
    ) -> DueTimes:
        """Store the due times on the ticket (the caller commits)."""
        due = self.due_times(ticket, events, now)
        ticket.first_response_due = due.first_response_due
        ticket.resolution_due = due.resolution_due
        return due

    def business_hours_between(self, start_utc: dt.datetime, end_utc: dt.datetime) -> float:
        return self.calendar.business_seconds_between(self.to_local(start_utc), self.to_local(end_utc)) / 3600


def compute_due_times(
    session: Session, ticket: Ticket, clock: SlaClock, now: dt.datetime | None = None
) -> DueTimes:
    """(Re)compute one ticket's due times from its audit trail."""
    session.flush()
    events = session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
    ).all()
    return clock.apply(ticket, events, now)


def recompute_due_times(
    session: Session,
    clock: SlaClock,
    now: dt.datetime | None = None,
    *,
    only_open: bool = True,
    batch: int = 500,
) -> int:
    """Recompute due times for open tickets (or all); run by the scheduler and after a config change."""
    now = now or utcnow()
    query = select(Ticket).order_by(Ticket.id)
    if only_open:
        query = query.where(Ticket.status.in_(OPEN_TICKET_STATUSES))
    count = 0
    last_id = 0
    while True:
        tickets = session.scalars(query.where(Ticket.id > last_id).limit(batch)).all()
        if not tickets:
            return count
        by_ticket: dict[int, list[TicketEvent]] = defaultdict(list)
        ids = [t.id for t in tickets]
        for event in session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id.in_(ids), TicketEvent.kind == "status")
        ):
            by_ticket[event.ticket_id].append(event)
        for ticket in tickets:
            clock.apply(ticket, by_ticket[ticket.id], now)
            count += 1
        last_id = ids[-1]
        session.flush()


def overdue_query(now: dt.datetime | None = None, kind: str = "any") -> Select[Ticket]:
    """Open, not paused tickets past a due time. kind: any | first_response | resolution."""
    now = now or utcnow()
    first = and_(Ticket.first_response_at.is_(None), Ticket.first_response_due < now)
    resolution = Ticket.resolution_due < now
    condition = {"first_response": first, "resolution": resolution}.get(kind, or_(first, resolution))
    active = (TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.REOPENED)
    return (
        select(Ticket).where(Ticket.status.in_(active), condition).order_by(Ticket.resolution_due, Ticket.id)
    )


def overdue_tickets(
    session: Session, now: dt.datetime | None = None, kind: str = "any", counties: Sequence[str] | None = None
) -> list[Ticket]:
    query = overdue_query(now, kind)
    if counties:
        query = query.where(Ticket.county_code.in_(list(counties)))
    return list(session.scalars(query))
