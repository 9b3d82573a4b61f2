"""After the citizen confirms: the eligibility answer (hotline.eligibility) in plain Chinese.

Short answer first (issue 11): the decision is made here, but said together with the ticket number by
action_create_ticket — one short message (verdict, ticket number, next step), then the details (why, what to
bring and where, time limits, other ways and the objection route) as a few following messages.
Whether to offer a person at once is decided in the core (hotline.intake.urgency).
"""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.intake import intake_slots
from hotline.eligibility import Decision, Outcome, assess, cached_rules
from hotline.eligibility.explain import headline, sections
from hotline.intake.urgency import is_urgent
from hotline.settings import get_settings

log = logging.getLogger(__name__)


def decision_for(tracker: Tracker) -> Decision:
    """The eligibility decision on this conversation's intake answers, with the deployment's rules."""
    return assess(intake_slots(tracker), get_settings())


# Outcomes without legal aid on the facts given: the next step is a free consultation, not an application.
_CONSULT = frozenset({Outcome.NOT_IN_SCOPE, Outcome.MEANS_TEST_FAILED})


def say_answer(dispatcher: CollectingDispatcher, decision: Decision, ticket_number: str | None) -> None:
    """The short answer (verdict, ticket number, next step), then the details, one block a message."""
    settings = get_settings()
    centre = decision.centre
    name, phone = (
        (centre.name, centre.phone) if centre else (settings.city.centre.name, settings.city.centre.phone)
    )
    if ticket_number is None:
        response = "utter_answer_short_no_ticket"
    elif decision.outcome in _CONSULT:
        response = "utter_answer_short_consult"
    elif is_urgent(decision):
        response = "utter_answer_short_urgent"
    else:
        response = "utter_answer_short"
    dispatcher.utter_message(
        response=response, headline=headline(decision), ticket_number=ticket_number, centre=name, phone=phone
    )
    for block in sections(decision, cached_rules(settings.eligibility.rules_path).articles):
        dispatcher.utter_message(response="utter_answer_details", details=block)


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
        return [
            SlotSet("urgent", is_urgent(decision)),
            SlotSet("eligibility_outcome", decision.outcome.value),
        ]
