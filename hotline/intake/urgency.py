"""When the intake offers a person at once instead of letting the citizen wait for a callback."""

from __future__ import annotations

from hotline.eligibility import Decision

# A time limit this close (in days) cannot wait for the normal callback (LAL Art 44; the same 7 days as the
# eligibility default `urgent_days`, which makes rule N_URGENT_DEADLINE urgent).
DEADLINE_SOON_DAYS = 7


def is_urgent(decision: Decision) -> bool:
    """Offer a human at once: DV in progress, someone detained, a deadline within 7 days, or rules say so."""
    f = decision.facts
    soon = f.days_to_deadline is not None and f.days_to_deadline < DEADLINE_SOON_DAYS
    return bool(decision.urgent or f.dv_in_progress or f.in_custody or soon)
