"""The annual draft's 二、存在的问题 and 三、下一步工作打算: data-driven, marked 【草稿】, from a template the
bureau edits in Word (reports.annual_template)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from docx import Document
from sqlalchemy.orm import Session

from hotline.db.models import Rating, ReviewItem, Target
from hotline.reports.annual_docx import DEFAULT_TEMPLATE
from hotline.reports.periods import parse_period
from hotline.reports.service import produce_report
from hotline.reports.texts import category_label
from hotline.settings import Settings
from tests.unit.reports_fixtures import bulk_tickets, utc

LANGYA, DINGYUAN, TIANCHANG = "341102", "341125", "341181"


def _year_2025(session: Session) -> None:
    rows: list[dict[str, object]] = []

    def ticket(county: str, category: str, day: int, *, late: bool = False, open_: bool = False) -> None:
        created = utc(f"2025-03-{day:02d} 09:00")
        due = created + dt.timedelta(days=5)
        rows.append(
            {
                "case_type": "civil",
                "category": category,
                "county_code": county,
                "created_at": created,
                "first_response_at": created + dt.timedelta(hours=1),
                "resolution_due": due,
                "resolved_at": None if open_ else due + dt.timedelta(days=1 if late else -1),
                "status": "new" if open_ else "resolved",
            }
        )

    for day in (1, 2, 3, 4):  # tickets 1-4: on time
        ticket(LANGYA, "wage_arrears", day)
    ticket(DINGYUAN, "wage_arrears", 5, late=True)  # 5: resolved late
    ticket(DINGYUAN, "wage_arrears", 6, open_=True)  # 6: still open, due passed long ago
    ticket(TIANCHANG, "marriage_family", 7, late=True)  # 7-10: one of four late
    for day in (8, 9, 10):
        ticket(TIANCHANG, "marriage_family", day)
    ticket(TIANCHANG, "other", 11)  # 11: too few ratings to be a finding
    bulk_tickets(session, rows)
    asked = utc("2025-04-01 10:00")
    scores = [(1, 1, 5), (1, 2, 5), (2, 1, 5), (3, 1, 5), (4, 1, 5)]  # wage_arrears: 5/5
    scores += [(7, 1, 1), (8, 1, 2), (9, 1, 5), (10, 1, 5), (10, 2, 5)]  # marriage_family: 3/5
    scores += [(11, 1, 1), (11, 2, 1)]  # other: 0/2, below findings_min_ratings
    session.add_all(Rating(ticket_id=t, round=r, requested_at=asked, score=s) for t, r, s in scores)
    session.add_all(
        [
            ReviewItem(ticket_id=7, reason="low_rating", created_at=utc("2025-06-01 10:00")),
            ReviewItem(ticket_id=8, reason="low_rating", created_at=utc("2025-11-01 10:00")),
            ReviewItem(
                ticket_id=5,
                reason="complaint",
                created_at=utc("2025-12-20 10:00"),
                closed_at=utc("2026-01-10 10:00"),
            ),
            ReviewItem(
                ticket_id=6,
                reason="complaint",
                created_at=utc("2025-05-01 10:00"),
                closed_at=utc("2025-05-03 10:00"),
            ),
            Target(county_code=LANGYA, year=2025, cases=3),
            Target(county_code=DINGYUAN, year=2025, cases=10),
        ]
    )
    session.flush()


def _paragraphs(path: Path) -> list[str]:
    return [p.text for p in Document(str(path)).paragraphs]


def _section(paragraphs: list[str], title: str) -> list[str]:
    start = paragraphs.index(title) + 1
    end = next(i for i in range(start, len(paragraphs)) if paragraphs[i][:2] in ("三、", "附表"))
    return paragraphs[start:end]


def test_problems_and_plans_are_data_driven_and_marked_draft(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    _year_2025(session)
    produced = produce_report(
        session, settings, parse_period("annual", "2025"), directory=tmp_path, formats=("docx",)
    )
    paragraphs = _paragraphs(produced.files[0])
    problems = _section(paragraphs, "二、存在的问题")
    plans = _section(paragraphs, "三、下一步工作打算")
    assert all(p.startswith("【草稿】") for p in problems + plans)
    assert not any("{%" in p or "{{" in p for p in paragraphs)
    family = category_label("marriage_family")
    assert problems[0] == (
        "【草稿】目标任务完成不均衡。定远县受理法律援助案件2件，完成年度目标任务（10件）的20.0%，未完成全年目标。"
    )  # 琅琊区 (4 of 3) is not named; counties without a 2025 target are not either
    assert problems[1] == (
        "【草稿】部分工单办理超时。全年有办结时限的工单11件，逾期3件，逾期率27.3%；"
        "逾期率较高的是定远县（100.0%，2/2件）、天长市（20.0%，1/5件）。"
    )
    assert problems[2] == (
        f"【草稿】部分类别群众满意度偏低。{family}类满意率60.0%（5次评价），低于全部工单66.7%的满意率。"
    )
    assert problems[3] == (
        "【草稿】回访复核未形成闭环。截至2025年12月31日，尚有3件回访复核事项未办结（投诉1件，低分回访2件），"
        "最早的已等待213天。"
    )
    assert "低保标准" in problems[4]
    assert any(p.startswith("【草稿】压实目标任务。对定远县等") for p in plans)
    assert any(p.startswith("【草稿】加强时限管理。对定远县、天长市的逾期工单") for p in plans)
    assert any(p.startswith(f"【草稿】提升服务质量。针对{family}等") for p in plans)
    assert any(p.startswith("【草稿】落实回访闭环。对尚未办结的3件") for p in plans)
    table = Document(str(produced.files[0])).tables[0]
    assert [c.text for c in table.rows[1].cells] == ["琅琊区", "3", "4", "133.3%"]
    assert len(table.rows) == 1 + len(settings.counties)


def test_the_bureau_edits_the_template_in_word_without_code(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    _year_2025(session)
    template = Document(str(DEFAULT_TEMPLATE))
    for paragraph in template.paragraphs:
        if paragraph.text.startswith("【草稿】目标任务完成不均衡。"):
            paragraph.text = (
                "【草稿】以下县区未完成任务：{% for c in below_target %}{{ c.name }}{% endfor %}。"
            )
    edited = tmp_path / "本局模板.docx"
    template.save(str(edited))
    ours = settings.model_copy(
        update={"reports": settings.reports.model_copy(update={"annual_template": str(edited)})}
    )
    produced = produce_report(
        session, ours, parse_period("annual", "2025"), directory=tmp_path, formats=("docx",)
    )
    assert "【草稿】以下县区未完成任务：定远县。" in _paragraphs(produced.files[0])
