"""The short Chinese summary posted to the supervisors' chat."""

from __future__ import annotations

from collections.abc import Callable

from hotline.reports import texts as T
from hotline.reports.metrics import ReportMetrics


def _top(counts: dict[str, int], label: Callable[[str], str], n: int = 5) -> str:
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return "，".join(f"{label(k)}{v}件" for k, v in items) or T.NONE


def summary_text(m: ReportMetrics, county_names: dict[str, str] | None = None) -> str:
    names = county_names or {}
    prev = m.previous
    lines = [
        f"【{m.scope_name}12348法律援助{T.KIND_TITLES[m.period.kind]}】{m.period.label}",
        f"新增工单{m.new}件（法律援助案件{m.cases}件，咨询{m.consultations}件）"
        + (f"，{T.change(m.new, prev.new)}" if prev else "")
        + f"；办结{m.closed}件，结案率{T.pct(m.closure_rate)}；期末积压{m.backlog}件。",
    ]
    if m.target:
        lines.append(f"目标任务完成率{T.pct(m.target_completion)}（本期按年度目标折算{m.target:.0f}件）。")
    if m.cases:
        types = "，".join(
            f"{T.CASE_TYPES[t]}{m.by_case_type.get(t, 0)}件（{T.pct(m.case_share(t))}）"
            for t in ("civil", "criminal", "administrative")
        )
        lines.append(f"案件类型：{types}。")
    lines.append(f"主要类别：{_top(m.by_category, T.category_label)}。")
    if m.scope == "city" and m.by_county:
        lines.append(f"各县区：{_top(m.by_county, lambda c: names.get(c, c), n=10)}。")
    groups = "，".join(f"{T.GROUPS[g]}{m.groups.get(g, 0)}件" for g in T.GROUPS)
    lines.append(f"特殊群体：{groups}。")
    fr, rs = m.first_response, m.resolution
    lines.append(
        f"首次响应中位{T.hours(fr.median_hours)}（P90 {T.hours(fr.p90_hours)}，"
        f"按时率{T.pct(fr.compliance)}）；办结用时中位{T.hours(rs.median_hours)}"
        f"（P90 {T.hours(rs.p90_hours)}，按时率{T.pct(rs.compliance)}）。"
    )
    lines.append(
        f"回访：发出{m.ratings_requested}次，回复{m.ratings_answered}次（回复率{T.pct(m.response_rate)}），"
        f"满意率{T.pct(m.satisfaction_rate)}"
        + (f"（上期{T.pct(prev.satisfaction_rate)}）" if prev and prev.satisfaction_rate is not None else "")
        + f"；低分待复核{m.review_items.get('low_rating', 0)}件；投诉{m.complaints}件。"
    )
    rc = m.review_closure
    lines.append(
        f"低分回访办结率{T.pct(rc.low_rate)}（{rc.low_closed}/{rc.low_opened}件）；"
        f"本期办结复核{rc.closed}件，用时中位{T.hours(rc.median_hours)}（P90 {T.hours(rc.p90_hours)}）。"
    )
    lines.append(
        f"机器人：独立办结率{T.pct(m.rate('bot_resolved'))}（知识库解答{m.bot_resolved}件），"
        f"未经人工{T.pct(m.rate('bot_only'))}，转人工率{T.pct(m.rate('handoff'))}，"
        f"兜底回复率{T.pct(m.rate('fallback'))}。"
    )
    ap = m.appointments
    if ap.booked or ap.due or ap.cancelled:
        lines.append(
            f"预约：新增{ap.booked}次，取消{ap.cancelled}次；本期预约到访{ap.due}人，到场{ap.attended}人，"
            f"未到场{ap.no_shows}人（爽约率{T.pct(ap.no_show_rate)}）。"
        )
    if m.kb_review_due:
        lines.append(T.KB_REVIEW_DUE.format(count=m.kb_review_due, ids="、".join(m.kb_review_due_ids)))
    if m.calendar_fallback_years:
        lines.append(T.CALENDAR_FALLBACK.format(years="、".join(map(str, m.calendar_fallback_years))))
    return "\n".join(lines)
