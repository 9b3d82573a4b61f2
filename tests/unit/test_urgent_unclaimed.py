"""An urgent ticket nobody claimed within `sla.urgent_claim_minutes` of office time (issue 12): escalated
once per unclaimed spell and audited (hotline.sla.unclaimed), the supervisors alerted by the scheduler's
job, and the card posted again on the desk (real PTB handlers, fake Bot API)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import strings
from hotline.db.models import DeskCard, Operator, Ticket, TicketEvent
from hotline.db.session import session_scope
from hotline.reports.delivery import RecordingNotifier
from hotline.scheduler import jobs
from hotline.scheduler.runtime import Runtime, install
from hotline.scheduler.service import job_specs
from hotline.settings import Settings
from hotline.sla.clock import SlaClock
from hotline.sla.unclaimed import ESCALATED, escalate_unclaimed_urgent
from hotline.tickets import lifecycle
from tests.unit.test_desk import GROUP_ID, OPS, Desk, buttons, card_id, make_ticket, operators

__all__ = ["operators"]

MONDAY_0900 = dt.datetime(2026, 11, 30, 1, 0)  # UTC; 09:00 in Chuzhou, a working Monday


def local(hours: float, start: dt.datetime = MONDAY_0900) -> dt.datetime:
    return start + dt.timedelta(hours=hours)


def created_at(db: str, ticket_id: int, at: dt.datetime) -> None:
    with session_scope(db) as s:
        s.get_one(Ticket, ticket_id).created_at = at


def escalate(settings: Settings, now: dt.datetime) -> list[str]:
    with session_scope(settings.database_url) as s:
        found = escalate_unclaimed_urgent(s, SlaClock(settings.sla), settings.sla.urgent_claim_minutes, now)
        return [e.number for e in found]


def escalations(db: str, ticket_id: int) -> list[tuple[str, dict[str, object]]]:
    with session_scope(db) as s:
        rows = s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == ESCALATED)
        )
        return [(e.actor, e.data) for e in rows]


def test_escalated_once_per_unclaimed_spell_in_office_time(
    settings: Settings, operators: dict[str, int]
) -> None:
    db = settings.database_url
    assert settings.sla.urgent_claim_minutes == 30  # the default
    urgent_id, urgent_no = make_ticket(settings, key="u", priority="urgent")
    normal_id, _ = make_ticket(settings, key="n")
    created_at(db, urgent_id, MONDAY_0900)
    created_at(db, normal_id, MONDAY_0900)
    assert escalate(settings, local(0.4)) == []  # 24 minutes
    assert escalate(settings, local(0.6)) == [urgent_no]  # 36 minutes: escalated; a normal ticket never
    assert escalate(settings, local(2)) == []  # once in this spell
    assert escalations(db, urgent_id) == [
        ("system:scheduler", {"minutes": 30, "since": "2026-11-30T01:00:00"})
    ]
    # claimed, then given back: a new spell, escalated again after 30 more minutes of office time
    with session_scope(db) as s:
        t, op = s.get_one(Ticket, urgent_id), s.get_one(Operator, operators["dingyuan"])
        lifecycle.reassign(s, t, op, op, settings.county_names, now=local(2.1))
        lifecycle.unclaim(s, t, op, settings.county_names, now=local(2.2))
    assert escalate(settings, local(2.5)) == []
    assert escalate(settings, local(2.8)) == [urgent_no]
    assert len(escalations(db, urgent_id)) == 2


def test_a_ticket_opened_after_hours_waits_for_office_time(settings: Settings) -> None:
    db = settings.database_url
    ticket_id, number = make_ticket(settings, key="night", priority="urgent")
    friday_1720 = dt.datetime(2026, 12, 4, 9, 20)  # UTC; 17:20 local, 10 minutes before closing
    created_at(db, ticket_id, friday_1720)
    assert escalate(settings, dt.datetime(2026, 12, 5, 2)) == []  # Saturday: nobody is at the desk
    assert escalate(settings, dt.datetime(2026, 12, 7, 0, 45)) == []  # Monday 08:45: 25 office minutes
    assert escalate(settings, dt.datetime(2026, 12, 7, 0, 55)) == [number]  # Monday 08:55: 35


async def test_job_alerts_supervisors_and_the_desk_posts_the_card_again(
    settings: Settings, operators: dict[str, int], tmp_path: Path
) -> None:
    db = settings.database_url
    ticket_id, number = make_ticket(settings, key="u", priority="urgent")
    async with Desk(settings, first_id=100) as desk:
        assert await desk.sync() == 1
    first_card = card_id(db, ticket_id)
    created_at(db, ticket_id, MONDAY_0900)  # a week before the test's real time: long overdue
    notifier = RecordingNotifier()
    install(Runtime(settings, notifier, tmp_path))
    assert "urgent_unclaimed" in [spec.id for spec in job_specs(Runtime(settings, notifier, tmp_path))]
    assert jobs.urgent_unclaimed() == 1
    assert jobs.urgent_unclaimed() == 0  # once
    ((chat, alert),) = notifier.texts
    assert chat == "supervisors" and number in alert and "定远县" in alert and "30分钟" in alert
    async with Desk(settings, first_id=3000) as desk:
        assert await desk.sync() == 1
        assert await desk.sync() == 0  # posted again once
        (repost,) = desk.api.to(GROUP_ID)
        assert repost["text"].startswith(strings.DESK_REPOSTED.format(minutes="30"))
        assert number in repost["text"] and ("认领", f"desk:claim:{ticket_id}") in buttons(repost)
        (old,) = desk.api.to(GROUP_ID, "editMessageText")
        assert int(old["message_id"]) == first_card
        assert old["text"] == strings.DESK_CARD_REPOSTED.format(number=number) and buttons(old) == []
        new_card = card_id(db, ticket_id)
        assert new_card != first_card
        await desk.press(OPS["dingyuan"], f"desk:claim:{ticket_id}", new_card)
        assert desk.api.alerts()[-1]["text"] == strings.DESK_CLAIMED.format(number=number)
    with session_scope(db) as s:
        assert s.get_one(DeskCard, ticket_id).message_id == new_card
    assert jobs.urgent_unclaimed() == 0  # claimed now


@pytest.mark.parametrize("minutes", [0, -5])
def test_urgent_claim_minutes_must_be_positive(settings: Settings, minutes: int) -> None:
    from pydantic import ValidationError

    from hotline.sla.config import SlaConfig

    with pytest.raises(ValidationError):
        SlaConfig(urgent_claim_minutes=minutes)
