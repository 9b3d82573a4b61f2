"""Business calendar: Chinese public holidays and make-up workdays from `chinese_calendar`.

`chinese_calendar` only knows the years the State Council has already published (1.11.0 stops at 2026 and
raises NotImplementedError after). Rather than crash on 2 January 2027 we fall back to Monday–Friday plus
the overlay from configuration, warn once per year, and remember the year so reports can say so.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

import chinese_calendar  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

_WARNED_YEARS: set[int] = set()


class BusinessCalendar:
    """Working days and working-hour windows; all datetimes here are naive *local* times."""

    def __init__(
        self,
        windows: Iterable[tuple[dt.time, dt.time]] = (
            (dt.time(8, 30), dt.time(12)),
            (dt.time(14, 30), dt.time(17, 30)),
        ),
        holidays: Iterable[dt.date] = (),
        workdays: Iterable[dt.date] = (),
    ) -> None:
        self.windows = list(windows)
        self.extra_holidays = frozenset(holidays)
        self.extra_workdays = frozenset(workdays)
        self.fallback_years: set[int] = set()
        self._cache: dict[dt.date, bool] = {}

    def is_workday(self, day: dt.date) -> bool:
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        try:
            result = bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            result = self._fallback(day)
        self._cache[day] = result
        return result

    def _fallback(self, day: dt.date) -> bool:
        if day.year not in self.fallback_years:
            self.fallback_years.add(day.year)
            if day.year not in _WARNED_YEARS:
                _WARNED_YEARS.add(day.year)
                log.warning(
                    "chinese_calendar 没有 %s 年的节假日数据，"
                    "按周一至周五并叠加配置 sla.holidays/sla.workdays 计算",
                    day.year,
                )
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        return day.weekday() < 5

    def covers(self, year: int) -> bool:
        """True when the official schedule for `year` is known to the library."""
        try:
            chinese_calendar.is_workday(dt.date(year, 6, 1))
        except NotImplementedError:
            return False
        return True

    def _day_windows(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        if not self.is_workday(day):
            return []
        return [(dt.datetime.combine(day, a), dt.datetime.combine(day, b)) for a, b in self.windows]

    def add_business_seconds(self, start: dt.datetime, seconds: float, max_days: int = 3660) -> dt.datetime:
        """The local time at which `seconds` of working time have elapsed after `start`."""
        remaining = max(0.0, seconds)
        day = start.date()
        for _ in range(max_days):
            for a, b in self._day_windows(day):
                seg_start = max(a, start)
                if seg_start >= b:
                    continue
                available = (b - seg_start).total_seconds()
                if remaining <= available:
                    return seg_start + dt.timedelta(seconds=remaining)
                remaining -= available
            day += dt.timedelta(days=1)
        raise ValueError("业务时间超出可计算范围")

    def business_seconds_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working seconds in [start, end); zero when end <= start."""
        if end <= start:
            return 0.0
        total = 0.0
        day = start.date()
        while day <= end.date():
            for a, b in self._day_windows(day):
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += dt.timedelta(days=1)
        return total
