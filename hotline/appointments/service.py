"""Booking, cancelling, rebooking and attendance of centre appointments; every change audited on the ticket.

No double booking under concurrent requests: a live booking takes one numbered seat of its slot and
(county, start, seat) is unique in the database, so of two requests racing for the last seat one insert
fails and that request looks again (and finds the slot full). `active_ticket_id` is unique the same way:
one live booking per ticket, so a double tap books once. Each change writes a TicketEvent in the same
transaction (hotline.tickets.service.record_event), like every other ticket change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.appointments import texts as T
from hotline.appointments.slots import Slot, slot_at, taken_seats, to_local, to_utc
from hotline.db.models import Appointment, AppointmentStatus, Ticket, utcnow
from hotline.settings import Settings
from hotline.tickets.service import record_event

LIVE = AppointmentStatus.BOOKED


class AppointmentError(Exception):
    """A refused request; `code` keys hotline.appointments.texts.ERRORS (and the gateway's strings)."""

    def __init__(self, code: str, **values: str) -> None:
        self.code = code
        super().__init__(T.ERRORS[code].format(**values))


def _audit(
    session: Session,
    appt: Appointment,
    kind: str,
    settings: Settings,
    actor: str,
    at: dt.datetime,
    **extra: object,
) -> None:
    ticket = session.get_one(Ticket, appt.ticket_id)
    data = {
        "appointment": appt.id,
        "county": appt.county_code,
        "starts_at": to_local(settings, appt.starts_at).isoformat(timespec="minutes"),
        **extra,
    }
    record_event(session, ticket, kind, actor=actor, data=data, now=at)


def live_for_ticket(session: Session, ticket_id: int) -> Appointment | None:
    return session.scalar(select(Appointment).where(Appointment.active_ticket_id == ticket_id))


def _insert(session: Session, ticket: Ticket, slot: Slot, settings: Settings, at: dt.datetime) -> Appointment:
    """Take the lowest free seat of `slot`; a lost race on a seat is retried, a full slot refused."""
    start_utc, end_utc = to_utc(settings, slot.start), to_utc(settings, slot.end)
    for _ in range(slot.capacity + 1):
        used = session.scalars(
            select(Appointment.seat).where(
                Appointment.county_code == slot.county,
                Appointment.starts_at == start_utc,
                Appointment.seat.is_not(None),
            )
        ).all()
        free = [seat for seat in range(1, slot.capacity + 1) if seat not in set(used)]
        if not free:
            raise AppointmentError("slot_full")
        appt = Appointment(
            ticket_id=ticket.id,
            conversation_id=ticket.conversation_id,
            county_code=slot.county,
            starts_at=start_utc,
            ends_at=end_utc,
            seat=free[0],
            active_ticket_id=ticket.id,
            status=LIVE,
            created_at=at,
            updated_at=at,
        )
        try:
            with session.begin_nested():
                session.add(appt)
                session.flush()
        except IntegrityError:
            if live_for_ticket(session, ticket.id) is not None:
                raise AppointmentError("has_booking") from None
            continue  # another request took this seat first: look again
        return appt
    raise AppointmentError("slot_full")


def book(
    session: Session,
    settings: Settings,
    ticket: Ticket,
    county: str,
    start: dt.datetime,
    *,
    actor: str,
    now: dt.datetime | None = None,
) -> tuple[Appointment, bool]:
    """Book the slot at local `start` for `ticket`; (appointment, created).

    The same slot booked again for the same ticket (a double tap) returns the existing booking.
    """
    at = now or utcnow()
    if county not in settings.county_names:
        raise AppointmentError("no_centre")
    existing = live_for_ticket(session, ticket.id)
    if existing is not None:
        if existing.county_code == county and existing.starts_at == to_utc(settings, start):
            return existing, False
        raise AppointmentError("has_booking")
    slot = slot_at(settings, county, start, at)
    if slot is None:
        raise AppointmentError("slot_invalid")
    appt = _insert(session, ticket, slot, settings, at)
    _audit(session, appt, "appointment_booked", settings, actor, at, seat=appt.seat)
    return appt, True


def _end(appt: Appointment, status: AppointmentStatus, at: dt.datetime, keep_seat: bool) -> None:
    appt.status = status
    appt.active_ticket_id = None
    if not keep_seat:
        appt.seat = None
    appt.updated_at = at


def cancel(
    session: Session, settings: Settings, appt: Appointment, *, actor: str, now: dt.datetime | None = None
) -> None:
    """Free the seat; only a booking still waiting for the visit can be cancelled."""
    at = now or utcnow()
    if appt.status is not LIVE:
        raise AppointmentError("not_booked")
    _end(appt, AppointmentStatus.CANCELLED, at, keep_seat=False)
    _audit(session, appt, "appointment_cancelled", settings, actor, at)


def rebook(
    session: Session,
    settings: Settings,
    appt: Appointment,
    start: dt.datetime,
    *,
    actor: str,
    now: dt.datetime | None = None,
) -> Appointment:
    """Move a live booking to another slot of the same centre, atomically: if the new slot is refused or
    full, the old booking stays as it was."""
    at = now or utcnow()
    if appt.status is not LIVE:
        raise AppointmentError("not_booked")
    slot = slot_at(settings, appt.county_code, start, at)
    if slot is None:
        raise AppointmentError("slot_invalid")
    ticket = session.get_one(Ticket, appt.ticket_id)
    with session.begin_nested():
        old_seat, old_active = appt.seat, appt.active_ticket_id
        _end(appt, AppointmentStatus.REBOOKED, at, keep_seat=False)
        session.flush()
        try:
            new = _insert(session, ticket, slot, settings, at)
        except AppointmentError:
            appt.status, appt.seat, appt.active_ticket_id = LIVE, old_seat, old_active
            raise
    _audit(session, new, "appointment_rebooked", settings, actor, at, previous=appt.id, seat=new.seat)
    return new


def mark(
    session: Session,
    settings: Settings,
    appt: Appointment,
    status: AppointmentStatus,
    *,
    actor: str,
    now: dt.datetime | None = None,
) -> None:
    """Record attendance (到场) or a no-show (未到) once the slot has begun; a mistake can be corrected."""
    at = now or utcnow()
    if status not in (AppointmentStatus.ATTENDED, AppointmentStatus.NO_SHOW):
        raise ValueError(status)
    if appt.status not in (LIVE, AppointmentStatus.ATTENDED, AppointmentStatus.NO_SHOW):
        raise AppointmentError("not_booked")
    if appt.starts_at > at:
        raise AppointmentError("not_started")
    if appt.status is status:
        return
    _end(appt, status, at, keep_seat=True)
    _audit(session, appt, f"appointment_{status.value}", settings, actor, at)


def upcoming_for_conversation(
    session: Session, conversation_id: str, now: dt.datetime | None = None
) -> list[Appointment]:
    """A citizen's live bookings that have not begun yet, soonest first."""
    at = now or utcnow()
    return list(
        session.scalars(
            select(Appointment)
            .where(
                Appointment.conversation_id == conversation_id,
                Appointment.status == LIVE,
                Appointment.ends_at > at,
            )
            .order_by(Appointment.starts_at)
        )
    )


def day_list(
    session: Session, settings: Settings, day: dt.date, counties: Sequence[str] | None = None
) -> list[Appointment]:
    """One local day's appointments (not the cancelled or moved ones), by centre and time."""
    start = to_utc(settings, dt.datetime.combine(day, dt.time()))
    end = to_utc(settings, dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))
    query = select(Appointment).where(
        Appointment.starts_at >= start,
        Appointment.starts_at < end,
        Appointment.status.not_in((AppointmentStatus.CANCELLED, AppointmentStatus.REBOOKED)),
    )
    if counties is not None:
        query = query.where(Appointment.county_code.in_(list(counties)))
    return list(
        session.scalars(query.order_by(Appointment.county_code, Appointment.starts_at, Appointment.seat))
    )


def seats_left(session: Session, settings: Settings, slot: Slot) -> int:
    start = to_utc(settings, slot.start)
    used = taken_seats(session, slot.county, start, start + dt.timedelta(seconds=1)).get(start, 0)
    return max(slot.capacity - used, 0)


def documents_for(settings: Settings, ticket: Ticket) -> tuple[str, ...]:
    """What to bring: the eligibility decision's documents, replayed from the ticket's stored facts (the
    rules' data, rules.yaml `documents`); a generic list when the ticket has no decision."""
    from hotline.eligibility import cached_rules, replay

    try:
        decision = replay(
            ticket.facts or {}, cached_rules(settings.eligibility.rules_path), settings.eligibility
        )
    except Exception:  # an imported or hand-made ticket without intake facts
        return T.DEFAULT_DOCUMENTS
    return tuple(decision.documents) or T.DEFAULT_DOCUMENTS
