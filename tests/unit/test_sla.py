from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy.orm import Session

from hotline.db.models import Ticket, TicketStatus
from hotline.sla.calendar import BusinessCalendar
from hotline.sla.clock import SlaClock, overdue_tickets, recompute_due_times
from hotline.sla.config import SlaConfig
from hotline.tickets.service import NewTicket, change_status, create_ticket
from tests.unit.reports_fixtures import utc

L = dt.datetime.fromisoformat


def test_golden_week_2026_skips_holidays_and_counts_makeup_saturday() -> None:
    cal = BusinessCalendar()
    assert not cal.is_workday(dt.date(2026, 10, 1))
    assert not cal.is_workday(dt.date(2026, 10, 7))
    assert cal.is_workday(dt.date(2026, 10, 10))  # Saturday make-up workday
    # 30 Sep 17:00 + 2 business hours: 0.5 h left that day, then 8 Oct 08:30 + 1.5 h.
    assert cal.add_business_seconds(L("2026-09-30 17:00"), 2 * 3600) == L("2026-10-08 10:00")


def test_business_seconds_between_matches_addition() -> None:
    cal = BusinessCalendar()
    start = L("2026-09-29 11:00")
    end = cal.add_business_seconds(start, 20 * 3600)
    assert cal.business_seconds_between(start, end) == pytest.approx(20 * 3600)


def test_2027_falls_back_to_weekdays_with_overlay_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    cal = BusinessCalendar(holidays=[dt.date(2027, 1, 1)], workdays=[dt.date(2027, 1, 9)])
    with caplog.at_level(logging.WARNING):
        assert not cal.is_workday(dt.date(2027, 1, 1))  # overlay holiday (Friday)
        assert cal.is_workday(dt.date(2027, 1, 4))  # Monday
        assert not cal.is_workday(dt.date(2027, 1, 2))  # Saturday
        assert cal.is_workday(dt.date(2027, 1, 9))  # overlay make-up Saturday
    assert cal.fallback_years == {2027}
    assert not cal.covers(2027) and cal.covers(2026)
    warnings = [r for r in caplog.records if "2027" in r.getMessage()]
    assert len(warnings) <= 1
    assert cal.add_business_seconds(L("2026-12-31 17:00"), 3600) == L("2027-01-04 09:00")


def test_config_targets_by_category_and_priority() -> None:
    cfg = SlaConfig.model_validate(
        {
            "targets": {
                "default": {"normal": {"first_response_hours": 4, "resolution_days": 5}},
                "wage_arrears": {"urgent": {"first_response_hours": 1, "resolution_days": 1}},
            }
        }
    )
    assert cfg.target_for("wage_arrears", "urgent").first_response_hours == 1
    assert cfg.target_for("wage_arrears", "normal").resolution_days == 5
    assert cfg.target_for("other", "urgent").resolution_days == 5
    assert cfg.workday_seconds == 6.5 * 3600
    with pytest.raises(ValueError):
        SlaConfig.model_validate({"work_hours": [["12:00", "08:00"]]})


def _ticket(session: Session, created_local: str, clock: SlaClock, **kw: object) -> Ticket:
    ticket, _ = create_ticket(
        session,
        NewTicket(category="wage_arrears", county_code="341102", **kw),  # type: ignore[arg-type]
        prefix="滁",
        now=utc(created_local),
        sla=clock,
    )
    session.flush()
    return ticket


def test_due_times_on_create_and_pause_while_waiting_citizen(session: Session) -> None:
    clock = SlaClock()
    t = _ticket(session, "2026-09-29 09:00", clock)
    # first response 4 business hours: 09:00-12:00 (3h) + 14:30-15:30
    assert t.first_response_due == utc("2026-09-29 15:30")
    # resolution 5 business days × 6.5 h from Tue 29 Sep 09:00:
    # 29, 30 Sep, 8, 9, 10 (Sat make-up) Oct → 12 Oct 09:00
    assert t.resolution_due == utc("2026-10-12 09:00")
    change_status(
        session, t, TicketStatus.ASSIGNED, actor="operator:1", now=utc("2026-09-29 10:00"), sla=clock
    )
    assert t.first_response_at == utc("2026-09-29 10:00")
    change_status(
        session, t, TicketStatus.WAITING_CITIZEN, actor="operator:1", now=utc("2026-09-30 09:00"), sla=clock
    )
    # citizen answers after one full business day (6.5 h of paused business time)
    change_status(session, t, TicketStatus.ASSIGNED, actor="bot", now=utc("2026-10-08 09:00"), sla=clock)
    assert t.resolution_due == utc("2026-10-13 09:00")


def test_overdue_query_and_recompute(session: Session) -> None:
    clock = SlaClock()
    late = _ticket(session, "2026-09-29 09:00", clock)
    fresh = _ticket(session, "2026-10-12 09:00", clock)
    waiting = _ticket(session, "2026-09-29 09:00", clock)
    change_status(
        session, waiting, TicketStatus.WAITING_CITIZEN, actor="operator:1", now=utc("2026-09-29 09:30")
    )
    session.flush()
    now = utc("2026-10-12 10:00")
    ids = {t.id for t in overdue_tickets(session, now)}
    assert late.id in ids and fresh.id not in ids and waiting.id not in ids
    assert {t.id for t in overdue_tickets(session, now, counties=["341103"])} == set()
    late.resolution_due = None
    assert recompute_due_times(session, clock, now) == 3
    assert late.resolution_due == utc("2026-10-12 09:00")
