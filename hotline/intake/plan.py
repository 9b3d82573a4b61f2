"""The intake's question plan: which questions a matter needs, in order, given the answers so far.

A question is left out when its answer cannot change the eligibility decision, so the plan is recomputed
every turn (the form's `required_slots`). Means-test questions (income, residence) are asked only while the
provisional decision still needs them: the caller passes how to get that decision, so the plan itself is a
pure function of the answers (the dialog adapter is actions/answers.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hotline import categories
from hotline.eligibility import Decision

# The answer “不清楚” as a slot value; facts_from_slots reads anything it cannot use as unknown.
UNKNOWN = "unknown"

# Categories whose matter is not implied by the category: ask which kind of matter it is.
ASK_MATTER = frozenset({"minors", "elderly", "disability_rights", "marriage_family", "personal_injury"})

# Legal Aid Law Art 32: matters with no means test at all. Named in the story or chosen from the buttons, the
# matter is kept in the plan (so the decision sees it) and the group-status and income questions are skipped.
ART32_MATTERS = frozenset(
    {
        "domestic_violence",
        "abuse_abandonment",
        "good_samaritan",
        "martyr_rights",
        "state_comp_after_retrial_acquittal",
    }
)
# Categories whose matter is asked with the Art 32 situations as the choices (utter_ask_matter_type_other).
ASK_ART32_MATTER = frozenset({"other_legal"})

# Disabilities that give criminal legal aid whatever the charge (LAL Art 25(1)2): no need to ask about it.
_CHARGE_IRRELEVANT_DISABILITIES = frozenset({"visual", "hearing", "speech"})
# Group matters where the special-group status does not matter (abuse of the person itself).
_STATUS_IRRELEVANT_MATTERS = ART32_MATTERS

# The eligibility decision on the answers so far (hotline.eligibility.assess with the deployment's settings).
Provisional = Callable[[Mapping[str, Any]], Decision]


def plan_for(slots: Mapping[str, Any], provisional: Provisional) -> list[str]:
    """The questions for this category, in order, ending with the confirmation ("confirmed").

    `provisional(slots)` is called only once every earlier question is answered, to see whether the
    means test (income, residence) and the deadline still matter.
    """
    category = str(slots.get("category") or "other_legal")
    family = categories.family(category)
    plan: list[str] = ["county"]

    def yes(name: str) -> bool:
        return slots.get(name) is True

    # LAL Art 38: a case already handled by a court, procuratorate or police goes to the centre where that
    # organ sits, which may not be the citizen's county: ask for criminal matters and stories naming a court.
    if family == "criminal" or yes("litigation"):
        plan.append("case_county")

    if family == "criminal":
        plan += ["has_lawyer", "age"]
        age = slots.get("age")
        minor = isinstance(age, int | float) and age < 18
        if not yes("has_lawyer") and not minor:
            plan.append("disabled")
            if yes("disabled"):
                plan.append("disability_type")
            if slots.get("disability_type") not in _CHARGE_IRRELEVANT_DISABILITIES:
                plan.append("serious_charge")
        plan.append("in_custody")
    elif family == "dv":
        plan.append("dv_in_progress")
    else:
        if family == "labour":
            plan.append("migrant_worker")
            if yes("migrant_worker"):
                plan.append("has_group_proof")
        if family == "group":
            if category != "disability_rights":
                plan.append("age")
            else:
                plan.append("disabled")
                if yes("disabled"):
                    plan.append("disability_type")
        named = slots.get("category") in ASK_ART32_MATTER or slots.get("matter_type") in ART32_MATTERS
        if category in ASK_MATTER or named:
            plan.append("matter_type")
        if family == "group" and slots.get("matter_type") not in _STATUS_IRRELEVANT_MATTERS:
            plan.append("group_status")
            status = slots.get("group_status")
            if status is not None and status not in {"none", UNKNOWN}:
                plan.append("has_group_proof")
        if all(slots.get(name) is not None for name in plan):
            decision = provisional(slots)
            missing = set(decision.missing_fields)
            if "household_income_per_capita_month" in missing or slots.get("income_per_capita") is not None:
                plan.append("income_per_capita")
            if "residence" in missing or slots.get("residence") is not None:
                plan.append("residence")
            if decision.outcome.value != "NOT_IN_SCOPE":
                plan.append("days_to_deadline")
    plan.append("confirmed")
    if slots.get("pending_topic"):
        plan.insert(0, "topic_choice")  # a new problem was written: first ask whether to switch to it
    return plan
