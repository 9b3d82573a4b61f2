"""What the annual draft's 二、存在的问题 and 三、下一步工作打算 are written from: the data-driven findings.

The figures come from SQL aggregates (GROUP BY in the database) like metrics.py; the wording is not here
but in the bureau's editable template (templates/annual_draft.docx, see docs/operations.md). Definitions:
- below target: legal-aid cases of the year per county / the county's yearly target, below 100%.
- overdue (逾期): tickets created in the period that have a resolution due time, not cancelled, and were
  resolved after it or were still open when it passed before the period end. Rate = overdue / with due.
- lowest satisfaction: categories whose 满意率 (scores >= satisfied_min_score / answered, ratings requested
  in the period) is below the overall rate, among categories with at least `findings_min_ratings` answers.
- open review items: follow-up review items opened before the period end and not closed by then.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from hotline.db.models import Rating, ReviewItem, Ticket, TicketStatus
from hotline.reports.config import ReportsConfig
from hotline.reports.metrics import ReportMetrics, _scope_filter, share, yearly_targets
from hotline.settings import Settings


@dataclass(frozen=True)
class CountyTarget:
    code: str
    cases: int
    target: int

    @property
    def completion(self) -> float:
        return self.cases / self.target


@dataclass(frozen=True)
class CountyOverdue:
    code: str
    late: int
    total: int

    @property
    def rate(self) -> float:
        return self.late / self.total


@dataclass(frozen=True)
class CategorySatisfaction:
    category: str
    satisfied: int
    answered: int

    @property
    def rate(self) -> float:
        return self.satisfied / self.answered


@dataclass
class Findings:
    below_target: list[CountyTarget] = field(default_factory=list)  # lowest completion first
    without_target: list[str] = field(default_factory=list)  # county codes with no target for the year
    overdue: list[CountyOverdue] = field(default_factory=list)  # highest rate first, only late > 0
    overdue_late: int = 0
    overdue_total: int = 0
    low_satisfaction: list[CategorySatisfaction] = field(default_factory=list)  # lowest first
    open_reviews: dict[str, int] = field(default_factory=dict)  # reason -> open at the period end
    oldest_review_days: int | None = None

    @property
    def overdue_rate(self) -> float | None:
        return share(self.overdue_late, self.overdue_total)


def _below_target(
    session: Session, settings: Settings, m: ReportMetrics, counties: Sequence[str] | None
) -> tuple[list[CountyTarget], list[str]]:
    targets = yearly_targets(session, settings, m.period.start.year)
    below: list[CountyTarget] = []
    missing: list[str] = []
    for county in settings.counties:
        if counties and county.code not in counties:
            continue
        target = targets.get(county.code)
        if not target:
            missing.append(county.code)
            continue
        row = CountyTarget(county.code, m.cases_by_county.get(county.code, 0), target)
        if row.completion < 1:
            below.append(row)
    return sorted(below, key=lambda r: (r.completion, r.code)), missing


def _overdue(session: Session, m: ReportMetrics, counties: Sequence[str] | None) -> list[CountyOverdue]:
    p = m.period
    due = Ticket.resolution_due
    late = or_(
        and_(Ticket.resolved_at.is_not(None), Ticket.resolved_at > due),
        and_(Ticket.resolved_at.is_(None), due < p.end_utc),
    )
    rows = session.execute(
        select(Ticket.county_code, func.count(), func.sum(case((late, 1), else_=0)))
        .where(
            Ticket.created_at >= p.start_utc,
            Ticket.created_at < p.end_utc,
            due.is_not(None),
            Ticket.status != TicketStatus.CANCELLED,
            _scope_filter(counties),
        )
        .group_by(Ticket.county_code)
    ).all()
    return [CountyOverdue(code or "未知", int(n_late or 0), int(n)) for code, n, n_late in rows]


def _satisfaction(
    session: Session, m: ReportMetrics, counties: Sequence[str] | None, config: ReportsConfig
) -> list[CategorySatisfaction]:
    p = m.period
    rows = session.execute(
        select(
            Ticket.category,
            func.count(),
            func.sum(case((Rating.score >= config.satisfied_min_score, 1), else_=0)),
        )
        .join(Ticket, Ticket.id == Rating.ticket_id)
        .where(
            Rating.requested_at >= p.start_utc,
            Rating.requested_at < p.end_utc,
            Rating.score.is_not(None),
            _scope_filter(counties),
        )
        .group_by(Ticket.category)
    ).all()
    return [CategorySatisfaction(cat, int(sat or 0), int(n)) for cat, n, sat in rows]


def _open_reviews(
    session: Session, m: ReportMetrics, counties: Sequence[str] | None
) -> tuple[dict[str, int], int | None]:
    end = m.period.end_utc
    open_at_end = and_(
        ReviewItem.created_at < end,
        or_(ReviewItem.closed_at.is_(None), ReviewItem.closed_at >= end),
        _scope_filter(counties),
    )
    counts: Counter[str] = Counter()
    oldest = None
    for reason, n, first in session.execute(
        select(ReviewItem.reason, func.count(), func.min(ReviewItem.created_at))
        .join(Ticket, Ticket.id == ReviewItem.ticket_id)
        .where(open_at_end)
        .group_by(ReviewItem.reason)
    ):
        counts[reason] += n
        oldest = first if oldest is None or first < oldest else oldest
    return dict(counts), (end - oldest).days if oldest is not None else None


def compute_findings(
    session: Session, settings: Settings, m: ReportMetrics, counties: Sequence[str] | None = None
) -> Findings:
    config = settings.reports
    f = Findings()
    f.below_target, f.without_target = _below_target(session, settings, m, counties)
    overdue = _overdue(session, m, counties)
    f.overdue_late = sum(r.late for r in overdue)
    f.overdue_total = sum(r.total for r in overdue)
    f.overdue = sorted((r for r in overdue if r.late), key=lambda r: (-r.rate, r.code))
    overall = m.satisfaction_rate
    categories = [
        c for c in _satisfaction(session, m, counties, config) if c.answered >= config.findings_min_ratings
    ]
    f.low_satisfaction = sorted(
        (c for c in categories if overall is not None and c.rate < overall),
        key=lambda c: (c.rate, c.category),
    )
    f.open_reviews, f.oldest_review_days = _open_reviews(session, m, counties)
    return f
