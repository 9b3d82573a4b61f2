"""The citizen's side of appointments (预约), handled by the gateway itself, never by the dialog engine.

The engine only announces an offer: the ticket action adds `{"appointment_offer": {"ticket", "county"}}`
(no text) to its answer. Here it becomes the next free slots at that centre as buttons; the buttons'
`appt:` payloads (hotline.appointments.payloads) come back as callback data and are answered here, as are
the text commands in `strings.APPT_TEXT_COMMANDS`. Booking rules, seats and the audit trail are the
core's (hotline.appointments.service); every function takes the gateway's unit-of-work session.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import strings
from bot.replies import Button, Reply
from hotline.appointments import payloads
from hotline.appointments.service import (
    AppointmentError,
    book,
    cancel,
    documents_for,
    live_for_ticket,
    rebook,
    upcoming_for_conversation,
)
from hotline.appointments.slots import Slot, free_slots, parse_key, to_local
from hotline.db.models import OPEN_TICKET_STATUSES, Appointment, Ticket
from hotline.settings import County, Settings
from hotline.sla.texts import WEEKDAYS
from hotline.tickets.service import get_by_number

OFFER_KEY = "appointment_offer"


def command_of(button_payload: str | None, text: str) -> payloads.Command | None:
    """An appointment request in a button press or a typed command; None for anything else."""
    if button_payload:
        return payloads.parse(button_payload)
    return payloads.Command("list") if text.strip() in strings.APPT_TEXT_COMMANDS else None


def has_offer(messages: list[dict[str, Any]]) -> bool:
    return any(isinstance(m.get("custom"), dict) and OFFER_KEY in m["custom"] for m in messages)


def when(start: dt.datetime) -> str:
    return strings.APPT_SLOT.format(
        month=start.month,
        day=start.day,
        weekday=WEEKDAYS[start.weekday()],
        hour=start.hour,
        minute=start.minute,
    )


class CitizenAppointments:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _county(self, code: str) -> County | None:
        return next((c for c in self.settings.counties if c.code == code), None)

    def _own_ticket(self, session: Session, conversation_id: str, number: str) -> Ticket | None:
        ticket = get_by_number(session, number)
        return ticket if ticket is not None and ticket.conversation_id == conversation_id else None

    def _own_appointment(self, session: Session, conversation_id: str, appointment_id: int) -> Appointment:
        appt = session.get(Appointment, appointment_id)
        if appt is None or appt.conversation_id != conversation_id:
            raise AppointmentError("not_found")
        return appt

    def render(self, session: Session, conversation_id: str, custom: dict[str, Any]) -> list[Reply]:
        """An engine's custom payload as replies (an unknown one is dropped: it carries no text)."""
        offer = custom.get(OFFER_KEY)
        if not isinstance(offer, dict):
            return []
        return self.offer(
            session, conversation_id, str(offer.get("ticket", "")), str(offer.get("county", ""))
        )

    def offer(self, session: Session, conversation_id: str, number: str, county_code: str) -> list[Reply]:
        ticket = self._own_ticket(session, conversation_id, number)
        county = self._county(county_code)
        if ticket is None or county is None or not self.settings.appointments.enabled:
            return []
        live = live_for_ticket(session, ticket.id)
        if live is not None:
            return self.listing(session, conversation_id)
        slots = free_slots(session, self.settings, county.code)
        if not slots:
            return [Reply(strings.APPT_NO_SLOTS.format(centre=county.centre.name, phone=county.centre.phone))]
        buttons = tuple(
            Button(when(s.start), payloads.book(ticket.number, county.code, s.key)) for s in slots
        )
        text = strings.APPT_OFFER.format(centre=county.centre.name, address=county.centre.address)
        return [Reply(text, buttons)]

    def _slot_buttons(self, slots: list[Slot], appointment_id: int) -> tuple[Button, ...]:
        return tuple(Button(when(s.start), payloads.move(appointment_id, s.key)) for s in slots)

    def _confirmation(self, session: Session, appt: Appointment, template: str) -> Reply:
        county = self._county(appt.county_code)
        ticket = session.get_one(Ticket, appt.ticket_id)
        assert county is not None
        documents = "\n".join(
            f"{i}. {d}" for i, d in enumerate(documents_for(self.settings, ticket), start=1)
        )
        text = template.format(
            when=when(to_local(self.settings, appt.starts_at)),
            centre=county.centre.name,
            address=county.centre.address,
            phone=county.centre.phone,
            number=ticket.number,
            documents=documents,
        )
        return Reply(text, self._manage_buttons(appt.id))

    def _manage_buttons(self, appointment_id: int) -> tuple[Button, ...]:
        return (
            Button(strings.APPT_BUTTON_CANCEL, payloads.cancel(appointment_id)),
            Button(strings.APPT_BUTTON_REBOOK, payloads.rebook(appointment_id)),
        )

    def listing(self, session: Session, conversation_id: str) -> list[Reply]:
        """The citizen's upcoming appointments, each with cancel/rebook; none: an offer for their latest
        open ticket with a county, or how to get one."""
        upcoming = upcoming_for_conversation(session, conversation_id)
        if not upcoming:
            ticket = session.scalar(
                select(Ticket)
                .where(
                    Ticket.conversation_id == conversation_id,
                    Ticket.county_code.is_not(None),
                    Ticket.status.in_(OPEN_TICKET_STATUSES),
                )
                .order_by(Ticket.created_at.desc(), Ticket.id.desc())
                .limit(1)
            )
            if ticket is None or ticket.county_code is None:
                return [Reply(strings.APPT_NONE + strings.APPT_NO_TICKET)]
            return [
                Reply(strings.APPT_NONE),
                *self.offer(session, conversation_id, ticket.number, ticket.county_code),
            ]
        replies = [Reply(strings.APPT_LIST_HEADER)]
        for appt in upcoming:
            county = self._county(appt.county_code)
            ticket = session.get_one(Ticket, appt.ticket_id)
            line = strings.APPT_LIST_LINE.format(
                when=when(to_local(self.settings, appt.starts_at)),
                centre=county.centre.name if county else appt.county_code,
                number=ticket.number,
            )
            replies.append(Reply(line, self._manage_buttons(appt.id)))
        return replies

    def handle(self, session: Session, conversation_id: str, command: payloads.Command) -> list[Reply]:
        """Answer one appointment request; refusals in the citizen's words (strings.APPT_ERRORS)."""
        actor = f"citizen:{conversation_id}"
        try:
            if command.action == "list":
                return self.listing(session, conversation_id)
            if command.action == "offer":
                return self.offer(session, conversation_id, command.ticket, command.county)
            if command.action == "book":
                ticket = self._own_ticket(session, conversation_id, command.ticket)
                start = parse_key(command.slot)
                if ticket is None or start is None:
                    raise AppointmentError("not_found")
                try:
                    appt, _ = book(session, self.settings, ticket, command.county, start, actor=actor)
                except AppointmentError as exc:
                    if exc.code == "has_booking":  # an older offer's button: show the booking it has
                        return [Reply(strings.APPT_ERRORS[exc.code]), *self.listing(session, conversation_id)]
                    if exc.code != "slot_full" and exc.code != "slot_invalid":
                        raise
                    again = self.offer(session, conversation_id, ticket.number, command.county)
                    return [Reply(strings.APPT_ERRORS[exc.code]), *again]
                return [self._confirmation(session, appt, strings.APPT_CONFIRMED)]
            appt = self._own_appointment(session, conversation_id, command.appointment)
            if command.action == "cancel":
                cancel(session, self.settings, appt, actor=actor)
                county = self._county(appt.county_code)
                ticket = session.get_one(Ticket, appt.ticket_id)
                text = strings.APPT_CANCELLED.format(
                    when=when(to_local(self.settings, appt.starts_at)),
                    centre=county.centre.name if county else appt.county_code,
                )
                renew = Button(strings.APPT_BUTTON_AGAIN, payloads.offer(ticket.number, appt.county_code))
                return [Reply(text, (renew,))]
            if command.action == "rebook":
                if appt.status != "booked":
                    raise AppointmentError("not_booked")
                slots = [
                    s
                    for s in free_slots(session, self.settings, appt.county_code)
                    if s.start != to_local(self.settings, appt.starts_at)
                ]
                if not slots:
                    county = self._county(appt.county_code)
                    assert county is not None
                    return [
                        Reply(
                            strings.APPT_NO_SLOTS.format(centre=county.centre.name, phone=county.centre.phone)
                        )
                    ]
                text = strings.APPT_REBOOK_PICK.format(when=when(to_local(self.settings, appt.starts_at)))
                return [Reply(text, self._slot_buttons(slots, appt.id))]
            if command.action == "move":
                start = parse_key(command.slot)
                if start is None:
                    raise AppointmentError("not_found")
                new = rebook(session, self.settings, appt, start, actor=actor)
                return [self._confirmation(session, new, strings.APPT_REBOOKED)]
        except AppointmentError as exc:
            return [Reply(strings.APPT_ERRORS.get(exc.code, strings.APPT_ERRORS["not_found"]))]
        return []
