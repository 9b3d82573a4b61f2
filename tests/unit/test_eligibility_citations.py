"""Every decision that grants or refuses cites both the article that puts the matter in scope (LAL Art 31,
the Anhui 2016 Art 13 list, Art 32, the criminal articles) and the condition it applied (e.g. the means test,
LAL Art 34 + Anhui Art 17). Exhaustive over the rules table and over matter x proceeding."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from hotline.eligibility import Facts, Outcome, decide, packaged_rules
from hotline.eligibility.conditions import RuleError
from hotline.eligibility.config import EligibilityConfig
from hotline.eligibility.decision import Decision
from hotline.eligibility.facts import FIELDS
from hotline.eligibility.rules import parse_rules
from hotline.settings import PROJECT_ROOT
from tests.unit.test_eligibility_table import CASES, CONFIGS, DEFAULT_DAY

RULES = packaged_rules()
DAY = dt.date(2026, 11, 29)
MEANS_TESTED = {Outcome.MEANS_TEST_PASSED, Outcome.MEANS_TEST_FAILED}


def assert_cites_scope_and_condition(decision: Decision) -> None:
    rule = next(r for r in RULES.rules if r.id == decision.rule_id)
    assert decision.scope_articles, f"{decision.rule_id}: no scope article"
    assert decision.condition_articles == rule.articles
    assert set(decision.scope_articles) | set(decision.condition_articles) <= set(decision.articles)
    basis = decision.explanation.split("【法律依据】\n", 1)[1]
    scope_text, condition_text = basis.split("；适用条件：")
    for code in decision.scope_articles:
        assert RULES.articles[code] in scope_text
    for code in decision.condition_articles:
        assert RULES.articles[code] in condition_text
    stored = decision.to_ticket_fields()["eligibility_articles"]
    assert set(decision.scope_articles) <= set(stored)


def test_every_rule_that_grants_or_refuses_declares_its_scope() -> None:
    for rule in RULES.rules:
        if rule.outcome is Outcome.NEEDS_REVIEW:
            assert not rule.scope and not rule.scope_by_matter, rule.id
            continue
        assert rule.scope or rule.scope_by_matter, rule.id
        assert all(code in RULES.articles for code in rule.scope), rule.id
    assert {b.id for b in RULES.scope_bases} == {
        "SCOPE_CRIMINAL_DEFENCE",
        "SCOPE_CRIMINAL_VICTIM",
        "SCOPE_RETRIAL",
        "SCOPE_ART31",
        "SCOPE_ANHUI_ART13",
    }


def test_a_rules_file_without_the_scope_of_a_decision_does_not_load() -> None:
    text = (PROJECT_ROOT / "hotline" / "eligibility" / "rules.yaml").read_text(encoding="utf-8")
    broken = text.replace("    scope: [LAL-28]\n", "", 1)
    with pytest.raises(
        RuleError, match="CRIM_COMPULSORY_MEDICAL: a rule that grants or refuses must cite its scope"
    ):
        parse_rules(broken)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_every_table_case_cites_scope_and_condition(case: dict[str, Any]) -> None:
    """eligibility_cases.yaml has a case for every rule (test_eligibility_table checks that)."""
    on = case.get("date", DEFAULT_DAY)
    on = dt.date.fromisoformat(on) if isinstance(on, str) else on
    decision = decide(Facts.model_validate(case["facts"]), RULES, CONFIGS[case.get("config", "base")], on)
    if decision.outcome is Outcome.NEEDS_REVIEW:
        assert decision.scope_articles == () and decision.condition_articles == ()
        assert "【法律依据】" not in decision.explanation
    else:
        assert_cites_scope_and_condition(decision)


def _sweep() -> list[tuple[str | None, str, float, bool | None]]:
    proceedings = [None, *sorted(FIELDS["proceeding"][1])]
    matters = sorted(FIELDS["matter_type"][1])
    return list(itertools.product(proceedings, matters, (500.0, 5000.0), (None, False, True)))


def test_every_matter_and_proceeding_decision_cites_scope_and_condition() -> None:
    seen_rules: set[str] = set()
    config = EligibilityConfig()
    for proceeding, matter, income, has_lawyer in _sweep():
        facts = Facts.model_validate(
            {
                "proceeding": proceeding,
                "matter_type": matter,
                "household_income_per_capita_month": income,
                "residence": "urban",
                "has_lawyer": has_lawyer,
            }
        )
        decision = decide(facts, RULES, config, DAY)
        if decision.outcome is Outcome.NEEDS_REVIEW:
            continue
        seen_rules.add(decision.rule_id)
        assert_cites_scope_and_condition(decision)
        if decision.outcome not in MEANS_TESTED:
            continue
        assert {"LAL-34", "AH2016-17"} <= set(decision.condition_articles)
        expected = {
            "criminal_defence": "LAL-24",
            "criminal_victim": "LAL-29",
            "retrial": "LAL-33",
        }.get(proceeding or "")
        if expected is None:  # civil, administrative, non-litigation or not said: the matter decides
            expected = "AH2016-13" if matter in RULES.lists["anhui_2016_art13_matters"] else "LAL-31"
            assert "LAL-31" in decision.scope_articles
        assert expected in decision.scope_articles, (proceeding, matter, decision.scope_articles)
    assert {"MEANS_TEST_PASSED", "MEANS_TEST_FAILED", "OUT_OF_SCOPE_MATTER", "HAS_OWN_AGENT"} <= seen_rules


def test_the_issue_example_wage_arrears_means_test() -> None:
    facts = Facts(matter_type="wage_arrears", household_income_per_capita_month=1000, residence="urban")
    decision = decide(facts, RULES, EligibilityConfig(), DAY)
    assert decision.outcome is Outcome.MEANS_TEST_PASSED
    assert decision.scope_articles == ("LAL-31",)
    assert decision.articles[:1] == ("LAL-31",) and "LAL-34" in decision.articles
    assert (
        "【法律依据】\n援助范围：《法律援助法》第三十一条；适用条件：《法律援助法》第三十四条、《法律援助法》第四十一条、"
        "《安徽省法律援助条例》（2016年修订）第十七条、《办理法律援助案件程序规定》（2023年）。"
    ) in decision.explanation
    land = decide(
        Facts(matter_type="rural_land_contract", household_income_per_capita_month=9000, residence="rural"),
        RULES,
        EligibilityConfig(),
        DAY,
    )
    assert land.outcome is Outcome.MEANS_TEST_FAILED
    assert land.scope_articles == ("LAL-31", "AH2016-13")
