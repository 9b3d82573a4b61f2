"""XLSX workbook: a summary sheet with the report's figures and one row per ticket of the period.

openpyxl's write-only mode streams rows, so a year of tickets does not have to fit in memory as cells.
Every text cell passes `neutralise_cell`: openpyxl stores a string starting with `=` as a live formula,
and a ticket number imported from an old system could be one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db.models import Rating, Ticket
from hotline.reports import texts as T
from hotline.reports.metrics import ReportMetrics
from hotline.sanitise import neutralise_cell


def _hours(value: float | None) -> float | str:
    """A number cell when there is a figure, "—" when nothing was measured (not an empty cell or 0)."""
    return T.NONE if value is None else value


def summary_rows(m: ReportMetrics, county_names: dict[str, str] | None = None) -> list[tuple[str, Any]]:
    names = county_names or {}
    rows: list[tuple[str, Any]] = [
        ("报告", f"{m.scope_name}{T.KIND_TITLES[m.period.kind]}"),
        ("周期", m.period.label),
        ("新增工单", m.new),
        ("其中法律援助案件", m.cases),
        ("其中咨询", m.consultations),
        ("办结", m.closed),
        ("结案率", T.pct(m.closure_rate)),
        ("期末积压", m.backlog),
        ("本期目标（折算）", round(m.target, 1) if m.target else T.NONE),
        ("目标完成率", T.pct(m.target_completion)),
    ]
    rows += [(f"{T.CASE_TYPES[k]}案件", m.by_case_type.get(k, 0)) for k in T.CASE_TYPES]
    rows += [(f"{T.GROUPS[g]}", m.groups.get(g, 0)) for g in T.GROUPS]
    rows += [
        (f"类别：{T.category_label(k)}", v) for k, v in sorted(m.by_category.items(), key=lambda kv: -kv[1])
    ]
    rows += [(f"县区：{names.get(k, k)}", v) for k, v in sorted(m.by_county.items())]
    rows += [(f"资格审查：{T.OUTCOMES.get(k, k)}", v) for k, v in sorted(m.by_outcome.items())]
    rows += [
        ("首次响应中位（小时）", _hours(m.first_response.median_hours)),
        ("首次响应P90（小时）", _hours(m.first_response.p90_hours)),
        ("首次响应按时率", T.pct(m.first_response.compliance)),
        ("办结用时中位（小时）", _hours(m.resolution.median_hours)),
        ("办结用时P90（小时）", _hours(m.resolution.p90_hours)),
        ("办结按时率", T.pct(m.resolution.compliance)),
        ("回访发出", m.ratings_requested),
        ("回访回复", m.ratings_answered),
        ("回复率", T.pct(m.response_rate)),
        ("满意率（4-5分）", T.pct(m.satisfaction_rate)),
    ]
    rows += [(f"评分{s}分", m.rating_distribution.get(s, 0)) for s in range(1, 6)]
    rows += [
        ("投诉", m.complaints),
        ("低分复核", m.review_items.get("low_rating", 0)),
        ("低分回访办结率", T.pct(m.review_closure.low_rate)),
        ("本期办结复核", m.review_closure.closed),
        ("复核办结用时中位（小时）", _hours(m.review_closure.median_hours)),
        ("复核办结用时P90（小时）", _hours(m.review_closure.p90_hours)),
        ("机器人独立办结率", T.pct(m.rate("bot_resolved"))),
        ("未经人工", T.pct(m.rate("bot_only"))),
        ("转人工率", T.pct(m.rate("handoff"))),
        ("兜底回复率", T.pct(m.rate("fallback"))),
    ]
    if m.previous is not None:
        rows += [("上期新增工单", m.previous.new), ("上期办结", m.previous.closed)]
    if m.calendar_fallback_years:
        rows.append(
            ("说明", T.CALENDAR_FALLBACK.format(years="、".join(map(str, m.calendar_fallback_years))))
        )
    return rows


def ticket_rows(
    session: Session,
    start_utc: dt.datetime,
    end_utc: dt.datetime,
    counties: Sequence[str] | None,
    timezone: str,
    county_names: dict[str, str] | None = None,
) -> Iterator[list[Any]]:
    """One row per ticket created in [start, end), in local time, streamed in batches."""
    tz = ZoneInfo(timezone)
    names = county_names or {}

    def local(value: dt.datetime | None) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC).astimezone(tz).replace(tzinfo=None)

    last_score = (
        select(Rating.score)
        .where(Rating.ticket_id == Ticket.id, Rating.score.is_not(None))
        .order_by(Rating.round.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(Ticket, last_score)
        .where(Ticket.created_at >= start_utc, Ticket.created_at < end_utc)
        .order_by(Ticket.created_at, Ticket.id)
        .execution_options(yield_per=2000)
    )
    if counties:
        query = query.where(Ticket.county_code.in_(list(counties)))
    yes = {True: "是", False: "否"}
    for t, score in session.execute(query):
        yield [
            t.number,
            local(t.created_at),
            names.get(t.county_code or "", t.county_code),
            T.category_label(t.category),
            T.CASE_TYPES.get(str(t.case_type), str(t.case_type)),
            T.STATUS.get(str(t.status), str(t.status)),
            T.PRIORITY.get(t.priority, t.priority),
            yes[bool(t.migrant_worker)],
            yes[bool(t.disabled)],
            yes[bool(t.minor)],
            yes[bool(t.elderly)],
            yes[bool(t.women)],
            T.NONE if _imported_without_response(t) else local(t.first_response_at),
            local(t.resolved_at),
            local(t.first_response_due),
            local(t.resolution_due),
            T.OUTCOMES.get(t.eligibility_outcome or "", t.eligibility_outcome),
            yes[bool(t.handled_by_bot_only)],
            yes[bool(t.handoff_requested)],
            score,
        ]


def _imported_without_response(t: Ticket) -> bool:
    """The per-ticket twin of metrics.imported_without_response (placeholder first response of an import)."""
    return t.source == "import" and t.first_response_at == t.created_at


def _safe(row: Sequence[Any]) -> list[Any]:
    return [neutralise_cell(v) if isinstance(v, str) else v for v in row]


def write_workbook(
    session: Session,
    m: ReportMetrics,
    path: Path,
    counties: Sequence[str] | None,
    county_names: dict[str, str] | None = None,
    notes: Sequence[str] = (),
) -> Path:
    """`notes`: warnings the report carries besides its figures (e.g. an out-of-date 低保 table)."""
    wb = Workbook(write_only=True)
    summary = wb.create_sheet(T.XLSX_SUMMARY_SHEET)
    summary.append(["指标", "数值"])
    for label, value in [*summary_rows(m, county_names), *(("说明", note) for note in notes)]:
        summary.append(_safe([label, value]))
    sheet = wb.create_sheet(T.XLSX_TICKETS_SHEET)
    sheet.append(T.XLSX_TICKET_HEADERS)
    for row in ticket_rows(
        session, m.period.start_utc, m.period.end_utc, counties, m.period.timezone, county_names
    ):
        sheet.append(_safe(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
