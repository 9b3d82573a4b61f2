from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db.models import Rating, ReviewItem, Target, Ticket, TicketEvent
from hotline.reports.metrics import compute_metrics, prorated_target
from hotline.reports.periods import last_complete, parse_period
from hotline.settings import Settings
from tests.unit.reports_fixtures import bulk_tickets, seed_year_2019, utc


def test_periods() -> None:
    w = last_complete("weekly", dt.date(2026, 11, 30))
    assert (w.key, w.start, w.end) == ("2026-W48", dt.date(2026, 11, 23), dt.date(2026, 11, 30))
    assert w.start_utc == dt.datetime(2026, 11, 22, 16, 0)
    assert parse_period("monthly", "2026-02").end == dt.date(2026, 3, 1)
    assert parse_period("annual", "2019").previous().key == "2018"
    assert parse_period("weekly", "2026-W01").start == dt.date(2025, 12, 29)


def test_seed_year_reproduces_the_2019_self_assessment(session: Session, settings: Settings) -> None:
    seed_year_2019(session)
    m = compute_metrics(session, settings, parse_period("annual", "2019"))
    assert m.cases == 6761 and m.target == 6290
    assert round(m.target_completion * 100, 1) == 107.5  # type: ignore[operator]
    assert round(m.case_share("civil") * 100, 1) == 67.5  # type: ignore[operator]
    assert round(m.case_share("criminal") * 100, 1) == 32.3  # type: ignore[operator]
    assert round(m.case_share("administrative") * 100, 1) == 0.2  # type: ignore[operator]
    assert m.cases_closed == 6134
    assert round(m.closure_rate * 100, 1) == 90.7  # type: ignore[operator]
    assert round(m.group_share("migrant_worker") * 100, 1) == 30.6  # type: ignore[operator]
    assert m.previous is not None and m.previous.by_case_type["criminal"] == 1631
    assert round((2182 / m.previous.by_case_type["criminal"] - 1) * 100, 1) == 33.8


def test_small_week_hand_computed(session: Session, settings: Settings) -> None:
    week = parse_period("weekly", "2026-W48")  # 23–29 Nov 2026 local
    t0 = utc("2026-11-23 09:00")
    h = dt.timedelta(hours=1)
    bulk_tickets(
        session,
        [
            # 1: civil, migrant, first response 1h (due 4h), resolved after 10h (due 20h), bot-only
            {
                "case_type": "civil",
                "category": "wage_arrears",
                "county_code": "341102",
                "created_at": t0,
                "first_response_at": t0 + h,
                "first_response_due": t0 + 4 * h,
                "resolved_at": t0 + 10 * h,
                "resolution_due": t0 + 20 * h,
                "status": "resolved",
                "migrant_worker": True,
                "facts": {"fallbacks": 2},
            },
            # 2: criminal, response 3h (due 2h: late), still open, handoff
            {
                "case_type": "criminal",
                "category": "criminal_defence",
                "county_code": "341103",
                "created_at": t0,
                "first_response_at": t0 + 3 * h,
                "first_response_due": t0 + 2 * h,
                "status": "assigned",
                "handled_by_bot_only": False,
                "handoff_requested": True,
                "minor": True,
            },
            # 3: consultation, complaint category, resolved after 30h (due 20h: late)
            {
                "case_type": "consultation",
                "category": "complaint",
                "county_code": "341102",
                "created_at": t0,
                "first_response_at": t0 + 2 * h,
                "resolved_at": t0 + 30 * h,
                "resolution_due": t0 + 20 * h,
                "status": "closed",
                "elderly": True,
                "eligibility_outcome": "out_of_scope",
            },
            # 4: last week, resolved this week; 5: cancelled (not backlog); 6: old open (backlog)
            {
                "case_type": "civil",
                "category": "family",
                "county_code": "341102",
                "created_at": t0 - 100 * h,
                "resolved_at": t0 + 5 * h,
                "status": "resolved",
            },
            {
                "case_type": "civil",
                "category": "family",
                "county_code": "341102",
                "created_at": t0 - 100 * h,
                "status": "cancelled",
            },
            {
                "case_type": "civil",
                "category": "family",
                "county_code": "341103",
                "created_at": t0 - 100 * h,
                "status": "assigned",
            },
        ],
    )
    session.add_all(
        [
            Rating(ticket_id=1, round=1, requested_at=t0 + 11 * h, score=5, answered_at=t0 + 12 * h),
            Rating(ticket_id=3, round=1, requested_at=t0 + 31 * h, score=2, answered_at=t0 + 32 * h),
            Rating(ticket_id=4, round=1, requested_at=t0 + 6 * h),
            ReviewItem(ticket_id=3, reason="low_rating", created_at=t0 + 32 * h),
            ReviewItem(ticket_id=3, reason="complaint", created_at=t0 + 33 * h),
            Target(county_code="341102", year=2026, cases=730),  # overrides the configured 720
        ]
    )
    session.flush()
    m = compute_metrics(session, settings, week)
    assert (m.new, m.cases, m.consultations) == (3, 2, 1)
    assert m.closed == 3 and m.cases_closed == 2  # tickets 1, 3, 4
    assert m.backlog == 2  # tickets 2 and 6
    assert m.by_county == {"341102": 2, "341103": 1}
    assert m.groups == {"migrant_worker": 1, "disabled": 0, "minor": 1, "elderly": 1, "women": 0}
    assert m.case_groups["elderly"] == 0
    assert (
        m.first_response.count == 3 and m.first_response.median_hours == 2 and m.first_response.p90_hours == 3
    )
    assert (m.first_response.within_sla, m.first_response.with_due) == (1, 2)
    assert m.resolution.count == 3 and m.resolution.median_hours == 30 and m.resolution.p90_hours == 105
    assert (m.resolution.within_sla, m.resolution.with_due) == (1, 2)
    assert (m.ratings_requested, m.ratings_answered, m.satisfied) == (3, 2, 1)
    assert m.rating_distribution == {5: 1, 2: 1}
    assert m.satisfaction_rate == 0.5 and m.response_rate == 2 / 3
    assert m.complaints == 2  # one complaint-category ticket + one complaint review item
    assert m.review_items == {"low_rating": 1, "complaint": 1}
    assert (m.bot_only, m.handoffs, m.fallback_tickets, m.fallbacks_total) == (2, 1, 1, 2)
    assert m.by_outcome == {"out_of_scope": 1, "未评估": 2}
    # city target 2026: config sum 6410 with 琅琊区 720→730 = 6420, pro-rated 7/365
    assert abs(m.target - 6420 * 7 / 365) < 1e-9  # type: ignore[operator]
    county = compute_metrics(session, settings, week, ["341102"])
    assert county.new == 2 and county.scope_name == "琅琊区" and county.backlog == 0
    assert m.previous is not None and m.previous.new == 3


def test_prorated_target_spans_two_years(session: Session, settings: Settings) -> None:
    week = parse_period("weekly", "2019-W01")  # 31 Dec 2018 – 6 Jan 2019
    target, full = prorated_target(session, settings, week, None)
    assert full == 6290  # the first year that has a target
    assert abs((target or 0) - 6290 * 6 / 365) < 1e-9  # 2018 has no target; 6 days of 2019


def test_calendar_fallback_year_flagged(session: Session, settings: Settings) -> None:
    m = compute_metrics(session, settings, parse_period("monthly", "2027-01"))
    assert m.calendar_fallback_years == [2027] and m.new == 0 and m.closure_rate is None


def test_a_handoff_the_citizen_left_still_counts_as_a_handoff(session: Session, settings: Settings) -> None:
    """返回机器人 clears the ticket's handoff flag (the bot speaks again); the report still counts that the
    citizen asked for a person, once, from the audit trail."""
    week = parse_period("weekly", "2026-W48")
    t0 = utc("2026-11-23 09:00")
    base = {"case_type": "civil", "category": "wage_arrears", "county_code": "341102", "status": "new"}
    bulk_tickets(
        session,
        [
            {**base, "created_at": t0, "handoff_requested": True},
            {**base, "created_at": t0, "handoff_requested": False},  # left below
            {**base, "created_at": t0, "handoff_requested": False},  # never asked
        ],
    )
    left = session.scalars(select(Ticket).order_by(Ticket.id)).all()[1]
    for _ in range(2):  # asked, left, asked, left again: one ticket, one handoff
        session.add(TicketEvent(ticket_id=left.id, kind="handoff_left", actor="citizen", data={}))
    session.flush()
    assert compute_metrics(session, settings, week).handoffs == 2
