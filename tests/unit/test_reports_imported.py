"""Imported historical tickets carry no first response: every report surface says "—", not "0.0 小时"."""

from __future__ import annotations

from pathlib import Path

from docx import Document
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from hotline.imports import import_file
from hotline.reports.periods import parse_period
from hotline.reports.service import produce_report
from hotline.settings import Settings

OLD_CASES = """受理日期,县区,类别,案件类型,结案日期,农民工,编号,描述
2019-03-01,琅琊,wage_arrears,民事,2019-03-20,是,OLD-1,讨薪
2019-03-02 09:30,341125,criminal_defence,刑事,2019-04-02,否,OLD-2,
2019-03-03,天长市,social_insurance,行政,2019-04-01 10:00,,OLD-3,
"""


def test_imported_tickets_show_no_first_response(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "old.csv"
    path.write_text(OLD_CASES, encoding="utf-8-sig")
    import_file(session, settings, path)
    session.flush()
    produced = produce_report(session, settings, parse_period("annual", "2019"), directory=tmp_path / "out")
    m = produced.metrics
    assert m.new == 3 and m.first_response.count == 0
    assert m.first_response.median_hours is None and m.resolution.median_hours is not None
    assert "首次响应中位—（P90 —，按时率—）" in produced.text
    assert "0.0小时" not in produced.text

    wb = load_workbook(next(p for p in produced.files if p.suffix == ".xlsx"))
    summary = {r[0]: r[1] for r in wb["汇总"].iter_rows(values_only=True)}
    assert summary["首次响应中位（小时）"] == "—" and summary["首次响应P90（小时）"] == "—"
    assert isinstance(summary["办结用时中位（小时）"], int | float)
    sheet = wb["工单明细"]
    column = [c.value for c in next(sheet.iter_rows(max_row=1))].index("首次响应时间")
    assert [row[column] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["—", "—", "—"]

    docx = next(p for p in produced.files if p.suffix == ".docx")
    text = "\n".join(p.text for p in Document(str(docx)).paragraphs)
    assert "工单首次响应按时率—" in text and "0.0小时" not in text
