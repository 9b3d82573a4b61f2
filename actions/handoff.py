"""A human takes over: on request, when the bot cannot understand, or when the matter is urgent."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import _slots as S
from actions.intake import intake_slots, miss_streak, story_texts
from actions.ticketing import intake_key, open_ticket
from hotline import categories
from hotline.db.models import OPEN_TICKET_STATUSES
from hotline.db.session import session_scope
from hotline.runtime import ready_database
from hotline.settings import get_settings
from hotline.sla.office_hours import after_hours_opening
from hotline.tickets.service import NewTicket, get_by_number, record_event

log = logging.getLogger(__name__)

CATEGORY_INTENTS = frozenset(S.FAMILIES)


def mark_handoff(number: str, conversation_id: str) -> bool:
    """Flag an open ticket of this conversation for an operator; False if it is not open or not theirs."""
    with session_scope(ready_database()) as session:
        ticket = get_by_number(session, number)
        if (
            ticket is None
            or ticket.conversation_id != conversation_id
            or ticket.status not in OPEN_TICKET_STATUSES
        ):
            return False
        if not ticket.handoff_requested:
            ticket.handoff_requested = True
            ticket.handled_by_bot_only = False
            record_event(session, ticket, "handoff_requested", actor="bot")
        return True


def hand_over(
    dispatcher: CollectingDispatcher, tracker: Tracker, reason: str, description: str | None = None
) -> list[EventType]:
    """Reuse the intake's ticket when there is one, else open a handoff ticket with what is known."""
    settings = get_settings()
    existing = tracker.get_slot("ticket_number")
    number: str | None = None
    if existing:
        try:
            number = existing if mark_handoff(existing, tracker.sender_id) else None
        except Exception:
            log.exception("handoff on %s failed", existing)
    if number is None:
        county = settings.county_by_name(tracker.get_slot("county") or "")
        category = tracker.get_slot("category") or "handoff"
        known = intake_slots(tracker) if tracker.get_slot("category") else {}
        new = NewTicket(
            category=category,
            conversation_id=tracker.sender_id,
            intake_key=intake_key(tracker, loop="handoff"),
            county_code=county.code if county else None,
            case_type=categories.case_type(category),
            description=description
            or tracker.get_slot("description")
            or tracker.latest_message.get("text")
            or "",
            facts={**{k: v for k, v in known.items() if k != "description"}, "handoff_reason": reason},
            priority="urgent" if tracker.get_slot("urgent") else "normal",
        )
        try:
            number = open_ticket(tracker, new)
            mark_handoff(number, tracker.sender_id)
        except Exception:
            log.exception("handoff ticket creation failed")
            dispatcher.utter_message(response="utter_ticket_error")
            return []
    opening = after_hours_opening(settings.sla)  # None in office hours
    if opening is None:
        dispatcher.utter_message(response="utter_handoff", ticket_number=number)
    else:
        dispatcher.utter_message(
            response="utter_handoff_after_hours", ticket_number=number, next_opening=opening
        )
    events: list[EventType] = [SlotSet("ticket_number", number), SlotSet("fallback_stage", None)]
    if tracker.active_loop.get("name"):
        events += [ActiveLoop(None), SlotSet("requested_slot", None)]
    return events


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return hand_over(dispatcher, tracker, "citizen_request")


def top_categories(tracker: Tracker, n: int = 2) -> list[str]:
    ranking: list[dict[str, Any]] = tracker.latest_message.get("intent_ranking") or []
    return [str(r["name"]) for r in ranking if r.get("name") in CATEGORY_INTENTS][:n]


class ActionFallback(Action):
    """The one chain for every turn the bot did not understand, whatever the kind.

    NLU fallback, core (policy) fallback, a dialog act no rule expects, and a second unreadable answer
    in a form all end here (nlu/rules/fallback.yml, config.yml). The miss streak is the
    `fallback_stage` slot, cleared by any understood turn. First miss: the two likeliest categories as
    buttons, plus "none of these" and a person. Next miss in a row: a handoff ticket with the citizen's
    messages so far, so nobody hears "没太明白" more than twice in a row.
    """

    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if miss_streak(tracker) < 1:
            buttons = [{"title": categories.label(c), "payload": f"/{c}"} for c in top_categories(tracker)]
            buttons += [
                {"title": "都不是", "payload": "/deny"},
                {"title": "转人工", "payload": "/request_human"},
            ]
            dispatcher.utter_message(response="utter_fallback_options", buttons=buttons)
            return [SlotSet("fallback_stage", 1)]
        dispatcher.utter_message(response="utter_fallback_handoff")
        return hand_over(dispatcher, tracker, "not_understood", "\n".join(story_texts(tracker)))


class ActionResetMisses(Action):
    """Runs on every understood turn outside a form (the slot mapping of `fallback_stage` in domain.yml):
    the miss streak starts again. In a form, a valid answer clears it (actions/intake.py)."""

    def name(self) -> str:
        return "action_reset_misses"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return [SlotSet("fallback_stage", None)] if tracker.get_slot("fallback_stage") else []


class ActionAskRephrase(Action):
    """“都不是”: none of the offered categories fits; ask once to say it differently."""

    def name(self) -> str:
        return "action_ask_rephrase"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_ask_rephrase")
        return [SlotSet("fallback_stage", 2)]
