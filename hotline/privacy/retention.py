"""Retention (PIPL Art 19): personal data is kept no longer than its purpose needs.

Past the configured ages (`privacy:` in config/hotline.yaml) a daily job:
- replaces the text of logged messages with `ERASED_MARKER` and drops their payload (buttons, captions),
  keeping direction, state and dates (the queue's history and counts stay);
- drops attachment references (Telegram file id, file name, source message), keeping only the kind, and
  the file name in the ticket's `attachment` audit events;
- masks phone, ID and card numbers in descriptions, rating comments and review details of finished
  tickets, and forgets citizens' display names once they have no message left in the window;
- deletes learned NLU examples (citizens' masked words, hotline.learning) that were never approved for
  training by the message age: a pending or rejected example serves no purpose any more. Approved ones
  are training data the bureau chose to keep; erasure still finds them by ticket and conversation;
- deletes the engine's conversations (rows of the SQL tracker store's `events` table) idle for longer
  than the tracker age. A conversation is deleted whole: cutting off only its old events would leave a
  tracker whose later events refer to slots and forms it no longer has.

Tickets keep every column reports count (category, county, case type, status, dates, flags, ratings'
scores), so a report computed before and after a pass is identical. Messages still in the queue (not
yet answered or delivered) and messages of open tickets are left alone.

Functions take a Session and the current time and never commit: the caller (scheduler job, CLI) does,
so a dry run is simply not applying the plan.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Text,
    and_,
    bindparam,
    cast,
    create_engine,
    delete,
    func,
    inspect,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from hotline.db.models import (
    OPEN_TICKET_STATUSES,
    Citizen,
    MessageLog,
    MessageState,
    NluExample,
    Rating,
    ReviewItem,
    Ticket,
    TicketEvent,
    utcnow,
)
from hotline.learning.inbox import PENDING, REJECTED
from hotline.privacy.masking import mask_pii
from hotline.settings import PROJECT_ROOT, PrivacySettings

log = logging.getLogger(__name__)

# What replaces erased free text everywhere (message logs, descriptions, notes). A label, not a sentence.
ERASED_MARKER = "[已删除]"
# Messages still moving through the queue: erasing them would send the marker to the engine or citizen.
IN_FLIGHT = (MessageState.RECEIVED, MessageState.RETRY, MessageState.QUEUED)
# The Rasa SQL tracker store's table (rasa/core/tracker_store.py, SQLTrackerStore.SQLEvent).
TRACKER_TABLE = "events"
DEFAULT_TRACKER_DB = PROJECT_ROOT / "var" / "rasa_tracker.db"
BATCH = 500


@dataclass
class RetentionResult:
    """How many rows a pass changed (or would change, in a dry run)."""

    messages: int = 0
    attachments: int = 0
    tickets_masked: int = 0
    display_names: int = 0
    learned_examples: int = 0
    tracker_conversations: int | None = None  # None: no tracker store found
    tracker_events: int = 0


def cutoff(now: dt.datetime, days: int) -> dt.datetime:
    return now - dt.timedelta(days=days)


# --- the engine's tracker store ---------------------------------------------------------------------
def tracker_db_url(policy: PrivacySettings, environ: Mapping[str, str] | None = None) -> str | None:
    """The engine's SQL tracker store: the configured URL; else the PostgreSQL database of
    config/endpoints.distributed.yml when its TRACKER_DB_* variables are set here too; else the SQLite
    file of $RASA_TRACKER_DB (the default endpoints.yml) or var/rasa_tracker.db if it exists; None when
    there is none (an in-memory tracker store keeps nothing at rest)."""
    if policy.tracker_db_url:
        return policy.tracker_db_url
    env = os.environ if environ is None else environ
    if env.get("TRACKER_DB_HOST") and env.get("TRACKER_DB_NAME"):
        return URL.create(
            "postgresql",
            username=env.get("TRACKER_DB_USER") or None,
            password=env.get("TRACKER_DB_PASSWORD") or None,
            host=env["TRACKER_DB_HOST"],
            port=int(env["TRACKER_DB_PORT"]) if env.get("TRACKER_DB_PORT", "").isdigit() else None,
            database=env["TRACKER_DB_NAME"],
        ).render_as_string(hide_password=False)
    path = Path(env.get("RASA_TRACKER_DB") or DEFAULT_TRACKER_DB)
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    return f"sqlite:///{path}" if path.is_file() else None


def tracker_engine(policy: PrivacySettings, environ: Mapping[str, str] | None = None) -> Engine | None:
    """An engine on the tracker store if it exists and has the events table; None otherwise."""
    url = tracker_db_url(policy, environ)
    if url is None:
        return None
    from hotline.db.session import normalise_url

    engine = create_engine(normalise_url(url), pool_pre_ping=True)
    try:
        if inspect(engine).has_table(TRACKER_TABLE):
            return engine
    except Exception:  # unreachable store: retention of the rest still runs; logged for operators
        log.exception("tracker store unreachable; tracker retention skipped")
    engine.dispose()
    return None


def expire_trackers(engine: Engine, before: dt.datetime, *, dry_run: bool) -> tuple[int, int]:
    """Delete whole conversations whose newest event is older than `before` (naive UTC).
    Returns (conversations, events)."""
    stamp = before.replace(tzinfo=dt.UTC).timestamp()
    idle = text(f"SELECT sender_id FROM {TRACKER_TABLE} GROUP BY sender_id HAVING MAX(timestamp) < :stamp")
    with engine.begin() as conn:
        senders = [row[0] for row in conn.execute(idle, {"stamp": stamp})]
        events = 0
        for start in range(0, len(senders), BATCH):
            chunk = senders[start : start + BATCH]
            params = {"senders": chunk}
            count = text(f"SELECT COUNT(*) FROM {TRACKER_TABLE} WHERE sender_id IN :senders").bindparams(
                bindparam("senders", expanding=True)
            )
            events += int(conn.execute(count, params).scalar_one())
            if not dry_run:
                delete = text(f"DELETE FROM {TRACKER_TABLE} WHERE sender_id IN :senders").bindparams(
                    bindparam("senders", expanding=True)
                )
                conn.execute(delete, params)
    return len(senders), events


def delete_conversation(engine: Engine, sender_id: str, *, dry_run: bool) -> int:
    """Delete one conversation's tracker events (erasure on request); returns how many there were."""
    with engine.begin() as conn:
        params = {"sender": sender_id}
        n = int(
            conn.execute(
                text(f"SELECT COUNT(*) FROM {TRACKER_TABLE} WHERE sender_id = :sender"), params
            ).scalar_one()
        )
        if n and not dry_run:
            conn.execute(text(f"DELETE FROM {TRACKER_TABLE} WHERE sender_id = :sender"), params)
    return n


# --- the application database -----------------------------------------------------------------------
def stripped_payload(payload: dict[str, Any] | None) -> dict[str, Any] | None:
    """A message payload without personal data: only an attachment's kind survives (staff still see
    that a file was sent), marked erased."""
    attachment = (payload or {}).get("attachment")
    if isinstance(attachment, dict):
        return {"attachment": {"kind": attachment.get("kind"), "erased": True}}
    return None


def _not_in_open_ticket() -> Any:
    return or_(MessageLog.ticket_id.is_(None), MessageLog.ticket_id.not_in(_open_ticket_ids_subquery()))


def _open_ticket_ids_subquery() -> Any:
    return select(Ticket.id).where(Ticket.status.in_(OPEN_TICKET_STATUSES)).scalar_subquery()


def _batched(session: Session, query: Any) -> Iterable[MessageLog]:
    yield from session.scalars(query.order_by(MessageLog.id).execution_options(yield_per=BATCH))


def expire_messages(session: Session, before: dt.datetime, *, dry_run: bool) -> int:
    """Message texts and payloads older than `before` replaced by the marker."""
    query = select(MessageLog).where(
        MessageLog.created_at < before,
        MessageLog.text != ERASED_MARKER,
        MessageLog.state.not_in(IN_FLIGHT),
        _not_in_open_ticket(),
    )
    if dry_run:
        return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    n = 0
    for message in list(_batched(session, query)):
        message.text = ERASED_MARKER
        message.payload = stripped_payload(message.payload)
        n += 1
    return n


def _has_live_attachment(payload: dict[str, Any] | None) -> bool:
    attachment = (payload or {}).get("attachment")
    return isinstance(attachment, dict) and not attachment.get("erased")


def expire_attachments(session: Session, before: dt.datetime, *, dry_run: bool) -> int:
    """Attachment references (file id, name, source) older than `before` dropped, kind kept; the file
    name leaves the ticket's audit events too."""
    as_text = cast(MessageLog.payload, Text)
    query = select(MessageLog).where(
        MessageLog.created_at < before,
        MessageLog.payload.is_not(None),
        as_text.contains('"attachment"'),
        MessageLog.state.not_in(IN_FLIGHT),
        _not_in_open_ticket(),
    )
    n = 0
    for message in list(_batched(session, query)):
        if not _has_live_attachment(message.payload):
            continue
        n += 1
        if not dry_run:
            kept = {k: v for k, v in (message.payload or {}).items() if k != "attachment"}
            message.payload = {**kept, **(stripped_payload(message.payload) or {})}
    if not dry_run:
        events = session.scalars(
            select(TicketEvent).where(
                TicketEvent.kind == "attachment",
                TicketEvent.created_at < before,
                TicketEvent.ticket_id.not_in(_open_ticket_ids_subquery()),
            )
        )
        for event in events:
            if (event.data or {}).get("file_name"):
                event.data = {**event.data, "file_name": None}
    return n


# The scheduler's daily pass re-reads only tickets that crossed the age or changed lately, so runs missed
# for up to this long are caught up; `python -m hotline privacy retention` (by hand) reads every finished
# ticket, e.g. once when retention is switched on for an existing database.
RESCAN = dt.timedelta(days=7)
MASKED_EVENT = "pii_masked"  # on the ticket's audit trail: which free-text fields the pass masked


def mask_finished_tickets(
    session: Session,
    before: dt.datetime,
    *,
    dry_run: bool,
    now: dt.datetime | None = None,
    full: bool = False,
) -> int:
    """Phone, ID and card numbers masked in finished tickets' free text (description, rating comments,
    review details) once the ticket is older than `before`. Category, county, dates and scores stay.

    Without `full`, only tickets that passed `before` within `RESCAN`, or were changed, rated or reviewed
    within `RESCAN` of `now`, are read: the others were masked by an earlier pass. A year of finished
    tickets is otherwise read into memory every night.
    """
    finished = and_(Ticket.created_at < before, Ticket.status.not_in(OPEN_TICKET_STATUSES))
    recent = (now or before) - RESCAN
    crossed = or_(Ticket.created_at >= before - RESCAN, Ticket.updated_at >= recent)

    def lately(*extra: ColumnElement[bool]) -> ColumnElement[bool]:
        return and_(finished, true() if full else or_(crossed, *extra))

    tickets = session.scalars(
        select(Ticket).where(lately()).order_by(Ticket.id).execution_options(yield_per=BATCH)
    )
    changed: dict[int, set[str]] = {}  # ticket id -> the free-text fields masked, for its audit trail
    for ticket in tickets:  # streamed: a full pass holds one batch of tickets, not the year
        masked = mask_pii(ticket.description or "")
        if masked != (ticket.description or ""):
            changed.setdefault(ticket.id, set()).add("description")
            if not dry_run:
                ticket.description = masked
    ratings = session.scalars(
        select(Rating)
        .join(Ticket, Ticket.id == Rating.ticket_id)
        .where(lately(Rating.answered_at >= recent))
        .where(Rating.comment.is_not(None))
    )
    for rating in list(ratings):
        masked = mask_pii(rating.comment or "")
        if masked != rating.comment:
            changed.setdefault(rating.ticket_id, set()).add("rating_comment")
            if not dry_run:
                rating.comment = masked
    reviews = session.scalars(
        select(ReviewItem)
        .join(Ticket, Ticket.id == ReviewItem.ticket_id)
        .where(lately(ReviewItem.created_at >= recent))
    )
    for review in list(reviews):
        masked = mask_pii(review.detail or "")
        if masked != (review.detail or ""):
            changed.setdefault(review.ticket_id, set()).add("review_detail")
            if not dry_run:
                review.detail = masked
    if not dry_run:
        at = now or utcnow()
        session.add_all(
            TicketEvent(
                ticket_id=ticket_id,
                kind=MASKED_EVENT,
                actor="system:retention",
                data={"fields": sorted(fields)},
                created_at=at,
            )
            for ticket_id, fields in changed.items()
        )
    return len(changed)


def forget_display_names(session: Session, before: dt.datetime, *, dry_run: bool) -> int:
    """Citizens' display names dropped once they have written nothing since `before`."""
    recent = select(MessageLog.citizen_id).where(MessageLog.created_at >= before)
    query = select(Citizen).where(
        Citizen.display_name.is_not(None), Citizen.created_at < before, Citizen.id.not_in(recent)
    )
    citizens = list(session.scalars(query))
    if not dry_run:
        for citizen in citizens:
            citizen.display_name = None
    return len(citizens)


# Learned examples a supervisor has not approved for training.
UNAPPROVED_EXAMPLES = (PENDING, REJECTED)


def expire_learned_examples(session: Session, before: dt.datetime, *, dry_run: bool) -> int:
    """Learned NLU examples created before `before` and never approved: deleted."""
    old = (NluExample.created_at < before, NluExample.status.in_(UNAPPROVED_EXAMPLES))
    if dry_run:
        return int(session.scalar(select(func.count()).select_from(NluExample).where(*old)) or 0)
    return int(session.execute(delete(NluExample).where(*old)).rowcount or 0)  # type: ignore[attr-defined]


def run_retention(
    session: Session,
    policy: PrivacySettings,
    now: dt.datetime,
    *,
    dry_run: bool = False,
    trackers: Engine | None = None,
    full: bool = False,
) -> RetentionResult:
    """One retention pass at `now` (naive UTC). Does not commit `session`; the tracker store (a separate
    database) is changed in its own transaction, after the application rows are planned."""
    result = RetentionResult()
    messages_before = cutoff(now, policy.message_retention_days)
    result.attachments = expire_attachments(
        session, cutoff(now, policy.attachment_retention_days), dry_run=dry_run
    )
    result.messages = expire_messages(session, messages_before, dry_run=dry_run)
    result.tickets_masked = mask_finished_tickets(
        session, messages_before, dry_run=dry_run, now=now, full=full
    )
    result.display_names = forget_display_names(session, messages_before, dry_run=dry_run)
    result.learned_examples = expire_learned_examples(session, messages_before, dry_run=dry_run)
    if not dry_run:
        session.flush()
    if trackers is not None:
        result.tracker_conversations, result.tracker_events = expire_trackers(
            trackers, cutoff(now, policy.tracker_retention_days), dry_run=dry_run
        )
    log.info("retention pass (dry_run=%s): %s", dry_run, result)
    return result
