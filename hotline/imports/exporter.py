"""Export tickets of a period in the import format (so an export can be corrected and re-imported)."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db.models import Ticket
from hotline.imports.columns import EXPORT_HEADER, STATUS_WORDS
from hotline.reports.texts import CASE_TYPES
from hotline.settings import Settings

_STATUS_LABEL = {v: k for k, v in STATUS_WORDS.items()}


def export_rows(
    session: Session,
    settings: Settings,
    start_utc: dt.datetime,
    end_utc: dt.datetime,
    counties: Sequence[str] | None = None,
) -> Iterator[list[str]]:
    tz = ZoneInfo(settings.city.timezone)
    names = settings.county_names

    def local(value: dt.datetime | None) -> str:
        if value is None:
            return ""
        return value.replace(tzinfo=dt.UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M")

    query = select(Ticket).where(Ticket.created_at >= start_utc, Ticket.created_at < end_utc)
    if counties:
        query = query.where(Ticket.county_code.in_(list(counties)))
    yes = {True: "是", False: "否"}
    for t in session.scalars(query.order_by(Ticket.created_at, Ticket.id).execution_options(yield_per=2000)):
        yield [
            local(t.created_at),
            names.get(t.county_code or "", t.county_code or ""),
            t.category,
            CASE_TYPES.get(str(t.case_type), str(t.case_type)),
            _STATUS_LABEL.get(str(t.status), str(t.status)),
            local(t.resolved_at),
            t.number,
            yes[t.priority == "urgent"],
            yes[bool(t.migrant_worker)],
            yes[bool(t.disabled)],
            yes[bool(t.minor)],
            yes[bool(t.elderly)],
            yes[bool(t.women)],
            t.description,
        ]


def export_file(
    session: Session,
    settings: Settings,
    path: Path,
    start_utc: dt.datetime,
    end_utc: dt.datetime,
    counties: Sequence[str] | None = None,
) -> int:
    rows = export_rows(session, settings, start_utc, end_utc, counties)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        sheet = wb.create_sheet("工单")
        sheet.append(EXPORT_HEADER)
        for row in rows:
            sheet.append(row)
            count += 1
        wb.save(path)
        return count
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(EXPORT_HEADER)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count
