"""The rules file and the condition language: loads, complete, and rejects malformed rules at load time."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import yaml

from hotline.eligibility import EligibilityConfig, Outcome, RuleError, packaged_rules, parse_rules
from hotline.eligibility.conditions import (
    All,
    AnyOf,
    Env,
    Vocabulary,
    compile_condition,
    evaluate,
)
from hotline.eligibility.config import config_paths
from hotline.eligibility.facts import FIELDS
from hotline.eligibility.rules import VARIABLES

VOCAB = Vocabulary(
    fields=FIELDS,
    variables=VARIABLES,
    lists={"serious": ("life", "death")},
    config_paths=config_paths(),
)


def _env(**fields: Any) -> Env:
    config = EligibilityConfig()

    def cfg(path: str) -> Any:
        node: Any = config
        for part in path.split("."):
            node = getattr(node, part)
        return node

    return Env(fields={name: fields.get(name) for name in FIELDS}, variables={}, config=cfg)


# ------------------------------------------------------------------------------------ the packaged file


def test_packaged_rules_load_and_every_rule_is_complete() -> None:
    rules = packaged_rules()
    assert rules.version
    assert len(rules.digest) == 64
    ids = [r.id for r in rules.rules] + [n.id for n in rules.notes]
    assert len(ids) == len(set(ids))
    for rule in rules.rules:
        assert rule.id and isinstance(rule.outcome, Outcome) and rule.articles
        assert all(a in rules.articles for a in rule.articles)
        assert rule.explain
    # Every outcome has a headline, and every outcome except "needs review" can be reached by some rule.
    assert set(rules.outcomes) == set(Outcome)
    assert {r.outcome for r in rules.rules} == set(Outcome)
    # The last rule catches everything, so decide() never falls off the end.
    assert evaluate(rules.rules[-1].when, _env())[0] is True


def test_articles_named_in_the_issue_are_cited() -> None:
    cited = {a for r in packaged_rules().rules for a in r.articles} | {
        a for n in packaged_rules().notes for a in n.articles
    }
    for code in [
        "LAL-25(1)",
        "LAL-28",
        "LAL-31",
        "LAL-32",
        "LAL-34",
        "LAL-41",
        "LAL-42",
        "LAL-44",
        "AH2016-13",
        "AH2016-17",
        "AH2016-23",
        "ADVL-19",
        "MWWP-45",
        "MPL-104",
        "LAL-49",
    ]:
        assert code in cited, code


def test_lists_are_data() -> None:
    lists = packaged_rules().lists
    assert "wage_arrears" in lists["art31_matters"] and "contract" not in lists["art31_matters"]
    assert {"dibao", "tekun", "judicial_assistance", "youfu"} <= set(lists["art42_assistance_groups"])


def test_no_document_demands_a_hardship_certificate() -> None:
    # 2023 Procedure Rules: a statement or integrity pledge, never a certificate.
    for key, text in packaged_rules().documents.items():
        assert "困难证明" not in text and "证明表" not in text, key
    assert "诚信承诺" in packaged_rules().documents["hardship_statement"]


def test_rules_version_changes_with_the_file() -> None:
    text = (
        __import__("importlib.resources", fromlist=["files"])
        .files("hotline.eligibility")
        .joinpath("rules.yaml")
        .read_text(encoding="utf-8")
    )
    assert parse_rules(text).digest == packaged_rules().digest
    assert parse_rules(text + "\n# edited\n").digest != packaged_rules().digest


# ------------------------------------------------------------------------------------ condition language


def test_kleene_logic_and_missing_names() -> None:
    cond = compile_condition(
        {"any": [{"field": "age", "lt": 18}, {"field": "in_absentia", "eq": True, "if_missing": False}]},
        VOCAB,
        "t",
    )
    assert isinstance(cond, AnyOf)
    assert evaluate(cond, _env(age=16)) == (True, frozenset())
    assert evaluate(cond, _env(age=30)) == (False, frozenset())
    assert evaluate(cond, _env()) == (None, frozenset({"age"}))
    assert evaluate(cond, _env(in_absentia=True))[0] is True  # true wins over unknown

    both = compile_condition(
        {"all": [{"field": "age", "lt": 18}, {"field": "has_lawyer", "eq": False}]}, VOCAB, "t"
    )
    assert isinstance(both, All)
    assert evaluate(both, _env(age=30))[0] is False  # false wins over unknown
    assert evaluate(both, _env())[1] == {"age", "has_lawyer"}
    assert evaluate(compile_condition({"not": {"field": "age", "lt": 18}}, VOCAB, "t"), _env())[0] is None


@pytest.mark.parametrize(
    ("cond", "fields", "expected"),
    [
        ({"field": "age", "lt": {"config": "minor_age"}}, {"age": 17}, True),
        ({"field": "age", "ge": {"config": "elderly_age"}}, {"age": 60}, True),
        (
            {"field": "matter_type", "in": ["wage_arrears", "work_injury"]},
            {"matter_type": "work_injury"},
            True,
        ),
        ({"field": "matter_type", "not_in": ["contract"]}, {"matter_type": "contract"}, False),
        ({"field": "group_flags", "contains": "dibao"}, {"group_flags": frozenset({"dibao"})}, True),
        (
            {"field": "group_flags", "intersects": ["tekun", "youfu"]},
            {"group_flags": frozenset({"dibao"})},
            False,
        ),
        ({"field": "group_flags", "empty": True}, {"group_flags": frozenset()}, True),
        ({"field": "age", "missing": True}, {}, True),
        ({"field": "age", "missing": True}, {"age": 3}, False),
        (
            {"field": "max_possible_sentence", "in": {"list": "serious"}},
            {"max_possible_sentence": "death"},
            True,
        ),
        ({"field": "county", "eq": "琅琊区"}, {"county": "琅琊区"}, True),
        (
            {
                "field": "household_income_per_capita_month",
                "op": {"config": "means_test.comparator"},
                "value": 1454,
            },
            {"household_income_per_capita_month": 1454.0},
            False,
        ),
        ({"always": True}, {}, True),
    ],
)
def test_operators(cond: dict[str, Any], fields: dict[str, Any], expected: bool) -> None:
    assert evaluate(compile_condition(cond, VOCAB, "t"), _env(**fields))[0] is expected


@pytest.mark.parametrize(
    ("cond", "message"),
    [
        ({"field": "age", "lte": 18}, "unknown operator"),
        ({"field": "age", "lt": 18, "gt": 3}, "exactly one operator"),
        ({"field": "agee", "lt": 18}, "unknown field"),
        ({"var": "nope", "eq": 1}, "unknown var"),
        ({"field": "matter_type", "eq": "wage_arear"}, "not an allowed value"),
        ({"field": "matter_type", "lt": 3}, "does not apply"),
        ({"field": "age", "in": 18}, "needs a list"),
        ({"field": "age", "lt": "eighteen"}, "needs a number"),
        ({"field": "has_lawyer", "eq": "yes"}, "not true/false"),
        ({"field": "matter_type", "in": {"list": "nope"}}, "unknown list"),
        ({"field": "age", "lt": {"config": "no.such.key"}}, "unknown config path"),
        ({"field": "age", "op": "__lt__", "value": 3}, "'op' must be"),
        ({"field": "age", "op": {"config": "nope"}, "value": 3}, "unknown config path"),
        ({"all": []}, "non-empty list"),
        ({"all": [{"always": True}], "field": "age"}, "cannot be mixed"),
        ({"any": {"field": "age", "lt": 3}}, "non-empty list"),
        ("age < 18", "must be a mapping"),
        ({"field": "__class__", "eq": 1}, "unknown field"),
        ({"field": "age", "lt": 18, "if_missing": "maybe"}, "if_missing"),
        ({"field": "age", "lt": {"python": "1+1"}}, "unknown value reference"),
        ({"field": "group_flags", "contains": ["dibao"]}, "single value"),
    ],
)
def test_malformed_conditions_are_rejected(cond: Any, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        compile_condition(cond, VOCAB, "rule X")


def _minimal_rules(**rule_overrides: Any) -> str:
    doc = yaml.safe_load(
        __import__("importlib.resources", fromlist=["files"])
        .files("hotline.eligibility")
        .joinpath("rules.yaml")
        .read_text(encoding="utf-8")
    )
    doc["rules"][0].update(rule_overrides)
    return yaml.safe_dump(doc, allow_unicode=True)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"when": {"field": "age", "lessthan": 3}}, "rule CONTRA_AGE_GROUP.*unknown operator"),
        ({"articles": ["LAL-999"]}, "unknown articles"),
        ({"articles": []}, "articles"),
        ({"documents": ["passport"]}, "unknown documents"),
        ({"explain": "收入{salary}元"}, "unknown placeholder"),
        ({"explain": "收入{income!r}元"}, "no format spec"),
        ({"outcome": "MAYBE"}, "outcome"),
        ({"on_unknown": "review"}, "review_explain"),
        ({"asks": ["shoe_size"]}, "unknown field"),
        ({"id": "lower_case"}, "id"),
    ],
)
def test_malformed_rules_file_is_rejected_at_load(override: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        parse_rules(_minimal_rules(**override), "test.yaml")


def test_duplicate_rule_ids_rejected() -> None:
    doc = yaml.safe_load(_minimal_rules())
    doc["rules"].append(dict(doc["rules"][0]))
    with pytest.raises(RuleError, match="duplicate id"):
        parse_rules(yaml.safe_dump(doc, allow_unicode=True))


def test_not_yaml_rejected() -> None:
    with pytest.raises(RuleError, match="not valid YAML"):
        parse_rules("rules: [unclosed")


# ------------------------------------------------------------------------------------ config


def test_empty_config_section_is_the_chuzhou_reference() -> None:
    config = EligibilityConfig.model_validate({})
    assert config == EligibilityConfig()
    assert config.means_test.multiplier == 2 and config.means_test.comparator == "<"
    row, earliest = config.dibao_on(dt.date(2026, 1, 1))
    assert row is not None and (row.urban, row.rural) == (727, 717) and not earliest
    assert config.dibao_on(dt.date(2022, 6, 30)) == (None, False)
    assert config.deadlines.decision_days == 7 and config.deadlines.decision_day_type == "calendar"


def test_dibao_rows_are_sorted_and_fingerprint_tracks_values() -> None:
    config = EligibilityConfig.model_validate(
        {
            "means_test": {
                "dibao": [
                    {"effective_from": "2023-07-01", "urban": 760, "rural": 740},
                    {"effective_from": "2022-07-01", "urban": 727, "rural": 717},
                ]
            }
        }
    )
    assert [r.effective_from.year for r in config.means_test.dibao] == [2022, 2023]
    assert config.fingerprint() != EligibilityConfig().fingerprint()
    assert EligibilityConfig().fingerprint() == EligibilityConfig.model_validate({}).fingerprint()
