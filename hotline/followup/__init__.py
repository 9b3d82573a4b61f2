"""Follow-up visits (回访): rating requests, one reminder, low-rating and complaint review items."""

from hotline.followup.service import (
    FollowupError,
    OutboundMessage,
    RatingOutcome,
    ReviewLine,
    close_review,
    close_review_by_id,
    due_reminders,
    open_complaint,
    open_reviews,
    record_rating,
    request_due_ratings,
    request_rating,
    review_lines,
)

__all__ = [
    "FollowupError",
    "OutboundMessage",
    "RatingOutcome",
    "ReviewLine",
    "close_review",
    "close_review_by_id",
    "due_reminders",
    "open_complaint",
    "open_reviews",
    "record_rating",
    "request_due_ratings",
    "request_rating",
    "review_lines",
]
