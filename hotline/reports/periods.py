"""Report periods (ISO week, month, year) in the city's local time, with their UTC bounds for queries."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

Kind = Literal["weekly", "monthly", "annual"]
KINDS: tuple[Kind, ...] = ("weekly", "monthly", "annual")


class PeriodError(ValueError):
    """A period string that cannot be parsed; the message is Chinese."""


@dataclass(frozen=True)
class Period:
    kind: Kind
    start: dt.date  # inclusive, local
    end: dt.date  # exclusive, local
    timezone: str = "Asia/Shanghai"

    @property
    def key(self) -> str:
        if self.kind == "weekly":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "monthly":
            return f"{self.start.year}-{self.start.month:02d}"
        return str(self.start.year)

    @property
    def label(self) -> str:
        if self.kind == "weekly":
            last = self.end - dt.timedelta(days=1)
            return f"{self.key}（{self.start:%m月%d日}—{last:%m月%d日}）"
        if self.kind == "monthly":
            return f"{self.start.year}年{self.start.month}月"
        return f"{self.start.year}年度"

    def _utc(self, day: dt.date) -> dt.datetime:
        local = dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(self.timezone))
        return local.astimezone(dt.UTC).replace(tzinfo=None)

    @property
    def start_utc(self) -> dt.datetime:
        return self._utc(self.start)

    @property
    def end_utc(self) -> dt.datetime:
        return self._utc(self.end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> Period:
        if self.kind == "weekly":
            return Period("weekly", self.start - dt.timedelta(days=7), self.start, self.timezone)
        if self.kind == "monthly":
            prev_start = (self.start - dt.timedelta(days=1)).replace(day=1)
            return Period("monthly", prev_start, self.start, self.timezone)
        return Period("annual", self.start.replace(year=self.start.year - 1), self.start, self.timezone)


def period_containing(kind: Kind, day: dt.date, timezone: str = "Asia/Shanghai") -> Period:
    if kind == "weekly":
        start = day - dt.timedelta(days=day.weekday())
        return Period(kind, start, start + dt.timedelta(days=7), timezone)
    if kind == "monthly":
        start = day.replace(day=1)
        nxt = (start + dt.timedelta(days=32)).replace(day=1)
        return Period(kind, start, nxt, timezone)
    return Period(kind, dt.date(day.year, 1, 1), dt.date(day.year + 1, 1, 1), timezone)


def last_complete(kind: Kind, today: dt.date, timezone: str = "Asia/Shanghai") -> Period:
    """The period a scheduled run on `today` reports on (e.g. Monday → the previous ISO week)."""
    return period_containing(kind, today, timezone).previous()


def parse_period(kind: Kind, text: str, timezone: str = "Asia/Shanghai") -> Period:
    text = text.strip()
    try:
        if kind == "weekly":
            m = re.fullmatch(r"(\d{4})-?W(\d{1,2})", text, re.IGNORECASE)
            if m:
                start = dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
                return Period(kind, start, start + dt.timedelta(days=7), timezone)
            return period_containing(kind, dt.date.fromisoformat(text), timezone)
        if kind == "monthly":
            m = re.fullmatch(r"(\d{4})-(\d{1,2})", text)
            if m:
                return period_containing(kind, dt.date(int(m.group(1)), int(m.group(2)), 1), timezone)
        if kind == "annual" and re.fullmatch(r"\d{4}", text):
            return period_containing(kind, dt.date(int(text), 1, 1), timezone)
    except ValueError as exc:
        raise PeriodError(f"无法识别的{KIND_LABELS[kind]}周期: {text}") from exc
    raise PeriodError(
        f"无法识别的{KIND_LABELS[kind]}周期: {text}（示例：周报 2026-W48，月报 2026-11，年度 2026）"
    )


KIND_LABELS: dict[Kind, str] = {"weekly": "周报", "monthly": "月报", "annual": "年度报告"}
