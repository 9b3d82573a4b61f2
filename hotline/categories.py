"""Inquiry categories: the work-order categories shared by the dialog, tickets and reports.

The codes equal the NLU intent names of the category intents, so the dialog can open a ticket for
whatever the citizen's first message was classified as.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.db.models import CaseType


@dataclass(frozen=True)
class Category:
    code: str
    label: str  # Chinese, for citizens, operators and reports
    case_type: CaseType  # default case type when the intake doesn't say otherwise


CATEGORIES: tuple[Category, ...] = (
    Category("wage_arrears", "欠薪及劳动报酬", CaseType.CIVIL),
    Category("work_injury", "工伤", CaseType.CIVIL),
    Category("disability_rights", "残疾人权益", CaseType.CIVIL),
    Category("minors", "未成年人权益", CaseType.CIVIL),
    Category("elderly", "老年人权益", CaseType.CIVIL),
    Category("domestic_violence", "家庭暴力、虐待、遗弃", CaseType.CIVIL),
    Category("marriage_family", "婚姻家庭", CaseType.CIVIL),
    Category("personal_injury", "人身损害赔偿", CaseType.CIVIL),
    Category("criminal_defence", "刑事辩护", CaseType.CRIMINAL),
    Category("social_insurance", "社会保险、社会救助、国家赔偿", CaseType.ADMINISTRATIVE),
    Category("other_legal", "其他法律问题", CaseType.CONSULTATION),
    Category("complaint", "投诉", CaseType.CONSULTATION),
    Category("handoff", "人工咨询", CaseType.CONSULTATION),
)

BY_CODE: dict[str, Category] = {c.code: c for c in CATEGORIES}


def label(code: str | None) -> str:
    category = BY_CODE.get(code or "")
    return category.label if category else "其他法律问题"


def case_type(code: str | None) -> CaseType:
    category = BY_CODE.get(code or "")
    return category.case_type if category else CaseType.CONSULTATION
