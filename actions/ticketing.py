"""Opening work orders from the dialog: after an intake (with the eligibility decision on it)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.eligibility import decision_for, say_answer
from hotline import categories
from hotline.attachments import link_unlinked
from hotline.db.models import Ticket
from hotline.db.session import session_scope
from hotline.eligibility import Decision
from hotline.intake.decision_record import record_decision, ticket_facts, ticket_flags
from hotline.runtime import ready_database
from hotline.settings import Settings, get_settings
from hotline.tickets.service import NewTicket, create_ticket

log = logging.getLogger(__name__)


def intake_key(tracker: Tracker, loop: str = "intake_form") -> str:
    """Identify one intake within a conversation: the time its form was activated.

    A retried action call sees the same tracker and therefore the same key, which is what makes
    ticket creation idempotent.
    """
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == loop:
            return f"{loop}@{event.get('timestamp')}"
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return f"msg@{event.get('timestamp')}"
    return "conversation"


def open_ticket(
    tracker: Tracker, new: NewTicket, on_created: Callable[[Any, Ticket], None] | None = None
) -> str:
    """Create (or find again) the ticket; `on_created(session, ticket)` runs once, in the same transaction."""
    settings = get_settings()
    url = ready_database(settings)
    with session_scope(url) as session:
        ticket, created = create_ticket(
            session, new, prefix=settings.city.ticket_prefix, timezone=settings.city.timezone
        )
        if created:
            link_unlinked(
                session, ticket, ticket.created_at
            )  # photos/documents sent before the ticket existed
        if created and on_created is not None:
            on_created(session, ticket)
        number = ticket.number
    log.info("ticket %s %s (category=%s)", number, "created" if created else "reused", new.category)
    return number


class ActionCreateTicket(Action):
    def name(self) -> str:
        return "action_create_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        settings = get_settings()
        category = tracker.get_slot("category") or "other_legal"
        decision = decision_for(tracker)
        # LAL Art 38: the competent centre (the case organ's county when known), else the citizen's county.
        routed = decision.centre.county if decision.centre is not None else None
        county = settings.county_by_name(routed or tracker.get_slot("county") or "")
        new = NewTicket(
            category=category,
            conversation_id=tracker.sender_id,
            intake_key=intake_key(tracker),
            county_code=county.code if county else None,
            case_type=categories.case_type(category),
            description=tracker.get_slot("description") or "",
            facts=ticket_facts(decision, category),
            **ticket_flags(decision),
        )

        def store_decision(session: Any, ticket: Ticket) -> None:
            record_decision(session, ticket, decision)

        try:
            number = open_ticket(tracker, new, store_decision)
        except Exception:
            log.exception("ticket creation failed")
            dispatcher.utter_message(response="utter_ticket_error")
            say_answer(dispatcher, decision, None)
            return []
        say_answer(dispatcher, decision, number)
        offer = appointment_offer(settings, decision, number, county.code if county else None)
        if offer is not None:  # the gateway renders it as the next free slots (bot/appointments.py)
            dispatcher.utter_message(json_message=offer)
        return [SlotSet("ticket_number", number)]


def appointment_offer(
    settings: Settings, decision: Decision, ticket_number: str, county_code: str | None
) -> dict[str, Any] | None:
    """{"appointment_offer": {"ticket", "county"}} for the competent centre (the decision's routing, else the
    citizen's county), when appointments are on and the outcome calls for a visit; no text in it."""
    cfg = settings.appointments
    if not cfg.enabled or decision.outcome.value not in cfg.offer_outcomes:
        return None
    routed = (
        settings.county_by_name(decision.centre.county)
        if decision.centre and decision.centre.county
        else None
    )
    code = routed.code if routed else county_code
    if code is None:
        return None
    return {"appointment_offer": {"ticket": ticket_number, "county": code}}
