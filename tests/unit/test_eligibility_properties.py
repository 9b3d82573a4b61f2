"""Property tests: decide() is total, and more income never turns a refusal into a pass."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.eligibility import EligibilityConfig, Facts, Outcome, decide, facts_from_slots, packaged_rules
from hotline.eligibility.facts import FIELDS, SLOT_NAMES

COUNTIES = ["琅琊区", "琅琊", "定远县", "火星县", "", " "]


def _field_strategy(name: str) -> st.SearchStrategy[Any]:
    kind, allowed = FIELDS[name]
    values: st.SearchStrategy[Any]
    if kind == "bool":
        values = st.booleans()
    elif kind == "enum":
        values = st.sampled_from(sorted(allowed))
    elif kind == "set":
        values = st.frozensets(st.sampled_from(sorted(allowed)))
    elif kind == "text":
        values = st.sampled_from(COUNTIES)
    elif name == "age":
        values = st.integers(min_value=0, max_value=130)
    elif name == "days_to_deadline":
        values = st.integers(min_value=-1000, max_value=1000)
    else:
        values = st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False)
    return st.none() | values


FACTS = st.builds(Facts, **{name: _field_strategy(name) for name in FIELDS})
DATES = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31))
CONFIGS = st.sampled_from(
    [
        EligibilityConfig(),
        EligibilityConfig.model_validate({"means_test": {"comparator": "<="}}),
        EligibilityConfig.model_validate(
            {"means_test": {"before_first_row": "use_earliest", "multiplier": 1.5}}
        ),
        EligibilityConfig.model_validate(
            {"means_test": {"dibao": []}, "deadlines": {"decision_day_type": "working"}}
        ),
    ]
)


@settings(max_examples=400, deadline=None)
@given(facts=FACTS, on=DATES, config=CONFIGS)
def test_decide_is_total(facts: Facts, on: dt.date, config: EligibilityConfig) -> None:
    decision = decide(facts, packaged_rules(), config, on)
    assert isinstance(decision.outcome, Outcome)
    assert decision.explanation
    assert decision.articles
    if decision.outcome is Outcome.NEEDS_REVIEW and decision.rule_id != "CONTRA_AGE_GROUP":
        assert decision.reasons[0].text
    Facts.from_json(decision.to_ticket_fields()["facts"])  # stored facts always load back


def test_all_none_facts_give_a_decision() -> None:
    decision = decide(Facts(), packaged_rules(), EligibilityConfig(), dt.date(2026, 1, 1))
    assert decision.outcome is Outcome.NEEDS_REVIEW
    assert decision.missing


@settings(max_examples=400, deadline=None)
@given(
    facts=FACTS,
    on=DATES,
    config=CONFIGS,
    low=st.floats(min_value=0, max_value=10_000, allow_nan=False),
    extra=st.floats(min_value=0, max_value=10_000, allow_nan=False),
)
def test_more_income_never_turns_failed_into_passed(
    facts: Facts, on: dt.date, config: EligibilityConfig, low: float, extra: float
) -> None:
    rules = packaged_rules()
    poorer = decide(facts.model_copy(update={"household_income_per_capita_month": low}), rules, config, on)
    richer = decide(
        facts.model_copy(update={"household_income_per_capita_month": low + extra}), rules, config, on
    )
    assert not (poorer.outcome is Outcome.MEANS_TEST_FAILED and richer.outcome is Outcome.MEANS_TEST_PASSED)
    if richer.outcome is Outcome.MEANS_TEST_PASSED:
        assert poorer.outcome is Outcome.MEANS_TEST_PASSED
    if poorer.outcome is Outcome.MEANS_TEST_FAILED:
        assert richer.outcome is Outcome.MEANS_TEST_FAILED


SLOT_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**9), max_value=10**9),
    st.integers(),  # unbounded too: 10**400 once raised OverflowError
    st.sampled_from([10**400, -(10**400), 10**12 + 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(
        ["十五", "三千", "是", "否", "urban", "农村", "dibao", "visual", "wage_arrears", "1e400"]
    ),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=400, deadline=None)
@given(slots=st.dictionaries(st.sampled_from(SLOT_NAMES), SLOT_VALUES))
def test_facts_from_slots_never_raises(slots: dict[str, Any]) -> None:
    facts = facts_from_slots(slots)
    decide(facts, packaged_rules(), EligibilityConfig(), dt.date(2026, 11, 29))
