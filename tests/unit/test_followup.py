from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db.models import Rating, ReviewItem, Ticket, TicketStatus
from hotline.followup import (
    FollowupError,
    close_review,
    due_reminders,
    open_complaint,
    open_reviews,
    record_rating,
    request_due_ratings,
)
from hotline.tickets.service import NewTicket, change_status, create_ticket
from tests.unit.reports_fixtures import utc


def _resolved(session: Session, conv: str = "tg:1") -> Ticket:
    t, _ = create_ticket(
        session,
        NewTicket(category="wage_arrears", conversation_id=conv, intake_key="k", county_code="341102"),
        prefix="滁",
        now=utc("2026-11-23 09:00"),
    )
    change_status(session, t, TicketStatus.RESOLVED, actor="operator:1", now=utc("2026-11-23 10:00"))
    session.flush()
    return t


def test_request_remind_once_and_low_rating_review(session: Session) -> None:
    t = _resolved(session)
    msgs = request_due_ratings(session, now=utc("2026-11-23 11:00"))
    assert [m.kind for m in msgs] == ["rating_request"] and msgs[0].conversation_id == "tg:1"
    assert request_due_ratings(session, now=utc("2026-11-23 12:00")) == []  # asked once per resolution
    delay = dt.timedelta(hours=24)
    assert due_reminders(session, delay=delay, now=utc("2026-11-24 10:00")) == []  # not yet due
    assert len(due_reminders(session, delay=delay, now=utc("2026-11-24 11:00"))) == 1
    assert due_reminders(session, delay=delay, now=utc("2026-11-26 11:00")) == []  # only once
    out = record_rating(
        session, t, 2, "没人回电话", county_names={"341102": "琅琊区"}, now=utc("2026-11-25 09:00")
    )
    assert out.review is not None and out.review.reason == "low_rating"
    assert len(out.alerts) == 1 and out.alerts[0].audience == "supervisors"
    assert (
        "琅琊区" in out.alerts[0].text and "2 分" in out.alerts[0].text and "没人回电话" in out.alerts[0].text
    )
    with pytest.raises(FollowupError):
        record_rating(session, t, 5)  # no open round any more
    assert [r.id for r in open_reviews(session, ["341102"])] == [out.review.id]
    close_review(session, out.review, actor="operator:2")
    assert open_reviews(session) == []


def test_good_rating_no_review_and_reopen_asks_round_two(session: Session) -> None:
    t = _resolved(session)
    request_due_ratings(session, now=utc("2026-11-23 11:00"))
    out = record_rating(session, t, 5, now=utc("2026-11-23 12:00"))
    assert out.review is None and out.alerts == []
    change_status(session, t, TicketStatus.REOPENED, actor="citizen", now=utc("2026-11-24 09:00"))
    change_status(session, t, TicketStatus.RESOLVED, actor="operator:1", now=utc("2026-11-24 10:00"))
    session.flush()
    assert len(request_due_ratings(session, now=utc("2026-11-24 11:00"))) == 1
    rounds = session.scalars(select(Rating.round).order_by(Rating.round)).all()
    assert list(rounds) == [1, 2]
    with pytest.raises(FollowupError):
        record_rating(session, t, 7)


def test_complaint_opens_review(session: Session) -> None:
    t = _resolved(session)
    review, alert = open_complaint(session, t, "态度不好")
    assert review.reason == "complaint" and "态度不好" in alert.text
    assert session.scalar(select(ReviewItem.status)) == "open"
