"""Import historical cases: validate every row first, then write all of them in one transaction.

A file with any bad row writes nothing and returns every problem with its line number, so the clerk fixes
the spreadsheet once instead of discovering errors one import at a time. Everything that could fail while
writing is checked while validating, so `--dry-run` finds it too: unreadable files and encodings, cells
too long for their column, and 编号 that collide with existing or automatically generated numbers.

CSV files may be UTF-8 (with or without BOM) or GBK/GB18030, which is what Excel writes on Chinese Windows.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from tqdm import tqdm

from hotline.db.models import Ticket, TicketCounter, TicketEvent, TicketStatus
from hotline.imports.columns import (
    CASE_TYPE_WORDS,
    COLUMNS,
    FALSE_WORDS,
    FLAGS,
    REQUIRED,
    STATUS_WORDS,
    TRUE_WORDS,
)
from hotline.sanitise import restore_cell, sanitise_text
from hotline.settings import Settings
from hotline.tickets.service import next_ticket_number


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        # Messages quote the bad cell: a 100,000-character cell is shown by its beginning.
        message = self.message if len(self.message) <= 200 else self.message[:200] + "…"
        if self.line <= 0:  # the file as a whole (encoding, format)
            return f"【{self.column}】{message}"
        return f"第{self.line}行【{self.column}】{message}"


class ImportFailed(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__(f"导入失败，共{len(errors)}处错误，未写入任何数据")


# Longest accepted cell per column: the database column's size, or a sane cap for free text.
MAX_NUMBER_CHARS: int = getattr(Ticket.__table__.c.number.type, "length", None) or 32
MAX_DESCRIPTION_CHARS = 20_000
_FILE = "文件"
_ENCODINGS = ("utf-8-sig", "gb18030")  # GB18030 is a superset of GBK and GB2312
_ENCODING_HELP = "文件编码无法识别：请在 Excel 中另存为“CSV UTF-8（逗号分隔）”或 GBK 编码的 CSV"


class _Unreadable(Exception):
    def __init__(self, line: int, message: str) -> None:
        self.error = RowError(line, _FILE, message)
        super().__init__(message)


@dataclass
class ImportResult:
    rows: int = 0
    numbers: list[str] = field(default_factory=list)


def detect_encoding(path: Path) -> str:
    """The first of UTF-8 and GB18030 that decodes the whole file (read in chunks, not into memory)."""
    for encoding in _ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise _Unreadable(0, _ENCODING_HELP)


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {header: cell}) for CSV or XLSX; header on line 1. Raises _Unreadable."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        yield from _read_xlsx(path)
        return
    encoding = detect_encoding(path)
    with path.open(encoding=encoding, newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader, [])]
            for values in reader:
                if any(v.strip() for v in values):
                    yield reader.line_num, dict(zip(header, values, strict=False))
        except csv.Error as exc:  # e.g. a cell beyond csv's field size limit (131,072 characters)
            raise _Unreadable(max(reader.line_num, 2), f"无法读取（单元格过长或引号不配对）：{exc}") from exc


# What a damaged or fake XLSX raises from zipfile, zlib and the XML parsers (their errors are SyntaxErrors).
_XLSX_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    KeyError,
    IndexError,
    SyntaxError,
)


def _read_xlsx(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except _XLSX_ERRORS as exc:
        raise _Unreadable(0, f"不是有效的 XLSX 文件：{exc}") from exc
    # Read-only mode inflates and parses the sheet while iterating: a damaged archive fails here, not above
    # (fuzz finding: a corrupted deflate stream escaped as zlib.error with a traceback).
    line = 1
    try:
        rows = wb.worksheets[0].iter_rows(values_only=True)
        header = [str(h or "").strip() for h in next(rows, ())]
        for line, values in enumerate(rows, start=2):
            cells = [
                "" if v is None else (v.strftime("%Y-%m-%d %H:%M") if isinstance(v, dt.datetime) else str(v))
                for v in values
            ]
            if any(c.strip() for c in cells):
                yield line, dict(zip(header, cells, strict=False))
    except _XLSX_ERRORS as exc:
        raise _Unreadable(line, f"不是有效的 XLSX 文件（文件已损坏）：{exc}") from exc
    finally:
        wb.close()


def _get(row: dict[str, str], key: str) -> str:
    for name in COLUMNS[key]:
        if name in row:
            # An export marks cells starting with = + - @ as text ('=…); re-importing takes the mark off.
            return restore_cell((row[name] or "").strip())
    return ""


_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
)
_YEARS = range(1949, 2101)


def _parse_time(text: str, tz: ZoneInfo | None = None) -> dt.datetime | None:
    """Local wall time: the formats above or ISO 8601 (2019-03-01T09:30, …+08:00 converted to `tz`)."""
    value: dt.datetime | None = None
    for fmt in _FORMATS:
        try:
            value = dt.datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    if value is None:
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
    if value.tzinfo is not None:
        value = value.astimezone(tz or dt.UTC).replace(tzinfo=None)
    return value if value.year in _YEARS else None


class Importer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tz = ZoneInfo(settings.city.timezone)
        prefix = re.escape(settings.city.ticket_prefix)
        self.automatic_number = re.compile(rf"{prefix}-\d{{8}}-\d{{4,}}")
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
        created = _parse_time(_get(row, "created_at"), self.tz)
        if created is None:
            err(
                "created_at",
                f"日期格式无法识别：{_get(row, 'created_at')}"
                f"（应为 2019-03-01、2019-03-01 09:30 或 2019-03-01T09:30，年份 1949–2100）",
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
            resolved = _parse_time(_get(row, "resolved_at"), self.tz)
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
        number = _get(row, "number")
        if len(number) > MAX_NUMBER_CHARS:
            err("number", f"编号过长（最多{MAX_NUMBER_CHARS}个字符，实际{len(number)}个）：{number[:40]}…")
        elif self.automatic_number.fullmatch(number):
            err(
                "number",
                f"编号与系统自动编号格式相同，会与自动生成的编号冲突：{number}（请留空由系统编号，或使用原系统编号）",
            )
        description = sanitise_text(_get(row, "description"), max_chars=MAX_DESCRIPTION_CHARS)
        if description.truncated:
            err("description", f"描述过长（最多{MAX_DESCRIPTION_CHARS}个字）")
        if len(errors) > before or created is None or county is None or case_type is None:
            return None
        created_utc = self._utc(created)
        resolved_utc = self._utc(resolved) if resolved else None
        return {
            "number": number or None,
            "local_day": created.date(),
            "source": "import",
            "category": self.categories.get(category, category),
            "case_type": case_type,
            "county_code": county.code,
            "status": status,
            "priority": "urgent" if flags.pop("urgent") else "normal",
            "description": description.text,
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
        try:
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
        except _Unreadable as exc:
            raise ImportFailed([*sorted(errors, key=lambda e: e.line), exc.error]) from exc
        if seen:
            existing: set[str] = set()
            numbers = list(seen)
            for i in range(0, len(numbers), 500):  # bounded IN lists
                chunk = numbers[i : i + 500]
                existing |= set(session.scalars(select(Ticket.number).where(Ticket.number.in_(chunk))))
            errors += [RowError(seen[n], "编号", f"系统中已存在：{n}") for n in sorted(existing)]
        errors += self._automatic_collisions(session, parsed)
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

    def _automatic_collisions(self, session: Session, parsed: list[dict[str, Any]]) -> list[RowError]:
        """Rows without 编号 get the day counter's next numbers: check now that none is taken (a number
        written into the database some other way), so the write cannot fail half-way."""
        blank: dict[dt.date, list[int]] = defaultdict(list)
        for data in parsed:
            if not data["number"]:
                blank[data["local_day"]].append(data["facts"]["imported_line"])
        errors: list[RowError] = []
        prefix = self.settings.city.ticket_prefix
        for day, lines in sorted(blank.items()):
            key = day.strftime("%Y%m%d")
            counter = session.get(TicketCounter, key)
            start = counter.value if counter is not None else 0
            planned = {f"{prefix}-{key}-{start + i + 1:04d}": line for i, line in enumerate(lines)}
            for i in range(0, len(planned), 500):
                chunk = list(planned)[i : i + 500]
                for taken in session.scalars(select(Ticket.number).where(Ticket.number.in_(chunk))):
                    errors.append(
                        RowError(planned[taken], "编号", f"自动生成的编号 {taken} 已被占用，请为本行填写编号")
                    )
        return errors


def import_file(session: Session, settings: Settings, path: Path, **kwargs: Any) -> ImportResult:
    return Importer(settings).run(session, Path(path), **kwargs)
