"""Write hotline/reports/templates/annual_draft.docx, the starting point of the annual draft's template.

The committed .docx is the source a justice bureau edits in Word (wording, order, fonts); this script only
made its first version and can make it again (`.venv/bin/python scripts/make_annual_template.py`), which
overwrites the bureau's edits: edit the .docx, not this script, once a deployment has its own wording.

Tags are docxtpl (Jinja) ones; every variable is listed in hotline/reports/annual_docx.py
(`annual_context`). `{%p ... %}` lines are whole-paragraph conditions/loops and vanish from the output;
`{%tr ... %}` rows repeat a table row.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document

TEMPLATE = Path(__file__).resolve().parents[1] / "hotline" / "reports" / "templates" / "annual_draft.docx"

JOIN = "{% if not loop.last %}、{% endif %}"

BODY: list[tuple[str, str]] = [
    ("h1", "【草稿】{{ scope_name }}{{ year }}年度城乡困难群体法律援助民生工程实施情况的自查报告"),
    (
        "p",
        "【草稿】本稿由12348法律援助热线系统根据工单数据自动生成，标注【待人工填写】处须由业务科室核实补充，"
        "全部数字须与法律援助综合管理信息系统核对后方可上报。",
    ),
    (
        "p",
        "根据省司法厅《关于{{ year }}年度全省城乡困难群体法律援助民生工程绩效评价有关工作的通知》，"
        "对照绩效评价指标和自评表中涉及的投入、过程、产出、效果4个一级指标逐条逐项开展自评"
        "（二、三级指标【待人工填写】）。现将自查情况汇报如下：",
    ),
    ("h2", "一、法律援助民生工程实施情况"),
    ("p", "{{ one.implementation }}"),
    ("p", "{{ one.targets }}"),
    ("p", "{{ one.services }}"),
    ("p", "{{ one.criminal }}"),
    ("p", "{{ one.supervision }}"),
    ("p", "{{ one.brand }}"),
    ("p", "{%p if one.calendar_note %}"),
    ("p", "{{ one.calendar_note }}"),
    ("p", "{%p endif %}"),
    ("h2", "二、存在的问题"),
    ("p", "{%p if below_target %}"),
    (
        "p",
        "【草稿】目标任务完成不均衡。{% for c in below_target %}{{ c.name }}受理法律援助案件{{ c.cases }}件，"
        "完成年度目标任务（{{ c.target }}件）的{{ c.rate }}{% if not loop.last %}；{% endif %}{% endfor %}，"
        "未完成全年目标。",
    ),
    ("p", "{%p elif has_targets %}"),
    ("p", "【草稿】各县（市、区）均完成年度目标任务。"),
    ("p", "{%p endif %}"),
    ("p", "{%p if overdue %}"),
    (
        "p",
        "【草稿】部分工单办理超时。全年有办结时限的工单{{ overdue_total }}件，逾期{{ overdue_late }}件，"
        "逾期率{{ overdue_rate }}；逾期率较高的是{% for c in overdue %}{{ c.name }}（{{ c.rate }}，"
        "{{ c.late }}/{{ c.total }}件）" + JOIN + "{% endfor %}。",
    ),
    ("p", "{%p endif %}"),
    ("p", "{%p if low_satisfaction %}"),
    (
        "p",
        "【草稿】部分类别群众满意度偏低。{% for c in low_satisfaction %}{{ c.label }}类满意率{{ c.rate }}"
        "（{{ c.answered }}次评价）" + JOIN + "{% endfor %}，低于全部工单{{ satisfaction_rate }}的满意率。",
    ),
    ("p", "{%p endif %}"),
    ("p", "{%p if open_reviews %}"),
    (
        "p",
        "【草稿】回访复核未形成闭环。截至{{ period_end }}，尚有{{ open_reviews }}件回访复核事项未办结"
        "（{{ open_reviews_detail }}），最早的已等待{{ oldest_review_days }}天。",
    ),
    ("p", "{%p endif %}"),
    ("p", "{%p for note in notes %}"),
    ("p", "【草稿】{{ note }}"),
    ("p", "{%p endfor %}"),
    ("p", "【草稿】经费保障、律师资源、宣传覆盖等方面的问题【待人工填写】。"),
    ("h2", "三、下一步工作打算"),
    ("p", "{%p if below_target %}"),
    (
        "p",
        "【草稿】压实目标任务。对{% for c in below_target %}{{ c.name }}" + JOIN + "{% endfor %}"
        "等未完成年度目标的县（市、区）加强督导，按季度通报目标任务进度。",
    ),
    ("p", "{%p endif %}"),
    ("p", "{%p if overdue %}"),
    (
        "p",
        "【草稿】加强时限管理。对{% for c in overdue %}{{ c.name }}" + JOIN + "{% endfor %}"
        "的逾期工单逐件督办，落实首次响应和办结时限，逾期情况纳入月度通报。",
    ),
    ("p", "{%p endif %}"),
    ("p", "{%p if low_satisfaction %}"),
    (
        "p",
        "【草稿】提升服务质量。针对{% for c in low_satisfaction %}{{ c.label }}" + JOIN + "{% endfor %}"
        "等满意率偏低的类别开展案件质量评查和回访，查找原因，改进答复和办理。",
    ),
    ("p", "{%p endif %}"),
    ("p", "{%p if open_reviews %}"),
    (
        "p",
        "【草稿】落实回访闭环。对尚未办结的{{ open_reviews }}件回访复核事项限期办结，"
        "低分回访办结率纳入周报通报。",
    ),
    ("p", "{%p endif %}"),
    ("p", "{%p if notes %}"),
    ("p", "【草稿】更新经济困难审查标准。核实本市现行低保标准并及时录入系统，确保经济困难审查准确。"),
    ("p", "{%p endif %}"),
    ("p", "【草稿】其他工作打算【待人工填写】。"),
    ("h2", "附表：各县（市、区）目标任务完成情况"),
]

TABLE_HEADER = ("县（市、区）", "年度目标（件）", "受理案件（件）", "完成率")
TABLE_ROW = ("{{ r.name }}", "{{ r.target }}", "{{ r.cases }}", "{{ r.rate }}")


def build(path: Path = TEMPLATE) -> Path:
    doc = Document()
    for kind, text in BODY:
        if kind == "h1":
            doc.add_heading(text, level=1)
        elif kind == "h2":
            doc.add_heading(text, level=2)
        else:
            doc.add_paragraph(text)
    table = doc.add_table(rows=4, cols=4)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, TABLE_HEADER, strict=True):
        cell.text = text
    table.rows[1].cells[0].text = "{%tr for r in county_rows %}"
    for cell, text in zip(table.rows[2].cells, TABLE_ROW, strict=True):
        cell.text = text
    table.rows[3].cells[0].text = "{%tr endfor %}"
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATE))
