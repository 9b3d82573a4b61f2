"""Slots -> facts, assess() with settings, routing to centres, ticket fields and replay, explanations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hotline.eligibility import (
    CentreDirectory,
    EligibilityConfig,
    Facts,
    Outcome,
    assess,
    decide,
    facts_from_slots,
    packaged_rules,
    replay,
)
from hotline.settings import Settings

DAY = dt.date(2026, 11, 29)


def _centre(name: str) -> dict[str, str]:
    return {"name": name, "address": f"{name}地址", "phone": "0550-1234567", "hours": "周一至周五"}


def _settings(eligibility: dict[str, Any] | None = None) -> Settings:
    return Settings.model_validate(
        {
            "city": {
                "name": "滁州市",
                "code": "341100",
                "ticket_prefix": "滁",
                "centre": _centre("滁州市法律援助中心"),
            },
            "counties": [
                {
                    "code": "341102",
                    "name": "琅琊区",
                    "aliases": ["琅琊"],
                    "centre": _centre("琅琊区法律援助中心"),
                },
                {
                    "code": "341125",
                    "name": "定远县",
                    "aliases": ["定远"],
                    "centre": _centre("定远县法律援助中心"),
                },
            ],
            "eligibility": eligibility or {},
        }
    )


# ------------------------------------------------------------------------------------ facts_from_slots


def test_slots_map_to_facts() -> None:
    facts = facts_from_slots(
        {
            "category": "wage_arrears",
            "county": "琅琊",
            "age": "四十五",
            "migrant_worker": True,
            "income_per_capita": "1,200元",
            "residence": "农村",
            "has_group_proof": "否",
            "group_status": "none",
            "days_to_deadline": 5.7,
            "disabled": False,
            "serious_charge": None,
            "description": "老板欠了三个月工资",
        }
    )
    assert facts.proceeding == "civil" and facts.matter_type == "wage_arrears"
    assert facts.age == 45 and facts.is_migrant_worker is True
    assert facts.household_income_per_capita_month == 1200 and facts.residence == "rural"
    assert facts.has_group_proof is False and facts.group_flags == frozenset()
    assert facts.days_to_deadline == 5 and facts.disability_types == frozenset()
    assert facts.county == "琅琊"


@pytest.mark.parametrize(
    ("category", "proceeding", "matter"),
    [
        ("criminal_defence", "criminal_defence", None),
        ("personal_injury", "civil", "traffic_injury"),
        ("marriage_family", "civil", None),  # 抚养费 vs 离婚财产: ask, do not guess "not in scope"
        ("domestic_violence", "civil", "domestic_violence"),
        ("social_insurance", "civil", "social_insurance"),
        ("other_legal", "civil", "other"),
        ("no_such_category", None, None),
    ],
)
def test_category_mapping(category: str, proceeding: str | None, matter: str | None) -> None:
    facts = facts_from_slots({"category": category})
    assert (facts.proceeding, facts.matter_type) == (proceeding, matter)


def test_explicit_matter_type_overrides_category() -> None:
    assert facts_from_slots({"category": "personal_injury", "matter_type": "medical_injury"}).matter_type == (
        "medical_injury"
    )


def test_disability_and_group_slots() -> None:
    facts = facts_from_slots(
        {"disabled": True, "disability_type": "hearing", "serious_charge": True, "group_status": "dibao"}
    )
    assert facts.disabled is True and facts.disability_types == frozenset({"hearing"})
    assert facts.max_possible_sentence == "life_or_death"
    assert facts.group_flags == frozenset({"dibao"})
    unknown_type = facts_from_slots({"disabled": True})
    assert unknown_type.disability_types is None  # disabled, type not yet known


@pytest.mark.parametrize("bad", [-5, "abc", float("nan"), float("inf"), [], {"x": 1}, "", 10**12])
def test_unusable_slot_values_become_unknown(bad: Any) -> None:
    facts = facts_from_slots(
        {"age": bad, "income_per_capita": bad, "days_to_deadline": bad, "residence": bad}
    )
    assert facts.household_income_per_capita_month is None or bad == 10**12
    assert facts.age is None and facts.residence is None


# ------------------------------------------------------------------------------------ assess + routing


def test_assess_migrant_worker_wages_end_to_end() -> None:
    decision = assess(
        {"category": "wage_arrears", "migrant_worker": True, "has_group_proof": True, "county": "琅琊"},
        _settings(),
        DAY,
    )
    assert decision.outcome is Outcome.HARDSHIP_DEEMED
    assert "根据《法律援助法》第四十二条，农民工请求支付劳动报酬" in decision.explanation
    assert decision.centre is not None and decision.centre.name == "琅琊区法律援助中心"
    assert decision.centre.county == "琅琊区"
    assert any("工资条" in d for d in decision.documents)
    assert any("劳动保障监察" in r for r in decision.referrals)
    assert [d.key for d in decision.deadlines] == ["decision", "assign"]
    assert "0550-1234567" in decision.explanation


def test_assess_uses_settings_eligibility_section() -> None:
    slots = {"category": "work_injury", "income_per_capita": 1454, "residence": "urban"}
    assert assess(slots, _settings(), DAY).outcome is Outcome.MEANS_TEST_FAILED
    assert (
        assess(slots, _settings({"means_test": {"comparator": "<="}}), DAY).outcome
        is Outcome.MEANS_TEST_PASSED
    )


def test_assess_with_no_slots_asks_what_the_matter_is() -> None:
    decision = assess({}, _settings(), DAY)
    assert decision.outcome is Outcome.NEEDS_REVIEW
    assert decision.missing_fields == ("matter_type",)
    assert decision.centre is not None and decision.centre.county is None  # city centre fallback


def test_routing_prefers_case_organ_then_matter_place_then_home() -> None:
    rules, config = packaged_rules(), EligibilityConfig()
    directory = CentreDirectory.from_settings(_settings())
    base = Facts(proceeding="criminal_defence", age=16, county="琅琊区")
    home = decide(base, rules, config, DAY, directory)
    assert home.centre is not None and home.centre.county == "琅琊区"
    organ = decide(
        base.model_copy(update={"case_organ_county": "定远县", "matter_county": "琅琊"}),
        rules,
        config,
        DAY,
        directory,
    )
    assert organ.centre is not None and organ.centre.county == "定远县" and "办案机关" in organ.centre.reason
    place = decide(base.model_copy(update={"matter_county": "定远"}), rules, config, DAY, directory)
    assert place.centre is not None and place.centre.county == "定远县"
    unknown = decide(base.model_copy(update={"county": "火星县"}), rules, config, DAY, directory)
    assert unknown.centre is not None and unknown.centre.county is None
    assert decide(base, rules, config, DAY).centre is None  # no directory passed: decide() reads nothing


def test_alias_lookup_tolerates_suffix() -> None:
    directory = CentreDirectory.from_settings(_settings())
    assert directory.lookup("定远县") is not None and directory.lookup("341125") is not None
    assert directory.lookup("琅琊区")[0] == "琅琊区"  # type: ignore[index]
    assert directory.lookup("凤阳县") is None


# ------------------------------------------------------------------------------------ ticket + replay


def test_ticket_fields_and_replay() -> None:
    rules = packaged_rules()
    config = EligibilityConfig()
    facts = Facts(
        proceeding="civil",
        matter_type="wage_arrears",
        household_income_per_capita_month=1500,
        residence="urban",
        is_migrant_worker=True,
    )
    decision = decide(facts, rules, config, DAY)
    fields = decision.to_ticket_fields()
    assert fields["eligibility_outcome"] == "MEANS_TEST_FAILED"
    assert fields["eligibility_reasons"][0]["rule"] == "MEANS_TEST_FAILED"
    assert "LAL-34" in fields["eligibility_articles"]
    assert fields["eligibility_rules_version"].startswith(rules.version + "+r")
    assert len(fields["eligibility_rules_version"]) <= 64
    assert fields["facts"]["as_of"] == DAY.isoformat()

    same = replay(fields["facts"], rules, config)
    assert same.outcome is decision.outcome and same.rules_version == decision.rules_version
    assert same.facts == facts

    generous = EligibilityConfig.model_validate({"means_test": {"multiplier": 3}})
    changed = replay(fields["facts"], rules, generous)
    assert changed.outcome is Outcome.MEANS_TEST_PASSED
    assert changed.rules_version != decision.rules_version
    with pytest.raises(ValueError, match="as_of"):
        replay(facts.to_json(), rules, config)


def test_ticket_flags() -> None:
    decision = decide(
        Facts(proceeding="criminal_defence", age=16, in_custody=True),
        packaged_rules(),
        EligibilityConfig(),
        DAY,
    )
    flags = decision.ticket_flags()
    assert flags == {
        "priority": "urgent",
        "migrant_worker": False,
        "disabled": False,
        "minor": True,
        "elderly": False,
    }


# ------------------------------------------------------------------------------------ explanation details


def test_refusal_explains_right_to_object() -> None:
    decision = decide(
        Facts(
            proceeding="civil",
            matter_type="traffic_injury",
            household_income_per_capita_month=3000,
            residence="rural",
        ),
        packaged_rules(),
        EligibilityConfig(),
        DAY,
    )
    assert decision.outcome is Outcome.MEANS_TEST_FAILED
    assert decision.threshold == 1434
    assert "3000元" in decision.explanation and "1434元" in decision.explanation
    assert "【如果被拒绝】" in decision.explanation and "司法局5日内审查" in decision.explanation
    assert "行政复议" in decision.explanation


def test_working_day_config_changes_deadline_text() -> None:
    config = EligibilityConfig.model_validate({"deadlines": {"decision_day_type": "working"}})
    facts = Facts(proceeding="civil", matter_type="domestic_violence")
    decision = decide(facts, packaged_rules(), config, DAY)
    decision_deadline = next(d for d in decision.deadlines if d.key == "decision")
    assert decision_deadline.unit == "working_days" and "7个工作日" in decision_deadline.text
    calendar = decide(facts, packaged_rules(), EligibilityConfig(), DAY)
    assert "7日内" in next(d for d in calendar.deadlines if d.key == "decision").text


def test_no_space_artifacts_in_chinese_text() -> None:
    decision = decide(
        Facts(proceeding="criminal_defence", age=16), packaged_rules(), EligibilityConfig(), DAY
    )
    assert "、 " not in decision.explanation and "， " not in decision.explanation


def test_needs_review_lists_missing_in_chinese() -> None:
    decision = decide(
        Facts(proceeding="civil", matter_type="wage_arrears", is_migrant_worker=True, has_group_proof=False),
        packaged_rules(),
        EligibilityConfig(),
        DAY,
    )
    assert decision.outcome is Outcome.NEEDS_REVIEW
    assert decision.missing == ("家庭每人每月平均收入（元）",)
    assert "【还需要了解】" in decision.explanation
    assert any(r.rule == "N_GROUP_PROOF_MISSING" for r in decision.reasons)
