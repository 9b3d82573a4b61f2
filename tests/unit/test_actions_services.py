"""Eligibility, tickets, status, rating, complaint and fallback actions against a real SQLite database."""

from __future__ import annotations

from typing import Any

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from actions.complaint import ActionFileComplaint, ActionStartComplaint
from actions.eligibility import ActionCheckEligibility, decision_for
from actions.handoff import ActionAskRephrase, ActionFallback, ActionRequestHuman
from actions.status import ActionTicketStatus
from actions.survey import ActionRecordRating, ValidateRatingForm
from actions.ticketing import ActionCreateTicket
from hotline.db.models import Rating, ReviewItem, Ticket
from hotline.db.session import session_scope
from hotline.settings import get_settings
from tests.unit.test_actions_intake import responses, run, slot_events, tracker

WAGE = {
    "category": "wage_arrears",
    "description": "老板拖欠我三个月工资",
    "county": "定远县",
    "migrant_worker": True,
    "has_group_proof": True,
    "days_to_deadline": 30,
    "confirmed": True,
}


pytestmark = pytest.mark.usefixtures("env_settings")  # conftest: actions read get_settings()


def make_ticket(slots: dict[str, Any]) -> str:
    events, dispatcher = run(ActionCreateTicket(), tracker(slots, "对", "affirm", loop=None))
    number = slot_events(events)["ticket_number"]
    assert responses(dispatcher)[0].startswith("utter_answer_short")
    assert {r for r in responses(dispatcher)[1:] if r} == {"utter_answer_details"}  # (+ an appointment offer)
    return str(number)


def test_ticket_carries_an_appointment_offer_without_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """After the eligibility answer: a structured offer for the competent centre that the gateway renders."""
    events, dispatcher = run(ActionCreateTicket(), tracker(WAGE, "对", "affirm", loop=None))
    number = slot_events(events)["ticket_number"]
    offers = [m["custom"] for m in dispatcher.messages if m.get("custom")]
    assert offers == [{"appointment_offer": {"ticket": number, "county": "341125"}}]
    monkeypatch.setenv("HOTLINE_APPOINTMENTS__ENABLED", "false")
    get_settings.cache_clear()
    _, off = run(ActionCreateTicket(), tracker({**WAGE, "county": "琅琊区"}, "好", "affirm", loop=None))
    assert not any(m.get("custom") for m in off.messages)
    assert off.messages[0]["response"] == "utter_answer_short"


def test_eligibility_answer_and_ticket_with_decision(db_url: str) -> None:
    events, dispatcher = run(ActionCheckEligibility(), tracker(WAGE, "对", "affirm", loop=None))
    assert slot_events(events) == {"urgent": False, "eligibility_outcome": "HARDSHIP_DEEMED"}
    assert dispatcher.messages == []  # said with the ticket number, short answer first
    number = make_ticket(WAGE)
    assert make_ticket(WAGE) == number  # idempotent for the same intake
    with session_scope(db_url) as s:
        ticket = s.scalars(select(Ticket)).one()
        assert ticket.eligibility_outcome == "HARDSHIP_DEEMED" and ticket.migrant_worker
        assert ticket.county_code == "341125" and ticket.priority == "normal"
        assert "LAL-42" in ticket.eligibility_articles and ticket.facts["is_migrant_worker"] is True


def test_short_answer_first_then_the_details(db_url: str) -> None:
    events, dispatcher = run(ActionCreateTicket(), tracker(WAGE, "对", "affirm", loop=None))
    number = slot_events(events)["ticket_number"]
    short, *details = [m for m in dispatcher.messages if m.get("response")]  # (an appointment offer aside)
    assert short["response"] == "utter_answer_short" and short["ticket_number"] == number
    assert short["headline"].startswith("您可以申请法律援助") and short["centre"] == "定远县法律援助中心"
    assert len(details) >= 2 and "第四十二条" in details[0]["details"]
    assert any("【请带上】" in d["details"] for d in details)
    assert all(len(d["details"]) < 600 for d in details)  # a phone screen or two each


def test_the_case_organs_county_decides_the_centre(db_url: str) -> None:
    slots = {
        "category": "criminal_defence",
        "description": "我儿子在天长被抓了",
        "county": "定远县",
        "case_county": "天长市",
        "has_lawyer": False,
        "age": 16,
        "in_custody": True,
        "confirmed": True,
    }
    _, dispatcher = run(ActionCreateTicket(), tracker(slots, "对", "affirm", loop=None))
    assert dispatcher.messages[0]["centre"] == "天长市法律援助中心"
    with session_scope(db_url) as s:
        ticket = s.scalars(select(Ticket)).one()
        assert ticket.county_code == "341181" and ticket.facts["case_organ_county"] == "天长市"
    same = {**slots, "case_county": "same", "description": "另一件"}
    assert case_centre(same) == "定远县法律援助中心"
    assert case_centre({**slots, "case_county": "none"}) == "定远县法律援助中心"


def case_centre(slots: dict[str, Any]) -> str:
    decision = decision_for(tracker(slots, "对", "affirm", loop=None))
    assert decision.centre is not None
    return decision.centre.name


def test_urgent_deadline_flags_ticket(db_url: str) -> None:
    slots = {**WAGE, "days_to_deadline": 3}
    events, _ = run(ActionCheckEligibility(), tracker(slots, "对", "affirm", loop=None))
    assert slot_events(events)["urgent"] is True
    make_ticket(slots)
    with session_scope(db_url) as s:
        assert s.scalars(select(Ticket)).one().priority == "urgent"


def test_status_only_for_own_tickets() -> None:
    number = make_ticket(WAGE)
    mine = tracker(
        {}, f"查一下{number}", "check_ticket_status", [{"entity": "ticket_number", "value": number}]
    )
    _, dispatcher = run(ActionTicketStatus(), mine)
    assert responses(dispatcher) == ["utter_ticket_status"]
    assert dispatcher.messages[0]["status"] == "待受理" and "定远县" in dispatcher.messages[0]["centre"]
    other = tracker({}, "查一下", "check_ticket_status", [{"entity": "ticket_number", "value": number}])
    other.sender_id = "console-someone-else"
    _, dispatcher = run(ActionTicketStatus(), other)
    assert responses(dispatcher) == ["utter_ticket_not_found"]
    _, dispatcher = run(ActionTicketStatus(), tracker({}, "我的工单", "check_ticket_status"))
    assert responses(dispatcher) == ["utter_ticket_status"]


def test_low_rating_opens_review(db_url: str) -> None:
    number = make_ticket(WAGE)
    slots = {"ticket_number": number, "rating": 1, "rating_comment": "太慢了"}
    _events, dispatcher = run(ActionRecordRating(), tracker(slots, "太慢了", "inform", loop=None))
    assert responses(dispatcher) == ["utter_rating_low"]
    with session_scope(db_url) as s:
        assert s.scalars(select(Rating)).one().score == 1
        assert s.scalars(select(ReviewItem)).one().reason == "low_rating"


def test_rating_form_reads_scores_and_skips() -> None:
    form = ValidateRatingForm()
    events, _ = run(form, tracker({"requested_slot": "rating"}, "5分", "inform", loop="rating_form"))
    assert slot_events(events)["rating"] == 5
    events, dispatcher = run(
        form, tracker({"requested_slot": "rating"}, "不评了", "deny", loop="rating_form")
    )
    assert slot_events(events)["rating"] == "skipped" and responses(dispatcher) == ["utter_rating_skipped"]
    events, _ = run(
        form, tracker({"rating": 4, "requested_slot": "rating_comment"}, "跳过", "inform", loop="rating_form")
    )
    assert slot_events(events)["rating_comment"] == "skipped"


def test_complaint_reviewed(db_url: str) -> None:
    events, _ = run(
        ActionStartComplaint(), tracker({}, "援助律师收我钱了，不是说免费吗", "complain", loop=None)
    )
    detail = slot_events(events)["complaint_detail"]
    assert detail
    _, dispatcher = run(
        ActionFileComplaint(), tracker({"complaint_detail": detail}, "x", "complain", loop=None)
    )
    assert responses(dispatcher) == ["utter_complaint_filed"]
    with session_scope(db_url) as s:
        assert s.scalars(select(Ticket)).one().category == "complaint"
        assert s.scalars(select(ReviewItem)).one().reason == "complaint"


@freeze_time("2026-11-25 02:00")  # Wednesday 10:00 in Chuzhou: office hours (utter_handoff, not after-hours)
def test_fallback_chain_ends_with_a_human(db_url: str) -> None:
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.4},
        {"name": "greet", "confidence": 0.2},
        {"name": "wage_arrears", "confidence": 0.2},
        {"name": "work_injury", "confidence": 0.1},
        {"name": "minors", "confidence": 0.05},
    ]
    events, dispatcher = run(
        ActionFallback(), tracker({}, "那个钱的事", "nlu_fallback", loop=None, ranking=ranking)
    )
    buttons = dispatcher.messages[0]["buttons"]
    assert [b["payload"] for b in buttons] == ["/wage_arrears", "/work_injury", "/deny", "/request_human"]
    assert slot_events(events) == {"fallback_stage": 1}
    events, dispatcher = run(ActionAskRephrase(), tracker({"fallback_stage": 1}, "都不是", "deny", loop=None))
    assert responses(dispatcher) == ["utter_ask_rephrase"]
    events, dispatcher = run(
        ActionFallback(), tracker({"fallback_stage": 1}, "嗯", "nlu_fallback", loop=None)
    )  # the second miss in a row: a person, with the message in the ticket
    assert responses(dispatcher) == ["utter_fallback_handoff", "utter_handoff"]
    with session_scope(db_url) as s:
        ticket = s.scalars(select(Ticket)).one()
        assert ticket.handoff_requested and ticket.category == "handoff" and "嗯" in ticket.description


def test_human_reuses_the_intake_ticket(db_url: str) -> None:
    number = make_ticket({**WAGE, "dv_in_progress": True})
    events, _dispatcher = run(
        ActionRequestHuman(), tracker({"ticket_number": number}, "/request_human", "request_human", loop=None)
    )
    assert slot_events(events)["ticket_number"] == number
    with session_scope(db_url) as s:
        assert s.scalars(select(Ticket)).one().handoff_requested
