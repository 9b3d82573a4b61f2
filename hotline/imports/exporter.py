"""Export tickets of a period in the import format (so an export can be corrected and re-imported).

An export leaves the system's access control, so by default it carries no personal data: descriptions
have phone, ID and card numbers masked (`mask_pii`). Only an active admin may export clear text, and each
exported ticket then gets an audit event, committed before the file appears. Every cell is neutralised
against formula injection (`neutralise_cell`); the importer takes that mark off again.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db.models import Operator, OperatorRole, Ticket, TicketEvent, utcnow
from hotline.imports.columns import EXPORT_HEADER, STATUS_WORDS
from hotline.privacy import mask_pii
from hotline.reports.texts import CASE_TYPES
from hotline.sanitise import neutralise_cell
from hotline.settings import Settings

log = logging.getLogger(__name__)

_STATUS_LABEL = {v: k for k, v in STATUS_WORDS.items()}
CLEAR_TEXT_EVENT = "exported_clear_text"


class ExportRefused(Exception):
    """A clear-text export asked for by someone who is not an active admin; Chinese message."""


def export_rows(
    session: Session,
    settings: Settings,
    start_utc: dt.datetime,
    end_utc: dt.datetime,
    counties: Sequence[str] | None = None,
    *,
    clear_text: bool = False,
) -> Iterator[list[str]]:
    """Rows in EXPORT_HEADER order, formula-safe; descriptions masked unless `clear_text`."""
    for _ticket_id, row in _export_tickets(session, settings, start_utc, end_utc, counties, clear_text):
        yield row


def _export_tickets(
    session: Session,
    settings: Settings,
    start_utc: dt.datetime,
    end_utc: dt.datetime,
    counties: Sequence[str] | None,
    clear_text: bool,
) -> Iterator[tuple[int, list[str]]]:
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
        description = t.description if clear_text else mask_pii(t.description)
        row = [
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
            description,
        ]
        yield t.id, [neutralise_cell(cell) for cell in row]


def _check_clear_text(operator: Operator) -> None:
    if not operator.active or OperatorRole(operator.role) is not OperatorRole.ADMIN:
        raise ExportRefused(f"只有在岗的管理员可以导出明文（#{operator.id} {operator.name} 不是管理员）")


def export_file(
    session: Session,
    settings: Settings,
    path: Path,
    start_utc: dt.datetime,
    end_utc: dt.datetime,
    counties: Sequence[str] | None = None,
    *,
    clear_text_by: Operator | None = None,
) -> int:
    """Write the export (CSV or XLSX by suffix) and return the number of tickets.

    With `clear_text_by` (an active admin, else ExportRefused) descriptions are not masked; the audit
    events are committed in `session` before the file is moved into place, so no clear-text file exists
    without its audit trail. The file is written next to `path` first, so a failure leaves no half file.
    """
    clear_text = clear_text_by is not None
    if clear_text_by is not None:
        _check_clear_text(clear_text_by)
    exported: list[int] = []
    rows = _export_tickets(session, settings, start_utc, end_utc, counties, clear_text)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    try:
        if path.suffix.lower() == ".xlsx":
            from openpyxl import Workbook

            wb = Workbook(write_only=True)
            sheet = wb.create_sheet("工单")
            sheet.append(EXPORT_HEADER)
            for ticket_id, row in rows:
                sheet.append(row)
                exported.append(ticket_id)
            wb.save(part)
        else:
            with part.open("w", encoding="utf-8-sig", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(EXPORT_HEADER)
                for ticket_id, row in rows:
                    writer.writerow(row)
                    exported.append(ticket_id)
        if clear_text_by is not None:
            _audit_clear_text(session, clear_text_by, exported, path)
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)
    return len(exported)


def _audit_clear_text(session: Session, admin: Operator, ticket_ids: list[int], path: Path) -> None:
    """One event per exported ticket (who, when, which file). Written directly rather than through
    tickets.service.record_event: reading a ticket is not a change, so its updated_at stays."""
    at = utcnow()
    actor = f"operator:{admin.id}"
    session.add_all(
        TicketEvent(
            ticket_id=ticket_id, kind=CLEAR_TEXT_EVENT, actor=actor, data={"file": path.name}, created_at=at
        )
        for ticket_id in ticket_ids
    )
    session.commit()
    log.warning("clear-text export by %s: %d tickets -> %s", actor, len(ticket_ids), path)
