"""The `sla:` section of config/hotline.yaml, validated into a typed model with working defaults.

Targets are business time, not wall-clock time: a ticket opened on the eve of the National Day golden
week must not be "overdue" on 3 October. Resolution targets are given in business days and converted to
business seconds (days × length of a working day) so the same pause-aware machinery serves both clocks.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field, field_validator, model_validator

from hotline.config_model import Strict


class SlaTarget(Strict):
    first_response_hours: float = Field(default=4.0, gt=0)
    resolution_days: float = Field(default=5.0, gt=0)


def _hhmm(value: str) -> dt.time:
    try:
        hours, minutes = value.split(":")
        return dt.time(int(hours), int(minutes))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"时间格式应为 HH:MM: {value!r}") from exc


class SlaConfig(Strict):
    """`settings.sla`: working hours, targets per category/priority, holidays for years the library lacks."""

    timezone: str = "Asia/Shanghai"  # Settings fills in city.timezone when the section does not set it
    # Legal aid centre opening hours (see config counties[].centre.hours).
    work_hours: list[tuple[str, str]] = [("08:30", "12:00"), ("14:30", "17:30")]
    # targets[category][priority]; category "default" and priority "normal" are the fallbacks.
    targets: dict[str, dict[str, SlaTarget]] = {
        "default": {
            "normal": SlaTarget(first_response_hours=4, resolution_days=5),
            "urgent": SlaTarget(first_response_hours=1, resolution_days=2),
        }
    }
    # An urgent ticket nobody claimed within this many minutes of office time is posted again on the desk
    # and the supervisors are alerted, once per unclaimed spell (hotline/sla/unclaimed.py).
    urgent_claim_minutes: float = Field(default=30, gt=0)
    # A citizen in a handoff who has had no operator's answer for this many minutes is told once what
    # happens next and when a person will answer, from the office hours (hotline/tickets/handoffs.py).
    handoff_wait_minutes: float = Field(default=60, gt=0)
    # Overlay, used only for years chinese_calendar has no data for (it raises for 2027+ in 1.11.0).
    holidays: list[dt.date] = []
    workdays: list[dt.date] = []

    @field_validator("work_hours")
    @classmethod
    def _windows_ordered(cls, windows: list[tuple[str, str]]) -> list[tuple[str, str]]:
        if not windows:
            raise ValueError("work_hours 至少需要一个时间段")
        previous = dt.time(0, 0)
        for start, end in windows:
            a, b = _hhmm(start), _hhmm(end)
            if not previous <= a < b:
                raise ValueError(f"work_hours 时间段必须递增且不重叠: {start}-{end}")
            previous = b
        return windows

    @model_validator(mode="after")
    def _has_default(self) -> SlaConfig:
        if "normal" not in self.targets.get("default", {}):
            raise ValueError("targets.default.normal 必须配置")
        return self

    @property
    def windows(self) -> list[tuple[dt.time, dt.time]]:
        return [(_hhmm(a), _hhmm(b)) for a, b in self.work_hours]

    @property
    def workday_seconds(self) -> float:
        day = dt.date(2000, 1, 1)
        return sum(
            (dt.datetime.combine(day, b) - dt.datetime.combine(day, a)).total_seconds()
            for a, b in self.windows
        )

    def target_for(self, category: str, priority: str) -> SlaTarget:
        by_priority = self.targets.get(category) or self.targets["default"]
        return (
            by_priority.get(priority)
            or self.targets["default"].get(priority)
            or by_priority.get("normal")
            or self.targets["default"]["normal"]
        )
