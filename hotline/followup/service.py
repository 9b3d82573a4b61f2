"""Follow-up visits (回访): ask for a rating after resolution, remind once, escalate low ratings.

Pure service functions over the database: they write Rating / ReviewItem / TicketEvent rows and *return* the
messages to send. Sending is the caller's job (the chat gateway asks the citizen, the scheduler posts alerts
through a Notifier), so the same logic serves the bot, the scheduler and the tests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from hotline.db.models import Rating, ReviewItem, Ticket, TicketStatus, utcnow
from hotline.followup import texts as T
from hotline.privacy import mask_pii
from hotline.tickets.service import record_event

Audience = Literal["citizen", "supervisors"]


class FollowupError(Exception):
    """A rating the lifecycle cannot accept; Chinese message."""


@dataclass(frozen=True)
class OutboundMessage:
    kind: str  # rating_request | rating_reminder | low_rating | complaint
    audience: Audience
    text: str
    ticket_number: str
    conversation_id: str | None = None  # for audience == "citizen"
    review_id: int | None = None

    def __post_init__(self) -> None:
        # Supervisors' alerts quote the citizen's comment or complaint: phone and ID numbers masked.
        if self.audience == "supervisors":
            object.__setattr__(self, "text", mask_pii(self.text))


@dataclass
class RatingOutcome:
    rating: Rating
    review: ReviewItem | None = None
    reply: str = T.THANKS
    alerts: list[OutboundMessage] = field(default_factory=list)


def _open_round(session: Session, ticket_id: int) -> Rating | None:
    return session.scalar(
        select(Rating)
        .where(Rating.ticket_id == ticket_id, Rating.score.is_(None))
        .order_by(Rating.round.desc())
        .limit(1)
    )


def request_rating(
    session: Session, ticket: Ticket, *, now: dt.datetime | None = None
) -> OutboundMessage | None:
    """Open the next rating round for a resolved ticket; None if one is already waiting for an answer."""
    at = now or utcnow()
    if _open_round(session, ticket.id) is not None:
        return None
    last = session.scalar(select(func.max(Rating.round)).where(Rating.ticket_id == ticket.id)) or 0
    rating = Rating(
        ticket_id=ticket.id, round=last + 1, requested_at=at, operator_id=ticket.assigned_operator_id
    )
    session.add(rating)
    record_event(
        session, ticket, "rating_requested", actor="system:followup", data={"round": last + 1}, now=at
    )
    return OutboundMessage(
        "rating_request",
        "citizen",
        T.RATING_REQUEST.format(number=ticket.number),
        ticket.number,
        ticket.conversation_id,
    )


def request_due_ratings(
    session: Session, *, now: dt.datetime | None = None, limit: int = 500
) -> list[OutboundMessage]:
    """Ratings for tickets resolved since their last request (bot tickets only: imports have no chat)."""
    at = now or utcnow()
    asked_since_resolution = exists().where(
        Rating.ticket_id == Ticket.id, Rating.requested_at >= Ticket.resolved_at
    )
    tickets = session.scalars(
        select(Ticket)
        .where(
            Ticket.status.in_((TicketStatus.RESOLVED, TicketStatus.CLOSED)),
            Ticket.resolved_at.is_not(None),
            Ticket.resolved_at <= at,
            Ticket.conversation_id.is_not(None),
            ~asked_since_resolution,
        )
        .order_by(Ticket.resolved_at)
        .limit(limit)
    ).all()
    messages = [m for t in tickets if (m := request_rating(session, t, now=at)) is not None]
    session.flush()
    return messages


def due_reminders(
    session: Session, *, delay: dt.timedelta, now: dt.datetime | None = None
) -> list[OutboundMessage]:
    """Remind once for every rating unanswered after `delay`."""
    at = now or utcnow()
    rows = session.execute(
        select(Rating, Ticket)
        .join(Ticket, Ticket.id == Rating.ticket_id)
        .where(Rating.score.is_(None), Rating.reminded_at.is_(None), Rating.requested_at <= at - delay)
    ).all()
    messages = []
    for rating, ticket in rows:
        rating.reminded_at = at
        record_event(
            session, ticket, "rating_reminded", actor="system:followup", data={"round": rating.round}, now=at
        )
        messages.append(
            OutboundMessage(
                "rating_reminder",
                "citizen",
                T.RATING_REMINDER.format(number=ticket.number),
                ticket.number,
                ticket.conversation_id,
            )
        )
    session.flush()
    return messages


def _county(ticket: Ticket, county_names: dict[str, str] | None) -> str:
    return (county_names or {}).get(ticket.county_code or "", ticket.county_code or "未定县区")


def record_rating(
    session: Session,
    ticket: Ticket,
    score: int,
    comment: str | None = None,
    *,
    low_max: int = 2,
    county_names: dict[str, str] | None = None,
    now: dt.datetime | None = None,
) -> RatingOutcome:
    """Store the citizen's answer on the open round; a score ≤ low_max opens a review item and an alert."""
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise FollowupError(T.ERR_SCORE)
    at = now or utcnow()
    rating = _open_round(session, ticket.id)
    if rating is None:
        raise FollowupError(T.ERR_NO_REQUEST.format(number=ticket.number))
    rating.score, rating.comment, rating.answered_at = score, comment, at
    record_event(
        session, ticket, "rating", actor="citizen", data={"round": rating.round, "score": score}, now=at
    )
    outcome = RatingOutcome(rating)
    if score <= low_max:
        review = ReviewItem(ticket_id=ticket.id, reason="low_rating", detail=comment or "", created_at=at)
        session.add(review)
        session.flush()
        outcome.review, outcome.reply = review, T.THANKS_LOW
        outcome.alerts.append(
            OutboundMessage(
                "low_rating",
                "supervisors",
                T.LOW_RATING_ALERT.format(
                    number=ticket.number,
                    county=_county(ticket, county_names),
                    score=score,
                    review_id=review.id,
                    comment=T.COMMENT.format(comment=comment) if comment else "",
                ),
                ticket.number,
                review_id=review.id,
            )
        )
    session.flush()
    return outcome


def open_complaint(
    session: Session,
    ticket: Ticket,
    detail: str,
    *,
    county_names: dict[str, str] | None = None,
    now: dt.datetime | None = None,
) -> tuple[ReviewItem, OutboundMessage]:
    """A complaint about the service is always reviewed by a supervisor."""
    at = now or utcnow()
    review = ReviewItem(ticket_id=ticket.id, reason="complaint", detail=detail, created_at=at)
    session.add(review)
    session.flush()
    record_event(session, ticket, "complaint", actor="citizen", data={"review_id": review.id}, now=at)
    alert = OutboundMessage(
        "complaint",
        "supervisors",
        T.COMPLAINT_ALERT.format(
            number=ticket.number, county=_county(ticket, county_names), review_id=review.id, detail=detail
        ),
        ticket.number,
        review_id=review.id,
    )
    return review, alert


def close_review(
    session: Session,
    review: ReviewItem,
    *,
    actor: str,
    note: str = "",
    outcome: str = "",
    now: dt.datetime | None = None,
) -> None:
    """Mark a review item done and audit it on its ticket (the callback's outcome goes into the event)."""
    at = now or utcnow()
    review.status, review.closed_at = "done", at
    ticket = session.get(Ticket, review.ticket_id)
    if ticket is not None:
        data: dict[str, object] = {"review_id": review.id, "note": note}
        if outcome:
            data["outcome"] = outcome
        record_event(session, ticket, "review_done", actor=actor, data=data, now=at)


def open_reviews(session: Session, counties: list[str] | None = None) -> list[ReviewItem]:
    query = select(ReviewItem).where(ReviewItem.status == "open").order_by(ReviewItem.created_at)
    if counties:
        query = query.join(Ticket, Ticket.id == ReviewItem.ticket_id).where(Ticket.county_code.in_(counties))
    return list(session.scalars(query))


@dataclass(frozen=True)
class ReviewLine:
    """One open review item as a supervisor reads it (desk `/reviews`, CLI `reviews list`)."""

    review_id: int
    reason: str
    ticket_number: str
    county_code: str | None
    created_at: dt.datetime  # naive UTC
    detail: str  # phone and ID numbers masked


def review_lines(
    session: Session, counties: list[str] | None = None, *, limit: int = 50
) -> tuple[list[ReviewLine], int]:
    """The oldest open review items visible for `counties` (None: whole city), and how many are open."""
    query = (
        select(ReviewItem, Ticket)
        .join(Ticket, Ticket.id == ReviewItem.ticket_id)
        .where(ReviewItem.status == "open")
    )
    if counties is not None:
        query = query.where(Ticket.county_code.in_(counties))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(ReviewItem.created_at, ReviewItem.id).limit(limit)).all()
    lines = [
        ReviewLine(r.id, r.reason, t.number, t.county_code, r.created_at, mask_pii(r.detail or ""))
        for r, t in rows
    ]
    return lines, total


def close_review_by_id(
    session: Session,
    review_id: int,
    outcome: str,
    *,
    actor: str,
    counties: list[str] | None = None,
    now: dt.datetime | None = None,
) -> ReviewItem:
    """Close review item #review_id with the callback's outcome (回访结果), audited on its ticket.

    `counties` is what the closing supervisor may see (None: whole city); an item outside it is reported
    as not found, so a county supervisor learns nothing about other counties' items.
    """
    text = mask_pii(" ".join(outcome.split()))
    if not text:
        raise FollowupError(T.ERR_NO_OUTCOME)
    if len(text) > T.OUTCOME_MAX_CHARS:
        raise FollowupError(T.ERR_OUTCOME_TOO_LONG.format(max_chars=T.OUTCOME_MAX_CHARS))
    review = session.get(ReviewItem, review_id)
    ticket = session.get(Ticket, review.ticket_id) if review is not None else None
    if review is None or ticket is None or (counties is not None and ticket.county_code not in counties):
        raise FollowupError(T.ERR_NO_REVIEW.format(review_id=review_id))
    if review.status != "open":
        raise FollowupError(T.ERR_REVIEW_DONE.format(review_id=review_id))
    close_review(session, review, actor=actor, outcome=text, now=now)
    session.flush()
    return review


def _alert_text(
    session: Session, review: ReviewItem, ticket: Ticket, county_names: dict[str, str] | None
) -> str:
    county = _county(ticket, county_names)
    if review.reason == "complaint":
        return T.COMPLAINT_ALERT.format(
            number=ticket.number, county=county, review_id=review.id, detail=review.detail
        )
    score = session.scalar(
        select(Rating.score)
        .where(Rating.ticket_id == ticket.id, Rating.score.is_not(None))
        .order_by(Rating.answered_at.desc())
        .limit(1)
    )
    return T.LOW_RATING_ALERT.format(
        number=ticket.number,
        county=county,
        score=score if score is not None else "?",
        review_id=review.id,
        comment=T.COMMENT.format(comment=review.detail) if review.detail else "",
    )


def pending_review_alerts(
    session: Session,
    *,
    county_names: dict[str, str] | None = None,
    now: dt.datetime | None = None,
    limit: int = 200,
) -> list[OutboundMessage]:
    """Alerts for review items nobody was told about yet (e.g. opened by the action server); marks them.

    The caller commits after handing the messages to the notifier, so a failed delivery rolls back and
    the items are alerted on the next tick: every dissatisfied rating reaches a supervisor (回访 100%).
    """
    at = now or utcnow()
    rows = session.execute(
        select(ReviewItem, Ticket)
        .join(Ticket, Ticket.id == ReviewItem.ticket_id)
        .where(ReviewItem.alerted_at.is_(None))
        .order_by(ReviewItem.id)
        .limit(limit)
    ).all()
    messages = []
    for review, ticket in rows:
        review.alerted_at = at
        kind = "complaint" if review.reason == "complaint" else "low_rating"
        messages.append(
            OutboundMessage(
                kind,
                "supervisors",
                _alert_text(session, review, ticket, county_names),
                ticket.number,
                review_id=review.id,
            )
        )
    session.flush()
    return messages
