"""Complaints about the service: always reviewed by a supervisor (hotline.followup.open_complaint)."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.intake import fresh_user_turn, intent_of
from actions.ticketing import intake_key
from hotline.attachments import link_unlinked
from hotline.db.models import CaseType
from hotline.db.session import session_scope
from hotline.followup.service import open_complaint
from hotline.runtime import ready_database
from hotline.settings import get_settings
from hotline.tickets.service import NewTicket, create_ticket, tickets_of_conversation

log = logging.getLogger(__name__)

FORM = "complaint_form"
_FORM_ACTIONS = frozenset({"action_listen", "action_extract_slots", FORM, f"validate_{FORM}"})
_BARE = frozenset({"投诉", "我要投诉", "我想投诉", "我要投诉你们", "投诉律师", "要投诉"})
MIN_DETAIL = 6


def _detail(text: str) -> str | None:
    text = text.strip()
    return text if len(text) >= MIN_DETAIL and text not in _BARE else None


class ActionStartComplaint(Action):
    """Take the first message as the complaint when it already says what happened."""

    def name(self) -> str:
        return "action_start_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_complaint_start")
        return [SlotSet("complaint_detail", _detail(str(tracker.latest_message.get("text") or "")))]


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> str:
        return f"validate_{FORM}"

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if not fresh_user_turn(tracker, _FORM_ACTIONS) or intent_of(tracker) in {"cancel", "request_human"}:
            return []
        return [SlotSet("complaint_detail", str(tracker.latest_message.get("text") or ""))]

    def validate_complaint_detail(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {"complaint_detail": None}  # nothing said yet: the form asks
        text = str(value).strip()
        if len(text) < 2:
            dispatcher.utter_message(response="utter_complaint_too_short")
            return {"complaint_detail": None}
        return {"complaint_detail": text}


class ActionFileComplaint(Action):
    """On the citizen's latest ticket if they have one, else on a new ticket of category complaint."""

    def name(self) -> str:
        return "action_file_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        settings = get_settings()
        detail = str(tracker.get_slot("complaint_detail") or "")
        try:
            with session_scope(ready_database(settings)) as session:
                own = [
                    t
                    for t in tickets_of_conversation(session, tracker.sender_id)
                    if t.category != "complaint"
                ]
                ticket = own[0] if own else None
                if ticket is None:
                    ticket, created = create_ticket(
                        session,
                        NewTicket(
                            category="complaint",
                            conversation_id=tracker.sender_id,
                            intake_key=intake_key(tracker, loop=FORM),
                            case_type=CaseType.CONSULTATION,
                            description=detail,
                        ),
                        prefix=settings.city.ticket_prefix,
                        timezone=settings.city.timezone,
                    )
                    if created:
                        link_unlinked(session, ticket, ticket.created_at)
                names = settings.county_names
                _review, alert = open_complaint(session, ticket, detail, county_names=names)
                log.warning("supervisor alert %s: %s", alert.kind, alert.text)
                number = ticket.number
        except Exception:
            log.exception("complaint not filed")
            dispatcher.utter_message(response="utter_ticket_error")
            return [SlotSet("complaint_detail", None)]
        dispatcher.utter_message(response="utter_complaint_filed", ticket_number=number)
        return [SlotSet("complaint_detail", None)]
