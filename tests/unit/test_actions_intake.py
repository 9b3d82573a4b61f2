"""The intake's dialog logic with fake rasa_sdk trackers (no engine): plans, answer reading, guards."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import answers
from actions.intake import (
    ANSWER_SLOTS,
    ActionCancelIntake,
    ActionExplainWhy,
    ActionStartIntake,
    ValidateIntakeForm,
    extract_answers,
    fresh_user_turn,
    intake_slots,
    normalise_value,
)

DOMAIN: dict[str, Any] = {
    "forms": {
        "intake_form": {"required_slots": ["county", "confirmed"]},
        "rating_form": {"required_slots": ["rating", "rating_comment"]},
        "complaint_form": {"required_slots": ["complaint_detail"]},
    },
    "slots": {},
}


def tracker(
    slots: dict[str, Any] | None = None,
    text: str = "",
    intent: str = "inform",
    entities: list[dict[str, Any]] | None = None,
    after_user: list[str] | None = None,
    loop: str | None = "intake_form",
    ranking: list[dict[str, Any]] | None = None,
) -> Tracker:
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities or [],
        "intent_ranking": ranking or [],
    }
    events: list[dict[str, Any]] = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": message, "timestamp": 1.0},
    ]
    events += [{"event": "action", "name": name} for name in after_user or ["action_extract_slots"]]
    return Tracker(
        "console-test",
        dict(slots or {}),
        message,
        events,
        False,
        None,
        {"name": loop} if loop else {},
        "action_listen",
    )


pytestmark = pytest.mark.usefixtures("env_settings")  # conftest: actions read get_settings()


def run(action: Any, t: Tracker) -> tuple[list[dict[str, Any]], CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, DOMAIN))
    return events, dispatcher


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m.get("response") or "" for m in dispatcher.messages]


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


# --- which questions each category asks -----------------------------------------------------------


def test_labour_plan_skips_income_when_migrant_worker_has_proof() -> None:
    base = {"category": "wage_arrears", "county": "定远县"}
    assert answers.plan_for(base)[:2] == ["county", "migrant_worker"]
    with_proof = {**base, "migrant_worker": True, "has_group_proof": True}
    plan = answers.plan_for(with_proof)
    assert "income_per_capita" not in plan and "days_to_deadline" in plan and plan[-1] == "confirmed"
    no_proof = {**base, "migrant_worker": True, "has_group_proof": False}
    assert "income_per_capita" in answers.plan_for(no_proof)
    assert "has_group_proof" not in answers.plan_for({**base, "migrant_worker": False})


def test_criminal_plan_for_a_minor_skips_disability_and_sentence() -> None:
    plan = answers.plan_for(
        {"category": "criminal_defence", "county": "凤阳县", "has_lawyer": False, "age": 16}
    )
    assert plan == ["county", "case_county", "has_lawyer", "age", "in_custody", "confirmed"]
    adult = answers.plan_for(
        {"category": "criminal_defence", "has_lawyer": False, "age": 30, "disabled": True}
    )
    assert adult == [
        "county",
        "case_county",
        "has_lawyer",
        "age",
        "disabled",
        "disability_type",
        "serious_charge",
        "in_custody",
        "confirmed",
    ]


def test_dv_and_group_and_general_plans() -> None:
    assert answers.plan_for({"category": "domestic_violence"}) == ["county", "dv_in_progress", "confirmed"]
    minors = answers.plan_for(
        {"category": "minors", "county": "全椒县", "age": 12, "matter_type": "support_payment"}
    )
    assert minors[:5] == ["county", "age", "matter_type", "group_status", "confirmed"]
    other = answers.plan_for({"category": "other_legal", "county": "全椒县", "matter_type": "other"})
    assert other == ["county", "matter_type", "confirmed"]  # not in scope: no means test, no deadline


# --- reading answers ----------------------------------------------------------------------------


def test_button_yes_no_fills_the_requested_bool_slot() -> None:
    t = tracker(
        {"category": "wage_arrears", "county": "定远县", "requested_slot": "migrant_worker"}, "是", "affirm"
    )
    assert extract_answers(t) == {"migrant_worker": True}


def test_digressions_are_not_answers() -> None:
    slots = {"category": "wage_arrears", "county": "定远县", "requested_slot": "income_per_capita"}
    assert extract_answers(tracker(slots, "为什么要问收入？", "ask_why")) == {}
    assert extract_answers(tracker(slots, "算了", "cancel")) == {}
    # “不清楚” misread as cancel is still an answer: unknown
    assert extract_answers(tracker(slots, "不清楚", "cancel")) == {"income_per_capita": "不清楚"}


def test_returning_after_a_digression_reads_nothing() -> None:
    t = tracker({"requested_slot": "age"}, "为什么", "ask_why", after_user=["action_explain_why"])
    assert not fresh_user_turn(t)
    assert extract_answers(t) == {}


def test_correction_with_entity_overwrites_a_given_answer() -> None:
    slots = {
        "category": "criminal_defence",
        "county": "凤阳县",
        "has_lawyer": False,
        "age": 18,
        "requested_slot": "disabled",
    }
    entities = [{"entity": "age", "value": "16岁"}]
    assert extract_answers(tracker(slots, "年龄说错了，是16岁", "correct", entities)) == {"age": "16岁"}


def test_deny_at_confirmation_then_naming_the_answer_resets_it() -> None:
    slots = {
        "category": "domestic_violence",
        "county": "定远县",
        "dv_in_progress": False,
        "requested_slot": "confirmed",
    }
    assert extract_answers(tracker(slots, "不对", "deny")) == {"confirmed": False}
    events, _dispatcher = run(ValidateIntakeForm(), tracker(slots, "不对", "deny"))
    got = slot_events(events)
    assert (
        got["awaiting_change"] is True and got["confirmed"] is None and got["requested_slot"] == "confirmed"
    )
    slots2 = {**slots, "awaiting_change": True}
    assert extract_answers(tracker(slots2, "县", "inform")) == {"county": None}
    events, _ = run(ValidateIntakeForm(), tracker(slots2, "县", "inform"))
    got = slot_events(events)
    assert got["county"] is None and got["awaiting_change"] is None and got["requested_slot"] == "county"
    entities = [{"entity": "county", "value": "全椒县"}]
    events, _ = run(ValidateIntakeForm(), tracker(slots2, "在全椒", "correct", entities))
    got = slot_events(events)
    assert (
        got["county"] == "全椒县" and got["awaiting_change"] is None and got["requested_slot"] == "confirmed"
    )


@pytest.mark.parametrize(
    ("slot", "raw", "value"),
    [
        ("county", "我在定远那边", "定远县"),
        ("county", "北京", None),
        ("age", "十五岁", 15),
        ("age", 16, 16),
        ("income_per_capita", "一千五", 1500),
        ("days_to_deadline", "还有五天", 5),
        ("residence", "农村", "rural"),
        ("residence", "rural", "rural"),
        ("has_lawyer", "还没有", False),
        ("disability_type", "听力残疾", "hearing"),
        ("age", "不清楚", answers.UNKNOWN),
        ("in_custody", "关在看守所", True),
        ("in_custody", "没有被抓", False),
        ("migrant_worker", "我在外面工地上打工", True),
        ("migrant_worker", "不是农民工", False),
        ("has_lawyer", "请了一个", True),
        ("dv_in_progress", "昨天又打了", True),
        ("serious_charge", "可能判无期", True),
    ],
)
def test_normalise_value(slot: str, raw: Any, value: Any) -> None:
    assert normalise_value(slot, raw) == value


def test_failed_answer_is_one_miss_of_the_chain_and_the_next_one_goes_to_the_fallback() -> None:
    slots = {
        "category": "criminal_defence",
        "county": "凤阳县",
        "case_county": "same",
        "has_lawyer": False,
        "requested_slot": "age",
    }
    events, dispatcher = run(ValidateIntakeForm(), tracker(slots, "啊这个嘛", "inform"))
    assert responses(dispatcher) == ["utter_not_understood", "utter_offer_help"]
    got = slot_events(events)
    assert got["failures"] == {"age": 1} and got["fallback_stage"] == 1 and got["requested_slot"] == "age"
    # a second unreadable answer in a row is not validated: the form rejects it, the chain hands over
    missed = {**slots, "failures": {"age": 1}, "fallback_stage": 1}
    assert extract_answers(tracker(missed, "嗯嗯", "inform")) == {}
    assert extract_answers(tracker(missed, "嗯嗯", "greet")) == {}
    assert extract_answers(tracker(missed, "16", "inform")) == {"age": "16"}
    events, dispatcher = run(ValidateIntakeForm(), tracker(missed, "16", "inform"))
    got = slot_events(events)
    assert got["age"] == 16 and got["failures"] is None and got["requested_slot"] == "in_custody"
    assert got["fallback_stage"] is None  # understood: the streak starts again


def test_no_miss_before_anything_was_asked() -> None:
    # The form starting right after action_start_intake validates the slots it reset (None): not a miss.
    t = tracker({"category": "other_legal", "confirmed": None}, "网上买东西被骗了八千块", "other_legal")
    _, dispatcher = run(ValidateIntakeForm(), t)
    assert "utter_not_understood" not in responses(dispatcher)
    assert ValidateIntakeForm().validate_confirmed(None, CollectingDispatcher(), t, DOMAIN) == {
        "confirmed": None
    }


def test_second_miss_at_the_summary_also_goes_to_the_chain() -> None:
    slots = {"category": "domestic_violence", "county": "定远县", "dv_in_progress": False}
    at_summary = {**slots, "requested_slot": "confirmed", "fallback_stage": 1}
    assert extract_answers(tracker(at_summary, "啊啊啊", "nlu_fallback")) == {}
    assert extract_answers(tracker(at_summary, "对", "affirm")) == {"confirmed": True}


def test_new_problem_instead_of_the_county_is_offered_as_a_switch_keeping_the_person() -> None:
    slots = {"category": "minors", "age": 15, "requested_slot": "county", "fallback_stage": 1}
    t = tracker(slots, "老板拖欠我三个月工资", "wage_arrears")
    assert extract_answers(t) == {"county": "老板拖欠我三个月工资"}  # not rejected although a miss before
    events, dispatcher = run(ValidateIntakeForm(), t)
    got = slot_events(events)
    assert responses(dispatcher) == []  # nothing switched yet: the form asks whether to switch
    assert got["pending_topic"] == {"category": "wage_arrears", "text": "老板拖欠我三个月工资"}
    assert got["requested_slot"] == "topic_choice" and got["fallback_stage"] is None
    # the citizen keeps the answers: the new problem, the person's facts kept
    offered = {**slots, "pending_topic": got["pending_topic"], "requested_slot": "topic_choice"}
    keep = tracker(
        offered, '/inform{"topic_choice":"keep"}', "inform", [{"entity": "topic_choice", "value": "keep"}]
    )
    assert extract_answers(keep) == {"topic_choice": "keep"}
    events, dispatcher = run(ValidateIntakeForm(), keep)
    got = slot_events(events)
    assert responses(dispatcher) == ["utter_topic_switched"]
    assert dispatcher.messages[0]["category_label"].startswith("欠薪")
    assert got["category"] == "wage_arrears" and got["description"] == "老板拖欠我三个月工资"
    assert got["age"] == 15 and got["county"] is None and got["requested_slot"] == "county"
    assert got["pending_topic"] is None and got["topic_choice"] is None
    # the same category again is not a switch, and a weak guess is not either
    _, dispatcher = run(
        ValidateIntakeForm(), tracker({**slots, "category": "wage_arrears"}, "工资", "wage_arrears")
    )
    assert slot_events(_)["requested_slot"] != "topic_choice"


def test_a_new_problem_read_as_yes_is_still_offered_as_a_switch() -> None:
    slots = {"category": "wage_arrears", "county": "定远县", "requested_slot": "migrant_worker"}
    long = tracker(slots, "对了，我老婆还要跟我离婚，孩子归谁", "marriage_family")
    events, _ = run(ValidateIntakeForm(), long)
    got = slot_events(events)
    assert got["requested_slot"] == "topic_choice" and got["migrant_worker"] is None
    assert got["pending_topic"]["category"] == "marriage_family"
    events, _ = run(ValidateIntakeForm(), tracker(slots, "对", "marriage_family"))
    assert slot_events(events)["migrant_worker"] is True  # a short answer stays an answer


def test_a_new_problem_can_start_afresh_or_be_declined() -> None:
    pending = {"category": "wage_arrears", "text": "我在定远县，老板拖欠我三个月工资"}
    slots = {"category": "minors", "age": 15, "county": "全椒县", "pending_topic": pending}
    slots["requested_slot"] = "topic_choice"
    events, dispatcher = run(ValidateIntakeForm(), tracker(slots, "重新回答", "inform"))
    got = slot_events(events)
    assert responses(dispatcher) == ["utter_topic_switched_fresh"]
    assert got["category"] == "wage_arrears" and got["age"] is None and got["county"] == "定远县"
    events, dispatcher = run(ValidateIntakeForm(), tracker(slots, "不换", "deny"))
    got = slot_events(events)
    assert responses(dispatcher) == ["utter_topic_kept"]
    assert "category" not in got  # the current problem goes on
    assert got["pending_topic"] is None and got["requested_slot"] == "matter_type"


def test_art32_matter_in_the_opener_changes_the_questions() -> None:
    text = "我被冤枉坐了两年牢，去年再审判我无罪了，我想要国家赔偿"
    facts = answers.facts_from_story(text)
    assert facts["matter_type"] == "state_comp_after_retrial_acquittal"
    assert answers.category_for("criminal_defence", facts) == "social_insurance"
    plan = answers.plan_for({"category": "social_insurance", **facts, "county": "定远县"})
    assert "income_per_capita" not in plan and "has_lawyer" not in plan
    assert answers.facts_from_story("烈士家属抚恤金不发") == {}  # a pension is not the martyr's honour
    bravery = answers.facts_from_story("我见义勇为受伤了，医药费找谁要")
    assert answers.category_for("work_injury", bravery) == "personal_injury"  # not an injury at work


def test_an_amount_in_the_story_is_not_the_income() -> None:
    slots = {"category": "wage_arrears", "county": "定远县", "requested_slot": "migrant_worker"}
    entities = [{"entity": "amount", "value": "八千块"}]
    assert "income_per_capita" not in extract_answers(tracker(slots, "他欠我八千块", "inform", entities))
    asked = {**slots, "migrant_worker": False, "requested_slot": "income_per_capita"}
    assert extract_answers(tracker(asked, "八千块", "inform", entities)) == {"income_per_capita": "八千块"}


def test_form_skips_to_confirmation_and_ends_when_confirmed() -> None:
    slots = {"category": "domestic_violence", "county": "定远县", "requested_slot": "dv_in_progress"}
    events, dispatcher = run(ValidateIntakeForm(), tracker(slots, "是", "affirm"))
    got = slot_events(events)
    assert got["dv_in_progress"] is True and got["requested_slot"] == "confirmed"
    assert responses(dispatcher) == ["utter_dv_safety"]
    done = {**slots, "dv_in_progress": True, "requested_slot": "confirmed"}
    events, _ = run(ValidateIntakeForm(), tracker(done, "对", "affirm"))
    assert slot_events(events)["requested_slot"] is None


# --- other intake actions ---------------------------------------------------------------------------


def test_start_intake_resets_old_answers_and_takes_entities() -> None:
    t = tracker(
        {"age": 40},
        "我儿子十六岁被抓了，在凤阳",
        "criminal_defence",
        [{"entity": "county", "value": "凤阳县"}, {"entity": "age", "value": "十六岁"}],
        loop=None,
    )
    events, dispatcher = run(ActionStartIntake(), t)
    got = {}
    for e in events:  # later events win, as in the tracker
        got[e["name"]] = e["value"]
    assert got["category"] == "criminal_defence" and got["county"] == "凤阳县" and got["age"] == 16
    assert responses(dispatcher) == ["utter_category_recognised"]


def test_start_intake_takes_what_the_story_names_and_not_the_amount_at_stake() -> None:
    entities = [{"entity": "amount", "value": "八千块"}]
    t = tracker(
        {}, "我眼睛看不见，网上买东西被骗了八千块，能帮我打官司吗", "other_legal", entities, loop=None
    )
    events, dispatcher = run(ActionStartIntake(), t)
    got = {}
    for e in events:
        got[e["name"]] = e["value"]
    assert got["income_per_capita"] is None and got["disabled"] is True and got["disability_type"] == "visual"
    assert responses(dispatcher) == ["utter_category_recognised"]  # never "没太明白" before a question
    t = tracker(
        {}, "我妈七十五岁了，三个儿子都不给赡养费，她一个人住在凤阳县农村，没有收入", "elderly", loop=None
    )
    got = slot_events(run(ActionStartIntake(), t)[0])
    assert got["category"] == "elderly" and got["age"] == 75 and got["county"] == "凤阳县"
    assert got["residence"] == "rural" and got["income_per_capita"] == 0


def test_start_intake_uses_facts_from_an_earlier_message_that_was_not_understood() -> None:
    earlier = [
        {"event": "user", "text": "我是定远县的，家里每人每月收入一千二", "parse_data": {}},
        {"event": "action", "name": "action_fallback"},
        {"event": "action", "name": "action_listen"},
    ]
    t = tracker({}, "老板欠我工资", "wage_arrears", loop=None)
    t.events[:0] = earlier
    got = slot_events(run(ActionStartIntake(), t)[0])
    assert got["county"] == "定远县" and got["income_per_capita"] == 1200


def test_explain_why_names_the_requested_question() -> None:
    _, dispatcher = run(
        ActionExplainWhy(), tracker({"requested_slot": "income_per_capita"}, "为啥", "ask_why")
    )
    assert responses(dispatcher) == ["utter_why_income_per_capita"]


def test_cancel_closes_the_form_and_forgets_answers() -> None:
    events, dispatcher = run(ActionCancelIntake(), tracker({"county": "定远县"}, "算了", "cancel"))
    assert any(e["event"] == "active_loop" and e["name"] is None for e in events)
    assert slot_events(events)["county"] is None
    assert responses(dispatcher) == ["utter_cancelled"]
    _, dispatcher = run(ActionCancelIntake(), tracker({}, "算了", "cancel", loop=None))
    assert responses(dispatcher) == ["utter_nothing_to_cancel"]


def test_summary_in_plain_chinese() -> None:
    slots = {"category": "wage_arrears", "county": "定远县", "migrant_worker": True, "has_group_proof": True}
    text = answers.summary(slots, answers.plan_for(slots))
    assert "所在县（市、区）：定远县" in text and "是否是农民工：是" in text
    assert intake_slots({**slots, "age": 30})  # stale answers outside the plan are left out
    assert "age" not in intake_slots({**slots, "age": 30})


def test_summary_then_which_change() -> None:
    from actions.intake import ActionAskConfirmed, ActionContact

    slots = {"category": "domestic_violence", "county": "全椒县", "dv_in_progress": True}
    _, dispatcher = run(ActionAskConfirmed(), tracker(slots))
    message = dispatcher.messages[0]
    assert message["response"] == "utter_confirm_intake"
    assert "家暴是否还在发生：是" in message["summary"] and message["category_label"].startswith("家庭暴力")
    _, dispatcher = run(ActionAskConfirmed(), tracker({**slots, "awaiting_change": True}))
    assert responses(dispatcher) == ["utter_ask_which_change"]
    _, dispatcher = run(ActionContact(), tracker(slots, "在哪里", "ask_contact"))
    assert dispatcher.messages[0]["centre"] == "全椒县法律援助中心"
    _, dispatcher = run(ActionContact(), tracker({}, "在哪里", "ask_contact", loop=None))
    assert dispatcher.messages[0]["centre"].startswith("滁州")


def test_disability_plan_asks_type_and_status() -> None:
    plan = answers.plan_for({"category": "disability_rights", "county": "南谯区", "disabled": True})
    assert plan[:5] == ["county", "disabled", "disability_type", "matter_type", "group_status"]


def test_every_question_of_a_plan_has_a_validator() -> None:
    form = ValidateIntakeForm()
    plans = [
        answers.plan_for({"category": "criminal_defence", "has_lawyer": False, "age": 30, "disabled": True}),
        answers.plan_for({"category": "domestic_violence"}),
        answers.plan_for({"category": "wage_arrears", "county": "凤阳县", "migrant_worker": True}),
        answers.plan_for(
            {
                "category": "disability_rights",
                "county": "南谯区",
                "disabled": True,
                "disability_type": "physical",
                "matter_type": "support_payment",
                "group_status": "none",
                "income_per_capita": 900,
            }
        ),
    ]
    asked = {slot for plan in plans for slot in plan}
    assert asked - {"confirmed"} <= set(ANSWER_SLOTS)
    for slot in ANSWER_SLOTS:
        assert callable(getattr(form, f"validate_{slot}"))


def test_answer_follow_ups_run_after_the_check() -> None:
    form = ValidateIntakeForm()
    slots = {"category": "disability_rights", "requested_slot": "disabled", "disability_type": "visual"}
    dispatcher = CollectingDispatcher()
    result = form.validate_disabled("没有", dispatcher, tracker(slots, "没有"), DOMAIN)  # type: ignore[attr-defined]
    assert result["disabled"] is False and result["disability_type"] is None
    assert dispatcher.messages == []
    dv = {"category": "domestic_violence", "requested_slot": "dv_in_progress"}
    result = form.validate_dv_in_progress(True, dispatcher, tracker(dv, "是"), DOMAIN)  # type: ignore[attr-defined]
    assert result["dv_in_progress"] is True
    assert responses(dispatcher) == ["utter_dv_safety"]
