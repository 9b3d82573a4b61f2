"""Loading and checking rules.yaml: the law as data.

The file is validated completely at load time (shape, ids, article codes, document and referral keys,
explanation placeholders, and every condition), so a bad edit by a justice-bureau staff member stops
start-up with a message naming the rule, instead of giving a citizen a wrong answer later.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hotline.config_model import key_path
from hotline.eligibility.conditions import Cond, RuleError, Vocabulary, compile_condition
from hotline.eligibility.config import config_paths
from hotline.eligibility.decision import Outcome
from hotline.eligibility.facts import FIELDS

# Computed values a condition may read with {var: NAME}; decide() fills them for each inquiry.
VARIABLES: dict[str, tuple[str, frozenset[str]]] = {
    "outcome": ("enum", frozenset(o.value for o in Outcome)),  # for notes: the outcome already chosen
    "hardship_threshold_min": ("number", frozenset()),  # lower of the applicable lines (residence unknown)
    "hardship_threshold_max": ("number", frozenset()),  # higher of the applicable lines
    "dibao_earliest_fallback": ("bool", frozenset()),  # the date was before the first 低保 row
}
VAR_LABELS: dict[str, str] = {
    "hardship_threshold_min": "当天适用的低保标准（系统里没有这个日期的标准，需要工作人员核实）",
    "hardship_threshold_max": "当天适用的低保标准（系统里没有这个日期的标准，需要工作人员核实）",
}

# Placeholders an explanation may use; decide() provides every one of them.
TEMPLATE_NAMES = frozenset(
    {
        "threshold",
        "income",
        "multiplier",
        "dibao",
        "dibao_from",
        "residence_text",
        "comparator_text",
        "urgent_days",
        "minor_age",
        "elderly_age",
        "age",
        "days_to_deadline",
        "decision_days",
        "decision_unit",
        "assign_days",
        "criminal_notice_days",
        "criminal_assign_days",
        "custody_hours",
        "objection_days",
    }
)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleSpec(_Spec):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    title: str
    outcome: Outcome
    when: Any
    on_unknown: Literal["skip", "review"] = "skip"
    asks: list[str] = []
    articles: list[str] = Field(min_length=1)
    explain: str
    review_explain: str | None = None
    documents: list[str] = []
    matter_evidence: bool = False
    referrals: list[str] = []
    deadlines: list[str] = []
    objection: bool = False
    # The article(s) that put the matter in legal aid's scope at all (LAL Art 31, the Anhui Art 13 list,
    # Art 32, the criminal articles), cited with the condition the rule applied (`articles`) by every
    # decision that grants or refuses. `scope_by_matter`: taken from `scope_bases` (the first that holds for
    # the facts), `scope` then only being the fallback.
    scope: list[str] = []
    scope_by_matter: bool = False


class ScopeSpec(_Spec):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    when: Any
    articles: list[str] = Field(min_length=1)


class NoteSpec(_Spec):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    when: Any
    articles: list[str] = []
    text: str
    urgent: bool = False
    documents: list[str] = []
    referrals: list[str] = []
    deadlines: list[str] = []


class RouteSpec(_Spec):
    id: str
    field: str
    when: Any = None
    reason: str
    articles: list[str] = []


class DeadlineSpec(_Spec):
    amount: str  # config path
    unit: Literal["days", "hours"] = "days"
    day_type: str | None = None  # config path holding "calendar" | "working"
    text: str
    articles: list[str] = []


class RulesFileSpec(_Spec):
    version: str = Field(min_length=1, max_length=20)
    lists: dict[str, list[str]]
    articles: dict[str, str]
    outcomes: dict[Outcome, str]
    documents: dict[str, str]
    matter_evidence: dict[str, list[str]]
    review_documents: list[str] = []
    referrals: dict[str, str]
    deadlines: dict[str, DeadlineSpec]
    objection: str
    city_fallback_reason: str
    scope_bases: list[ScopeSpec] = []
    rules: list[RuleSpec] = Field(min_length=1)
    notes: list[NoteSpec] = []
    routing: list[RouteSpec] = []


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    outcome: Outcome
    when: Cond
    on_unknown: Literal["skip", "review"]
    asks: tuple[str, ...]
    articles: tuple[str, ...]
    explain: str
    review_explain: str | None
    documents: tuple[str, ...]
    matter_evidence: bool
    referrals: tuple[str, ...]
    deadlines: tuple[str, ...]
    objection: bool
    scope: tuple[str, ...] = ()
    scope_by_matter: bool = False

    @property
    def grants_or_refuses(self) -> bool:
        """Every outcome but NEEDS_REVIEW decides; such a decision cites its scope and its condition."""
        return self.outcome is not Outcome.NEEDS_REVIEW


@dataclass(frozen=True)
class ScopeBase:
    """What puts a matter in scope (e.g. LAL Art 31 for wage arrears), for rules with scope_by_matter."""

    id: str
    when: Cond
    articles: tuple[str, ...]


@dataclass(frozen=True)
class Note:
    id: str
    when: Cond
    articles: tuple[str, ...]
    text: str
    urgent: bool
    documents: tuple[str, ...]
    referrals: tuple[str, ...]
    deadlines: tuple[str, ...]


@dataclass(frozen=True)
class RouteStep:
    id: str
    field: str
    when: Cond | None
    reason: str
    articles: tuple[str, ...]


@dataclass(frozen=True)
class RuleSet:
    """A checked, compiled rules file. `digest` is the sha256 of the file's bytes."""

    version: str
    digest: str
    lists: Mapping[str, tuple[str, ...]]
    articles: Mapping[str, str]
    outcomes: Mapping[Outcome, str]
    documents: Mapping[str, str]
    matter_evidence: Mapping[str, tuple[str, ...]]
    review_documents: tuple[str, ...]
    referrals: Mapping[str, str]
    deadlines: Mapping[str, DeadlineSpec]
    objection: str
    city_fallback_reason: str
    rules: tuple[Rule, ...]
    notes: tuple[Note, ...]
    routing: tuple[RouteStep, ...]
    scope_bases: tuple[ScopeBase, ...] = ()


_CJK_GAP = re.compile(r"\s+(?=[^\x00-\x7f])|(?<=[^\x00-\x7f])\s+")


def tidy(text: str) -> str:
    """Drop the spaces YAML folding puts between Chinese lines ("人、 不能" -> "人、不能")."""
    return _CJK_GAP.sub("", text.strip())


def _placeholders(template: str, where: str, allowed: frozenset[str]) -> None:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise RuleError(f"{where}: bad template {template!r}: {exc}") from exc
    parts = [(name, spec, conv) for _, name, spec, conv in parsed if name is not None]
    if any(spec or conv for _, spec, conv in parts):
        raise RuleError(f"{where}: placeholders take no format spec or conversion: {template!r}")
    names = {name for name, _, _ in parts}
    bad = names - allowed
    if bad:
        raise RuleError(f"{where}: unknown placeholder(s) {sorted(bad)}; allowed: {sorted(allowed)}")


def _check_keys(keys: list[str], catalogue: Mapping[str, Any], what: str, where: str) -> None:
    for key in keys:
        if key not in catalogue:
            raise RuleError(f"{where}: unknown {what} {key!r}; define it in `{what}`")


def parse_rules(text: str, source: str = "<rules>") -> RuleSet:
    """Parse and check a rules document; raise RuleError with the rule id on any problem."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleError(f"{source}: not valid YAML: {exc}") from exc
    try:
        spec = RulesFileSpec.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{key_path(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise RuleError(f"{source}: {problems}") from exc

    lists = {name: tuple(values) for name, values in spec.lists.items()}
    vocab = Vocabulary(fields=FIELDS, variables=VARIABLES, lists=lists, config_paths=config_paths())
    paths = vocab.config_paths

    missing_outcomes = set(Outcome) - set(spec.outcomes)
    if missing_outcomes:
        raise RuleError(f"{source}: `outcomes` lacks a headline for {sorted(missing_outcomes)}")
    matter_values = FIELDS["matter_type"][1]
    for matter, docs in spec.matter_evidence.items():
        if matter not in matter_values and matter != "default":
            raise RuleError(f"{source}: matter_evidence key {matter!r} is not a matter_type")
        _check_keys(docs, spec.documents, "documents", f"{source}: matter_evidence.{matter}")
    _check_keys(spec.review_documents, spec.documents, "documents", f"{source}: review_documents")
    for key, dl in spec.deadlines.items():
        where = f"{source}: deadlines.{key}"
        for path in (dl.amount, dl.day_type):
            if path is not None and path not in paths:
                raise RuleError(f"{where}: unknown config path {path!r}")
        _placeholders(dl.text, where, frozenset({"amount", "unit_text"}))
        _check_keys(dl.articles, spec.articles, "articles", where)
    _placeholders(spec.objection, f"{source}: objection", TEMPLATE_NAMES)

    seen: set[str] = set()
    scope_bases: list[ScopeBase] = []
    for base in spec.scope_bases:
        where = f"{source}: scope_bases {base.id}"
        if base.id in seen:
            raise RuleError(f"{where}: duplicate id")
        seen.add(base.id)
        _check_keys(base.articles, spec.articles, "articles", where)
        scope_bases.append(
            ScopeBase(base.id, compile_condition(base.when, vocab, f"{where}.when"), tuple(base.articles))
        )
    rules: list[Rule] = []
    for r in spec.rules:
        where = f"{source}: rule {r.id}"
        if r.id in seen:
            raise RuleError(f"{where}: duplicate id")
        seen.add(r.id)
        _check_keys(r.articles, spec.articles, "articles", where)
        _check_keys(r.scope, spec.articles, "articles", where)
        if r.outcome is not Outcome.NEEDS_REVIEW and not (r.scope or (r.scope_by_matter and scope_bases)):
            raise RuleError(
                f"{where}: a rule that grants or refuses must cite its scope (scope or scope_by_matter)"
            )
        _check_keys(r.documents, spec.documents, "documents", where)
        _check_keys(r.referrals, spec.referrals, "referrals", where)
        _check_keys(r.deadlines, spec.deadlines, "deadlines", where)
        for name in r.asks:
            if name not in FIELDS and name not in VARIABLES:
                raise RuleError(f"{where}: asks for unknown field {name!r}")
        _placeholders(r.explain, where, TEMPLATE_NAMES)
        if r.on_unknown == "review":
            if not r.review_explain:
                raise RuleError(f"{where}: on_unknown: review needs a review_explain text")
            _placeholders(r.review_explain, where, TEMPLATE_NAMES)
        rules.append(
            Rule(
                id=r.id,
                title=r.title,
                outcome=r.outcome,
                when=compile_condition(r.when, vocab, f"{where}.when"),
                on_unknown=r.on_unknown,
                asks=tuple(r.asks),
                articles=tuple(r.articles),
                explain=tidy(r.explain),
                review_explain=tidy(r.review_explain) if r.review_explain else None,
                documents=tuple(r.documents),
                matter_evidence=r.matter_evidence,
                referrals=tuple(r.referrals),
                deadlines=tuple(r.deadlines),
                objection=r.objection,
                scope=tuple(r.scope),
                scope_by_matter=r.scope_by_matter,
            )
        )
    notes: list[Note] = []
    for n in spec.notes:
        where = f"{source}: note {n.id}"
        if n.id in seen:
            raise RuleError(f"{where}: duplicate id")
        seen.add(n.id)
        _check_keys(n.articles, spec.articles, "articles", where)
        _check_keys(n.documents, spec.documents, "documents", where)
        _check_keys(n.referrals, spec.referrals, "referrals", where)
        _check_keys(n.deadlines, spec.deadlines, "deadlines", where)
        _placeholders(n.text, where, TEMPLATE_NAMES)
        notes.append(
            Note(
                id=n.id,
                when=compile_condition(n.when, vocab, f"{where}.when"),
                articles=tuple(n.articles),
                text=tidy(n.text),
                urgent=n.urgent,
                documents=tuple(n.documents),
                referrals=tuple(n.referrals),
                deadlines=tuple(n.deadlines),
            )
        )
    routing: list[RouteStep] = []
    for step in spec.routing:
        where = f"{source}: routing {step.id}"
        if step.field not in FIELDS or FIELDS[step.field][0] != "text":
            raise RuleError(f"{where}: field {step.field!r} is not a place (text) field")
        _check_keys(step.articles, spec.articles, "articles", where)
        routing.append(
            RouteStep(
                id=step.id,
                field=step.field,
                when=None if step.when is None else compile_condition(step.when, vocab, f"{where}.when"),
                reason=tidy(step.reason),
                articles=tuple(step.articles),
            )
        )
    return RuleSet(
        version=spec.version,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        lists=lists,
        articles=dict(spec.articles),
        outcomes={k: tidy(v) for k, v in spec.outcomes.items()},
        documents=dict(spec.documents),
        matter_evidence={k: tuple(v) for k, v in spec.matter_evidence.items()},
        review_documents=tuple(spec.review_documents),
        referrals=dict(spec.referrals),
        deadlines=dict(spec.deadlines),
        objection=tidy(spec.objection),
        city_fallback_reason=tidy(spec.city_fallback_reason),
        rules=tuple(rules),
        notes=tuple(notes),
        routing=tuple(routing),
        scope_bases=tuple(scope_bases),
    )


def load_rules(path: str | Path) -> RuleSet:
    """Load a rules file from disk (e.g. a deployment's replacement via eligibility.rules_path)."""
    p = Path(path)
    return parse_rules(p.read_text(encoding="utf-8"), str(p))


@lru_cache(maxsize=8)
def _cached(path: str | None) -> RuleSet:
    if path:
        return load_rules(path)
    text = resources.files("hotline.eligibility").joinpath("rules.yaml").read_text(encoding="utf-8")
    return parse_rules(text, "hotline/eligibility/rules.yaml")


def packaged_rules() -> RuleSet:
    """The rules.yaml shipped with this package, parsed once per process."""
    return _cached(None)


def cached_rules(path: str | None) -> RuleSet:
    """Rules from `path` (or the packaged file when empty), parsed once per process."""
    return _cached(path or None)
