"""Table-driven eligibility cases (eligibility_cases.yaml): one or more per rule, plus boundaries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from hotline.eligibility import DibaoRow, EligibilityConfig, Facts, Outcome, decide, packaged_rules

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).with_name("eligibility_cases.yaml")).read_text(encoding="utf-8")
)
DEFAULT_DAY = dt.date(2026, 11, 29)

_BASE = EligibilityConfig()
CONFIGS: dict[str, EligibilityConfig] = {
    "base": _BASE,
    "le": EligibilityConfig.model_validate({"means_test": {"comparator": "<="}}),
    # TEST-ONLY second row: real Chuzhou figures after 2022-07-01 are UNKNOWN.
    "two_rows": EligibilityConfig(
        means_test=_BASE.means_test.model_copy(
            update={
                "dibao": (
                    *_BASE.means_test.dibao,
                    DibaoRow(effective_from=dt.date(2023, 7, 1), urban=760, rural=740, source="test"),
                )
            }
        )
    ),
    "use_earliest": EligibilityConfig.model_validate({"means_test": {"before_first_row": "use_earliest"}}),
}


def test_table_is_big_enough_and_covers_every_rule() -> None:
    assert len(CASES) >= 40
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    covered = {c["rule"] for c in CASES}
    assert {r.id for r in packaged_rules().rules} <= covered
    assert {o.value for o in Outcome} <= {c["outcome"] for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    on = case.get("date", DEFAULT_DAY)
    on = dt.date.fromisoformat(on) if isinstance(on, str) else on
    facts = Facts.model_validate(case["facts"])
    decision = decide(facts, packaged_rules(), CONFIGS[case.get("config", "base")], on)

    assert decision.outcome == Outcome(case["outcome"]), decision.explanation
    assert decision.rule_id == case["rule"], decision.explanation
    assert set(case["articles"]) <= set(decision.articles), decision.articles
    if "urgent" in case:
        assert decision.urgent is case["urgent"]
    if "missing" in case:
        assert set(case["missing"]) <= set(decision.missing_fields), decision.missing_fields
        assert decision.missing, "missing facts must be explained in Chinese"
    note_ids = {r.rule for r in decision.reasons if r.kind == "note"}
    assert set(case.get("notes", [])) <= note_ids, note_ids
    assert not set(case.get("absent_notes", [])) & note_ids
    # Every answer names the outcome in plain words; every legal conclusion cites an article in Chinese
    # (contradiction checks conclude nothing, they only ask a human to verify).
    assert decision.explanation.startswith(packaged_rules().outcomes[decision.outcome])
    if not decision.rule_id.startswith("CONTRA_"):
        assert "《" in decision.reasons[0].text and "第" in decision.reasons[0].text, decision.reasons[0].text
    if decision.outcome is Outcome.MEANS_TEST_FAILED:
        assert decision.objection and "第四十九条" in decision.objection
