"""“查工单”: the status of the citizen's own tickets only."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from hotline import categories
from hotline.db.models import Ticket, TicketStatus
from hotline.db.session import session_scope
from hotline.runtime import ready_database
from hotline.settings import Settings, get_settings
from hotline.tickets.service import STATUS_LABELS, get_by_number, tickets_of_conversation

MAX_LISTED = 3


def describe(ticket: Ticket, settings: Settings) -> dict[str, str]:
    county = next((c for c in settings.counties if c.code == ticket.county_code), None)
    centre = county.centre if county else settings.city.centre
    return {
        "ticket_number": ticket.number,
        "status": STATUS_LABELS[TicketStatus(ticket.status)],
        "category_label": categories.label(ticket.category),
        "county": county.name if county else settings.city.name,
        "centre": centre.name,
        "phone": centre.phone,
    }


class ActionTicketStatus(Action):
    def name(self) -> str:
        return "action_ticket_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        settings = get_settings()
        asked = [str(v).strip() for v in tracker.get_latest_entity_values("ticket_number")]
        with session_scope(ready_database(settings)) as session:
            if asked:
                for number in asked:
                    ticket = get_by_number(session, number)
                    if ticket is None or ticket.conversation_id != tracker.sender_id:
                        dispatcher.utter_message(response="utter_ticket_not_found", ticket_number=number)
                    else:
                        dispatcher.utter_message(response="utter_ticket_status", **describe(ticket, settings))
                return []
            own = tickets_of_conversation(session, tracker.sender_id)
            if not own:
                dispatcher.utter_message(response="utter_no_tickets")
                return []
            for ticket in own[:MAX_LISTED]:
                dispatcher.utter_message(response="utter_ticket_status", **describe(ticket, settings))
        return []
