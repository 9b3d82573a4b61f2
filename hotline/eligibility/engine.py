"""decide(): one pure function from facts + rules + config + date to a Decision.

Pure means: no files, no clock, no settings, no database. The same inputs always give the same Decision,
which is what makes replay (re-running stored facts against new rules) and table tests possible. The only
arithmetic done here is the hardship line = multiplier x the 低保 row in force on the date; which rule
applies, and what it says, is all in rules.yaml.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hotline.eligibility.conditions import Env, evaluate
from hotline.eligibility.config import DibaoRow, EligibilityConfig, config_value
from hotline.eligibility.decision import Deadline, Decision, Outcome, Reason
from hotline.eligibility.explain import render
from hotline.eligibility.facts import FIELD_LABELS, FIELDS, Facts, facts_from_slots
from hotline.eligibility.routing import CentreDirectory, route
from hotline.eligibility.rules import VAR_LABELS, VARIABLES, Note, Rule, RuleSet, cached_rules

if TYPE_CHECKING:
    from hotline.settings import Settings

_RESIDENCE_TEXT = {"urban": "城镇", "rural": "农村"}
_COMPARATOR_TEXT = {"<": "低于", "<=": "不高于"}
_UNKNOWN = "（未知）"
_ORDER = {name: i for i, name in enumerate([*FIELDS, *VARIABLES])}


def _num(value: float | int | None) -> str:
    if value is None:
        return _UNKNOWN
    return f"{value:.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def _date_text(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def rules_version(rules: RuleSet, config: EligibilityConfig) -> str:
    """Label + hash of rules.yaml + hash of the config: changes whenever either changes (<= 64 chars)."""
    return f"{rules.version}+r{rules.digest[:16]}.c{config.fingerprint()}"


@dataclasses.dataclass(frozen=True)
class _Means:
    row: DibaoRow | None
    earliest: bool
    low: tuple[str, float] | None  # (residence used, line) for "surely passes"
    high: tuple[str, float] | None  # (residence used, line) for "surely fails"


def _means(facts: Facts, config: EligibilityConfig, on: dt.date) -> _Means:
    row, earliest = config.dibao_on(on)
    if row is None:
        return _Means(None, False, None, None)
    m = config.means_test.multiplier
    lines = {"urban": round(m * row.urban, 2), "rural": round(m * row.rural, 2)}
    if facts.residence is not None:
        one = (facts.residence, lines[facts.residence])
        return _Means(row, earliest, one, one)
    # Residence unknown: the answer is still certain when income is below both lines or above both.
    ordered = sorted(lines.items(), key=lambda kv: kv[1])
    return _Means(row, earliest, ordered[0], ordered[-1])


def _template_values(
    facts: Facts, config: EligibilityConfig, means: _Means, use_high: bool
) -> dict[str, str]:
    d = config.deadlines
    line = means.high if use_high else means.low
    residence = line[0] if line else None
    dibao: float | None = None
    if means.row is not None and residence is not None:
        dibao = means.row.urban if residence == "urban" else means.row.rural
    return {
        "threshold": _num(line[1]) if line else _UNKNOWN,
        "income": _num(facts.household_income_per_capita_month),
        "multiplier": _num(config.means_test.multiplier),
        "dibao": _num(dibao),
        "dibao_from": _date_text(means.row.effective_from) if means.row else _UNKNOWN,
        "residence_text": _RESIDENCE_TEXT.get(residence or "", ""),
        "comparator_text": _COMPARATOR_TEXT[config.means_test.comparator],
        "urgent_days": str(config.urgent_days),
        "minor_age": str(config.minor_age),
        "elderly_age": str(config.elderly_age),
        "age": _num(facts.age),
        "days_to_deadline": _num(facts.days_to_deadline),
        "decision_days": str(d.decision_days),
        "decision_unit": "个工作日" if d.decision_day_type == "working" else "日",
        "assign_days": str(d.assign_days),
        "criminal_notice_days": str(d.criminal_notice_days),
        "criminal_assign_days": str(d.criminal_assign_days),
        "custody_hours": str(d.custody_forward_hours),
        "objection_days": str(d.objection_review_days),
    }


def _pick_rule(rules: RuleSet, env: Env) -> tuple[Rule | None, str, frozenset[str]]:
    """First rule that is true, or unknown with on_unknown=review. Returns (rule, kind, missing names)."""
    for rule in rules.rules:
        value, missing = evaluate(rule.when, env)
        if value is True:
            asks = frozenset(rule.asks) if rule.outcome is Outcome.NEEDS_REVIEW else frozenset()
            return rule, "outcome", asks
        if value is None and rule.on_unknown == "review":
            return rule, "review", missing | frozenset(rule.asks)
    return None, "review", frozenset()


def _deadline(rules: RuleSet, config: EligibilityConfig, key: str) -> Deadline:
    spec = rules.deadlines[key]
    amount = int(config_value(config, spec.amount))
    if spec.unit == "hours":
        unit, unit_text = "hours", "小时"
    elif spec.day_type is not None and config_value(config, spec.day_type) == "working":
        unit, unit_text = "working_days", "个工作日"
    else:
        unit, unit_text = "days", "日"
    text = spec.text.format_map({"amount": str(amount), "unit_text": unit_text})
    return Deadline(key=key, amount=amount, unit=unit, text=text, articles=tuple(spec.articles))


def _dedupe(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _scope(rules: RuleSet, rule: Rule, env: Env) -> tuple[str, ...]:
    """The articles that put the matter in scope: the first `scope_bases` entry that holds for the facts
    (rules with scope_by_matter), else the rule's own `scope`."""
    if rule.scope_by_matter:
        for base in rules.scope_bases:
            if evaluate(base.when, env)[0] is True:
                return base.articles
    return rule.scope


def decide(
    facts: Facts,
    rules: RuleSet,
    config: EligibilityConfig,
    on: dt.date,
    centres: CentreDirectory | None = None,
) -> Decision:
    """Apply the rules top-down to `facts` as of `on`. Total: any Facts gives a Decision, never an error."""
    means = _means(facts, config, on)
    fields: dict[str, Any] = {name: getattr(facts, name) for name in FIELDS}
    variables: dict[str, Any] = {
        "hardship_threshold_min": means.low[1] if means.low else None,
        "hardship_threshold_max": means.high[1] if means.high else None,
        "dibao_earliest_fallback": means.earliest,
    }

    def cfg(path: str) -> Any:
        return config_value(config, path)

    rule, kind, missing_names = _pick_rule(rules, Env(fields, variables, cfg))
    outcome = rule.outcome if rule is not None and kind == "outcome" else Outcome.NEEDS_REVIEW
    env = Env(fields, {**variables, "outcome": outcome.value}, cfg)
    notes: list[Note] = [n for n in rules.notes if evaluate(n.when, env)[0] is True]

    values = _template_values(facts, config, means, use_high=outcome is Outcome.MEANS_TEST_FAILED)
    reasons: list[Reason] = []
    documents: list[str] = []
    referrals: list[str] = []
    deadline_keys: list[str] = []
    objection = False
    if rule is not None:
        template = rule.explain if kind == "outcome" else (rule.review_explain or rule.explain)
        reasons.append(Reason(rule.id, kind, template.format_map(values), rule.articles))
        documents += rule.documents
        if rule.matter_evidence and facts.matter_type is not None:
            evidence = rules.matter_evidence
            documents += evidence.get(facts.matter_type, evidence.get("default", ()))
        if kind == "outcome":
            referrals += rule.referrals
            deadline_keys += rule.deadlines
            objection = rule.objection
    else:  # unreachable with the packaged rules (last rule is `always`), kept so decide() stays total
        reasons.append(Reason("NO_RULE_MATCHED", "review", rules.outcomes[Outcome.NEEDS_REVIEW]))
    if outcome is Outcome.NEEDS_REVIEW:
        documents = [*rules.review_documents, *documents]
    for note in notes:
        reasons.append(Reason(note.id, "note", note.text.format_map(values), note.articles))
        documents += note.documents
        referrals += note.referrals
        deadline_keys += note.deadlines

    line = means.high if outcome is Outcome.MEANS_TEST_FAILED else means.low
    decides = rule is not None and kind == "outcome" and rule.grants_or_refuses
    scope = _scope(rules, rule, env) if decides and rule is not None else ()
    condition = rule.articles if decides and rule is not None else ()
    articles = _dedupe([*scope, *(a for r in reasons for a in r.articles)])
    ordered_missing = sorted(missing_names, key=lambda n: _ORDER.get(n, len(_ORDER)))
    labels = {**FIELD_LABELS, **VAR_LABELS}
    decision = Decision(
        outcome=outcome,
        rule_id=rule.id if rule is not None else "NO_RULE_MATCHED",
        reasons=tuple(reasons),
        articles=articles,
        citations=_dedupe([rules.articles[a] for a in articles]),
        missing=_dedupe([labels.get(n, n) for n in ordered_missing]),
        missing_fields=tuple(ordered_missing),
        documents=_dedupe([rules.documents[k] for k in documents]),
        referrals=_dedupe([rules.referrals[k] for k in referrals]),
        centre=route(rules, env, centres),
        deadlines=tuple(_deadline(rules, config, k) for k in _dedupe(deadline_keys)),
        urgent=any(n.urgent for n in notes),
        urgent_reasons=tuple(n.id for n in notes if n.urgent),
        objection=rules.objection.format_map(values) if objection else None,
        explanation="",
        facts=facts,
        decided_on=on,
        rules_version=rules_version(rules, config),
        threshold=line[1] if line else None,
        extra={
            "dibao_effective_from": means.row.effective_from.isoformat() if means.row else None,
            "dibao_earliest_fallback": means.earliest,
        },
        scope_articles=scope,
        condition_articles=condition,
    )
    explanation = render(decision, rules.outcomes[outcome], rules.articles)
    return dataclasses.replace(decision, explanation=explanation)


def replay(
    stored_facts: Mapping[str, Any],
    rules: RuleSet,
    config: EligibilityConfig,
    on: dt.date | None = None,
    centres: CentreDirectory | None = None,
) -> Decision:
    """Re-decide a ticket's stored facts (Decision.to_ticket_fields()["facts"]) under other rules/config.

    `on` defaults to the stored `as_of` date, so only the rules or config differ from the original run.
    """
    if on is None:
        as_of = stored_facts.get("as_of")
        if not isinstance(as_of, str):
            raise ValueError("stored facts have no 'as_of' date; pass on=")
        on = dt.date.fromisoformat(as_of)
    return decide(Facts.from_json(stored_facts), rules, config, on, centres)


def assess(slots: Mapping[str, Any], settings: Settings, on: dt.date | None = None) -> Decision:
    """The bot's entry point: slots -> Decision with the deployment's rules, config and centres."""
    config = settings.eligibility
    rules = cached_rules(config.rules_path)
    if on is None:
        from hotline.settings import today_in

        on = today_in(settings)
    return decide(facts_from_slots(slots), rules, config, on, CentreDirectory.from_settings(settings))
