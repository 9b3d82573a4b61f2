"""The annual self-assessment draft (DOCX), in the structure of the province's 民生工程 自查报告.

Only figures the system can compute are filled in; everything else (funding, lawyers, publicity events) is
marked 【待人工填写】 so nobody mistakes the draft for a finished report. The whole document is 【草稿】.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from docx import Document
from sqlalchemy.orm import Session

from hotline.reports import texts as T
from hotline.reports.metrics import ReportMetrics, yearly_targets
from hotline.settings import Settings


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


def annual_docx(
    session: Session,
    settings: Settings,
    m: ReportMetrics,
    path: Path,
    counties: Sequence[str] | None = None,
) -> Path:
    year = m.period.start.year
    city_word = "全市" if m.scope == "city" else m.scope_name
    doc = Document()
    doc.add_heading(
        f"{T.DRAFT}{m.scope_name}{year}年度城乡困难群体法律援助民生工程实施情况的自查报告", level=1
    )
    doc.add_paragraph(
        f"{T.DRAFT}本稿由12348法律援助热线系统根据工单数据自动生成，标注{T.TODO}处须由业务科室核实补充，"
        "全部数字须与法律援助综合管理信息系统核对后方可上报。"
    )
    doc.add_paragraph(
        f"根据省司法厅《关于{year}年度全省城乡困难群体法律援助民生工程绩效评价有关工作的通知》，"
        f"对照绩效评价指标和自评表中涉及的投入、过程、产出、效果4个一级指标逐条逐项开展自评（二、三级指标{T.TODO}）。"
        "现将自查情况汇报如下："
    )
    doc.add_heading("一、法律援助民生工程实施情况", level=2)
    doc.add_paragraph(implementation_paragraph(m, city_word))
    doc.add_paragraph(
        f"一是细化目标任务，强化法律援助民生保障。确定{city_word}年目标任务{_n(m.target_year)}件，"
        f"下达各县（市、区）民生案件目标任务（见附表）。法律援助民生工程业务保障经费{T.TODO}万元。"
        f"{year}年，{city_word}法律援助机构结案{m.cases_closed}件，结案率{T.pct(m.closure_rate)}，"
        f"案件经费使用{T.TODO}万元。"
    )
    doc.add_paragraph(
        f"二是拓展服务领域，推进公共法律服务体系建设。12348热线智能平台全年受理工单{m.new}件，"
        f"其中法律咨询{m.consultations}件；机器人独立办结率{T.pct(m.rate('bot_only'))}，"
        f"转人工率{T.pct(m.rate('handoff'))}。各级公共法律服务平台建设情况{T.TODO}。"
    )
    doc.add_paragraph(
        "三是深化工作改革，加强刑事法律援助协作。"
        f"全年受理刑事法律援助案件{m.by_case_type.get('criminal', 0)}件；"
        f"值班律师、刑事案件律师辩护全覆盖试点工作情况{T.TODO}。"
    )
    fr, rs = m.first_response, m.resolution
    complaints = "实现“零投诉”" if m.complaints == 0 else f"收到投诉{m.complaints}件，均已登记复核"
    doc.add_paragraph(
        f"四是加强业务监管，提升法律援助民生绩效。开展案件回访{m.ratings_requested}次，"
        f"收到评价{m.ratings_answered}次，受援人满意率{T.pct(m.satisfaction_rate)}；"
        f"低分评价{m.review_items.get('low_rating', 0)}件全部转入复核；{complaints}。"
        f"工单首次响应按时率{T.pct(fr.compliance)}，办结按时率{T.pct(rs.compliance)}。"
        f"案件质量同行评估{T.TODO}件。"
    )
    groups = "，".join(
        f"{T.GROUPS[g]}案件{m.case_groups.get(g, 0)}件" for g in ("elderly", "disabled", "women", "minor")
    )
    doc.add_paragraph(
        f"五是推进品牌建设，扩大法律援助民生宣传。{year}年，{city_word}共办理农民工法律援助案件"
        f"{m.case_groups.get('migrant_worker', 0)}件，占案件总数的{T.pct(m.group_share('migrant_worker'))}；"
        f"{groups}。民生宣传服务活动{T.TODO}场次。"
    )
    if m.calendar_fallback_years:
        doc.add_paragraph(T.CALENDAR_FALLBACK.format(years="、".join(map(str, m.calendar_fallback_years))))
    doc.add_heading("附表：各县（市、区）目标任务完成情况", level=2)
    targets = yearly_targets(session, settings, year)
    table = doc.add_table(rows=1, cols=4)
    table.style = "Table Grid"
    for cell, text in zip(
        table.rows[0].cells, ("县（市、区）", "年度目标（件）", "受理案件（件）", "完成率"), strict=True
    ):
        cell.text = text
    for county in settings.counties:
        if counties and county.code not in counties:
            continue
        target = targets.get(county.code)
        cases = m.cases_by_county.get(county.code, 0)
        row = table.add_row().cells
        row[0].text = county.name
        row[1].text = _n(target)
        row[2].text = str(cases)
        row[3].text = T.pct(cases / target) if target else T.NONE
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path
