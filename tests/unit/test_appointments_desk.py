"""Operators and appointments: /appointments and /noshow on the desk (real PTB handlers, fake Bot API) and
`python -m hotline appointments list|noshow`, each limited to the operator's counties and audited."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from hotline.appointments.service import book
from hotline.appointments.slots import day_slots, to_local, to_utc
from hotline.cli import main
from hotline.db.models import Appointment, AppointmentStatus, Ticket, TicketEvent, utcnow
from hotline.db.session import session_scope
from hotline.settings import Settings
from tests.unit.test_desk import DINGYUAN, GROUP_ID, LANGYA, OPS, Desk, make_ticket, operators

pytestmark = pytest.mark.usefixtures("operators")
__all__ = ["operators"]


def past_workday(settings: Settings) -> dt.date:
    """A working day before today (so a no-show can be marked) on the business calendar."""
    day = to_local(settings, utcnow()).date() - dt.timedelta(days=2)
    while not day_slots(settings, LANGYA, day):
        day -= dt.timedelta(days=1)
    return day


def booked(settings: Settings, day: dt.date) -> dict[str, int]:
    """One appointment at 09:00 in 琅琊 and one in 定远 on `day`, booked three days before."""
    ids = {}
    for county, key in ((LANGYA, "a"), (DINGYUAN, "b")):
        ticket_id, _ = make_ticket(settings, key=key, county=county, conversation=f"telegram-70{key}")
        with session_scope(settings.database_url) as s:
            ticket = s.get_one(Ticket, ticket_id)
            before = to_utc(settings, dt.datetime.combine(day - dt.timedelta(days=3), dt.time(9)))
            appt, _ = book(
                s, settings, ticket, county, dt.datetime.combine(day, dt.time(9)), actor="bot", now=before
            )
            ids[county] = appt.id
    return ids


async def say(desk: Desk, who: str, text: str) -> str:
    await desk.group_text(OPS[who], text)
    return str(desk.api.to(GROUP_ID)[-1]["text"])


async def test_day_list_per_centre_and_no_show_only_in_own_county(settings: Settings) -> None:
    day = past_workday(settings)
    ids = booked(settings, day)
    async with Desk(settings, first_id=5000) as desk:
        own = await say(desk, "langya", f"/appointments {day.isoformat()}")
        assert "【琅琊区】" in own and f"#{ids[LANGYA]} 09:00" in own and "定远" not in own
        refused = await say(desk, "langya", f"/appointments 定远 {day.isoformat()}")
        assert refused == "该预约属于定远县，您无权处理。"
        city = await say(desk, "supervisor", f"/appointments {day.isoformat()}")
        assert "【琅琊区】" in city and "【定远县】" in city
        assert (await say(desk, "langya", f"/noshow {ids[DINGYUAN]}")) == "该预约属于定远县，您无权处理。"
        done = await say(desk, "langya", f"/noshow {ids[LANGYA]}")
        assert done.startswith(f"已登记 #{ids[LANGYA]}") and "未到场" in done
        assert "未到场" in await say(desk, "langya", f"/appointments 琅琊 {day.isoformat()}")
    with session_scope(settings.database_url) as s:
        appt = s.get_one(Appointment, ids[LANGYA])
        assert appt.status is AppointmentStatus.NO_SHOW
        event = s.scalars(select(TicketEvent).where(TicketEvent.kind == "appointment_no_show")).one()
        assert event.actor.startswith("operator:") and event.data["appointment"] == appt.id


def test_cli_list_and_noshow(
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    operators: dict[str, int],
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    day = past_workday(settings)
    ids = booked(settings, day)
    assert (
        main(["appointments", "list", "--date", day.isoformat(), "--operator", str(operators["langya"])]) == 0
    )
    out = capsys.readouterr().out
    assert f"#{ids[LANGYA]} 09:00" in out and "定远" not in out
    assert main(["appointments", "noshow", str(ids[DINGYUAN]), "--operator", str(operators["langya"])]) == 1
    assert "无权" in capsys.readouterr().err
    assert main(["appointments", "noshow", str(ids[DINGYUAN]), "--operator", str(operators["dingyuan"])]) == 0
    assert "未到场" in capsys.readouterr().out
