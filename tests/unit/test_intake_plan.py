"""The question plan (hotline.intake.plan) as a pure function of the answers and a provisional decision."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from hotline.eligibility import Decision, EligibilityConfig, decide, facts_from_slots, packaged_rules
from hotline.intake.plan import UNKNOWN, plan_for

DAY = dt.date(2026, 11, 29)


class Provisional:
    """The packaged rules on a fixed day, counting how often the plan asked for a decision."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, slots: Mapping[str, Any]) -> Decision:
        self.calls += 1
        return decide(facts_from_slots(slots), packaged_rules(), EligibilityConfig(), DAY)


def test_no_decision_is_asked_for_before_the_earlier_questions_are_answered() -> None:
    provisional = Provisional()
    assert plan_for({"category": "wage_arrears"}, provisional) == ["county", "migrant_worker", "confirmed"]
    assert provisional.calls == 0


def test_means_test_questions_only_while_the_decision_needs_them() -> None:
    provisional = Provisional()
    no_proof = plan_for(
        {"category": "wage_arrears", "county": "凤阳县", "migrant_worker": False}, provisional
    )
    assert no_proof == ["county", "migrant_worker", "income_per_capita", "days_to_deadline", "confirmed"]
    assert provisional.calls == 1
    deemed = {"category": "wage_arrears", "county": "凤阳县", "migrant_worker": True, "has_group_proof": True}
    assert plan_for(deemed, provisional) == [
        "county",
        "migrant_worker",
        "has_group_proof",
        "days_to_deadline",
        "confirmed",
    ]


def test_an_answered_means_question_stays_in_the_plan_for_the_summary() -> None:
    slots = {
        "category": "wage_arrears",
        "county": "凤阳县",
        "migrant_worker": True,
        "has_group_proof": True,
        "income_per_capita": 900,
        "residence": "rural",
    }
    plan = plan_for(slots, Provisional())
    assert "income_per_capita" in plan and "residence" in plan


def test_out_of_scope_asks_no_deadline() -> None:
    slots = {"category": "other_legal", "county": "全椒县", "matter_type": "other"}
    assert plan_for(slots, Provisional()) == ["county", "matter_type", "confirmed"]


def test_other_legal_problems_are_asked_for_the_art32_situations() -> None:
    assert plan_for({"category": "other_legal"}, Provisional()) == ["county", "matter_type", "confirmed"]
    samaritan = {"category": "other_legal", "county": "全椒县", "matter_type": "good_samaritan"}
    assert plan_for(samaritan, Provisional()) == ["county", "matter_type", "days_to_deadline", "confirmed"]


def test_an_art32_matter_from_the_story_skips_the_means_test() -> None:
    slots = {
        "category": "social_insurance",
        "county": "定远县",
        "matter_type": "state_comp_after_retrial_acquittal",
    }
    assert plan_for(slots, Provisional()) == ["county", "matter_type", "days_to_deadline", "confirmed"]
    abandoned = {"category": "elderly", "county": "定远县", "age": 80, "matter_type": "abuse_abandonment"}
    assert "group_status" not in plan_for(abandoned, Provisional())
    assert "income_per_capita" not in plan_for(abandoned, Provisional())


def test_the_case_county_is_asked_for_criminal_matters_and_litigation() -> None:
    assert plan_for({"category": "criminal_defence"}, Provisional())[:2] == ["county", "case_county"]
    assert plan_for({"category": "work_injury", "litigation": True}, Provisional())[:2] == [
        "county",
        "case_county",
    ]
    assert "case_county" not in plan_for({"category": "work_injury"}, Provisional())


def test_a_pending_new_topic_is_asked_first() -> None:
    slots = {"category": "minors", "pending_topic": {"category": "wage_arrears", "text": "老板欠我工资"}}
    assert plan_for(slots, Provisional())[0] == "topic_choice"


def test_criminal_questions_depend_on_lawyer_age_and_disability() -> None:
    provisional = Provisional()
    minor = {"category": "criminal_defence", "has_lawyer": False, "age": 16}
    assert plan_for(minor, provisional) == [
        "county",
        "case_county",
        "has_lawyer",
        "age",
        "in_custody",
        "confirmed",
    ]
    blind = {"category": "criminal_defence", "has_lawyer": False, "age": 30, "disabled": True}
    assert plan_for({**blind, "disability_type": "visual"}, provisional) == [
        "county",
        "case_county",
        "has_lawyer",
        "age",
        "disabled",
        "disability_type",
        "in_custody",
        "confirmed",
    ]
    assert "serious_charge" in plan_for({**blind, "disability_type": "physical"}, provisional)
    assert "disabled" not in plan_for({**minor, "age": 30, "has_lawyer": True}, provisional)
    assert provisional.calls == 0  # criminal defence has no means test


def test_domestic_violence_asks_only_whether_it_goes_on() -> None:
    assert plan_for({"category": "domestic_violence"}, Provisional()) == [
        "county",
        "dv_in_progress",
        "confirmed",
    ]


def test_group_status_and_its_proof() -> None:
    provisional = Provisional()
    base = {"category": "elderly", "county": "琅琊区", "age": 70}
    abuse = plan_for({**base, "matter_type": "abuse_abandonment"}, provisional)
    assert "group_status" not in abuse
    support = {**base, "matter_type": "support_payment"}
    assert "has_group_proof" in plan_for({**support, "group_status": "dibao"}, provisional)
    assert "has_group_proof" not in plan_for({**support, "group_status": UNKNOWN}, provisional)
    assert "has_group_proof" not in plan_for({**support, "group_status": "none"}, provisional)


def test_disability_rights_asks_the_disability_not_the_age() -> None:
    plan = plan_for({"category": "disability_rights", "disabled": True}, Provisional())
    assert plan[:4] == ["county", "disabled", "disability_type", "matter_type"]
    assert "age" not in plan


def test_unknown_or_missing_category_asks_no_family_questions() -> None:
    provisional = Provisional()
    assert plan_for({}, provisional) == ["county", "confirmed"]
    assert plan_for({"category": "no_such"}, provisional) == ["county", "confirmed"]
    means_and_deadline = {"county", "income_per_capita", "residence", "days_to_deadline", "confirmed"}
    assert set(plan_for({"category": "no_such", "county": "全椒县"}, provisional)) <= means_and_deadline
