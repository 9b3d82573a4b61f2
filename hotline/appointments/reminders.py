"""The day-before reminder: queued in the gateway's outbox (hotline.messages), delivered by the gateway.

The scheduler job writes each reminder as a QUEUED outbound message of the citizen; the gateway's retry
loop delivers the outbox with backoff and marks it sent only when the transport accepted it, so a
reminder survives a gateway restart or a Telegram outage. Marking `reminded_at` in the same transaction
makes the job safe to run every few minutes and on several replicas (one scheduler leader anyway).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.appointments import payloads
from hotline.appointments import texts as T
from hotline.appointments.service import LIVE, documents_for
from hotline.appointments.slots import to_local, to_utc
from hotline.db.models import Appointment, Citizen, Ticket, utcnow
from hotline.messages import log_outbound
from hotline.settings import Settings
from hotline.tickets.service import record_event


def describe_slot(start_local: dt.datetime) -> str:
    return f"{start_local:%m月%d日 %H:%M}"


def reminder_text(settings: Settings, appt: Appointment, ticket: Ticket) -> str:
    county = next(c for c in settings.counties if c.code == appt.county_code)
    documents = "\n".join(f"{i}. {d}" for i, d in enumerate(documents_for(settings, ticket), start=1))
    return T.REMINDER.format(
        when=describe_slot(to_local(settings, appt.starts_at)),
        centre=county.centre.name,
        address=county.centre.address,
        number=ticket.number,
        documents=documents,
    )


def queue_reminders(session: Session, settings: Settings, now: dt.datetime | None = None) -> int:
    """From `reminder_hour` (city time) on, queue a reminder for each of tomorrow's live bookings not yet
    reminded. A booking made after that hour for tomorrow has just had its confirmation: not repeated."""
    at = now or utcnow()
    local_now = to_local(settings, at)
    hour = settings.appointments.reminder_hour
    if local_now.hour < hour:
        return 0
    tomorrow = local_now.date() + dt.timedelta(days=1)
    start = to_utc(settings, dt.datetime.combine(tomorrow, dt.time()))
    end = to_utc(settings, dt.datetime.combine(tomorrow + dt.timedelta(days=1), dt.time()))
    reminder_time = to_utc(settings, dt.datetime.combine(local_now.date(), dt.time(hour)))
    due = session.scalars(
        select(Appointment).where(
            Appointment.status == LIVE,
            Appointment.reminded_at.is_(None),
            Appointment.starts_at >= start,
            Appointment.starts_at < end,
        )
    ).all()
    sent = 0
    for appt in due:
        appt.reminded_at = at
        citizen = session.scalar(select(Citizen).where(Citizen.conversation_id == appt.conversation_id))
        if citizen is None or appt.created_at >= reminder_time:
            continue
        ticket = session.get_one(Ticket, appt.ticket_id)
        buttons = [
            {"title": T.REMINDER_BUTTON_CANCEL, "payload": payloads.cancel(appt.id)},
            {"title": T.REMINDER_BUTTON_REBOOK, "payload": payloads.rebook(appt.id)},
        ]
        log_outbound(
            session, citizen, reminder_text(settings, appt, ticket), {"buttons": buttons}, queued=True
        )
        record_event(
            session,
            ticket,
            "appointment_reminded",
            actor="system:scheduler",
            data={"appointment": appt.id},
            now=at,
        )
        sent += 1
    return sent
