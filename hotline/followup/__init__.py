"""Follow-up visits (回访): rating requests, one reminder, low-rating and complaint review items."""

from hotline.followup.service import (
    FollowupError,
    OutboundMessage,
    RatingOutcome,
    close_review,
    due_reminders,
    open_complaint,
    open_reviews,
    record_rating,
    request_due_ratings,
    request_rating,
)

__all__ = [
    "FollowupError",
    "OutboundMessage",
    "RatingOutcome",
    "close_review",
    "due_reminders",
    "open_complaint",
    "open_reviews",
    "record_rating",
    "request_due_ratings",
    "request_rating",
]
