"""Report figures computed with SQL aggregates (GROUP BY in the database), never Python loops over tickets.

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
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, case, cast, func, literal, or_, select
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
    TicketStatus,
    utcnow,
)
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
    """What every builder below filters on: the database, the period and the counties in scope."""

    session: Session
    period: Period
    scope: ColumnElement[bool]
    config: ReportsConfig

    def within(self, column: Any) -> ColumnElement[bool]:
        """`column` falls in the period, for a ticket in scope."""
        return and_(column >= self.period.start_utc, column < self.period.end_utc, self.scope)


def _scope_names(settings: Settings, counties: Sequence[str] | None) -> tuple[str, str]:
    """(key, display name) of the report's scope: "city", one county's code, or several codes."""
    if not counties:
        return "city", settings.city.name
    if len(counties) == 1:
        county = next((c for c in settings.counties if c.code == counties[0]), None)
        return counties[0], county.name if county else counties[0]
    return ",".join(counties), "、".join(counties)


def _add_new_tickets(q: _Query, m: ReportMetrics) -> None:
    """Tickets created in the period: counts by type/category/county/outcome, groups, bot figures.

    One GROUP BY, read from the covering index ix_ticket_created_report (no row is read); the flag columns
    are summed in the database, the few groups folded here. The figures from the JSON facts (fallbacks,
    knowledge-base answers) need the rows: `_add_facts` reads them in one pass without sorting.
    """
    rows = q.session.execute(
        select(
            Ticket.county_code,
            Ticket.case_type,
            Ticket.category,
            Ticket.eligibility_outcome,
            func.count(),
            *[_flag(getattr(Ticket, g)) for g in GROUPS],
            _flag(Ticket.handled_by_bot_only),
            _flag(Ticket.handoff_requested),
        )
        .where(q.within(Ticket.created_at))
        .group_by(Ticket.county_code, Ticket.case_type, Ticket.category, Ticket.eligibility_outcome)
    ).all()
    by_type: Counter[str] = Counter()
    by_cat: Counter[str] = Counter()
    by_county: Counter[str] = Counter()
    cases_by_county: Counter[str] = Counter()
    by_outcome: Counter[str] = Counter()
    groups: Counter[str] = Counter()
    case_groups: Counter[str] = Counter()
    complaint_cats = set(q.config.complaint_categories)
    for county_code, case_type, category, outcome, n, *rest in rows:
        ct = CaseType(case_type).value
        flags, (bot, handoff) = rest[: len(GROUPS)], rest[len(GROUPS) :]
        m.new += n
        by_type[ct] += n
        by_cat[category] += n
        by_county[county_code or "未知"] += n
        if ct in LEGAL_AID_TYPES:
            cases_by_county[county_code or "未知"] += n
        by_outcome[outcome or "未评估"] += n
        for g, v in zip(GROUPS, flags, strict=True):
            groups[g] += v or 0
            if ct in LEGAL_AID_TYPES:
                case_groups[g] += v or 0
        m.bot_only += bot or 0
        m.handoffs += handoff or 0
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
            q.within(Ticket.created_at),
        )
    )
    m.handoffs += left or 0


def _add_facts(q: _Query, m: ReportMetrics) -> None:
    """Figures of new tickets kept in their JSON facts, in one ungrouped pass over the period's rows:
    fallback tickets and fallbacks, and inquiries the bot resolved with a confirmed knowledge-base answer."""
    fallbacks = func.coalesce(Ticket.facts["fallbacks"].as_integer(), 0)
    fb_tickets, fb_total, resolved = q.session.execute(
        select(
            func.sum(case((fallbacks > 0, 1), else_=0)),
            func.sum(fallbacks),
            func.count(Ticket.facts[FAQ_FACT].as_string()),
        ).where(q.within(Ticket.created_at))
    ).one()
    m.fallback_tickets, m.fallbacks_total, m.bot_resolved = fb_tickets or 0, fb_total or 0, resolved or 0


def _kb_review_due(session: Session, period: Period) -> list[str]:
    """Ids of the served knowledge-base entries whose review date has come by the period's last day."""
    return [e.id for e in served_kb(session).overdue(period.end - dt.timedelta(days=1))]


def _closed(q: _Query) -> tuple[int, int]:
    """(all tickets, legal-aid cases) resolved, referred or closed in the period."""
    closed = cases_closed = 0
    for case_type, n in q.session.execute(
        select(Ticket.case_type, func.count()).where(q.within(Ticket.resolved_at)).group_by(Ticket.case_type)
    ):
        closed += n
        if CaseType(case_type).value in LEGAL_AID_TYPES:
            cases_closed += n
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


HOUR_BUCKET = 3600  # seconds per bucket of the duration histogram


def imported_without_response() -> ColumnElement[bool]:
    """An imported historical ticket: the old system recorded no first response, the importer stored the
    creation time in its place. Reports show "—" for it, not a first response after 0.0 hours."""
    return and_(Ticket.source == "import", Ticket.first_response_at == Ticket.created_at)


def _durations(
    q: _Query, done_col: Any, due_col: Any, exclude: ColumnElement[bool] | None = None
) -> Durations:
    """Hours from creation to `done_col` for tickets done in the period; nearest-rank median and p90.

    Exact without sorting the whole period: one scan (index-only with ix_ticket_*_report) counts the
    tickets per hour of duration along with the SLA figures; only the buckets holding the two ranks are
    then ranked (`_ranks_in_buckets`). The old way, ORDER BY … OFFSET k twice, sorted ~900k values twice
    for the annual report of a 1M-ticket year.
    """
    in_period = q.within(done_col) if exclude is None else and_(q.within(done_col), ~exclude)
    expr = _seconds(q.session.get_bind().dialect.name, Ticket.created_at, done_col)
    bucket = _bucket(expr)
    histogram: list[tuple[int, int]] = []
    result = Durations()
    for b, n, within, with_due in q.session.execute(
        select(
            bucket,
            func.count(),
            func.sum(case((and_(due_col.is_not(None), done_col <= due_col), 1), else_=0)),
            func.count(due_col),
        )
        .where(in_period)
        .group_by(bucket)
        .order_by(bucket)
    ):
        histogram.append((int(b), n))
        result.count += n
        result.within_sla += within or 0
        result.with_due += with_due or 0
    if not result.count:
        return result
    result.median_hours, result.p90_hours = _ranks_in_buckets(
        q.session, in_period, expr, histogram, result.count, (0.5, 0.9)
    )
    return result


def _bucket(seconds: ColumnElement[Any]) -> ColumnElement[int]:
    """A duration's hour bucket: non-decreasing in the duration, so buckets in order are values in order
    (integer division truncates toward zero: bucket 0 spans (-1 h, 1 h), which keeps the order)."""
    return cast(seconds, Integer) // HOUR_BUCKET


def _ranks_in_buckets(
    session: Session,
    in_period: ColumnElement[bool],
    expr: Any,
    histogram: list[tuple[int, int]],
    count: int,
    quantiles: tuple[float, float],
) -> tuple[float, float]:
    """Nearest-rank quantiles in hours: find the bucket of each rank k, then rank only those buckets'
    values (one query: row_number within the bucket)."""
    wanted: dict[int, list[int]] = {}  # bucket -> positions (1-based) inside it, per quantile in order
    where: list[tuple[int, int]] = []
    for p in quantiles:
        k = max(0, math.ceil(p * count) - 1)
        below = 0
        for b, n in histogram:
            if k < below + n:
                wanted.setdefault(b, []).append(k - below + 1)
                where.append((b, k - below + 1))
                break
            below += n
        else:
            raise AssertionError("rank beyond the histogram")
    bucket = _bucket(expr)
    ranked = (
        select(
            bucket.label("b"),
            expr.label("v"),
            func.row_number().over(partition_by=bucket, order_by=expr).label("rn"),
        )
        .where(in_period, bucket.in_(list(wanted)))
        .subquery()
    )
    found = {
        (int(b), int(rn)): v
        for b, rn, v in session.execute(
            select(ranked.c.b, ranked.c.rn, ranked.c.v).where(
                or_(*[and_(ranked.c.b == b, ranked.c.rn == rn) for b, rn in where])
            )
        )
    }
    # whole seconds: julianday arithmetic is not exact
    first, second = (round(float(found[spot] or 0)) / 3600 for spot in where)
    return first, second


def _add_ratings(q: _Query, m: ReportMetrics) -> None:
    """Ratings requested in the period: requested, answered, distribution of scores, satisfied."""
    for score, n in q.session.execute(
        select(Rating.score, func.count())
        .join(Ticket, Ticket.id == Rating.ticket_id)
        .where(q.within(Rating.requested_at))
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
            .join(Ticket, Ticket.id == ReviewItem.ticket_id)
            .where(q.within(ReviewItem.created_at))
            .group_by(ReviewItem.reason)
        )
    }


def _review_closure(q: _Query) -> ReviewClosure:
    """低分回访办结率 over low-rating items opened in the period; hours to close for items closed in it."""
    low = and_(ReviewItem.reason == "low_rating", q.within(ReviewItem.created_at))
    closed_by_end = and_(ReviewItem.closed_at.is_not(None), ReviewItem.closed_at < q.period.end_utc)
    opened, low_closed = q.session.execute(
        select(func.count(), func.sum(case((closed_by_end, 1), else_=0)))
        .select_from(ReviewItem)
        .join(Ticket, Ticket.id == ReviewItem.ticket_id)
        .where(low)
    ).one()
    result = ReviewClosure(low_opened=opened or 0, low_closed=low_closed or 0)
    in_period = q.within(ReviewItem.closed_at)
    result.closed = (
        q.session.scalar(
            select(func.count())
            .select_from(ReviewItem)
            .join(Ticket, Ticket.id == ReviewItem.ticket_id)
            .where(in_period)
        )
        or 0
    )
    if not result.closed:
        return result
    expr = _seconds(q.session.get_bind().dialect.name, ReviewItem.created_at, ReviewItem.closed_at)

    values = select(expr).join(Ticket, Ticket.id == ReviewItem.ticket_id).where(in_period)
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
) -> ReportMetrics:
    """All figures of one report for the city (counties=None) or the given counties."""
    q = _Query(session, period, _scope_filter(counties), config or ReportsConfig())
    scope_key, scope_name = _scope_names(settings, counties)
    m = ReportMetrics(period=period, scope=scope_key, scope_name=scope_name)
    _add_new_tickets(q, m)
    _add_left_handoffs(q, m)
    _add_facts(q, m)
    m.kb_review_due_ids = _kb_review_due(session, period)
    m.kb_review_due = len(m.kb_review_due_ids)
    m.closed, m.cases_closed = _closed(q)
    m.backlog = _backlog(q)
    m.first_response = _durations(
        q, Ticket.first_response_at, Ticket.first_response_due, imported_without_response()
    )
    m.resolution = _durations(q, Ticket.resolved_at, Ticket.resolution_due)
    _add_ratings(q, m)
    m.review_items = _review_items(q)
    m.review_closure = _review_closure(q)
    m.target, m.target_year = prorated_target(session, settings, period, counties)
    m.appointments = _appointments(session, period, counties)
    m.calendar_fallback_years = _calendar_fallback_years(period)
    if with_previous:
        m.previous = compute_metrics(
            session, settings, period.previous(), counties, q.config, with_previous=False
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
