"""Office hours: is a person at the desk now, and if not, when will one answer?

The hours are the `sla.work_hours` windows on the business calendar (Chinese public holidays and make-up
working days from `chinese_calendar`, overlaid by `sla.holidays`/`sla.workdays` for years it lacks), the
same calendar that times the SLA, so the time we promise a citizen is the time the clock starts counting.
Pure: `now` is passed in (tests freeze it), times are naive UTC at the edge and local inside.
"""

from __future__ import annotations

import datetime as dt

from hotline.db.models import utcnow
from hotline.sla import texts as T
from hotline.sla.calendar import BusinessCalendar
from hotline.sla.clock import SlaClock
from hotline.sla.config import SlaConfig

MAX_DAYS_AHEAD = 60  # the longest closure (Spring Festival + weekends) is well under this


def next_opening(calendar: BusinessCalendar, local_now: dt.datetime) -> dt.datetime | None:
    """None when `local_now` falls in a working window; else the local start of the next window."""
    day = local_now.date()
    for _ in range(MAX_DAYS_AHEAD):
        if calendar.is_workday(day):
            for start, end in calendar.windows:
                a, b = dt.datetime.combine(day, start), dt.datetime.combine(day, end)
                if a <= local_now < b:
                    return None
                if local_now < a:
                    return a
        day += dt.timedelta(days=1)
    raise ValueError("未来 60 天内没有办公时间，请检查 sla.work_hours 与节假日配置")


def describe(opening: dt.datetime, local_now: dt.datetime) -> str:
    """How a person says it: 今天下午2:30, 明天（12月8日，星期二）上午8:30, 12月8日（星期二）上午8:30."""
    hour = opening.hour
    part = T.MORNING if hour < 12 else T.NOON if hour == 12 else T.AFTERNOON if hour < 18 else T.EVENING
    clock = T.CLOCK.format(part=part, hour=hour if hour <= 12 else hour - 12, minute=opening.minute)
    days = (opening.date() - local_now.date()).days
    if days == 0:
        return T.TODAY + clock
    template = T.TOMORROW if days == 1 else T.DATE
    weekday = T.WEEKDAYS[opening.weekday()]
    return template.format(month=opening.month, day=opening.day, weekday=weekday) + clock


def after_hours_opening(config: SlaConfig, now: dt.datetime | None = None) -> str | None:
    """None in office hours; otherwise when a person will answer, in Chinese. `now` is naive UTC."""
    clock = SlaClock(config)
    local_now = clock.to_local(now or utcnow())
    opening = next_opening(clock.calendar, local_now)
    return None if opening is None else describe(opening, local_now)
