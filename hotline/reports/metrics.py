"""Report figures computed with SQL aggregates (GROUP BY in the database), never Python loops over tickets.

The ticket figures of a period's whole UTC days are read from the daily roll-ups kept by triggers
(hotline.reports.rollup), the ragged edges of the period from the ticket table; `use_rollups=False` reads
everything from the ticket table (same figures, exactly; the tests compare).

Definitions (they decide what a supervisor reads, so they are spelled out):
- new (受理/新增): tickets created in the period. "Legal-aid cases" (法律援助案件) are tickets whose case
  type is civil, criminal or administrative; consultations are counted separately. Target completion,
  case-type shares, the migrant-worker share and the closure rate use the legal-aid cases, like the
  province's 自评表 (6761 = 4564 civil + 2182 criminal + 15 administrative).
- closed (结案): tickets whose resolved_at (resolve, referral or close) falls in the period;
  closure rate (结案率) = closed / new of the same set.
- backlog (积压): created before the period end, not cancelled, not resolved by the period end.
- first-response / resolution time: wall-clock hours from creation, for tickets first answered /
  resolved in the period; median and p90 are nearest-rank. SLA compliance = share done by the due time.
- satisfaction: ratings requested in the period; response rate = answered / requested;
  满意率 = scores >= 4 / answered.
- complaints: tickets of a complaint category created in the period plus review items (reason complaint).
- 低分回访办结率: low-rating review items opened in the period that were closed before the period end /
  low-rating review items opened in the period (so a report reads the same whenever it is regenerated);
  time to close: wall-clock hours from opening to closing of the review items (any reason) closed in the
  period, median and p90 nearest-rank.
- bot: bot-only share = handled_by_bot_only / new; handoff rate = (handoff_requested, or a handoff the
  citizen left) / new; fallback
  rate = share of new tickets whose conversation hit the fallback at least once (facts["fallbacks"] > 0).
- 机器人独立办结率 (bot-resolved rate): inquiries the bot resolved by itself with a knowledge-base answer the
  citizen confirmed (tickets created in the period with facts["faq_id"], hotline.knowledge.outcome) / all
  inquiries (new tickets). Knowledge-base entries (faq.yaml and the approved proposals the bot serves) whose
  review date has come by the period end are counted (kb_review_due, ids in kb_review_due_ids) so the weekly
  report flags them.
- appointments (预约, by the centre's county, hotline.appointments): bookings = appointments made in the
  period (a rebooking counts once, at its latest slot); cancelled = cancelled in the period; due =
  appointments whose slot began in the period (not cancelled or moved); no-shows = those marked 未到场;
  attended = marked 到场, or past and not marked a no-show (centres mark the exceptions);
  no-show rate = no-shows / (attended + no-shows).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, case, exists, func, literal, select
from sqlalchemy.orm import Session

from hotline.db.models import (
    Appointment,
    AppointmentStatus,
    CaseType,
    Rating,
    ReviewItem,
    Target,
    Ticket,
    TicketEvent,
    TicketRollupClosed,
    TicketRollupDuration,
    TicketRollupNew,
    TicketStatus,
    utcnow,
)
from hotline.db.sqlfuncs import bucket_bounds, duration_bucket
from hotline.knowledge.outcome import FAQ_FACT
from hotline.knowledge.proposals import served_kb
from hotline.reports.config import ReportsConfig
from hotline.reports.periods import Period
from hotline.settings import Settings
from hotline.sla.calendar import BusinessCalendar

GROUPS = ("migrant_worker", "disabled", "minor", "elderly", "women")
LEGAL_AID_TYPES = (CaseType.CIVIL.value, CaseType.CRIMINAL.value, CaseType.ADMINISTRATIVE.value)


def share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


@dataclass
class Durations:
    count: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None
    within_sla: int = 0
    with_due: int = 0

    @property
    def compliance(self) -> float | None:
        return share(self.within_sla, self.with_due)


@dataclass
class ReviewClosure:
    """Follow-up (回访) review items: how many low-rating items were closed, and how fast items close."""

    low_opened: int = 0
    low_closed: int = 0  # of low_opened, closed before the period end
    closed: int = 0  # items of any reason closed in the period
    median_hours: float | None = None
    p90_hours: float | None = None

    @property
    def low_rate(self) -> float | None:
        return share(self.low_closed, self.low_opened)


@dataclass
class AppointmentFigures:
    """Appointments at the centres in the period (definitions in the module docstring)."""

    booked: int = 0
    cancelled: int = 0
    due: int = 0
    attended: int = 0
    no_shows: int = 0

    @property
    def no_show_rate(self) -> float | None:
        return share(self.no_shows, self.attended + self.no_shows)


@dataclass
class ReportMetrics:
    period: Period
    scope: str  # "city" or a county code
    scope_name: str
    new: int = 0
    consultations: int = 0
    cases: int = 0  # legal-aid cases (civil + criminal + administrative)
    closed: int = 0
    cases_closed: int = 0
    backlog: int = 0
    by_case_type: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_county: dict[str, int] = field(default_factory=dict)
    cases_by_county: dict[str, int] = field(default_factory=dict)
    by_outcome: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)  # over all new tickets
    case_groups: dict[str, int] = field(default_factory=dict)  # over legal-aid cases
    target: float | None = None  # pro-rated for the period
    target_year: float | None = None  # the full-year target
    first_response: Durations = field(default_factory=Durations)
    resolution: Durations = field(default_factory=Durations)
    ratings_requested: int = 0
    ratings_answered: int = 0
    rating_distribution: dict[int, int] = field(default_factory=dict)
    satisfied: int = 0
    complaint_tickets: int = 0
    review_items: dict[str, int] = field(default_factory=dict)
    review_closure: ReviewClosure = field(default_factory=ReviewClosure)
    bot_only: int = 0
    handoffs: int = 0
    fallback_tickets: int = 0
    fallbacks_total: int = 0
    bot_resolved: int = 0
    kb_review_due: int = 0
    appointments: AppointmentFigures = field(default_factory=AppointmentFigures)
    kb_review_due_ids: list[str] = field(default_factory=list)
    calendar_fallback_years: list[int] = field(default_factory=list)
    previous: ReportMetrics | None = None

    @property
    def closure_rate(self) -> float | None:
        return share(self.cases_closed, self.cases) if self.cases else share(self.closed, self.new)

    @property
    def target_completion(self) -> float | None:
        return share(self.cases, self.target) if self.target else None

    @property
    def satisfaction_rate(self) -> float | None:
        return share(self.satisfied, self.ratings_answered)

    @property
    def response_rate(self) -> float | None:
        return share(self.ratings_answered, self.ratings_requested)

    @property
    def complaints(self) -> int:
        return self.complaint_tickets + self.review_items.get("complaint", 0)

    def case_share(self, case_type: str) -> float | None:
        return share(self.by_case_type.get(case_type, 0), self.cases)

    def group_share(self, group: str) -> float | None:
        return share(self.case_groups.get(group, 0), self.cases)

    def rate(self, name: str) -> float | None:
        return share(
            {
                "bot_only": self.bot_only,
                "bot_resolved": self.bot_resolved,
                "handoff": self.handoffs,
                "fallback": self.fallback_tickets,
            }[name],
            self.new,
        )


def _flag(column: Any) -> ColumnElement[int]:
    return func.sum(case((column.is_(True), 1), else_=0))


def _seconds(dialect: str, start: Any, end: Any) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    # date_part gives double precision; EXTRACT gives numeric since PostgreSQL 14, several times slower
    # to compute, cast and sort over a year of tickets (values are rounded to whole seconds either way).
    return func.date_part("epoch", end - start)


def _scope_filter(counties: Sequence[str] | None) -> ColumnElement[bool]:
    if not counties:
        return literal(True)
    return Ticket.county_code.in_(list(counties))


@dataclass(frozen=True)
class _Query:
    """What every builder below filters on: the database, the period and the counties in scope.

    `start`/`end` is the time window a ticket-table query covers: the whole period, or one ragged edge
    of it when the whole UTC days inside come from the roll-ups (`split`)."""

    session: Session
    period: Period
    scope: ColumnElement[bool]
    config: ReportsConfig
    counties: tuple[str, ...] = ()
    use_rollups: bool = True
    start: dt.datetime = dt.datetime.min
    end: dt.datetime = dt.datetime.min

    def within(self, column: Any) -> ColumnElement[bool]:
        """`column` falls in the window, for a ticket in scope."""
        return and_(column >= self.start, column < self.end, self.scope)

    def in_period(self, column: Any) -> ColumnElement[bool]:
        """`column` falls in the whole period, for a ticket in scope."""
        return and_(column >= self.period.start_utc, column < self.period.end_utc, self.scope)

    def linked_in_period(self, column: Any, ticket_id: Any) -> ColumnElement[bool]:
        """`column` of a rating or review item falls in the period, and its ticket is in scope: a
        correlated EXISTS (a primary-key lookup per item), not a join the planner may start from the
        ticket side (it did on SQLite when the item table had no statistics: a scan of every ticket)."""
        in_scope = exists().where(Ticket.id == ticket_id, self.scope)
        return and_(column >= self.period.start_utc, column < self.period.end_utc, in_scope)

    def window(self, start: dt.datetime, end: dt.datetime) -> _Query:
        return replace(self, start=start, end=end)

    def split(self) -> tuple[tuple[dt.date, dt.date] | None, list[_Query]]:
        """The period as [first, last) whole UTC days read from the roll-ups (None: not one whole day
        inside, or roll-ups not used) and the ticket-table queries of the rest (the edges, < 1 day each:
        a local midnight is not a UTC one)."""
        start, end = self.period.start_utc, self.period.end_utc
        first = start.date() if start.time() == dt.time(0) else start.date() + dt.timedelta(days=1)
        last = end.date()
        if not self.use_rollups or first >= last:
            return None, [self.window(start, end)]
        midnight = dt.datetime.combine
        edges = [(start, midnight(first, dt.time(0))), (midnight(last, dt.time(0)), end)]
        return (first, last), [self.window(a, b) for a, b in edges if a < b]

    def rollup_scope(self, county: Any) -> ColumnElement[bool]:
        return county.in_(self.counties) if self.counties else literal(True)


def _scope_names(settings: Settings, counties: Sequence[str] | None) -> tuple[str, str]:
    """(key, display name) of the report's scope: "city", one county's code, or several codes."""
    if not counties:
        return "city", settings.city.name
    if len(counties) == 1:
        county = next((c for c in settings.counties if c.code == counties[0]), None)
        return counties[0], county.name if county else counties[0]
    return ",".join(counties), "、".join(counties)


def _new_ticket_rows(q: _Query) -> list[Sequence[Any]]:
    """Tickets created in the period, grouped by county, type, category and outcome, with the summed
    flags and facts: the whole UTC days from ticket_rollup_new, the edges from the ticket table."""
    days, edges = q.split()
    rows: list[Sequence[Any]] = []
    if days is not None:
        r = TicketRollupNew
        rows += q.session.execute(
            select(
                r.county_code,
                r.case_type,
                r.category,
                r.eligibility_outcome,
                *[func.sum(c) for c in (r.n, *[getattr(r, g) for g in GROUPS])],
                *[func.sum(c) for c in (r.bot_only, r.handoff)],
                *[func.sum(c) for c in (r.fallback_tickets, r.fallbacks_total, r.bot_resolved)],
            )
            .where(r.day >= days[0], r.day < days[1], q.rollup_scope(r.county_code))
            .group_by(r.county_code, r.case_type, r.category, r.eligibility_outcome)
        ).all()
    fallbacks = func.coalesce(Ticket.facts["fallbacks"].as_integer(), 0)
    for edge in edges:
        rows += q.session.execute(
            select(
                Ticket.county_code,
                Ticket.case_type,
                Ticket.category,
                Ticket.eligibility_outcome,
                func.count(),
                *[_flag(getattr(Ticket, g)) for g in GROUPS],
                _flag(Ticket.handled_by_bot_only),
                _flag(Ticket.handoff_requested),
                func.sum(case((fallbacks > 0, 1), else_=0)),
                func.sum(fallbacks),
                func.count(Ticket.facts[FAQ_FACT].as_string()),
            )
            .where(edge.within(Ticket.created_at))
            .group_by(Ticket.county_code, Ticket.case_type, Ticket.category, Ticket.eligibility_outcome)
        ).all()
    return rows


def _add_new_tickets(q: _Query, m: ReportMetrics) -> None:
    """Tickets created in the period: counts by type/category/county/outcome, groups, bot figures, and
    the figures kept in the JSON facts (fallbacks, knowledge-base answers)."""
    by_type: Counter[str] = Counter()
    by_cat: Counter[str] = Counter()
    by_county: Counter[str] = Counter()
    cases_by_county: Counter[str] = Counter()
    by_outcome: Counter[str] = Counter()
    groups: Counter[str] = Counter()
    case_groups: Counter[str] = Counter()
    complaint_cats = set(q.config.complaint_categories)
    for county_code, case_type, category, outcome, n, *rest in _new_ticket_rows(q):
        if not n:
            continue  # a roll-up row whose tickets all moved away
        ct = CaseType(case_type).value
        flags, rest = rest[: len(GROUPS)], rest[len(GROUPS) :]
        bot, handoff, fb_tickets, fb_total, resolved = rest
        m.new += n
        by_type[ct] += n
        by_cat[category] += n
        by_county[county_code or "未知"] += n  # NULL in the ticket table, '' in the roll-up
        if ct in LEGAL_AID_TYPES:
            cases_by_county[county_code or "未知"] += n
        by_outcome[outcome or "未评估"] += n
        for g, v in zip(GROUPS, flags, strict=True):
            groups[g] += v or 0
            if ct in LEGAL_AID_TYPES:
                case_groups[g] += v or 0
        m.bot_only += bot or 0
        m.handoffs += handoff or 0
        m.fallback_tickets += fb_tickets or 0
        m.fallbacks_total += fb_total or 0
        m.bot_resolved += resolved or 0
        if category in complaint_cats:
            m.complaint_tickets += n
    m.by_case_type, m.by_category, m.by_county, m.by_outcome = (
        dict(by_type),
        dict(by_cat),
        dict(by_county),
        dict(by_outcome),
    )
    m.groups, m.case_groups, m.cases_by_county = dict(groups), dict(case_groups), dict(cases_by_county)
    m.consultations = by_type.get(CaseType.CONSULTATION.value, 0)
    m.cases = m.new - m.consultations


def _add_left_handoffs(q: _Query, m: ReportMetrics) -> None:
    """Handoffs the citizen later left (返回机器人 clears the ticket's flag so the bot speaks again): they
    still asked for a person. Read from the audit trail's `handoff_left` events (ix_ticket_event_kind)."""
    left = q.session.scalar(
        select(func.count(func.distinct(TicketEvent.ticket_id)))
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(
            TicketEvent.kind == "handoff_left",
            Ticket.handoff_requested.is_(False),
            q.in_period(Ticket.created_at),
        )
    )
    m.handoffs += left or 0


def _kb_review_due(session: Session, period: Period) -> list[str]:
    """Ids of the served knowledge-base entries whose review date has come by the period's last day."""
    return [e.id for e in served_kb(session).overdue(period.end - dt.timedelta(days=1))]


def _closed(q: _Query) -> tuple[int, int]:
    """(all tickets, legal-aid cases) resolved, referred or closed in the period."""
    days, edges = q.split()
    rows: list[Sequence[Any]] = []
    if days is not None:
        r = TicketRollupClosed
        rows += q.session.execute(
            select(r.case_type, func.sum(r.n))
            .where(r.day >= days[0], r.day < days[1], q.rollup_scope(r.county_code))
            .group_by(r.case_type)
        ).all()
    for edge in edges:
        rows += q.session.execute(
            select(Ticket.case_type, func.count())
            .where(edge.within(Ticket.resolved_at))
            .group_by(Ticket.case_type)
        ).all()
    closed = cases_closed = 0
    for case_type, n in rows:
        closed += n or 0
        if CaseType(case_type).value in LEGAL_AID_TYPES:
            cases_closed += n or 0
    return closed, cases_closed


def _backlog(q: _Query) -> int:
    """Created before the period end, not cancelled, and not resolved by the period end.

    Counted as two ranges of resolved_at (never resolved; resolved after the end), each an index range
    of ix_ticket_resolved_report instead of a scan of every ticket ever created.
    """
    total = 0
    for resolved in (Ticket.resolved_at.is_(None), Ticket.resolved_at >= q.period.end_utc):
        total += (
            q.session.scalar(
                select(func.count()).where(
                    resolved,
                    Ticket.created_at < q.period.end_utc,
                    Ticket.status != TicketStatus.CANCELLED,
                    q.scope,
                )
            )
            or 0
        )
    return total


def _nearest_rank_hours(session: Session, values: Select[Any], expr: Any, count: int, p: float) -> float:
    """The nearest-rank p-quantile of `values` (seconds, ordered by `expr` in the database) in hours."""
    k = max(0, math.ceil(p * count) - 1)
    value = session.scalar(values.order_by(expr).offset(k).limit(1))
    return round(float(value or 0)) / 3600  # whole seconds: julianday arithmetic is not exact


def imported_without_response() -> ColumnElement[bool]:
    """An imported historical ticket: the old system recorded no first response, the importer stored the
    creation time in its place. Reports show "—" for it, not a first response after 0.0 hours (its
    Ticket.first_response_seconds is NULL)."""
    return and_(Ticket.source == "import", Ticket.first_response_at == Ticket.created_at)


@dataclass(frozen=True)
class _DurationKind:
    """One duration figure: its roll-up kind, done and due columns, and the generated seconds column
    (NULL for a ticket that does not count, e.g. an import's placeholder first response)."""

    kind: str
    done: Any
    due: Any
    seconds: Any


FIRST_RESPONSE = _DurationKind(
    "first_response",
    Ticket.first_response_at,
    Ticket.first_response_due,
    Ticket.first_response_seconds,
)
RESOLUTION = _DurationKind("resolution", Ticket.resolved_at, Ticket.resolution_due, Ticket.resolution_seconds)


def _durations(q: _Query, d: _DurationKind) -> Durations:
    """Hours from creation to the done time for tickets done in the period; nearest-rank median and p90.

    Exact without reading the period's tickets: the duration histogram (by bucket, with the SLA figures)
    of the whole UTC days comes from ticket_rollup_duration, the edges' from the ticket table; only the
    bucket holding each rank is then ranked, an index range of the duration (ix_ticket_*_seconds).
    Durations are whole seconds (rounded half away from zero, hotline.db.sqlfuncs.duration_seconds).
    """
    histogram: Counter[int] = Counter()
    result = Durations()
    days, edges = q.split()
    rows: list[Sequence[Any]] = []
    if days is not None:
        r = TicketRollupDuration
        rows += q.session.execute(
            select(r.bucket, func.sum(r.n), func.sum(r.within_sla), func.sum(r.with_due))
            .where(
                r.kind == d.kind,
                r.day >= days[0],
                r.day < days[1],
                q.rollup_scope(r.county_code),
            )
            .group_by(r.bucket)
        ).all()
    bucket = duration_bucket(d.seconds)
    for edge in edges:
        rows += q.session.execute(
            select(
                bucket,
                func.count(),
                func.sum(case((and_(d.due.is_not(None), d.done <= d.due), 1), else_=0)),
                func.count(d.due),
            )
            .where(edge.within(d.done), d.seconds.is_not(None))
            .group_by(bucket)
        ).all()
    for b, n, within, with_due in rows:
        histogram[int(b)] += n or 0
        result.count += n or 0
        result.within_sla += within or 0
        result.with_due += with_due or 0
    if result.count:
        result.median_hours, result.p90_hours = (
            _rank_in_bucket(q, d, sorted(histogram.items()), result.count, p) for p in (0.5, 0.9)
        )
    return result


def _rank_in_bucket(
    q: _Query, d: _DurationKind, histogram: list[tuple[int, int]], count: int, p: float
) -> float:
    """The nearest-rank p-quantile in hours: the bucket holding rank k, then the k-th duration inside it
    (ORDER BY the indexed duration inside the bucket's range, the period and scope filtered from the
    index)."""
    k = max(0, math.ceil(p * count) - 1)
    below = 0
    for bucket, n in histogram:
        if k < below + n:
            lower, upper = bucket_bounds(bucket)
            break
        below += n
    else:
        raise AssertionError("rank beyond the histogram")
    in_bucket = [d.seconds < upper] if upper is not None else []
    if lower is not None:
        in_bucket.append(d.seconds >= lower)
    value = q.session.scalar(
        select(d.seconds)
        .where(*in_bucket, q.in_period(d.done))
        .order_by(d.seconds)
        .offset(k - below)
        .limit(1)
    )
    if value is None:
        raise AssertionError("the roll-up and the ticket table disagree")
    return int(value) / 3600


def _add_ratings(q: _Query, m: ReportMetrics) -> None:
    """Ratings requested in the period: requested, answered, distribution of scores, satisfied."""
    for score, n in q.session.execute(
        select(Rating.score, func.count())
        .where(q.linked_in_period(Rating.requested_at, Rating.ticket_id))
        .group_by(Rating.score)
    ):
        m.ratings_requested += n
        if score is not None:
            m.ratings_answered += n
            m.rating_distribution[int(score)] = n
            if score >= q.config.satisfied_min_score:
                m.satisfied += n


def _review_items(q: _Query) -> dict[str, int]:
    """Review items opened in the period, by reason (complaint, low rating, ...)."""
    return {
        reason: n
        for reason, n in q.session.execute(
            select(ReviewItem.reason, func.count())
            .where(q.linked_in_period(ReviewItem.created_at, ReviewItem.ticket_id))
            .group_by(ReviewItem.reason)
        )
    }


def _review_closure(q: _Query) -> ReviewClosure:
    """低分回访办结率 over low-rating items opened in the period; hours to close for items closed in it."""
    low = and_(
        ReviewItem.reason == "low_rating",
        q.linked_in_period(ReviewItem.created_at, ReviewItem.ticket_id),
    )
    closed_by_end = and_(ReviewItem.closed_at.is_not(None), ReviewItem.closed_at < q.period.end_utc)
    opened, low_closed = q.session.execute(
        select(func.count(), func.sum(case((closed_by_end, 1), else_=0))).select_from(ReviewItem).where(low)
    ).one()
    result = ReviewClosure(low_opened=opened or 0, low_closed=low_closed or 0)
    in_period = q.linked_in_period(ReviewItem.closed_at, ReviewItem.ticket_id)
    result.closed = q.session.scalar(select(func.count()).select_from(ReviewItem).where(in_period)) or 0
    if not result.closed:
        return result
    expr = _seconds(q.session.get_bind().dialect.name, ReviewItem.created_at, ReviewItem.closed_at)

    values = select(expr).where(in_period)
    result.median_hours = _nearest_rank_hours(q.session, values, expr, result.closed, 0.5)
    result.p90_hours = _nearest_rank_hours(q.session, values, expr, result.closed, 0.9)
    return result


def _appointments(
    session: Session, period: Period, counties: Sequence[str] | None, now: dt.datetime | None = None
) -> AppointmentFigures:
    """Bookings, cancellations, attendance and no-shows at the centres in scope (one GROUP BY each)."""
    at = now or utcnow()
    scope = Appointment.county_code.in_(list(counties)) if counties else literal(True)

    def within(column: Any) -> ColumnElement[bool]:
        return and_(column >= period.start_utc, column < period.end_utc, scope)

    result = AppointmentFigures()
    result.booked = (
        session.scalar(
            select(func.count()).where(
                within(Appointment.created_at), Appointment.status != AppointmentStatus.REBOOKED
            )
        )
        or 0
    )
    result.cancelled = (
        session.scalar(
            select(func.count()).where(
                within(Appointment.updated_at), Appointment.status == AppointmentStatus.CANCELLED
            )
        )
        or 0
    )
    past = func.sum(case((Appointment.ends_at <= at, 1), else_=0))
    for status, n_past, n in session.execute(
        select(Appointment.status, past, func.count())
        .where(
            within(Appointment.starts_at),
            Appointment.status.not_in((AppointmentStatus.CANCELLED, AppointmentStatus.REBOOKED)),
        )
        .group_by(Appointment.status)
    ):
        result.due += n
        if status == AppointmentStatus.NO_SHOW:
            result.no_shows += n
        elif status == AppointmentStatus.ATTENDED:
            result.attended += n
        else:  # booked: past and not marked a no-show counts as attended
            result.attended += n_past or 0
    return result


def _calendar_fallback_years(period: Period) -> list[int]:
    """Years of the period the holiday calendar does not cover (business days are then estimated)."""
    calendar = BusinessCalendar()
    last_year = (period.end - dt.timedelta(days=1)).year
    return [y for y in range(period.start.year, last_year + 1) if not calendar.covers(y)]


def yearly_targets(session: Session, settings: Settings, year: int) -> dict[str, int]:
    """County → target for `year`; rows in the `target` table override the configuration file."""
    targets = {c.code: c.targets[year] for c in settings.counties if year in c.targets}
    for row in session.scalars(select(Target).where(Target.year == year)):
        targets[row.county_code] = row.cases
    return targets


def prorated_target(
    session: Session, settings: Settings, period: Period, counties: Sequence[str] | None
) -> tuple[float | None, float | None]:
    """(target for the period, full-year target of the period's first year): yearly target × days/365."""
    total = 0.0
    full_year: float | None = None
    day = period.start
    while day < period.end:
        year_end = dt.date(day.year + 1, 1, 1)
        seg_end = min(year_end, period.end)
        per_county = yearly_targets(session, settings, day.year)
        if counties:
            year_target = float(sum(per_county.get(c, 0) for c in counties))
        else:
            year_target = float(settings.city.targets.get(day.year) or sum(per_county.values()))
        if full_year is None:
            full_year = year_target or None
        days_in_year = (year_end - dt.date(day.year, 1, 1)).days
        total += year_target * (seg_end - day).days / days_in_year
        day = seg_end
    return (total or None), full_year


def compute_metrics(
    session: Session,
    settings: Settings,
    period: Period,
    counties: Sequence[str] | None = None,
    config: ReportsConfig | None = None,
    *,
    with_previous: bool = True,
    use_rollups: bool = True,
) -> ReportMetrics:
    """All figures of one report for the city (counties=None) or the given counties.

    use_rollups=False reads every figure from the ticket table (the definitions; tests compare)."""
    q = _Query(
        session,
        period,
        _scope_filter(counties),
        config or ReportsConfig(),
        tuple(counties or ()),
        use_rollups,
        period.start_utc,
        period.end_utc,
    )
    scope_key, scope_name = _scope_names(settings, counties)
    m = ReportMetrics(period=period, scope=scope_key, scope_name=scope_name)
    _add_new_tickets(q, m)
    _add_left_handoffs(q, m)
    m.kb_review_due_ids = _kb_review_due(session, period)
    m.kb_review_due = len(m.kb_review_due_ids)
    m.closed, m.cases_closed = _closed(q)
    m.backlog = _backlog(q)
    m.first_response = _durations(q, FIRST_RESPONSE)
    m.resolution = _durations(q, RESOLUTION)
    _add_ratings(q, m)
    m.review_items = _review_items(q)
    m.review_closure = _review_closure(q)
    m.target, m.target_year = prorated_target(session, settings, period, counties)
    m.appointments = _appointments(session, period, counties)
    m.calendar_fallback_years = _calendar_fallback_years(period)
    if with_previous:
        m.previous = compute_metrics(
            session,
            settings,
            period.previous(),
            counties,
            q.config,
            with_previous=False,
            use_rollups=use_rollups,
        )
    return m


def bare_aggregate(session: Session, period: Period) -> int:
    """The single cheapest GROUP BY of a report, for the benchmark's overhead comparison."""
    rows = session.execute(
        select(
            Ticket.case_type,
            func.count(),
            func.sum(case((Ticket.migrant_worker.is_(True), 1), else_=0)).cast(Integer),
        )
        .where(Ticket.created_at >= period.start_utc, Ticket.created_at < period.end_utc)
        .group_by(Ticket.case_type)
    ).all()
    return sum(r[1] for r in rows)
