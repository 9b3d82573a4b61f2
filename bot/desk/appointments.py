"""The desk's appointment commands: /appointments [县区] [日期] and /noshow 编号.

Thin: the listing, the county access check and the audited no-show are hotline.appointments.operators,
shared with the CLI; here a refusal becomes a DeskRefusal, which the desk shows to the operator.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from bot import strings
from bot.desk.service import DeskRefusal
from hotline.appointments import operators
from hotline.appointments.service import AppointmentError
from hotline.appointments.slots import to_local
from hotline.db.models import Operator, utcnow
from hotline.settings import Settings
from hotline.tickets.access import Viewer


def day(session: Session, settings: Settings, operator: Operator, args: list[str]) -> str:
    today = to_local(settings, utcnow()).date()
    try:
        county, on = operators.parse_args(settings, args, today)
        return operators.day_text(session, settings, Viewer.of(operator), county, on)
    except ValueError as exc:
        raise DeskRefusal(f"{exc}\n{strings.DESK_APPOINTMENTS_USAGE}") from exc
    except AppointmentError as exc:
        raise DeskRefusal(str(exc)) from exc


def no_show(
    session: Session, settings: Settings, operator: Operator, args: list[str], now: dt.datetime | None = None
) -> str:
    number = args[0].lstrip("#") if args else ""
    if not number.isdigit():
        raise DeskRefusal(strings.DESK_NOSHOW_USAGE)
    try:
        return operators.no_show(
            session, settings, Viewer.of(operator), int(number), actor=f"operator:{operator.id}", now=now
        )
    except AppointmentError as exc:
        raise DeskRefusal(str(exc)) from exc
