"""All supervisor-facing report wording (Simplified Chinese) in one place."""

from __future__ import annotations

from hotline.eligibility.decision import OUTCOME_LABELS

CASE_TYPES: dict[str, str] = {
    "civil": "民事",
    "criminal": "刑事",
    "administrative": "行政",
    "consultation": "咨询",
}
GROUPS: dict[str, str] = {
    "migrant_worker": "农民工",
    "disabled": "残疾人",
    "minor": "未成年人",
    "elderly": "老年人",
    "women": "妇女",
}
OUTCOMES: dict[str, str] = {**OUTCOME_LABELS, "未评估": "未评估"}
STATUS: dict[str, str] = {
    "new": "待受理",
    "assigned": "处理中",
    "waiting_citizen": "等待群众补充",
    "resolved": "已办结",
    "closed": "已关闭",
    "referred": "已转办",
    "cancelled": "已撤销",
    "reopened": "重新处理中",
}
KIND_TITLES: dict[str, str] = {"weekly": "周报", "monthly": "月报", "annual": "年度自查报告（草稿）"}
PRIORITY: dict[str, str] = {"normal": "普通", "urgent": "紧急"}

NONE = "—"
DRAFT = "【草稿】"
TODO = "【待人工填写】"
CALENDAR_FALLBACK = (
    "注意：节假日库暂无 {years} 年数据，时限按周一至周五并叠加配置中的节假日/调休计算，请核对后更新配置。"
)

KB_REVIEW_DUE = "知识库：{count}条常见问题答案已到复核日期，请法律顾问复核：{ids}。"


CHART_TITLES = {
    "category": "{scope}{period} 工单类别分布",
    "county": "{scope}{period} 各县（市、区）受理量",
    "groups": "{scope}{period} 特殊群体受援情况",
    "rating": "{scope}{period} 满意度评分分布",
}
CHART_AXIS_COUNT = "件数"
CHART_RATING_LABEL = "{score}分"

XLSX_SUMMARY_SHEET = "汇总"
XLSX_TICKETS_SHEET = "工单明细"
XLSX_TICKET_HEADERS = [
    "工单编号",
    "受理时间",
    "县（市、区）",
    "类别",
    "案件类型",
    "状态",
    "紧急程度",
    "农民工",
    "残疾人",
    "未成年人",
    "老年人",
    "妇女",
    "首次响应时间",
    "办结时间",
    "首次响应时限",
    "办结时限",
    "资格审查结论",
    "机器人独立办结",
    "转人工",
    "满意度",
]


def category_label(code: str) -> str:
    """Category label from hotline.categories when available (owned by the dialog work), else the code."""
    try:
        from hotline.categories import BY_CODE
    except ImportError:  # pragma: no cover - the module is optional for reports
        return code
    category = BY_CODE.get(code)
    return category.label if category else code


def pct(value: float | None, digits: int = 1) -> str:
    return NONE if value is None else f"{value * 100:.{digits}f}%"


def hours(value: float | None) -> str:
    return NONE if value is None else f"{value:.1f}小时"


def change(current: float, previous: float | None) -> str:
    """'较上期增长12.5%' / '较上期下降3.0%' / '与上期持平'."""
    if previous is None or previous == 0:
        return "上期无数据" if not previous else ""
    ratio = current / previous - 1
    if abs(ratio) < 0.0005:
        return "与上期持平"
    return f"较上期{'增长' if ratio > 0 else '下降'}{abs(ratio) * 100:.1f}%"
