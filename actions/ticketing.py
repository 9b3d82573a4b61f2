"""Opening work orders from the dialog: after an intake, or when the citizen asks for a human."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from hotline import categories
from hotline.db.session import session_scope
from hotline.runtime import ready_database
from hotline.settings import get_settings
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


def open_ticket(tracker: Tracker, new: NewTicket) -> str:
    settings = get_settings()
    url = ready_database(settings)
    with session_scope(url) as session:
        ticket, created = create_ticket(
            session, new, prefix=settings.city.ticket_prefix, timezone=settings.city.timezone
        )
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
        county = settings.county_by_name(tracker.get_slot("county") or "")
        new = NewTicket(
            category=category,
            conversation_id=tracker.sender_id,
            intake_key=intake_key(tracker),
            county_code=county.code if county else None,
            case_type=categories.case_type(category),
            description=tracker.get_slot("description") or "",
            facts=_facts(tracker),
            migrant_worker=category == "wage_arrears",
            disabled=category == "disability_rights",
            minor=category == "minors",
            elderly=category == "elderly",
        )
        try:
            number = open_ticket(tracker, new)
        except Exception:
            log.exception("ticket creation failed")
            dispatcher.utter_message(response="utter_ticket_error")
            return []
        dispatcher.utter_message(
            response="utter_ticket_created",
            ticket_number=number,
            county=county.name if county else settings.city.name,
        )
        return [SlotSet("ticket_number", number)]


def _facts(tracker: Tracker) -> dict[str, Any]:
    keep = ("category", "county")
    return {k: tracker.get_slot(k) for k in keep if tracker.get_slot(k) is not None}


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        settings = get_settings()
        county = settings.county_by_name(tracker.get_slot("county") or "")
        category = tracker.get_slot("category") or "handoff"
        new = NewTicket(
            category=category,
            conversation_id=tracker.sender_id,
            intake_key=intake_key(tracker, loop="handoff"),
            county_code=county.code if county else None,
            case_type=categories.case_type(category),
            description=tracker.latest_message.get("text") or "",
            priority="normal",
        )
        try:
            number = open_ticket(tracker, new)
        except Exception:
            log.exception("handoff ticket creation failed")
            dispatcher.utter_message(response="utter_ticket_error")
            return []
        _mark_handoff(number)
        dispatcher.utter_message(response="utter_handoff", ticket_number=number)
        return [SlotSet("ticket_number", number)]


def _mark_handoff(number: str) -> None:
    from hotline.tickets.service import get_by_number, record_event

    url = ready_database()
    with session_scope(url) as session:
        ticket = get_by_number(session, number)
        if ticket is not None and not ticket.handoff_requested:
            ticket.handoff_requested = True
            ticket.handled_by_bot_only = False
            record_event(session, ticket, "handoff_requested", actor="bot")
