"""The annual self-assessment draft (DOCX), in the structure of the province's 民生工程 自查报告.

Only figures the system can compute are filled in; everything else (funding, lawyers, publicity events) is
marked 【待人工填写】 so nobody mistakes the draft for a finished report. The whole document is 【草稿】.

The document is rendered from a Word template (docxtpl, `templates/annual_draft.docx` or
`reports.annual_template`), so the bureau changes wording and layout in Word without code
(docs/operations.md).
Section 一's sentences are computed here (their figures are checked against the seed report); sections
二、存在的问题 and 三、下一步工作打算 are written in the template from the findings (findings.py). Every
variable the template may use is produced by `annual_context`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from docxtpl import DocxTemplate
from sqlalchemy.orm import Session

from hotline.followup.texts import REASONS
from hotline.reports import texts as T
from hotline.reports.findings import Findings, compute_findings
from hotline.reports.metrics import ReportMetrics, yearly_targets
from hotline.settings import PROJECT_ROOT, Settings

DEFAULT_TEMPLATE = Path(__file__).resolve().parent / "templates" / "annual_draft.docx"


def _n(value: int | float | None) -> str:
    if value is None:
        return T.TODO
    return f"{value:.0f}" if isinstance(value, float) else str(value)


def implementation_paragraph(m: ReportMetrics, city_word: str = "全市") -> str:
    """'2019年，全市法律援助机构共受理法律援助案件6761件，完成全年案件目标任务的107.5%。民事…'"""
    year = m.period.start.year
    parts = [f"{year}年，{city_word}法律援助机构共受理法律援助案件{m.cases}件"]
    parts.append(
        f"，完成全年案件目标任务的{T.pct(m.target_completion)}。" if m.target else f"，{T.TODO}目标任务。"
    )
    prev = m.previous
    for key, label in (("civil", "民事"), ("criminal", "刑事"), ("administrative", "行政")):
        n = m.by_case_type.get(key, 0)
        sentence = f"{label}法律援助案件{n}件，占案件总量的{T.pct(m.case_share(key))}"
        if prev is not None and prev.by_case_type.get(key):
            growth = n / prev.by_case_type[key] - 1
            sentence += f"，较去年同期{'增长' if growth >= 0 else '下降'}{abs(growth) * 100:.1f}%"
        parts.append(sentence + "。")
    parts.append(f"社会律师承办案件{T.TODO}件。")
    return "".join(parts)


def template_path(settings: Settings) -> Path:
    configured = settings.reports.annual_template
    if not configured:
        return DEFAULT_TEMPLATE
    path = Path(configured)
    return path if path.is_absolute() else PROJECT_ROOT / path


def section_one(m: ReportMetrics, city_word: str) -> dict[str, str]:
    """一、法律援助民生工程实施情况: the seed report's sentences with the computed figures."""
    year = m.period.start.year
    fr, rs = m.first_response, m.resolution
    complaints = "实现“零投诉”" if m.complaints == 0 else f"收到投诉{m.complaints}件，均已登记复核"
    groups = "，".join(
        f"{T.GROUPS[g]}案件{m.case_groups.get(g, 0)}件" for g in ("elderly", "disabled", "women", "minor")
    )
    calendar = (
        T.CALENDAR_FALLBACK.format(years="、".join(map(str, m.calendar_fallback_years)))
        if m.calendar_fallback_years
        else ""
    )
    return {
        "implementation": implementation_paragraph(m, city_word),
        "targets": (
            f"一是细化目标任务，强化法律援助民生保障。确定{city_word}年目标任务{_n(m.target_year)}件，"
            f"下达各县（市、区）民生案件目标任务（见附表）。法律援助民生工程业务保障经费{T.TODO}万元。"
            f"{year}年，{city_word}法律援助机构结案{m.cases_closed}件，结案率{T.pct(m.closure_rate)}，"
            f"案件经费使用{T.TODO}万元。"
        ),
        "services": (
            f"二是拓展服务领域，推进公共法律服务体系建设。12348热线智能平台全年受理工单{m.new}件，"
            f"其中法律咨询{m.consultations}件；机器人独立办结率{T.pct(m.rate('bot_resolved'))}，"
            f"转人工率{T.pct(m.rate('handoff'))}。各级公共法律服务平台建设情况{T.TODO}。"
        ),
        "criminal": (
            "三是深化工作改革，加强刑事法律援助协作。"
            f"全年受理刑事法律援助案件{m.by_case_type.get('criminal', 0)}件；"
            f"值班律师、刑事案件律师辩护全覆盖试点工作情况{T.TODO}。"
        ),
        "supervision": (
            f"四是加强业务监管，提升法律援助民生绩效。开展案件回访{m.ratings_requested}次，"
            f"收到评价{m.ratings_answered}次，受援人满意率{T.pct(m.satisfaction_rate)}；"
            f"低分评价{m.review_items.get('low_rating', 0)}件全部转入复核；{complaints}。"
            f"工单首次响应按时率{T.pct(fr.compliance)}，办结按时率{T.pct(rs.compliance)}。"
            f"案件质量同行评估{T.TODO}件。"
        ),
        "brand": (
            f"五是推进品牌建设，扩大法律援助民生宣传。{year}年，{city_word}共办理农民工法律援助案件"
            f"{m.case_groups.get('migrant_worker', 0)}件，"
            f"占案件总数的{T.pct(m.group_share('migrant_worker'))}；"
            f"{groups}。民生宣传服务活动{T.TODO}场次。"
        ),
        "calendar_note": calendar,
    }


def findings_context(f: Findings, m: ReportMetrics, names: dict[str, str]) -> dict[str, Any]:
    """Sections 二/三: lists of plain values, already formatted (the template only places them)."""
    end = m.period.end
    last_day = end.fromordinal(end.toordinal() - 1)
    return {
        "below_target": [
            {
                "name": names.get(c.code, c.code),
                "cases": c.cases,
                "target": c.target,
                "rate": T.pct(c.completion),
            }
            for c in f.below_target
        ],
        "has_targets": len(f.without_target) < len(names),
        "overdue": [
            {"name": names.get(c.code, c.code), "rate": T.pct(c.rate), "late": c.late, "total": c.total}
            for c in f.overdue[:3]
        ],
        "overdue_late": f.overdue_late,
        "overdue_total": f.overdue_total,
        "overdue_rate": T.pct(f.overdue_rate),
        "low_satisfaction": [
            {"label": T.category_label(c.category), "rate": T.pct(c.rate), "answered": c.answered}
            for c in f.low_satisfaction[:3]
        ],
        "satisfaction_rate": T.pct(m.satisfaction_rate),
        "open_reviews": sum(f.open_reviews.values()),
        "open_reviews_detail": "，".join(
            f"{REASONS.get(reason, reason)}{n}件" for reason, n in sorted(f.open_reviews.items())
        ),
        "oldest_review_days": f.oldest_review_days,
        "period_end": f"{last_day.year}年{last_day.month}月{last_day.day}日",
    }


def annual_context(
    session: Session,
    settings: Settings,
    m: ReportMetrics,
    counties: Sequence[str] | None = None,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """Everything the template can use: scope_name, year, one.*, the findings, notes, county_rows."""
    year = m.period.start.year
    names = {c.code: c.name for c in settings.counties if not counties or c.code in counties}
    targets = yearly_targets(session, settings, year)
    county_rows = []
    for code, name in names.items():
        target, cases = targets.get(code), m.cases_by_county.get(code, 0)
        county_rows.append(
            {
                "name": name,
                "target": _n(target),
                "cases": cases,
                "rate": T.pct(cases / target) if target else T.NONE,
            }
        )
    return {
        "scope_name": m.scope_name,
        "year": year,
        "one": section_one(m, "全市" if m.scope == "city" else m.scope_name),
        **findings_context(compute_findings(session, settings, m, counties), m, names),
        "notes": list(notes),
        "county_rows": county_rows,
    }


def annual_docx(
    session: Session,
    settings: Settings,
    m: ReportMetrics,
    path: Path,
    counties: Sequence[str] | None = None,
    notes: Sequence[str] = (),
) -> Path:
    """Render the template with this year's figures; `notes` are the report's warnings (e.g. 低保 data)."""
    document = DocxTemplate(str(template_path(settings)))
    document.render(annual_context(session, settings, m, counties, notes), autoescape=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path
