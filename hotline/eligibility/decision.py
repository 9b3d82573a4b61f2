"""The result of an eligibility check: an outcome plus everything the citizen needs to act on it."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

from hotline.eligibility.facts import Facts


class Outcome(enum.StrEnum):
    """What the rules say. Values are stored in Ticket.eligibility_outcome; keep them stable."""

    MANDATORY_APPOINTMENT = "MANDATORY_APPOINTMENT"  # criminal, the state must appoint; no means test
    ELIGIBLE_NO_HARDSHIP = "ELIGIBLE_NO_HARDSHIP"  # LAL Art 32: no economic condition at all
    HARDSHIP_DEEMED = "HARDSHIP_DEEMED"  # LAL Art 42: condition treated as met on proof of group status
    MEANS_TEST_PASSED = "MEANS_TEST_PASSED"
    MEANS_TEST_FAILED = "MEANS_TEST_FAILED"
    NOT_IN_SCOPE = "NOT_IN_SCOPE"  # consultation and referral only
    NEEDS_REVIEW = "NEEDS_REVIEW"  # missing or contradictory facts: a human decides


# Short labels for operators and reports (one place for every surface that lists outcomes).
OUTCOME_LABELS: dict[str, str] = {
    Outcome.MANDATORY_APPOINTMENT: "应当指派律师（无需经济困难审查）",
    Outcome.ELIGIBLE_NO_HARDSHIP: "免于经济困难审查",
    Outcome.HARDSHIP_DEEMED: "视为经济困难（需提供证明）",
    Outcome.MEANS_TEST_PASSED: "经济困难审查通过",
    Outcome.MEANS_TEST_FAILED: "经济困难审查未通过",
    Outcome.NOT_IN_SCOPE: "不属于法律援助范围（已引导）",
    Outcome.NEEDS_REVIEW: "需人工审查",
}


@dataclass(frozen=True)
class Reason:
    """One rule that fired: the outcome rule first, then notes. `text` is plain Chinese for citizens."""

    rule: str
    kind: str  # "outcome" | "review" | "note"
    text: str
    articles: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "kind": self.kind, "text": self.text, "articles": list(self.articles)}


@dataclass(frozen=True)
class Deadline:
    """A statutory time limit that applies to this inquiry (durations; the start date is the LAO's)."""

    key: str
    amount: int
    unit: str  # "days" | "working_days" | "hours"
    text: str
    articles: tuple[str, ...] = ()


@dataclass(frozen=True)
class CentreRoute:
    """Which legal aid centre to go to and why (LAL Art 38/39)."""

    name: str
    address: str
    phone: str
    hours: str
    county: str | None  # None = the city centre
    reason: str
    articles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    """Pure data; `explanation` is the ready-to-send Chinese answer."""

    outcome: Outcome
    rule_id: str
    reasons: tuple[Reason, ...]
    articles: tuple[str, ...]  # stable codes, e.g. "LAL-42"; see rules.yaml `articles`
    citations: tuple[str, ...]  # the same, in Chinese: 《法律援助法》第四十二条
    missing: tuple[str, ...]  # Chinese descriptions of what is still needed (for NEEDS_REVIEW)
    missing_fields: tuple[str, ...]  # the same as Facts field / var names, for the dialog
    documents: tuple[str, ...]
    referrals: tuple[str, ...]
    centre: CentreRoute | None
    deadlines: tuple[Deadline, ...]
    urgent: bool
    urgent_reasons: tuple[str, ...]
    objection: str | None  # LAL Art 49, when a refusal is possible
    explanation: str
    facts: Facts
    decided_on: dt.date
    rules_version: str
    threshold: float | None = None  # the hardship line that applied, yuan per person per month
    extra: dict[str, Any] = field(default_factory=dict)
    # A decision that grants or refuses cites both what puts the matter in scope (e.g. LAL-31) and the
    # condition it applied (e.g. LAL-34, AH2016-17); both are also in `articles`. Empty for NEEDS_REVIEW.
    scope_articles: tuple[str, ...] = ()
    condition_articles: tuple[str, ...] = ()

    @property
    def eligible(self) -> bool:
        """True when legal aid is available (or must be appointed) on the facts given."""
        return self.outcome in {
            Outcome.MANDATORY_APPOINTMENT,
            Outcome.ELIGIBLE_NO_HARDSHIP,
            Outcome.HARDSHIP_DEEMED,
            Outcome.MEANS_TEST_PASSED,
        }

    def to_ticket_fields(self) -> dict[str, Any]:
        """Values for the Ticket eligibility columns; `facts` carries `as_of` so replay() reuses the date."""
        facts = self.facts.to_json()
        facts["as_of"] = self.decided_on.isoformat()
        return {
            "eligibility_outcome": self.outcome.value,
            "eligibility_reasons": [r.to_json() for r in self.reasons]
            + ([{"rule": "MISSING", "kind": "missing", "text": m, "articles": []} for m in self.missing]),
            "eligibility_articles": list(self.articles),
            "eligibility_rules_version": self.rules_version,
            "facts": facts,
        }

    def ticket_flags(self, minor_age: int = 18, elderly_age: int = 60) -> dict[str, Any]:
        """Ticket priority and special-group columns (民生工程 statistics) derived from the facts."""
        f = self.facts
        return {
            "priority": "urgent" if self.urgent else "normal",
            "migrant_worker": bool(f.is_migrant_worker),
            "disabled": bool(f.disabled) or bool(f.disability_types),
            "minor": f.age is not None and f.age < minor_age,
            "elderly": f.age is not None and f.age >= elderly_age,
        }
