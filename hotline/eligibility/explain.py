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


def headline(decision: Decision) -> str:
    """The one-line conclusion (rules.yaml `outcomes`): the first line of the explanation."""
    return decision.explanation.split("\n", 1)[0]


def sections(decision: Decision, citations: Mapping[str, str] | None = None) -> list[str]:
    """The details after the conclusion, as a few short blocks a phone shows one message each.

    Why (the rule, what is missing, reminders); what to bring and where to go; time limits, other ways,
    the objection route and the legal basis (scope and condition). Empty blocks are left out.
    """
    why: list[str] = []
    main, *notes = decision.reasons
    why.append(main.text)
    if decision.missing:
        why.append("【还需要了解】")
        why += _numbered(decision.missing)
    if notes:
        why.append("【还要提醒您】")
        why += [f"· {n.text}" for n in notes]
    where: list[str] = []
    if decision.documents and decision.outcome is not Outcome.NOT_IN_SCOPE:
        where.append("【请带上】")
        where += _numbered(decision.documents)
    if decision.centre is not None:
        c = decision.centre
        where.append("【联系哪里】")
        where.append(f"{c.name}。地址：{c.address}。电话：{c.phone}。办公时间：{c.hours}。")
        where.append(c.reason)
    then: list[str] = []
    if decision.deadlines:
        then.append("【办理时限】")
        then += [f"· {d.text}。" for d in decision.deadlines]
    if decision.referrals:
        then.append("【其他办法】")
        then += [f"· {r}" for r in decision.referrals]
    if decision.objection:
        then.append("【如果被拒绝】")
        then.append(decision.objection)
    legal_basis = basis(decision, citations or {})
    if legal_basis:
        then.append("【法律依据】")
        then.append(legal_basis)
    blocks = ("\n".join(line.strip() for line in block if line.strip()) for block in (why, where, then))
    return [b for b in blocks if b]


def render(decision: Decision, headline: str, citations: Mapping[str, str] | None = None) -> str:
    """The full answer: conclusion, why, what is missing, what to bring, where to go, time limits, rights,
    and the legal basis (scope and condition) of a decision."""
    lines: list[str] = [headline]
    if decision.urgent:
        lines.append("【紧急】这件事比较急，我们会在今天转给工作人员优先处理。")
    lines += sections(decision, citations)
    return "\n".join(line.strip() for line in lines if line.strip())
