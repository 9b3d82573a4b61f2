"""Import historical cases: validate every row first, then write all of them in one transaction.

A file with any bad row writes nothing and returns every problem with its line number, so the clerk fixes
the spreadsheet once instead of discovering errors one import at a time.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from tqdm import tqdm

from hotline.db.models import Ticket, TicketEvent, TicketStatus
from hotline.imports.columns import (
    CASE_TYPE_WORDS,
    COLUMNS,
    FALSE_WORDS,
    FLAGS,
    REQUIRED,
    STATUS_WORDS,
    TRUE_WORDS,
)
from hotline.settings import Settings
from hotline.tickets.service import next_ticket_number


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"第{self.line}行【{self.column}】{self.message}"


class ImportFailed(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__(f"导入失败，共{len(errors)}处错误，未写入任何数据")


@dataclass
class ImportResult:
    rows: int = 0
    numbers: list[str] = field(default_factory=list)


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {header: cell}) for CSV or XLSX; header on line 1."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        rows = wb.worksheets[0].iter_rows(values_only=True)
        header = [str(h or "").strip() for h in next(rows, ())]
        for line, values in enumerate(rows, start=2):
            cells = [
                "" if v is None else (v.strftime("%Y-%m-%d %H:%M") if isinstance(v, dt.datetime) else str(v))
                for v in values
            ]
            if any(c.strip() for c in cells):
                yield line, dict(zip(header, cells, strict=False))
        wb.close()
        return
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]
        for values in reader:
            if any(v.strip() for v in values):
                yield reader.line_num, dict(zip(header, values, strict=False))


def _get(row: dict[str, str], key: str) -> str:
    for name in COLUMNS[key]:
        if name in row:
            return (row[name] or "").strip()
    return ""


def _parse_time(text: str) -> dt.datetime | None:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


class Importer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tz = ZoneInfo(settings.city.timezone)
        try:
            from hotline.categories import BY_CODE

            self.categories = {c.code: c.code for c in BY_CODE.values()} | {
                c.label: c.code for c in BY_CODE.values()
            }
        except ImportError:  # pragma: no cover - categories module is part of the app
            self.categories = {}

    def _utc(self, local: dt.datetime) -> dt.datetime:
        return local.replace(tzinfo=self.tz).astimezone(dt.UTC).replace(tzinfo=None)

    def parse(self, line: int, row: dict[str, str], errors: list[RowError]) -> dict[str, Any] | None:
        before = len(errors)

        def err(key: str, message: str) -> None:
            errors.append(RowError(line, COLUMNS[key][0], message))

        for key in REQUIRED:
            if not _get(row, key):
                err(key, "不能为空")
        if len(errors) > before:
            return None
        created = _parse_time(_get(row, "created_at"))
        if created is None:
            err(
                "created_at",
                f"日期格式无法识别：{_get(row, 'created_at')}（应为 2019-03-01 或 2019-03-01 09:30）",
            )
        county = self.settings.county_by_name(_get(row, "county"))
        if county is None:
            err("county", f"未知县区：{_get(row, 'county')}")
        category = _get(row, "category")
        if self.categories and category not in self.categories:
            err("category", f"未知类别：{category}")
        case_type = CASE_TYPE_WORDS.get(_get(row, "case_type").lower())
        if case_type is None:
            err("case_type", f"案件类型应为 民事/刑事/行政/咨询：{_get(row, 'case_type')}")
        resolved = None
        if _get(row, "resolved_at"):
            resolved = _parse_time(_get(row, "resolved_at"))
            if resolved is None:
                err("resolved_at", f"日期格式无法识别：{_get(row, 'resolved_at')}")
            elif created is not None and resolved < created:
                err("resolved_at", "结案日期早于受理日期")
        status_text = _get(row, "status")
        status = STATUS_WORDS.get(status_text, status_text if status_text in set(TicketStatus) else None)
        if status_text and status is None:
            err("status", f"未知状态：{status_text}")
        status = status or ("closed" if resolved else "new")
        flags: dict[str, bool] = {}
        for key in (*FLAGS, "urgent"):
            value = _get(row, key).lower()
            if value in TRUE_WORDS:
                flags[key] = True
            elif value in FALSE_WORDS:
                flags[key] = False
            else:
                err(key, f"应为 是/否：{value}")
        if len(errors) > before or created is None or county is None or case_type is None:
            return None
        created_utc = self._utc(created)
        resolved_utc = self._utc(resolved) if resolved else None
        return {
            "number": _get(row, "number") or None,
            "local_day": created.date(),
            "source": "import",
            "category": self.categories.get(category, category),
            "case_type": case_type,
            "county_code": county.code,
            "status": status,
            "priority": "urgent" if flags.pop("urgent") else "normal",
            "description": _get(row, "description"),
            "facts": {"imported_line": line},
            "eligibility_reasons": [],
            "eligibility_articles": [],
            "handled_by_bot_only": False,
            "created_at": created_utc,
            "updated_at": resolved_utc or created_utc,
            "first_response_at": created_utc,
            "resolved_at": resolved_utc if status in ("resolved", "closed", "referred") else None,
            "closed_at": resolved_utc if status == "closed" else None,
            **flags,
        }

    def run(
        self, session: Session, path: Path, *, progress: bool = False, dry_run: bool = False
    ) -> ImportResult:
        """Validate all rows; raise ImportFailed (nothing written) or add everything to `session`."""
        errors: list[RowError] = []
        parsed: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        rows = read_rows(path)
        for line, row in tqdm(rows, desc="校验", unit="行", disable=not progress):
            data = self.parse(line, row, errors)
            if data is None:
                continue
            number = data["number"]
            if number:
                if number in seen:
                    errors.append(RowError(line, "编号", f"与第{seen[number]}行重复：{number}"))
                seen[number] = line
            parsed.append(data)
        if seen:
            existing = set(session.scalars(select(Ticket.number).where(Ticket.number.in_(list(seen)))))
            errors += [RowError(seen[n], "编号", f"系统中已存在：{n}") for n in sorted(existing)]
        if not parsed and not errors:
            errors.append(RowError(1, "表头", "文件中没有数据行"))
        if errors:
            raise ImportFailed(sorted(errors, key=lambda e: e.line))
        result = ImportResult(rows=len(parsed))
        if dry_run:
            return result
        for data in tqdm(parsed, desc="写入", unit="行", disable=not progress):
            local_day = data.pop("local_day")
            data["number"] = data["number"] or next_ticket_number(
                session, self.settings.city.ticket_prefix, local_day
            )
            ticket = Ticket(**data)
            session.add(ticket)
            session.flush()
            session.add(
                TicketEvent(
                    ticket_id=ticket.id,
                    kind="created",
                    actor="import",
                    to_status=data["status"],
                    data={"line": data["facts"]["imported_line"]},
                    created_at=data["created_at"],
                )
            )
            result.numbers.append(data["number"])
        session.flush()
        return result


def import_file(session: Session, settings: Settings, path: Path, **kwargs: Any) -> ImportResult:
    return Importer(settings).run(session, Path(path), **kwargs)
