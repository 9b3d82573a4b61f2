from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib
from docx import Document
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from hotline.db.models import Rating
from hotline.reports.charts import CJK_FONT_FAMILY, register_cjk_font
from hotline.reports.periods import parse_period
from hotline.reports.service import produce_report
from hotline.settings import Settings
from tests.unit.reports_fixtures import COUNTY_CODES, bulk_tickets, seed_year_2019, utc


def _week(session: Session) -> None:
    t0 = utc("2026-11-23 09:00")
    cats = ["wage_arrears", "work_injury", "marriage_family", "criminal_defence", "complaint", "minors"]
    rows: list[dict[str, object]] = []
    for i in range(60):
        created = t0 + dt.timedelta(hours=i * 2)
        rows.append(
            {
                "case_type": ["civil", "civil", "civil", "criminal", "consultation", "civil"][i % 6],
                "category": cats[i % 6],
                "county_code": COUNTY_CODES[i % 8],
                "created_at": created,
                "first_response_at": created + dt.timedelta(minutes=30 + i),
                "resolved_at": created + dt.timedelta(hours=5) if i % 3 else None,
                "migrant_worker": i % 6 == 0,
                "disabled": i % 10 == 0,
                "minor": i % 6 == 5,
                "elderly": i % 7 == 0,
                "women": i % 4 == 0,
            }
        )
    bulk_tickets(session, rows)
    session.add_all(
        Rating(ticket_id=i, round=1, requested_at=t0 + dt.timedelta(hours=i * 2 + 6), score=(i % 5) + 1)
        for i in range(1, 30)
    )
    session.flush()


def test_weekly_report_all_formats(session: Session, settings: Settings, tmp_path: Path) -> None:
    _week(session)
    produced = produce_report(session, settings, parse_period("weekly", "2026-W48"), directory=tmp_path)
    names = sorted(p.name for p in produced.files)
    assert names == ["weekly_2026-W48_city.png", "weekly_2026-W48_city.txt", "weekly_2026-W48_city.xlsx"]
    assert "滁州市12348法律援助周报" in produced.text and "新增工单60件" in produced.text
    assert "满意率" in produced.text and "琅琊区" in produced.text
    wb = load_workbook(next(p for p in produced.files if p.suffix == ".xlsx"))
    assert wb.sheetnames == ["汇总", "工单明细"]
    assert wb["工单明细"].max_row == 61
    summary = {r[0]: r[1] for r in wb["汇总"].iter_rows(values_only=True)}
    assert summary["新增工单"] == 60


def test_chart_uses_registered_cjk_font() -> None:
    assert register_cjk_font() == CJK_FONT_FAMILY
    assert matplotlib.rcParams["font.family"] == [CJK_FONT_FAMILY]
    from matplotlib import font_manager

    found = font_manager.findfont(
        font_manager.FontProperties(family=CJK_FONT_FAMILY), fallback_to_default=False
    )
    assert found.endswith("NotoSansCJKsc-Regular.otf")


def test_annual_draft_docx_has_seed_sentences(session: Session, settings: Settings, tmp_path: Path) -> None:
    seed_year_2019(session)
    produced = produce_report(
        session, settings, parse_period("annual", "2019"), directory=tmp_path, formats=("txt", "docx")
    )
    docx_path = next(p for p in produced.files if p.suffix == ".docx")
    text = "\n".join(p.text for p in Document(str(docx_path)).paragraphs)
    assert "【草稿】" in text and "【待人工填写】" in text
    assert "全市法律援助机构共受理法律援助案件6761件，完成全年案件目标任务的107.5%。" in text
    assert "民事法律援助案件4564件，占案件总量的67.5%" in text
    assert "刑事法律援助案件2182件，占案件总量的32.3%，较去年同期增长33.8%" in text
    assert "行政法律援助案件15件，占案件总量的0.2%" in text
    assert "结案6134件，结案率90.7%" in text
    assert "农民工法律援助案件2072件，占案件总数的30.6%" in text
    assert "确定全市年目标任务6290件" in text
    table = Document(str(docx_path)).tables[0]
    assert table.rows[1].cells[0].text == "琅琊区" and table.rows[1].cells[1].text == "700"
