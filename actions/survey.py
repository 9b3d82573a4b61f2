"""Satisfaction rating at the end of a bot-handled conversation (hotline.followup records it)."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.intake import fresh_user_turn, intent_of
from hotline import normalise
from hotline.categories import INTAKE_CATEGORIES
from hotline.db.session import session_scope
from hotline.followup.service import FollowupError, record_rating, request_rating
from hotline.runtime import ready_database
from hotline.settings import get_settings
from hotline.tickets.service import get_by_number

log = logging.getLogger(__name__)

FORM = "rating_form"
SKIPPED = "skipped"
_FORM_ACTIONS = frozenset({"action_listen", "action_extract_slots", FORM, f"validate_{FORM}"})
# Intents meaning “no rating, thanks” or a new topic: the survey ends without a score.
_LEAVE = frozenset(
    {"deny", "cancel", "goodbye", "request_human", "check_ticket_status", "complain", "greet"}
    | set(INTAKE_CATEGORIES)
)


class ValidateRatingForm(FormValidationAction):
    def name(self) -> str:
        return f"validate_{FORM}"

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if not fresh_user_turn(tracker, _FORM_ACTIONS):
            return []
        requested = tracker.get_slot("requested_slot")
        text = str(tracker.latest_message.get("text") or "").strip()
        if requested == "rating":
            return [SlotSet("rating", text)]
        if requested == "rating_comment":
            skip = intent_of(tracker) in {"deny", "goodbye", "thanks"} or text in {
                "跳过",
                "没有",
                "没有了",
                "不用了",
            }
            return [SlotSet("rating_comment", SKIPPED if skip else text)]
        return []

    def validate_rating(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        score = normalise.parse_rating(str(value or ""))
        if score is not None:
            return {"rating": score}
        if intent_of(tracker) in _LEAVE or tracker.get_slot("rating_failures"):
            dispatcher.utter_message(response="utter_rating_skipped")
            return {"rating": SKIPPED, "rating_comment": SKIPPED}
        dispatcher.utter_message(response="utter_rating_not_understood")
        return {"rating": None, "rating_failures": 1}

    def validate_rating_comment(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"rating_comment": str(value or SKIPPED)}


class ActionRecordRating(Action):
    """Store the score on the intake's ticket; a low score opens a review and a supervisor calls back."""

    def name(self) -> str:
        return "action_record_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        score = tracker.get_slot("rating")
        reset: list[EventType] = [
            SlotSet("rating", None),
            SlotSet("rating_comment", None),
            SlotSet("rating_failures", None),
        ]
        if not isinstance(score, int | float) or isinstance(score, bool):
            return reset
        comment = tracker.get_slot("rating_comment")
        comment = None if comment in (None, SKIPPED) else str(comment)
        number = tracker.get_slot("ticket_number")
        settings = get_settings()
        low = False
        try:
            with session_scope(ready_database(settings)) as session:
                ticket = get_by_number(session, str(number or ""))
                if ticket is None or ticket.conversation_id != tracker.sender_id:
                    raise FollowupError("no ticket")
                request_rating(session, ticket)
                names = settings.county_names
                outcome = record_rating(session, ticket, int(score), comment, county_names=names)
                low = bool(outcome.alerts)
                for alert in outcome.alerts:
                    log.warning("supervisor alert %s: %s", alert.kind, alert.text)
        except Exception:
            log.exception("rating not recorded for %s", number)
        dispatcher.utter_message(response="utter_rating_low" if low else "utter_rating_thanks")
        return reset
