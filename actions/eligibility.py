"""After the citizen confirms: the eligibility answer (hotline.eligibility) in plain Chinese.

Whether to offer a person at once is decided in the core (hotline.intake.urgency).
"""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.intake import intake_slots
from hotline.eligibility import Decision, assess
from hotline.intake.urgency import is_urgent
from hotline.settings import get_settings

log = logging.getLogger(__name__)


def decision_for(tracker: Tracker) -> Decision:
    """The eligibility decision on this conversation's intake answers, with the deployment's rules."""
    return assess(intake_slots(tracker), get_settings())


class ActionCheckEligibility(Action):
    def name(self) -> str:
        return "action_check_eligibility"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            decision = decision_for(tracker)
        except Exception:
            log.exception("eligibility check failed")
            dispatcher.utter_message(response="utter_eligibility_error")
            return [SlotSet("urgent", False), SlotSet("eligibility_outcome", None)]
        dispatcher.utter_message(response="utter_eligibility_result", explanation=decision.explanation)
        return [
            SlotSet("urgent", is_urgent(decision)),
            SlotSet("eligibility_outcome", decision.outcome.value),
        ]
