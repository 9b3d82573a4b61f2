"""The intake form: questions per category, answer reading, confirmation, correction, cancel, digressions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import answers, learning
from hotline import categories, normalise
from hotline.categories import INTAKE_CATEGORIES
from hotline.eligibility.facts import SLOT_NAMES
from hotline.settings import get_settings

FORM = "intake_form"
# Intents that are never an answer: the form rejects the turn and a rule answers them.
STRONG_DIGRESSIONS = frozenset({"ask_why", "ask_contact", "ask_eligibility", "cancel", "request_human"})
# Intents answered in the form unless the text is a readable answer (a button such as “城镇” may be misread).
WEAK_DIGRESSIONS = frozenset({"chitchat", "bot_challenge", "out_of_scope"})
# A legal category this sure, written instead of an answer, is a new problem (switch_topic).
TOPIC_SWITCH_CONFIDENCE = 0.5
# Actions that belong to the form itself: a user turn followed only by these is still unanswered.
_FORM_ACTIONS = frozenset({"action_listen", "action_extract_slots", FORM, f"validate_{FORM}"})


def intent_of(tracker: Tracker) -> str:
    return str((tracker.latest_message.get("intent") or {}).get("name") or "")


def fresh_user_turn(tracker: Tracker, form_actions: frozenset[str] = _FORM_ACTIONS) -> bool:
    """True when the latest user message has not been handled by any other action yet."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return True
        if event.get("event") == "action" and event.get("name") not in form_actions:
            return False
    return False


def intake_slots(tracker: Tracker | dict[str, Any]) -> dict[str, Any]:
    """The category plus the answers to the current plan's questions (stale answers left out)."""
    slots = dict(tracker.slots if isinstance(tracker, Tracker) else tracker)
    plan = answers.plan_for(slots)
    keep = {"category", "description", *plan}
    return {k: v for k, v in slots.items() if k in keep and v is not None and k != "confirmed"}


class ActionStartIntake(Action):
    """Remember the category and the citizen's own words; reset any earlier intake; take entities given."""

    def name(self) -> str:
        return "action_start_intake"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = intent_of(tracker)
        category = intent if intent in INTAKE_CATEGORIES else "other_legal"
        text = tracker.latest_message.get("text") or ""
        if (clarified := learning.clarified_message(tracker)) is not None:
            text = clarified[0]  # a tap on a clarification button: the words it clarified, not "/category"
            learning.record_citizen_choice(tracker, category)
        dispatcher.utter_message(
            response="utter_category_recognised", category_label=categories.label(category)
        )
        events: list[EventType] = [SlotSet(name, None) for name in answers.INTAKE_SLOTS]
        events += [
            SlotSet("category", category),
            SlotSet("description", text),
            SlotSet("ticket_number", None),
            SlotSet("urgent", None),
            SlotSet("fallback_stage", None),
        ]
        events += [SlotSet(slot, value) for slot, value in story_facts(tracker).items()]
        return events


# Actions after which earlier messages belong to a finished (or abandoned) matter.
_MATTER_ENDS = frozenset({"action_start_intake", "action_create_ticket", "action_cancel_intake"})


def story_texts(tracker: Tracker) -> list[str]:
    """The citizen's messages since the last matter ended, oldest first (the latest one included)."""
    texts: list[str] = []
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") in _MATTER_ENDS:
            break
        if event.get("event") == "user" and event.get("text") and not str(event["text"]).startswith("/"):
            texts.append(str(event["text"]))
    return texts[::-1]


def story_facts(tracker: Tracker) -> dict[str, Any]:
    """Facts named in the story so far (a later message wins), plus the county and age entities.

    Only what the wording says (answers.facts_from_story): an amount in a story is the amount at stake,
    not the income; “三个月了” is how long, not how long is left.
    """
    facts: dict[str, Any] = {}
    for text in story_texts(tracker):
        facts.update(answers.facts_from_story(text))
    for entity in ("county", "age"):
        for value in tracker.get_latest_entity_values(entity):
            parsed = normalise_value(entity, str(value))
            if parsed not in (None, answers.UNKNOWN):
                facts[entity] = parsed
                break
    return facts


# The questions validated by ValidateIntakeForm.check_answer: every slot the eligibility facts read that the
# form asks (the summary is confirmed separately; category, description and the rest come from the story).
NOT_ASKED = frozenset({"category", "urgent_preservation", "description", "proceeding"})
ANSWER_SLOTS: tuple[str, ...] = tuple(s for s in SLOT_NAMES if s not in NOT_ASKED)


def _forget_disability_type(result: dict[str, Any], dispatcher: CollectingDispatcher) -> None:
    """“没有残疾”: an earlier disability type no longer applies."""
    if result.get("disabled") is False:
        result["disability_type"] = None


def _dv_safety(result: dict[str, Any], dispatcher: CollectingDispatcher) -> None:
    """Violence still going on: safety advice at once, before the next question."""
    if result.get("dv_in_progress") is True:
        dispatcher.utter_message(response="utter_dv_safety")


# slot -> a step after its answer was checked (may change the result or say something).
AFTER_ANSWER: dict[str, Callable[[dict[str, Any], CollectingDispatcher], None]] = {
    "disabled": _forget_disability_type,
    "dv_in_progress": _dv_safety,
}

_Form = TypeVar("_Form", bound="type[ValidateIntakeForm]")


def answer_validators(cls: _Form) -> _Form:
    """Give the form a `validate_<slot>` for each of ANSWER_SLOTS, all calling `check_answer`.

    rasa_sdk finds a slot's validator by that method name (FormValidationAction.get_validation_events).
    """

    def validator(slot: str) -> Callable[..., dict[str, Any]]:
        def validate(
            self: ValidateIntakeForm,
            value: Any,
            dispatcher: CollectingDispatcher,
            tracker: Tracker,
            domain: DomainDict,
        ) -> dict[str, Any]:
            return self.check_answer(slot, value, dispatcher, tracker)

        validate.__name__ = validate.__qualname__ = f"validate_{slot}"
        return validate

    for slot in ANSWER_SLOTS:
        setattr(cls, f"validate_{slot}", validator(slot))
    return cls


@answer_validators
class ValidateIntakeForm(FormValidationAction):
    """Reads each answer (buttons, entities or free text), checks it, and decides what to ask next."""

    def name(self) -> str:
        return f"validate_{FORM}"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        return answers.plan_for(tracker.slots)

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return [SlotSet(k, v) for k, v in extract_answers(tracker).items()]

    # --- answers: one validator for every question (validate_<slot> below), the summary its own ------
    def check_answer(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Normalise and check an answer, count a failure; then the slot's follow-up step, if any."""
        result = self._check(slot, value, dispatcher, tracker)
        if (after := AFTER_ANSWER.get(slot)) is not None:
            after(result, dispatcher)
        return result

    def _check(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        parsed = normalise_value(slot, value)
        # At the summary, naming or correcting an answer ends “which one to change?”.
        changing = {"awaiting_change": None} if tracker.get_slot("requested_slot") == "confirmed" else {}
        if parsed is not None:
            understood = {"fallback_stage": None} if tracker.get_slot("requested_slot") == slot else {}
            return {slot: parsed, **_clear_failure(tracker, slot), **changing, **understood}
        if tracker.get_slot("requested_slot") != slot:
            return {
                slot: tracker.get_slot(slot),
                **changing,
            }  # a stray entity for another question: ignore it
        return fail(slot, dispatcher, tracker)

    def validate_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is True:
            return {
                "confirmed": True,
                "awaiting_change": None,
                "fallback_stage": None,
                **_clear_failure(tracker, "confirmed"),
            }
        if value is False:
            return {"confirmed": None, "awaiting_change": True, "fallback_stage": None}
        if tracker.get_slot("requested_slot") != "confirmed":
            return {"confirmed": None}  # the form starting (slots reset): nothing was asked yet
        return fail("confirmed", dispatcher, tracker)


def normalise_value(slot: str, value: Any) -> Any:
    """A raw answer (button, entity value or free text) as the slot's value; None = not understood."""
    if value is None:
        return None
    if value == answers.UNKNOWN:
        return answers.UNKNOWN
    if slot in answers.BOOL_SLOTS and isinstance(value, bool):
        return value
    if slot in {"age", "income_per_capita", "days_to_deadline"} and isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text in answers.CODES.get(slot, ()):
        return text
    if slot != "county" and normalise.is_unknown(text):
        return answers.UNKNOWN
    parser = answers.PARSERS.get(slot)
    parsed = parser(text) if parser else None
    if slot == "age" and parsed is not None and not 0 <= parsed <= 120:
        return None
    return parsed


def _failures(tracker: Tracker) -> dict[str, int]:
    value = tracker.get_slot("failures")
    return {str(k): int(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _clear_failure(tracker: Tracker, slot: str) -> dict[str, Any]:
    failures = _failures(tracker)
    if slot not in failures:
        return {}
    failures.pop(slot)
    return {"failures": failures or None}


def miss_streak(tracker: Tracker) -> int:
    """How many turns in a row the bot has not understood (the one fallback chain's counter)."""
    return int(tracker.get_slot("fallback_stage") or 0)


def new_topic(tracker: Tracker) -> str | None:
    """The legal category of a new problem written instead of an answer, else None."""
    intent = tracker.latest_message.get("intent") or {}
    name = str(intent.get("name") or "")
    confidence = float(intent.get("confidence") or 0.0)
    switched = name in INTAKE_CATEGORIES and name != tracker.get_slot("category")
    return name if switched and confidence >= TOPIC_SWITCH_CONFIDENCE else None


def switch_topic(
    category: str, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker
) -> dict[str, Any]:
    """Start over on the new problem, keeping what was said about the person (county, age, income …)."""
    text = str(tracker.latest_message.get("text") or "")
    dispatcher.utter_message(response="utter_topic_switched", category_label=categories.label(category))
    values: dict[str, Any] = {name: None for name in answers.INTAKE_SLOTS}
    values |= {name: tracker.get_slot(name) for name in answers.PERSON_SLOTS if name != slot}
    values |= answers.facts_from_story(text)
    values |= {"category": category, "description": text, "fallback_stage": None}
    return values


def fail(slot: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
    """An answer that could not be read: a new problem switches the topic, else it is a miss of the chain.

    The first miss says so and offers to skip the question or talk to a person; the form then asks again.
    A second miss in a row is not validated here: the form rejects it and the fallback chain hands over
    (extract_answers, nlu/rules/fallback.yml).
    """
    if (category := new_topic(tracker)) is not None:
        return switch_topic(category, slot, dispatcher, tracker)
    failures = _failures(tracker)
    failures[slot] = failures.get(slot, 0) + 1
    dispatcher.utter_message(response="utter_not_understood")
    dispatcher.utter_message(response="utter_offer_help")
    return {slot: None, "failures": failures, "fallback_stage": miss_streak(tracker) + 1}


def _keyword_slot(text: str, plan: list[str]) -> str | None:
    for slot, words in answers.KEYWORDS.items():
        if slot in plan and any(w in text for w in words):
            return slot
    return None


def extract_answers(tracker: Tracker) -> dict[str, Any]:
    """Raw candidate values from the latest message; validated afterwards by `validate_<slot>`.

    Empty when the turn is a digression (the form then rejects it and a rule answers), or when the
    message was already handled by another action (coming back to the form after a digression).
    """
    if not fresh_user_turn(tracker):
        return {}
    intent = intent_of(tracker)
    requested = tracker.get_slot("requested_slot")
    text = str(tracker.latest_message.get("text") or "").strip()
    plan = answers.plan_for(tracker.slots)
    if intent in STRONG_DIGRESSIONS and not (
        intent != "request_human" and requested not in (None, "confirmed") and normalise.is_unknown(text)
    ):
        return {}
    if intent in WEAK_DIGRESSIONS and (
        requested is None or requested == "confirmed" or normalise_value(requested, text) is None
    ):
        return {}
    out: dict[str, Any] = {}
    # Entities fill their slots: a correction overwrites, otherwise only unanswered questions.
    for entity in tracker.latest_message.get("entities") or []:
        slot = answers.ENTITY_SLOTS.get(str(entity.get("entity")))
        if (
            slot
            and slot in plan
            and slot not in out
            and (intent == "correct" or slot == requested or tracker.get_slot(slot) is None)
            and (slot != "income_per_capita" or slot == requested or normalise.parse_income(text) is not None)
        ):
            out[slot] = str(entity.get("value"))
    if requested == "confirmed":
        if out:
            pass  # corrections by entity; validate_<slot> ends “which one to change?”
        elif intent == "affirm":
            out["confirmed"] = True
        elif intent == "deny":
            out["confirmed"] = False
        elif (slot := _keyword_slot(text, plan)) is not None:
            parsed = normalise_value(slot, text)
            out[slot] = parsed if parsed not in (None, answers.UNKNOWN) else None
        else:
            out["confirmed"] = normalise.parse_bool(text)
        return {} if missed_again(tracker, out, requested) else out
    if intent == "correct" and out:
        return out  # a correction of an earlier answer, not an answer to the current question
    if intent == "correct" and (slot := _keyword_slot(text, plan)) not in (None, requested):
        parsed = normalise_value(str(slot), text)
        out[str(slot)] = parsed if parsed not in (None, answers.UNKNOWN) else None
        return out
    if requested and requested not in out:
        if requested in answers.BOOL_SLOTS and intent in {"affirm", "deny"}:
            out[requested] = intent == "affirm"
        else:
            out[requested] = text
    if missed_again(tracker, out, requested):
        return {}  # the form rejects the turn; the fallback chain hands over (nlu/rules/fallback.yml)
    return out


def missed_again(tracker: Tracker, out: dict[str, Any], requested: str | None) -> bool:
    """A second unreadable answer in a row that is not a new problem either: the chain's next step."""
    if not requested or miss_streak(tracker) < 1 or new_topic(tracker) is not None:
        return False
    if set(out) - {requested}:
        return False  # something else was said (a correction, another fact): not a miss
    value = out.get(requested)
    return not isinstance(value, bool) and normalise_value(requested, value) is None


class ActionAskConfirmed(Action):
    """The summary before the ticket is written, or, after “不对”, the question which answer to change."""

    def name(self) -> str:
        return "action_ask_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        plan = answers.plan_for(tracker.slots)
        if tracker.get_slot("awaiting_change"):
            dispatcher.utter_message(response="utter_ask_which_change")
            return []
        dispatcher.utter_message(
            response="utter_confirm_intake",
            category_label=categories.label(tracker.get_slot("category")),
            summary=answers.summary(tracker.slots, plan),
        )
        return []


class ActionExplainWhy(Action):
    """“为什么要问收入？” — explain why the question being asked matters; the form then asks it again."""

    def name(self) -> str:
        return "action_explain_why"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        slot = tracker.get_slot("requested_slot")
        if tracker.active_loop.get("name") == FORM and slot:
            dispatcher.utter_message(response=f"utter_why_{slot}")
        else:
            dispatcher.utter_message(response="utter_why_general")
        return []


class ActionCancelIntake(Action):
    """Stop the intake at any point: close the form, forget the answers, confirm."""

    def name(self) -> str:
        return "action_cancel_intake"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        active = tracker.active_loop.get("name")
        if not active:
            dispatcher.utter_message(response="utter_nothing_to_cancel")
            return []
        dispatcher.utter_message(response="utter_cancelled")
        resets = [*answers.INTAKE_SLOTS, "category", "description"]
        resets += ["rating", "rating_comment", "complaint_detail"]
        return [ActiveLoop(None), SlotSet("requested_slot", None), *[SlotSet(n, None) for n in resets]]


class ActionContact(Action):
    """Where to go: the county's legal aid centre if the county is known, else the city centre."""

    def name(self) -> str:
        return "action_contact"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        settings = get_settings()
        county = settings.county_by_name(str(tracker.get_slot("county") or ""))
        centre = county.centre if county else settings.city.centre
        dispatcher.utter_message(
            response="utter_contact",
            centre=centre.name,
            address=centre.address,
            phone=centre.phone,
            hours=centre.hours,
            hotline=settings.city.hotline_phone,
        )
        return []
