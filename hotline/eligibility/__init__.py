"""Legal-aid eligibility: the law as data (rules.yaml) plus one pure function, `decide()`.

Typical use from the bot::

    from hotline.eligibility import assess
    decision = assess(tracker_slots, settings)          # rules cached, config from settings.eligibility
    ticket_values = decision.to_ticket_fields()         # outcome, reasons, articles, version, facts

For tests, audits and replays use `decide(facts, rules, config, on, centres)` and
`replay(stored_facts, rules, config)` directly.
"""

from hotline.eligibility.conditions import RuleError
from hotline.eligibility.config import DibaoRow, EligibilityConfig
from hotline.eligibility.decision import CentreRoute, Deadline, Decision, Outcome, Reason
from hotline.eligibility.engine import assess, decide, replay, rules_version
from hotline.eligibility.facts import Facts, facts_from_slots
from hotline.eligibility.routing import CentreDirectory
from hotline.eligibility.rules import RuleSet, cached_rules, load_rules, packaged_rules, parse_rules

__all__ = [
    "CentreDirectory",
    "CentreRoute",
    "Deadline",
    "Decision",
    "DibaoRow",
    "EligibilityConfig",
    "Facts",
    "Outcome",
    "Reason",
    "RuleError",
    "RuleSet",
    "assess",
    "cached_rules",
    "decide",
    "facts_from_slots",
    "load_rules",
    "packaged_rules",
    "parse_rules",
    "replay",
    "rules_version",
]
