"""The FAQ step of the dialog (actions/faq.py) with fake trackers, and the bot-resolved rate it feeds."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from freezegun import freeze_time
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.orm import Session

from actions.faq import ActionAnswerFaq, ActionFaqResolved, ActionFaqToIntake
from hotline.db.models import Ticket, TicketEvent, TicketStatus
from hotline.db.session import session_scope
from hotline.reports.metrics import compute_metrics
from hotline.reports.periods import parse_period
from hotline.reports.summary_text import summary_text
from hotline.settings import Settings

pytestmark = pytest.mark.usefixtures("env_settings")  # conftest: actions read get_settings()

DOMAIN: dict[str, Any] = {"forms": {"intake_form": {"required_slots": ["county", "confirmed"]}}, "slots": {}}


def user(text: str, intent: str, ts: float) -> dict[str, Any]:
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    return {"event": "user", "text": text, "parse_data": parse, "timestamp": ts}


def tracker(events: list[dict[str, Any]], slots: dict[str, Any] | None = None) -> Tracker:
    latest = next(e["parse_data"] for e in reversed(events) if e["event"] == "user")
    return Tracker("console-faq", dict(slots or {}), latest, events, False, None, {}, "action_listen")


def run(action: Any, t: Tracker) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, DOMAIN))
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}, dispatcher.messages


def answered(question: str = "劳动仲裁有没有时效", intent: str = "wage_arrears") -> list[dict[str, Any]]:
    return [
        {"event": "action", "name": "action_listen"},
        user(question, intent, 1.0),
        {"event": "action", "name": "action_answer_faq"},
    ]


def test_a_general_question_is_answered_with_articles_and_the_question() -> None:
    slots, messages = run(ActionAnswerFaq(), tracker(answered()[:2]))
    assert slots["faq_answered"] is True and slots["faq_entry"]["id"] == "wage_arbitration_time_limit"
    assert [m["response"] for m in messages] == ["utter_faq_answer", "utter_faq_ask_resolved"]
    assert "一年" in messages[0]["answer"]
    assert messages[0]["articles"] == "《中华人民共和国劳动争议调解仲裁法》第二十七条"


@pytest.mark.parametrize(
    "text",
    [
        "老板拖欠我三个月工资",  # a personal story
        "/wage_arrears",  # a button payload (a category picked after a fallback)
        "隔壁那个事情怎么弄",  # nothing above the threshold
    ],
)
def test_anything_else_goes_to_the_intake(text: str) -> None:
    slots, messages = run(ActionAnswerFaq(), tracker([user(text, "wage_arrears", 1.0)]))
    assert slots["faq_answered"] is False and messages == []


def test_a_general_question_after_the_citizens_own_story_is_not_answered() -> None:
    events = [
        user("我在工地干了半年，包工头一直不给钱", "wage_arrears", 1.0),
        user("劳动仲裁有没有时效", "wage_arrears", 2.0),
    ]
    slots, _ = run(ActionAnswerFaq(), tracker(events))
    assert slots["faq_answered"] is False


def test_disabled_in_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_KNOWLEDGE__ENABLED", "false")
    from hotline.settings import get_settings

    get_settings.cache_clear()
    slots, _ = run(ActionAnswerFaq(), tracker(answered()[:2]))
    assert slots["faq_answered"] is False


@freeze_time("2026-12-02 10:00:00")
def test_resolved_records_an_audited_bot_resolved_inquiry_counted_in_the_report(
    db_url: str, settings: Settings
) -> None:
    events = [*answered(), user("/affirm", "affirm", 2.0)]
    slot_state = {
        "faq_answered": True,
        "faq_entry": {"id": "wage_arbitration_time_limit", "category": "wage_arrears", "score": 1.0},
    }
    slots, messages = run(ActionFaqResolved(), tracker(events, slot_state))
    assert [m["response"] for m in messages] == ["utter_faq_thanks"]
    assert slots == {"faq_answered": None, "faq_entry": None}
    run(ActionFaqResolved(), tracker(events, slot_state))  # a retried call: still one inquiry
    with session_scope(db_url) as session:
        tickets = session.scalars(select(Ticket)).all()
        assert len(tickets) == 1
        ticket = tickets[0]
        assert ticket.status == TicketStatus.RESOLVED and ticket.resolved_at is not None
        assert ticket.facts == {"faq_id": "wage_arbitration_time_limit"}
        assert ticket.description == "劳动仲裁有没有时效" and ticket.category == "wage_arrears"
        kinds = [
            e.kind for e in session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
        ]
        assert kinds == ["created", "faq_resolved", "status"]
        _other_inquiry(session)
        m = compute_metrics(session, settings, parse_period("weekly", "2026-W49"))
    assert (m.new, m.bot_resolved, m.rate("bot_resolved")) == (2, 1, 0.5)
    text = summary_text(m)
    assert "独立办结率50.0%（知识库解答1件）" in text.replace(" ", "")
    assert "条常见问题答案已到复核日期" in text


def _other_inquiry(session: Session) -> None:
    from hotline.tickets.service import NewTicket, create_ticket

    create_ticket(
        session, NewTicket(category="minors", description="x"), prefix="滁", now=dt.datetime(2026, 12, 2, 3)
    )


def test_not_solved_starts_the_usual_intake_from_the_question() -> None:
    events = [*answered("离婚孩子归谁", "marriage_family"), user("/deny", "deny", 2.0)]
    slots, messages = run(ActionFaqToIntake(), tracker(events, {"faq_answered": True}))
    assert slots["category"] == "marriage_family"
    assert slots["description"] == "离婚孩子归谁"
    assert slots["faq_answered"] is None
    assert messages[0]["response"] == "utter_category_recognised"


def test_a_resolved_legal_aid_question_is_filed_under_the_entrys_category(db_url: str) -> None:
    events = [*answered("法律援助要交钱吗", "ask_eligibility"), user("/affirm", "affirm", 2.0)]
    entry = {"id": "aid_free_of_charge", "category": "other_legal", "score": 1.0}
    run(ActionFaqResolved(), tracker(events, {"faq_answered": True, "faq_entry": entry}))
    with session_scope(db_url) as session:
        ticket = session.scalars(select(Ticket)).one()
        assert (ticket.category, ticket.facts) == ("other_legal", {"faq_id": "aid_free_of_charge"})
