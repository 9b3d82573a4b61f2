"""What operators do with appointments, on the desk and in the CLI alike: the day's list per centre and
marking a no-show, each limited to the counties the operator may see (hotline.tickets.access)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session

from hotline.appointments import texts as T
from hotline.appointments.service import AppointmentError, day_list, mark
from hotline.appointments.slots import to_local
from hotline.db.models import Appointment, AppointmentStatus, Ticket
from hotline.settings import Settings
from hotline.tickets.access import Viewer, visible_counties


def parse_args(settings: Settings, args: Sequence[str], today: dt.date) -> tuple[str | None, dt.date]:
    """`[县区] [日期]` in either order: (county code or None, local day; default today)."""
    county: str | None = None
    day = today
    for arg in args:
        if arg in T.TODAY_WORDS:
            day = today + dt.timedelta(days=T.TODAY_WORDS[arg])
            continue
        parsed = _date(arg, today)
        if parsed is not None:
            day = parsed
            continue
        found = settings.county_by_name(arg)
        if found is None:
            raise ValueError(T.UNKNOWN_COUNTY.format(text=arg))
        county = found.code
    return county, day


def _date(text: str, today: dt.date) -> dt.date | None:
    for fmt, full in (("%Y-%m-%d", True), ("%m-%d", False), ("%m月%d日", False)):
        try:
            parsed = dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        return parsed if full else parsed.replace(year=today.year)
    return None


def _scope(settings: Settings, viewer: Viewer | None, county: str | None) -> list[str] | None:
    visible = visible_counties(viewer)
    if county is None:
        return visible
    if visible is not None and county not in visible:
        raise AppointmentError("not_visible", county=settings.county_names.get(county, county))
    return [county]


def day_text(
    session: Session, settings: Settings, viewer: Viewer | None, county: str | None, day: dt.date
) -> str:
    """The day's appointments grouped by centre, in time order, with their numbers for /noshow."""
    rows = day_list(session, settings, day, _scope(settings, viewer, county))
    if not rows:
        return T.DAY_NONE.format(day=day.isoformat())
    lines = [T.DAY_HEADER.format(day=day.isoformat(), count=len(rows))]
    current = None
    for appt in rows:
        if appt.county_code != current:
            current = appt.county_code
            lines.append(T.DAY_CENTRE.format(county=settings.county_names.get(current, current)))
        ticket = session.get_one(Ticket, appt.ticket_id)
        lines.append(
            T.DAY_LINE.format(
                id=appt.id,
                time=f"{to_local(settings, appt.starts_at):%H:%M}",
                number=ticket.number,
                status=T.STATUS_LABELS[str(appt.status)],
            )
        )
    lines.append(T.DAY_HINT)
    return "\n".join(lines)


def no_show(
    session: Session,
    settings: Settings,
    viewer: Viewer | None,
    appointment_id: int,
    *,
    actor: str,
    now: dt.datetime | None = None,
) -> str:
    """Mark appointment #id a no-show (audited on its ticket); refused outside the operator's counties."""
    appt = session.get(Appointment, appointment_id)
    if appt is None:
        raise AppointmentError("not_found")
    _scope(settings, viewer, appt.county_code)
    mark(session, settings, appt, AppointmentStatus.NO_SHOW, actor=actor, now=now)
    ticket = session.get_one(Ticket, appt.ticket_id)
    when = to_local(settings, appt.starts_at)
    return T.NO_SHOW_DONE.format(id=appt.id, time=f"{when:%m-%d %H:%M}", number=ticket.number)
