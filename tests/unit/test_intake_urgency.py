"""When the intake offers a person at once (hotline.intake.urgency)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hotline.eligibility import Decision, EligibilityConfig, Facts, decide, packaged_rules
from hotline.intake.urgency import DEADLINE_SOON_DAYS, is_urgent

DAY = dt.date(2026, 11, 29)


def decision(**facts: Any) -> Decision:
    return decide(Facts(**facts), packaged_rules(), EligibilityConfig(), DAY)


def test_an_ordinary_civil_matter_is_not_urgent() -> None:
    assert not is_urgent(decision(proceeding="civil", matter_type="wage_arrears"))


@pytest.mark.parametrize(
    "facts",
    [
        {"proceeding": "civil", "matter_type": "domestic_violence", "dv_in_progress": True},
        {"proceeding": "criminal_defence", "in_custody": True},
        {"proceeding": "civil", "matter_type": "wage_arrears", "days_to_deadline": DEADLINE_SOON_DAYS - 1},
        {"proceeding": "civil", "matter_type": "wage_arrears", "days_to_deadline": -1},
    ],
)
def test_violence_detention_or_a_near_deadline_is_urgent(facts: dict[str, Any]) -> None:
    assert is_urgent(decision(**facts))


def test_a_week_even_when_the_rules_count_fewer_days() -> None:
    shorter = EligibilityConfig.model_validate({"urgent_days": 3})
    five_days = decide(Facts(proceeding="civil", days_to_deadline=5), packaged_rules(), shorter, DAY)
    assert not five_days.urgent and is_urgent(five_days)


def test_a_deadline_a_week_away_can_wait() -> None:
    later = decision(proceeding="civil", matter_type="wage_arrears", days_to_deadline=DEADLINE_SOON_DAYS)
    assert not later.urgent and not is_urgent(later)


def test_the_rules_urgency_counts() -> None:
    preservation = decision(proceeding="civil", matter_type="wage_arrears", urgent_preservation=True)
    assert preservation.urgent and is_urgent(preservation)
