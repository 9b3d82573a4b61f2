"""The application's tables (SQLAlchemy 2 declarative models).

Times are stored as naive UTC (`utcnow()`); the city's time zone is applied only when presenting or
bucketing for reports. PII is minimal: a citizen is a channel plus an opaque external id; phone numbers
and ID numbers are never stored in clear outside the message text itself.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Computed,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    and_,
    case,
    column,
    event,
    false,
    null,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from hotline.db.sqlfuncs import duration_seconds

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class TicketStatus(enum.StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    WAITING_CITIZEN = "waiting_citizen"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REFERRED = "referred"
    CANCELLED = "cancelled"
    REOPENED = "reopened"


# Tickets still being worked on: the ones new messages, evidence and SLA clocks belong to.
OPEN_TICKET_STATUSES = frozenset(
    {TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.WAITING_CITIZEN, TicketStatus.REOPENED}
)


class CaseType(enum.StrEnum):
    CIVIL = "civil"
    CRIMINAL = "criminal"
    ADMINISTRATIVE = "administrative"
    CONSULTATION = "consultation"


class MessageDirection(enum.StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


class MessageState(enum.StrEnum):
    RECEIVED = "received"  # persisted, not yet answered by the engine
    PROCESSED = "processed"
    RETRY = "retry"  # engine unreachable; kept for the retry loop
    FAILED = "failed"  # gave up after max attempts; visible to operators
    FORWARDED = "forwarded"  # ticket is with a human; relayed to the operator desk
    SENT = "sent"  # outbound delivered
    QUEUED = "queued"  # outbound waiting for the transport's confirmed delivery (the outbox)


class OperatorRole(enum.StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Citizen(Base):
    __tablename__ = "citizen"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    # The sender id used with the dialog engine; stable per citizen and channel.
    conversation_id: Mapped[str] = mapped_column(String(96), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class UpdateJournal(Base):
    """Telegram updates as received, written before python-telegram-bot queues them in memory.

    Telegram considers an update delivered once the webhook answered 200 or the next getUpdates moved the
    offset on — both happen before our handlers ran. A gateway killed in between would lose the update;
    the journal keeps it until its processing finished (`done_at`), and a replica replays what stayed
    undone (bot/transports/update_journal.py). Processing is idempotent (message ids are deduplicated), so
    a replay of an update that was in fact handled is harmless. Rows are deleted soon after they are done.
    """

    __tablename__ = "update_journal"
    __table_args__ = (Index("ix_update_journal_chat", "chat_id", "update_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    # The update's chat: behind a load balancer a replica waits for this chat's earlier updates to be done
    # before handling the next (per-citizen order across replicas, bot/transports/update_journal.py).
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)


class MessageLog(Base):
    __tablename__ = "message_log"
    __table_args__ = (
        UniqueConstraint("channel", "external_message_id", "direction"),
        Index("ix_message_log_state", "state", "citizen_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"))
    channel: Mapped[str] = mapped_column(String(16))
    external_message_id: Mapped[str | None] = mapped_column(String(64))
    direction: Mapped[MessageDirection] = mapped_column(Enum(MessageDirection, native_enum=False, length=8))
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    state: Mapped[MessageState] = mapped_column(Enum(MessageState, native_enum=False, length=16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(255))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    processed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Queue bookkeeping (hotline.messages): one gateway replica at a time holds a message (claim with a
    # time-to-live); dispatched_at says the engine may have seen it (check its tracker before resending);
    # relayed_at says the operators' desk has it; escalated: kept for the engine after a handoff ticket
    # was opened for an outage; next_attempt_at: outbox backoff.
    claim_token: Mapped[str | None] = mapped_column(String(36))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    relayed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


# What the reports group and sum new tickets by (hotline.reports.metrics), after created_at in its index.
REPORT_NEW_COLUMNS = (
    "county_code",
    "case_type",
    "category",
    "eligibility_outcome",
    "migrant_worker",
    "disabled",
    "minor",
    "elderly",
    "women",
    "handled_by_bot_only",
    "handoff_requested",
)


_created, _source = column("created_at", DateTime), column("source", String)
_first_response = column("first_response_at", DateTime)
FIRST_RESPONSE_SECONDS = case(
    (and_(_source == "import", _first_response == _created), null()),
    else_=duration_seconds(_created, _first_response),
)
RESOLUTION_SECONDS = duration_seconds(_created, column("resolved_at", DateTime))


class Ticket(Base):
    __tablename__ = "ticket"
    __table_args__ = (
        UniqueConstraint("conversation_id", "intake_key"),
        Index("ix_ticket_county_status", "county_code", "status"),
        # Covering indexes of the report queries (issue 13: annual metrics of a 1M-ticket year): each
        # period's GROUP BY reads its index range only, never the rows (migration 0012).
        Index("ix_ticket_created_report", "created_at", *REPORT_NEW_COLUMNS),
        Index(
            "ix_ticket_resolved_report",
            "resolved_at",
            "created_at",
            "resolution_due",
            "case_type",
            "status",
            "county_code",
        ),
        Index(
            "ix_ticket_first_response_report",
            "first_response_at",
            "created_at",
            "first_response_due",
            "county_code",
            "source",  # imported tickets without a first response are left out (imported_without_response)
        ),
        # The exact median/p90 rank only the tickets of one duration bucket (hotline.reports.rollup):
        # an index range of the duration, filtered by the done time and county inside the index.
        Index("ix_ticket_resolution_seconds", "resolution_seconds", "resolved_at", "county_code"),
        Index(
            "ix_ticket_first_response_seconds",
            "first_response_seconds",
            "first_response_at",
            "county_code",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"))
    conversation_id: Mapped[str | None] = mapped_column(String(96))
    intake_key: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16), default="bot")  # bot | import | operator
    category: Mapped[str] = mapped_column(String(32), index=True)
    case_type: Mapped[CaseType] = mapped_column(
        Enum(CaseType, native_enum=False, length=16), default=CaseType.CONSULTATION
    )
    county_code: Mapped[str | None] = mapped_column(String(6))
    status: Mapped[TicketStatus] = mapped_column(
        Enum(TicketStatus, native_enum=False, length=16), default=TicketStatus.NEW
    )
    priority: Mapped[str] = mapped_column(String(8), default="normal")  # normal | urgent
    description: Mapped[str] = mapped_column(Text, default="")
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Eligibility decision as produced by the rules engine, kept for audit and replay.
    eligibility_outcome: Mapped[str | None] = mapped_column(String(48))
    eligibility_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    eligibility_articles: Mapped[list[Any]] = mapped_column(JSON, default=list)
    eligibility_rules_version: Mapped[str | None] = mapped_column(String(64))
    # Special groups for reports (民生工程 statistics).
    migrant_worker: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    minor: Mapped[bool] = mapped_column(Boolean, default=False)
    elderly: Mapped[bool] = mapped_column(Boolean, default=False)
    women: Mapped[bool] = mapped_column(Boolean, default=False)
    handled_by_bot_only: Mapped[bool] = mapped_column(Boolean, default=True)
    handoff_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    assigned_operator_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    first_response_due: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolution_due: Mapped[dt.datetime | None] = mapped_column(DateTime)
    first_response_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Durations the reports count, whole seconds, computed by the database (migration 0014; VIRTUAL on
    # SQLite, STORED on PostgreSQL). An imported ticket's placeholder first response (the importer
    # stores the creation time when the old system recorded none) counts as no first response.
    first_response_seconds: Mapped[int | None] = mapped_column(
        BigInteger, Computed(FIRST_RESPONSE_SECONDS, persisted=True)
    )
    resolution_seconds: Mapped[int | None] = mapped_column(
        BigInteger, Computed(RESOLUTION_SECONDS, persisted=True)
    )

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )


class TicketRollupNew(Base):
    """Tickets created per UTC day, by what the reports group on, with the figures they sum.

    Kept by database triggers on `ticket` (hotline.reports.rollup, migration 0014), so every writer —
    ORM, bulk UPDATE, imports, erasure, raw SQL — keeps it exact. '' stands for a NULL county/outcome
    (a key column cannot be NULL). Rows whose count fell to 0 stay (harmless).
    """

    __tablename__ = "ticket_rollup_new"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    case_type: Mapped[CaseType] = mapped_column(
        Enum(CaseType, native_enum=False, length=16), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    eligibility_outcome: Mapped[str] = mapped_column(String(48), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    migrant_worker: Mapped[int] = mapped_column(Integer, default=0)
    disabled: Mapped[int] = mapped_column(Integer, default=0)
    minor: Mapped[int] = mapped_column(Integer, default=0)
    elderly: Mapped[int] = mapped_column(Integer, default=0)
    women: Mapped[int] = mapped_column(Integer, default=0)
    bot_only: Mapped[int] = mapped_column(Integer, default=0)
    handoff: Mapped[int] = mapped_column(Integer, default=0)
    fallback_tickets: Mapped[int] = mapped_column(Integer, default=0)
    fallbacks_total: Mapped[int] = mapped_column(Integer, default=0)
    bot_resolved: Mapped[int] = mapped_column(Integer, default=0)


class TicketRollupClosed(Base):
    """Tickets resolved, referred or closed per UTC day of resolved_at (triggers, like TicketRollupNew)."""

    __tablename__ = "ticket_rollup_closed"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    case_type: Mapped[CaseType] = mapped_column(
        Enum(CaseType, native_enum=False, length=16), primary_key=True
    )
    n: Mapped[int] = mapped_column(Integer, default=0)


class TicketRollupDuration(Base):
    """Histogram of first-response and resolution durations per UTC day of the done time and county,
    by duration bucket (hotline.db.sqlfuncs.BUCKET_SEGMENTS), with the SLA figures (triggers)."""

    __tablename__ = "ticket_rollup_duration"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # first_response | resolution
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    within_sla: Mapped[int] = mapped_column(Integer, default=0)
    with_due: Mapped[int] = mapped_column(Integer, default=0)


class TicketEvent(Base):
    """Audit trail: one row per change, written in the same transaction as the change."""

    __tablename__ = "ticket_event"
    __table_args__ = (Index("ix_ticket_event_kind", "kind", "ticket_id"),)  # reports: events of one kind

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # created | status | assigned | note | rating | ...
    actor: Mapped[str] = mapped_column(String(64))  # "bot", "operator:12", "system:scheduler", "import"
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class TicketCounter(Base):
    """Per-day sequence behind human-readable ticket numbers (滁-20261129-0007)."""

    __tablename__ = "ticket_counter"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Rating(Base):
    __tablename__ = "rating"
    __table_args__ = (UniqueConstraint("ticket_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)  # re-asked on each resolution
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id"))


class ReviewItem(Base):
    """A dissatisfied rating or complaint that a supervisor must follow up (100% 不满意回访)."""

    __tablename__ = "review_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))  # low_rating | complaint
    detail: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # When supervisors were alerted; the scheduler alerts every item still NULL (nothing lost).
    alerted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Operator(Base):
    __tablename__ = "operator"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)  # ids exceed 2^31
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[OperatorRole] = mapped_column(Enum(OperatorRole, native_enum=False, length=16))
    # County codes this operator may see; empty with role supervisor/admin = whole city.
    counties: Mapped[list[Any]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Target(Base):
    """Yearly case target per county; overrides the configuration file when present."""

    __tablename__ = "target"
    __table_args__ = (UniqueConstraint("county_code", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6))
    year: Mapped[int] = mapped_column(Integer)
    cases: Mapped[int] = mapped_column(Integer)


class ReportRun(Base):
    """Exactly-once production and delivery of a period's report."""

    __tablename__ = "report_run"
    __table_args__ = (UniqueConstraint("kind", "period", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # weekly | monthly | annual
    period: Mapped[str] = mapped_column(String(32))  # 2026-W48 | 2026-11 | 2026
    scope: Mapped[str] = mapped_column(String(16))  # city | county code
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | produced | delivered
    files: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ButtonPayload(Base):
    """Telegram callback_data is limited to 64 bytes; long Rasa payloads are stored and referenced."""

    __tablename__ = "button_payload"

    key: Mapped[str] = mapped_column(String(24), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AppLock(Base):
    """Leader election (one active scheduler) via a row with an expiry, portable across SQLite/PostgreSQL."""

    __tablename__ = "app_lock"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(96))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)


class DeskCard(Base):
    """The operators' group card of one ticket (bot/desk). The row is reserved before the card is sent, so
    several gateway replicas polling for new tickets post each card exactly once."""

    __tablename__ = "desk_card"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)  # None while reserved, not yet sent
    reserved_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    posted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    handoff_notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class DeskMessage(Base):
    """Persisted map of operators' group messages to tickets: replying to any of them reaches the citizen."""

    __tablename__ = "desk_message"
    __table_args__ = (UniqueConstraint("chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # card | citizen | operator | notice | view
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    REBOOKED = "rebooked"  # replaced by another appointment of the same ticket
    ATTENDED = "attended"
    NO_SHOW = "no_show"


class Appointment(Base):
    """A citizen's visit to a county centre in one slot (hotline.appointments).

    No double booking is a database guarantee, not a read-then-write check: a live booking holds one of the
    slot's `capacity` seats and (county, start, seat) is unique, so two concurrent requests cannot take the
    same seat; `active_ticket_id` (unique, NULL once the booking ends) gives a ticket one live booking.
    Cancelling frees the seat (seat NULL; NULLs never collide in a unique constraint).
    """

    __tablename__ = "appointment"
    __table_args__ = (
        UniqueConstraint("county_code", "starts_at", "seat"),
        Index("ix_appointment_county_starts", "county_code", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(96), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime)  # naive UTC
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime)
    seat: Mapped[int | None] = mapped_column(Integer)
    active_ticket_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    status: Mapped[AppointmentStatus] = mapped_column(
        Enum(AppointmentStatus, native_enum=False, length=16), default=AppointmentStatus.BOOKED
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class NluExample(Base):
    """A labelled message learned from people (hotline.learning): an operator's category correction or the
    category a citizen picked from the clarification buttons. Text is PII-masked before it is stored; a
    supervisor approves it before it can be exported to the training data (nlu/learned/)."""

    __tablename__ = "nlu_example"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str] = mapped_column(String(32))  # a hotline.categories intake category
    previous_intent: Mapped[str | None] = mapped_column(String(32))  # what the bot had made of it
    source: Mapped[str] = mapped_column(String(24))  # operator_correction | citizen_choice
    status: Mapped[str] = mapped_column(
        String(16), default="pending", index=True
    )  # pending|approved|rejected
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(96))
    created_by: Mapped[str] = mapped_column(String(64))  # "operator:12", "citizen"
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("operator.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class KbProposal(Base):
    """A knowledge-base entry an operator proposed from a ticket's answer (hotline.knowledge.proposals).

    Pending until a supervisor approves or rejects it; approved ones are served by the bot next to
    faq.yaml (with checked_by = the approver, review_due from `knowledge.review_days`) until the bureau
    folds them into the file (`python -m hotline kb export`). Each step is also audited on the ticket."""

    __tablename__ = "kb_proposal"
    __table_args__ = (Index("ix_kb_proposal_status", "status", "decided_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    questions: Mapped[list[Any]] = mapped_column(JSON, default=list)  # the phrasings, at least two
    answer: Mapped[str] = mapped_column(Text)
    details: Mapped[str] = mapped_column(Text, default="")
    articles: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"law": …, "article": "第…条"}]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | approved | rejected
    proposed_by: Mapped[int] = mapped_column(ForeignKey("operator.id"))
    proposed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("operator.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    # Set on approval: the entry's id and review fields as served (FaqEntry).
    entry_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    checked_by: Mapped[str | None] = mapped_column(String(96))
    last_checked: Mapped[dt.date | None] = mapped_column(Date)
    review_due: Mapped[dt.date | None] = mapped_column(Date)


@event.listens_for(Base.metadata, "after_create")
def _rollup_triggers(target: MetaData, connection: Any, **kw: Any) -> None:
    """A schema made with create_all (benchmarks, ad-hoc tools) gets the same roll-up triggers as the
    migrated one, from the same generator."""
    if any(t.name == "ticket" for t in kw.get("tables") or ()):
        from hotline.reports.rollup import install_triggers

        install_triggers(connection)
