"""Free slots at a centre: its opening windows cut into `slot_minutes`, on the SLA's business calendar.

The calendar is `BusinessCalendar` with the SLA's holiday overlay (`sla.holidays`/`sla.workdays`), so a
public holiday has no slots and a make-up working Saturday has them, exactly as the SLA clock counts.
Pure arithmetic except `free_slots`, which counts the seats already taken in the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.db.models import Appointment, utcnow
from hotline.settings import Settings
from hotline.sla.calendar import BusinessCalendar

KEY_FORMAT = "%Y%m%d%H%M"  # a slot's start in callback data: 202612081430 (local time)


@dataclass(frozen=True)
class Slot:
    county: str
    start: dt.datetime  # local, naive
    end: dt.datetime
    capacity: int
    taken: int = 0

    @property
    def free(self) -> int:
        return max(self.capacity - self.taken, 0)

    @property
    def key(self) -> str:
        return self.start.strftime(KEY_FORMAT)


def to_local(settings: Settings, utc: dt.datetime) -> dt.datetime:
    zone = ZoneInfo(settings.city.timezone)
    return utc.replace(tzinfo=dt.UTC).astimezone(zone).replace(tzinfo=None)


def to_utc(settings: Settings, local: dt.datetime) -> dt.datetime:
    zone = ZoneInfo(settings.city.timezone)
    return local.replace(tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)


def calendar_for(settings: Settings, county: str) -> BusinessCalendar:
    """The SLA's working days (holidays, make-up days, overlay) with this centre's opening windows."""
    windows = settings.appointments.windows(county, settings.sla.work_hours)
    return BusinessCalendar(windows, holidays=settings.sla.holidays, workdays=settings.sla.workdays)


def day_slots(settings: Settings, county: str, day: dt.date) -> list[Slot]:
    """Every slot of one local day (none on a day off); a window's remainder shorter than a slot is unused."""
    calendar = calendar_for(settings, county)
    if not calendar.is_workday(day):
        return []
    length = dt.timedelta(minutes=settings.appointments.slot_minutes)
    capacity = settings.appointments.capacity(county)
    slots = []
    for a, b in calendar.windows:
        start, close = dt.datetime.combine(day, a), dt.datetime.combine(day, b)
        while start + length <= close:
            slots.append(Slot(county, start, start + length, capacity))
            start += length
    return slots


def upcoming_slots(settings: Settings, county: str, local_now: dt.datetime) -> Iterator[Slot]:
    """Slots from `min_notice_minutes` after now up to `days_ahead` days ahead, in time order."""
    cfg = settings.appointments
    earliest = local_now + dt.timedelta(minutes=cfg.min_notice_minutes)
    for offset in range(cfg.days_ahead + 1):
        for slot in day_slots(settings, county, local_now.date() + dt.timedelta(days=offset)):
            if slot.start >= earliest:
                yield slot


def slot_at(
    settings: Settings, county: str, start: dt.datetime, now: dt.datetime | None = None
) -> Slot | None:
    """The bookable slot starting at local `start`, or None (not a slot, a day off, past or too far ahead)."""
    local_now = to_local(settings, now or utcnow())
    cfg = settings.appointments
    if start < local_now + dt.timedelta(minutes=cfg.min_notice_minutes):
        return None
    if (start.date() - local_now.date()).days > cfg.days_ahead:
        return None
    return next((s for s in day_slots(settings, county, start.date()) if s.start == start), None)


def taken_seats(
    session: Session, county: str, start_utc: dt.datetime, end_utc: dt.datetime
) -> dict[dt.datetime, int]:
    """{slot start (UTC): live bookings} in [start_utc, end_utc)."""
    rows = session.execute(
        select(Appointment.starts_at, func.count())
        .where(
            Appointment.county_code == county,
            Appointment.seat.is_not(None),
            Appointment.starts_at >= start_utc,
            Appointment.starts_at < end_utc,
        )
        .group_by(Appointment.starts_at)
    ).all()
    return {start: int(count) for start, count in rows}


def free_slots(
    session: Session,
    settings: Settings,
    county: str,
    now: dt.datetime | None = None,
    limit: int | None = None,
) -> list[Slot]:
    """The next slots with a free seat, at most `limit` (default `offer_slots`)."""
    limit = limit or settings.appointments.offer_slots
    local_now = to_local(settings, now or utcnow())
    horizon = dt.datetime.combine(
        local_now.date() + dt.timedelta(days=settings.appointments.days_ahead + 1), dt.time()
    )
    taken = taken_seats(session, county, to_utc(settings, local_now), to_utc(settings, horizon))
    found: list[Slot] = []
    for slot in upcoming_slots(settings, county, local_now):
        used = taken.get(to_utc(settings, slot.start), 0)
        if used < slot.capacity:
            found.append(Slot(slot.county, slot.start, slot.end, slot.capacity, used))
            if len(found) >= limit:
                break
    return found


def parse_key(key: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(key, KEY_FORMAT)
    except ValueError:
        return None
