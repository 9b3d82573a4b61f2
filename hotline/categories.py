"""Inquiry categories: the work-order categories shared by the dialog, tickets and reports.

The codes equal the NLU intent names of the category intents, so the dialog can open a ticket for
whatever the citizen's first message was classified as. This is the one list of them: the intake's question
plan (hotline.intake.plan), the dialog actions, the NLU benchmark and config.yml's `augment_intents`
(checked by tests/unit/test_categories.py) all follow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hotline.db.models import CaseType

# Which questions the intake asks for a category (hotline.intake.plan).
Family = Literal["labour", "criminal", "dv", "group", "general"]


@dataclass(frozen=True)
class Category:
    code: str
    label: str  # Chinese, for citizens, operators and reports
    case_type: CaseType  # default case type when the intake doesn't say otherwise
    # Which questions the intake asks (hotline.intake.plan); None = not a legal matter taken in by the intake.
    family: Family | None = None


CATEGORIES: tuple[Category, ...] = (
    Category("wage_arrears", "欠薪及劳动报酬", CaseType.CIVIL, "labour"),
    Category("work_injury", "工伤", CaseType.CIVIL, "labour"),
    Category("disability_rights", "残疾人权益", CaseType.CIVIL, "group"),
    Category("minors", "未成年人权益", CaseType.CIVIL, "group"),
    Category("elderly", "老年人权益", CaseType.CIVIL, "group"),
    Category("domestic_violence", "家庭暴力、虐待、遗弃", CaseType.CIVIL, "dv"),
    Category("marriage_family", "婚姻家庭", CaseType.CIVIL, "general"),
    Category("personal_injury", "人身损害赔偿", CaseType.CIVIL, "general"),
    Category("criminal_defence", "刑事辩护", CaseType.CRIMINAL, "criminal"),
    Category("social_insurance", "社会保险、社会救助、国家赔偿", CaseType.ADMINISTRATIVE, "general"),
    Category("other_legal", "其他法律问题", CaseType.CONSULTATION, "general"),
    Category("complaint", "投诉", CaseType.CONSULTATION),
    Category("handoff", "人工咨询", CaseType.CONSULTATION),
)

BY_CODE: dict[str, Category] = {c.code: c for c in CATEGORIES}

# The legal categories the intake form takes in (and the NLU intents of a legal matter), in report order.
INTAKE_CATEGORIES: tuple[str, ...] = tuple(c.code for c in CATEGORIES if c.family is not None)


def family(code: str | None) -> Family:
    """The question family of a category ("labour", "criminal", "dv", "group", "general")."""
    category = BY_CODE.get(code or "")
    return category.family if category and category.family else "general"


def label(code: str | None) -> str:
    category = BY_CODE.get(code or "")
    return category.label if category else "其他法律问题"


def case_type(code: str | None) -> CaseType:
    category = BY_CODE.get(code or "")
    return category.case_type if category else CaseType.CONSULTATION
