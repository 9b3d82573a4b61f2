"""Answers to common general questions at the first turn (issue 10): answer, ask, resolve or take the case.

A thin layer over hotline.knowledge: `action_answer_faq` runs before the intake on a legal-category message
(nlu/rules/intake.yml, nlu/rules/faq.yml). A general question that matches the knowledge base above the
configured threshold gets the short answer with its articles and “这个回答解决您的问题了吗？”; anything else
(a personal story, a button payload, a later turn of a matter, no match) sets `faq_answered: false` and the
intake starts as before. “解决了” records the inquiry as bot-resolved (hotline.knowledge.outcome);
“没解决” starts the usual intake for the question's category, from the question itself.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.ticketing import open_ticket
from hotline.db.session import session_scope
from hotline.knowledge.loader import FAQ_CATEGORIES, packaged_kb
from hotline.knowledge.outcome import bot_resolved_ticket, mark_bot_resolved
from hotline.knowledge.search import Retriever, is_personal_story
from hotline.knowledge.served import served_retriever
from hotline.runtime import ready_database
from hotline.settings import get_settings

log = logging.getLogger(__name__)

# Validate the knowledge base when the action server loads its actions: a bad entry stops the start-up.
packaged_kb()

# Actions after which earlier messages belong to a finished (or abandoned) matter.
MATTER_ENDS = frozenset(
    {"action_start_intake", "action_create_ticket", "action_cancel_intake", "action_faq_resolved"}
)


@lru_cache(maxsize=4)
def file_retriever(threshold: float) -> Retriever:
    return Retriever(packaged_kb(), threshold)


def retriever(threshold: float) -> Retriever:
    """The served base (faq.yaml + approved proposals); faq.yaml alone while the database is unreachable."""
    try:
        with session_scope(ready_database(get_settings())) as session:
            return served_retriever(session, threshold)
    except SQLAlchemyError:
        log.warning("approved knowledge-base entries not read (database error); answering from faq.yaml")
        return file_retriever(threshold)


def earlier_texts(tracker: Tracker) -> list[str]:
    """The citizen's typed messages of the current matter before the latest one (payloads left out)."""
    texts: list[str] = []
    seen_latest = False
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") in MATTER_ENDS:
            break
        if event.get("event") == "user":
            if not seen_latest:
                seen_latest = True
                continue
            text = str(event.get("text") or "")
            if text and not text.startswith("/"):
                texts.append(text)
    return texts


def latest_question(tracker: Tracker) -> dict[str, Any] | None:
    """The parse data of the question the FAQ answer was given to (the last user turn before our answer)."""
    answered = False
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") == "action_answer_faq":
            answered = True
        elif answered and event.get("event") == "user":
            parse = dict(event.get("parse_data") or {})
            parse.setdefault("text", event.get("text"))
            parse["timestamp"] = event.get("timestamp")
            return parse
    return None


class ActionAnswerFaq(Action):
    """Answer a general question from the knowledge base, or let the intake start (faq_answered false)."""

    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        not_answered: list[EventType] = [SlotSet("faq_answered", False), SlotSet("faq_entry", None)]
        config = get_settings().knowledge
        text = str(tracker.latest_message.get("text") or "").strip()
        if not config.enabled or not text or text.startswith("/") or tracker.active_loop.get("name"):
            return not_answered
        if any(is_personal_story(t) for t in earlier_texts(tracker)):
            return not_answered  # the citizen already told their own story: it goes to the intake
        match = retriever(config.threshold).answer(text)
        if match is None:
            return not_answered
        entry = match.entry
        log.info("faq answered with %s (score %.2f)", entry.id, match.score)
        dispatcher.utter_message(
            response="utter_faq_answer", answer=entry.answer, articles=entry.citations() or "—"
        )
        dispatcher.utter_message(response="utter_faq_ask_resolved")
        return [
            SlotSet("faq_answered", True),
            SlotSet("faq_entry", {"id": entry.id, "category": entry.category, "score": match.score}),
        ]


class ActionFaqResolved(Action):
    """“解决了”: record the inquiry as resolved by the bot (an audited consultation ticket) and thank."""

    def name(self) -> str:
        return "action_faq_resolved"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        entry = tracker.get_slot("faq_entry") or {}
        question = latest_question(tracker) or {}
        faq_id = str(entry.get("id") or "")
        if faq_id:
            # The message's category (as the intake would file it); for ask_eligibility, the entry's.
            intent = str((question.get("intent") or {}).get("name") or "")
            new = bot_resolved_ticket(
                category=intent if intent in FAQ_CATEGORIES else str(entry.get("category") or "other_legal"),
                question=str(question.get("text") or ""),
                faq_id=faq_id,
                conversation_id=tracker.sender_id,
                key=f"faq@{question.get('timestamp')}",
            )
            score = entry.get("score")
            try:
                open_ticket(
                    tracker,
                    new,
                    lambda session, ticket: mark_bot_resolved(
                        session, ticket, faq_id, score=float(score) if score is not None else None
                    ),
                )
            except Exception:
                log.exception("recording the bot-resolved inquiry failed")
        dispatcher.utter_message(response="utter_faq_thanks")
        return [SlotSet("faq_answered", None), SlotSet("faq_entry", None)]


class ActionFaqToIntake(Action):
    """“没解决”: the usual intake, started from the question itself (its category, words and facts)."""

    def name(self) -> str:
        return "action_faq_to_intake"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        from actions.intake import ActionStartIntake

        question = latest_question(tracker)
        asked = tracker.copy()
        if question is not None:
            asked.latest_message = question
        events = await ActionStartIntake().run(dispatcher, asked, domain)
        return [*events, SlotSet("faq_answered", None), SlotSet("faq_entry", None)]
