"""Turn a Decision into the short Chinese answer a citizen reads on a phone.

Layout is fixed here; all legal wording comes from rules.yaml. Sections appear only when they have
content, so a simple answer stays short. Section titles avoid jargon ("请带上" rather than "申请材料").
"""

from __future__ import annotations

from collections.abc import Mapping

from hotline.eligibility.decision import Decision, Outcome


def _numbered(items: tuple[str, ...]) -> list[str]:
    return [f"{i}. {item}" for i, item in enumerate(items, start=1)]


def basis(decision: Decision, citations: Mapping[str, str]) -> str | None:
    """'援助范围：《法律援助法》第三十一条；适用条件：《法律援助法》第三十四条、…' for a decision that grants
    or refuses (both the scope and the condition it applied); None while nothing is decided."""
    if not decision.scope_articles or not decision.condition_articles:
        return None

    def cite(codes: tuple[str, ...]) -> str:
        return "、".join(dict.fromkeys(citations.get(code, code) for code in codes))

    return f"援助范围：{cite(decision.scope_articles)}；适用条件：{cite(decision.condition_articles)}。"


def render(decision: Decision, headline: str, citations: Mapping[str, str] | None = None) -> str:
    """The full answer: conclusion, why, what is missing, what to bring, where to go, time limits, rights,
    and the legal basis (scope and condition) of a decision."""
    lines: list[str] = [headline]
    if decision.urgent:
        lines.append("【紧急】这件事比较急，我们会在今天转给工作人员优先处理。")
    main, *notes = decision.reasons
    lines.append(main.text)
    if decision.missing:
        lines.append("【还需要了解】")
        lines += _numbered(decision.missing)
    if notes:
        lines.append("【还要提醒您】")
        lines += [f"· {n.text}" for n in notes]
    if decision.documents and decision.outcome is not Outcome.NOT_IN_SCOPE:
        lines.append("【请带上】")
        lines += _numbered(decision.documents)
    if decision.centre is not None:
        c = decision.centre
        lines.append("【联系哪里】")
        lines.append(f"{c.name}。地址：{c.address}。电话：{c.phone}。办公时间：{c.hours}。")
        lines.append(c.reason)
    if decision.deadlines:
        lines.append("【办理时限】")
        lines += [f"· {d.text}。" for d in decision.deadlines]
    if decision.referrals:
        lines.append("【其他办法】")
        lines += [f"· {r}" for r in decision.referrals]
    if decision.objection:
        lines.append("【如果被拒绝】")
        lines.append(decision.objection)
    legal_basis = basis(decision, citations or {})
    if legal_basis:
        lines.append("【法律依据】")
        lines.append(legal_basis)
    return "\n".join(line.strip() for line in lines if line.strip())
