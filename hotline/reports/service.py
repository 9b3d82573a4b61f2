"""Produce a report's files (text, PNG, XLSX, DOCX) for one period and scope, and deliver them."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from hotline.eligibility.dibao import stale_warning
from hotline.reports.annual_docx import annual_docx
from hotline.reports.charts import dashboard_png
from hotline.reports.delivery import Notifier
from hotline.reports.metrics import ReportMetrics, compute_metrics
from hotline.reports.periods import Period
from hotline.reports.summary_text import summary_text
from hotline.reports.xlsx import write_workbook
from hotline.settings import PROJECT_ROOT, Settings, today_in

log = logging.getLogger(__name__)


@dataclass
class ProducedReport:
    metrics: ReportMetrics
    text: str
    files: list[Path]


def out_dir(settings: Settings, override: str | Path | None = None) -> Path:
    path = Path(override or settings.reports.out_dir)
    return path if path.is_absolute() else PROJECT_ROOT / path


def report_notes(settings: Settings, today: dt.date | None = None) -> list[str]:
    """Warnings every report carries besides its figures (today: an out-of-date 低保 table)."""
    warning = stale_warning(
        settings.eligibility, today or today_in(settings), settings.reports.dibao_stale_months
    )
    return [warning] if warning else []


def produce_report(
    session: Session,
    settings: Settings,
    period: Period,
    counties: Sequence[str] | None = None,
    directory: str | Path | None = None,
    *,
    formats: Sequence[str] = ("txt", "png", "xlsx", "docx"),
) -> ProducedReport:
    """Compute the figures once and render every format into `<out>/<kind>/<period>/`."""
    config = settings.reports
    names = settings.county_names
    m = compute_metrics(session, settings, period, counties, config)
    notes = report_notes(settings)
    text = "\n".join([summary_text(m, names), *notes])
    folder = out_dir(settings, directory) / period.kind / period.key
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{period.kind}_{period.key}_{m.scope}"
    files: list[Path] = []
    if "txt" in formats:
        txt = folder / f"{stem}.txt"
        txt.write_text(text + "\n", encoding="utf-8")
        files.append(txt)
    if "png" in formats:
        files.append(dashboard_png(m, folder / f"{stem}.png", names))
    if "xlsx" in formats:
        files.append(write_workbook(session, m, folder / f"{stem}.xlsx", counties, names, notes))
    if "docx" in formats and period.kind == "annual":
        files.append(annual_docx(session, settings, m, folder / f"{stem}_草稿.docx", counties, notes))
    log.info("报告已生成: %s", ", ".join(str(f) for f in files))
    return ProducedReport(m, text, files)


def deliver(notifier: Notifier, chat: str, text: str, files: Sequence[Path]) -> None:
    """Text first (it is what supervisors read on the phone), then the attachments."""
    notifier.send_text(chat, text)
    for path in files:
        if path.suffix != ".txt":
            notifier.send_file(chat, path, path.name)
