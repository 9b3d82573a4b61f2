"""The citizen's choice from the clarification buttons, kept for the NLU inbox (hotline.learning).

When a message falls back, ActionFallback offers the two likeliest categories as buttons (`/wage_arrears`).
A tap arrives as that payload and starts the intake; the message the citizen had written before the buttons
is then a labelled example of the chosen category. Recording never breaks the dialog, and no text is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker

from hotline.db.session import session_scope
from hotline.learning.inbox import CITIZEN_CHOICE, record_example
from hotline.runtime import ready_database

log = logging.getLogger(__name__)
FALLBACK_ACTION = "action_fallback"


def clarified_message(tracker: Tracker) -> tuple[str, str | None] | None:
    """(text, what the NLU made of it) of the message the latest button tap clarified, else None.

    The latest user turn must be a payload (`/category`) that came right after the fallback's buttons,
    which answered the user turn before it: a typed message, not another payload.
    """
    latest: dict[str, Any] | None = None
    after_fallback = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            text = str(event.get("text") or "")
            if latest is None:
                if not text.startswith("/"):
                    return None
                latest = event
                continue
            if not after_fallback or not text or text.startswith("/"):
                return None
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            return text, str(intent) if intent else None
        if latest is not None and kind == "action" and event.get("name") == FALLBACK_ACTION:
            after_fallback = True
    return None


def record_citizen_choice(tracker: Tracker, category: str) -> None:
    """Keep the clarified message labelled with the category the citizen picked (pending review)."""
    found = clarified_message(tracker)
    if found is None:
        return
    text, previous = found
    try:
        with session_scope(ready_database()) as session:
            record_example(
                session,
                text,
                category,
                CITIZEN_CHOICE,
                actor="citizen",
                previous_intent=previous,
                conversation_id=tracker.sender_id,
            )
    except Exception:  # the inbox is a by-product: the intake goes on without it
        log.exception("could not keep the citizen's category choice for the NLU inbox")
