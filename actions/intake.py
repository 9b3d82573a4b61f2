"""Start of an intake: remember the category and the citizen's own words, then validate the form."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from hotline import categories
from hotline.settings import get_settings


class ActionStartIntake(Action):
    def name(self) -> str:
        return "action_start_intake"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        category = intent if intent in categories.BY_CODE else "other_legal"
        text = tracker.latest_message.get("text") or ""
        dispatcher.utter_message(
            response="utter_category_recognised", category_label=categories.label(category)
        )
        events: list[EventType] = [SlotSet("category", category), SlotSet("description", text)]
        county = _county_from_entities(tracker)
        if county:
            events.append(SlotSet("county", county))
        return events


def _county_from_entities(tracker: Tracker) -> str | None:
    settings = get_settings()
    for value in tracker.get_latest_entity_values("county"):
        county = settings.county_by_name(str(value))
        if county:
            return county.name
    return None


class ValidateIntakeForm(FormValidationAction):
    def name(self) -> str:
        return "validate_intake_form"

    def validate_county(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        settings = get_settings()
        text = str(value or "").strip()
        county = settings.county_by_name(text)
        if county is None:
            # Free text such as "我在定远那边": look for any known name inside it.
            county = next(
                (c for c in settings.counties for key in (c.name, *c.aliases) if key and key in text),
                None,
            )
        if county is None:
            dispatcher.utter_message(response="utter_county_invalid")
            return {"county": None}
        return {"county": county.name}
