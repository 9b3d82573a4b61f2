"""The `appointments:` section of config/hotline.yaml: each centre's office hours and seats per slot.

Centres are keyed by the county codes of `counties:` (the codes the eligibility routing and tickets use).
A centre without its own entry takes `default`; hours default to the SLA's `work_hours` when neither sets
them, so a deployment that configured nothing still offers slots in the hours the desk is staffed.
Holidays and make-up working days are not configured here: they come from the SLA's business calendar.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field, field_validator

from hotline.config_model import Strict
from hotline.sla.config import _hhmm

# Outcomes after which a visit to the centre makes sense (an application, a review of missing facts, a
# consultation after a refusal); NOT_IN_SCOPE cases are referred elsewhere, so no slots are offered.
DEFAULT_OFFER_OUTCOMES = [
    "MANDATORY_APPOINTMENT",
    "ELIGIBLE_NO_HARDSHIP",
    "HARDSHIP_DEEMED",
    "MEANS_TEST_PASSED",
    "MEANS_TEST_FAILED",
    "NEEDS_REVIEW",
]


def _ordered_windows(windows: list[tuple[str, str]] | None) -> list[tuple[str, str]] | None:
    if windows is None:
        return None
    if not windows:
        raise ValueError("hours 至少需要一个时间段")
    previous = dt.time(0, 0)
    for start, end in windows:
        a, b = _hhmm(start), _hhmm(end)
        if not previous <= a < b:
            raise ValueError(f"hours 时间段必须递增且不重叠: {start}-{end}")
        previous = b
    return windows


class CentreSlots(Strict):
    """One centre's reception: opening windows (local HH:MM) and how many citizens one slot takes."""

    hours: list[tuple[str, str]] | None = None  # None: the default's, else sla.work_hours
    capacity: int | None = Field(default=None, ge=1)  # citizens per slot; None: the default's

    @field_validator("hours")
    @classmethod
    def _check_hours(cls, hours: list[tuple[str, str]] | None) -> list[tuple[str, str]] | None:
        return _ordered_windows(hours)


class AppointmentsConfig(Strict):
    """`settings.appointments`; see config/hotline.yaml for the meaning of each key."""

    enabled: bool = True
    slot_minutes: int = Field(default=30, ge=5, le=240)
    days_ahead: int = Field(default=10, ge=1, le=60)  # how far ahead free slots are looked for
    offer_slots: int = Field(default=6, ge=1, le=12)  # buttons in one offer
    min_notice_minutes: int = Field(default=60, ge=0)  # earliest slot after now
    reminder_hour: int = Field(default=16, ge=0, le=23)  # local hour from which tomorrow's are reminded
    reminder_poll_minutes: int = Field(default=15, ge=1)
    offer_outcomes: list[str] = Field(default_factory=lambda: list(DEFAULT_OFFER_OUTCOMES))
    default: CentreSlots = CentreSlots(capacity=2)
    centres: dict[str, CentreSlots] = Field(default_factory=dict)  # county code -> overrides

    @field_validator("centres")
    @classmethod
    def _county_codes(cls, centres: dict[str, CentreSlots]) -> dict[str, CentreSlots]:
        for code in centres:
            if not (len(code) == 6 and code.isdigit()):
                raise ValueError(f"centres 的键必须是6位县区代码: {code}")
        return centres

    def capacity(self, county: str) -> int:
        own = self.centres.get(county)
        return (own.capacity if own and own.capacity else None) or self.default.capacity or 1

    def windows(self, county: str, fallback: list[tuple[str, str]]) -> list[tuple[dt.time, dt.time]]:
        own = self.centres.get(county)
        hours = (own.hours if own else None) or self.default.hours or fallback
        return [(_hhmm(a), _hhmm(b)) for a, b in hours]
