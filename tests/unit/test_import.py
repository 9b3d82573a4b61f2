from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.db.models import Ticket, TicketEvent
from hotline.imports import ImportFailed, export_file, import_file
from hotline.reports.periods import parse_period
from hotline.settings import Settings

GOOD = """受理日期,县区,类别,案件类型,结案日期,农民工,编号,描述
2019-03-01,琅琊,wage_arrears,民事,2019-03-20,是,OLD-1,讨薪
2019-03-02 09:30,341125,刑事辩护,刑事,,否,,
2019-03-03,天长市,social_insurance,行政,2019-04-01 10:00,,OLD-3,
"""

BAD = """受理日期,县区,类别,案件类型,结案日期,农民工
2019-03-01,琅琊,wage_arrears,民事,2019-03-20,是
2019-13-01,火星县,wage_arrears,民事,,也许
2019-03-05,琅琊,wage_arrears,民事事,2019-03-01,否
,琅琊,wage_arrears,民事,,
"""


def _write(tmp_path: Path, text: str, name: str = "cases.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8-sig")
    return path


def test_good_csv_imports_everything(session: Session, settings: Settings, tmp_path: Path) -> None:
    result = import_file(session, settings, _write(tmp_path, GOOD))
    session.commit()
    assert result.rows == 3
    assert result.numbers[0] == "OLD-1" and result.numbers[1].startswith("滁-20190302-")
    tickets = session.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert [t.county_code for t in tickets] == ["341102", "341125", "341181"]
    assert [t.status for t in tickets] == ["closed", "new", "closed"]
    assert tickets[0].migrant_worker and not tickets[1].migrant_worker
    assert tickets[0].created_at.isoformat() == "2019-02-28T16:00:00"  # local midnight in UTC
    assert tickets[1].category == "criminal_defence"
    assert session.scalar(select(func.count()).select_from(TicketEvent)) == 3


def test_bad_rows_report_line_numbers_and_write_nothing(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(ImportFailed) as info:
        import_file(session, settings, _write(tmp_path, BAD))
    messages = [str(e) for e in info.value.errors]
    assert any(m.startswith("第3行【受理日期】日期格式无法识别") for m in messages)
    assert "第3行【县区】未知县区：火星县" in messages
    assert "第3行【农民工】应为 是/否：也许" in messages
    assert any(m.startswith("第4行【案件类型】") for m in messages)
    assert "第4行【结案日期】结案日期早于受理日期" in messages
    assert "第5行【受理日期】不能为空" in messages
    assert not any(m.startswith("第2行") for m in messages)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Ticket)) == 0  # line 2 was valid: still nothing


def test_duplicate_number_fails_whole_file(session: Session, settings: Settings, tmp_path: Path) -> None:
    import_file(session, settings, _write(tmp_path, GOOD))
    session.commit()
    with pytest.raises(ImportFailed) as info:
        import_file(session, settings, _write(tmp_path, GOOD, "again.csv"))
    assert "第2行【编号】系统中已存在：OLD-1" in [str(e) for e in info.value.errors]
    assert session.scalar(select(func.count()).select_from(Ticket)) == 3


def test_xlsx_import_and_round_trip_export(session: Session, settings: Settings, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for row in (line.split(",") for line in GOOD.strip().splitlines()):
        ws.append(row)
    wb.save(tmp_path / "cases.xlsx")
    assert import_file(session, settings, tmp_path / "cases.xlsx").rows == 3
    session.commit()
    year = parse_period("annual", "2019")
    assert export_file(session, settings, tmp_path / "out.csv", year.start_utc, year.end_utc) == 3
    assert (
        export_file(session, settings, tmp_path / "out.xlsx", year.start_utc, year.end_utc, ["341102"]) == 1
    )
    text = (tmp_path / "out.csv").read_text(encoding="utf-8-sig")
    assert text.splitlines()[1].startswith(
        "2019-03-01 00:00,琅琊区,wage_arrears,民事,已关闭,2019-03-20 00:00,OLD-1"
    )
