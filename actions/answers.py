"""The intake's answers: how they are read, how they read back; the question plan with the deployment's rules.

Slot names are the contract with `hotline.eligibility.facts_from_slots`. Values are plain JSON: booleans,
numbers, short codes ("rural", "visual", "dibao") or the sentinel UNKNOWN when the citizen cannot answer
(facts_from_slots treats anything it cannot use as unknown, so the decision asks a human to check).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from hotline import normalise
from hotline.eligibility import Decision, assess
from hotline.eligibility.facts import SLOT_NAMES
from hotline.intake import plan as question_plan
from hotline.intake.plan import UNKNOWN
from hotline.settings import get_settings

__all__ = ["UNKNOWN", "plan_for"]

# Slots the intake may fill (and that cancel resets).
INTAKE_SLOTS: tuple[str, ...] = (
    *(name for name in SLOT_NAMES if name not in ("category", "description", "proceeding")),
    "confirmed",
    "awaiting_change",
    "failures",
    "litigation",
    "pending_topic",
    "topic_choice",
)

BOOL_SLOTS = frozenset(
    {"disabled", "in_custody", "has_lawyer", "serious_charge", "migrant_worker", "has_group_proof"}
    | {"urgent_preservation", "dv_in_progress"}
)

# Plain-Chinese names used in the confirmation summary and in "which answer to change".
LABELS: dict[str, str] = {
    "county": "所在县（市、区）",
    "case_county": "办案机关所在县（市、区）",
    "age": "当事人年龄",
    "disabled": "是否有残疾",
    "disability_type": "残疾类别",
    "in_custody": "是否被羁押（关押）",
    "has_lawyer": "是否已请律师",
    "serious_charge": "是否可能判无期徒刑或死刑",
    "migrant_worker": "是否是农民工",
    "income_per_capita": "家庭每人每月收入",
    "residence": "住在城镇还是农村",
    "has_group_proof": "能否提供身份材料",
    "group_status": "救助或收入情况",
    "days_to_deadline": "离起诉、仲裁等期限还有几天",
    "urgent_preservation": "是否需要马上保全财产或证据",
    "dv_in_progress": "家暴是否还在发生",
    "matter_type": "具体是什么事",
}

# Words a citizen uses to name an answer they want to change (“年龄说错了”, “改一下收入”).
KEYWORDS: dict[str, tuple[str, ...]] = {
    "case_county": ("法院", "检察院", "公安", "办案"),
    "county": ("县", "区", "地方", "地区", "哪里", "地址"),
    "age": ("年龄", "岁", "多大"),
    "disability_type": ("残疾类别", "类别", "哪种残疾"),
    "disabled": ("残疾",),
    "in_custody": ("羁押", "关押", "拘留", "看守所", "抓"),
    "has_lawyer": ("律师",),
    "serious_charge": ("无期", "死刑", "重罪"),
    "migrant_worker": ("农民工", "打工", "务工"),
    "has_group_proof": ("证明", "材料", "工作证", "考勤"),
    "income_per_capita": ("收入", "工资", "钱"),
    "residence": ("城镇", "农村", "户口", "城里", "乡下"),
    "group_status": ("低保", "特困", "救助", "生活来源"),
    "days_to_deadline": ("期限", "时间", "天", "开庭", "时效"),
    "dv_in_progress": ("家暴", "还在打", "危险"),
    "matter_type": ("什么事", "事情", "类型"),
}

_YES_NO = {True: "是", False: "否"}
_RESIDENCE = {"urban": "城镇", "rural": "农村"}
DISABILITY_TEXT = {
    "visual": "视力残疾",
    "hearing": "听力残疾",
    "speech": "言语残疾",
    "physical": "肢体残疾",
    "intellectual": "智力残疾",
    "mental": "精神残疾",
    "other": "其他残疾",
}
GROUP_TEXT = {
    "dibao": "领取低保",
    "tekun": "特困供养",
    "social_assistance": "领取其他社会救助",
    "judicial_assistance": "司法救助",
    "youfu": "优抚对象",
    "no_fixed_income": "没有固定生活来源",
    "none": "都不是",
}
MATTER_TEXT = {
    "domestic_violence": "家庭暴力",
    "abuse_abandonment": "被虐待或遗弃",
    "support_payment": "追讨抚养费、赡养费",
    "divorce_property": "离婚或分财产",
    "traffic_injury": "交通事故受伤",
    "medical_injury": "医疗纠纷",
    "student_injury_at_school": "在学校受伤",
    "work_injury": "工伤",
    "wage_arrears": "讨工资",
    "labour_relationship": "劳动合同纠纷",
    "social_insurance": "社会保险",
    "good_samaritan": "见义勇为",
    "martyr_rights": "英烈近亲属维护烈士名誉",
    "state_comp_after_retrial_acquittal": "再审改判无罪，请求国家赔偿",
    "other": "其他事情",
}
CASE_PLACE_TEXT = {"same": "和所在县（市、区）相同", "none": "还没有机关在办"}
TOPIC_CHOICES = frozenset({"keep", "drop", "stay"})

# Closed answers already in their stored form (buttons, re-validation of a parsed value).
CODES: dict[str, frozenset[str]] = {
    "residence": frozenset(_RESIDENCE),
    "disability_type": frozenset(DISABILITY_TEXT),
    "group_status": frozenset(GROUP_TEXT),
    "matter_type": frozenset(MATTER_TEXT),
    "case_county": frozenset(CASE_PLACE_TEXT),
    "topic_choice": TOPIC_CHOICES,
}


def display(slot: str, value: Any) -> str:
    """An answer as the citizen reads it back in the summary."""
    if value is None or value == UNKNOWN:
        return "不清楚"
    if slot in BOOL_SLOTS and isinstance(value, bool):
        return _YES_NO[value]
    if slot == "age":
        return f"{int(value)}岁"
    if slot == "income_per_capita":
        return f"约{float(value):g}元"
    if slot == "days_to_deadline":
        return "已经过了" if int(value) < 0 else f"{int(value)}天"
    if slot == "residence":
        return _RESIDENCE.get(str(value), str(value))
    if slot == "disability_type":
        return DISABILITY_TEXT.get(str(value), str(value))
    if slot == "group_status":
        return GROUP_TEXT.get(str(value), str(value))
    if slot == "matter_type":
        return MATTER_TEXT.get(str(value), str(value))
    if slot == "case_county":
        return CASE_PLACE_TEXT.get(str(value), str(value))
    return str(value)


def summary(slots: Mapping[str, Any], plan: list[str]) -> str:
    lines = [
        f"· {LABELS[name]}：{display(name, slots.get(name))}"
        for name in plan
        if name in LABELS and slots.get(name) is not None
    ]
    return "\n".join(lines)


def _bool(text: str) -> Any:
    return normalise.parse_bool(text)


def _bool_or(pattern: str) -> Callable[[str], Any]:
    """Yes/no, where a free answer matching `pattern` (“关在看守所”) also means yes."""

    def parse(text: str) -> Any:
        value = normalise.parse_bool(text)
        if value is None and re.search(pattern, text):
            return True
        return value

    return parse


def _county(text: str) -> Any:
    settings = get_settings()
    text = text.strip()
    county = settings.county_by_name(text)
    if county is None:  # free text such as “我在定远那边”
        county = next(
            (c for c in settings.counties for key in (c.name, *c.aliases) if key and key in text), None
        )
    return county.name if county else None


def _case_county(text: str) -> Any:
    """A county name, or "same" (the citizen's county) / "none" (no court or police handles it yet)."""
    return _county(text) or normalise.parse_case_place(text)


def _topic_choice(text: str) -> Any:
    """Free-text answer to “switch to the new problem?”: keep the answers, start afresh, or stay."""
    if re.search(r"不换|不用换|继续|接着|刚才", text):
        return "stay"
    if re.search(r"重新|从头", text):
        return "drop"
    if re.search(r"换|保留|新的", text) or normalise.parse_bool(text) is True:
        return "keep"
    return "stay" if normalise.parse_bool(text) is False else None


# slot -> reads a free-text answer; None = not understood.
PARSERS: dict[str, Callable[[str], Any]] = {
    "county": _county,
    "case_county": _case_county,
    "topic_choice": _topic_choice,
    "age": normalise.parse_age,
    "income_per_capita": normalise.parse_amount,
    "days_to_deadline": normalise.parse_days,
    "residence": normalise.parse_residence,
    "disability_type": normalise.parse_disability_type,
    "group_status": normalise.parse_group_status,
    "matter_type": normalise.parse_matter_type,
    **{name: _bool for name in BOOL_SLOTS},
    "in_custody": _bool_or(r"看守所|拘留|逮捕|关着|关起来|抓"),
    "has_lawyer": _bool_or(r"请了|找了|委托了"),
    "migrant_worker": _bool_or(r"打工|务工|农民工|工地"),
    "serious_charge": _bool_or(r"可能|会判|重罪"),
    "dv_in_progress": _bool_or(r"又打|一直|天天|经常|还打"),
    "has_group_proof": _bool_or(r"工作证|考勤|工牌|合同|低保证|残疾证|证明"),
}

# Entities that carry a slot's value directly. An amount is the income only when asked for the income or
# worded as income (normalise.parse_income): in a story it is usually the amount at stake.
ENTITY_SLOTS: dict[str, str] = {
    "county": "county",
    "age": "age",
    "amount": "income_per_capita",
    "duration": "days_to_deadline",
}

_SLANDER = "名誉|荣誉|侮辱|诋毁|造谣|歪曲|污蔑|抹黑"
# Facts a story states in so many words, read from the messages before the intake (the opener, and
# earlier messages that were not understood) so they are not asked again. Stricter than the answer
# parsers: “把手压断了” in a work-injury story is not a physical disability, “村里” not a residence.
OPENER_FACTS: dict[str, tuple[tuple[Any, str], ...]] = {
    "disability_type": (
        ("visual", r"看不见|失明|盲人|双目|眼睛瞎|视力残疾"),
        ("hearing", r"聋|听不见|听力残疾"),
        ("speech", r"哑巴|聋哑|不会说话|说不了话|言语残疾"),
        ("intellectual", r"智障|智力残疾|智力低下"),
        ("mental", r"精神病|精神残疾|精神分裂"),
        ("physical", r"瘫痪|截肢|肢体残疾|坐轮椅"),
        ("other", r"残疾证|残疾人"),
    ),
    "residence": (("rural", r"农村|乡下"), ("urban", r"城镇|城里|县城|市区")),
    # Legal Aid Law Art 32 situations (no means test), only in unmistakable wording.
    "matter_type": (
        ("state_comp_after_retrial_acquittal", r"(再审|改判).{0,12}无罪|无罪.{0,20}国家赔偿"),
        ("good_samaritan", r"见义勇为"),
        ("martyr_rights", rf"(烈士|英烈).{{0,20}}({_SLANDER})|({_SLANDER}).{{0,20}}(烈士|英烈)"),
        ("abuse_abandonment", r"虐待|遗弃"),
        ("domestic_violence", r"家暴|家庭暴力"),
    ),
}
# A story about a case already before a court (or the police): the competent centre may be elsewhere (Art 38).
# Wanting to sue (“能帮我打官司吗”) is not yet a case: the citizen's county is asked as before.
LITIGATION = r"法院|开庭|立案|判决|判了|上诉|被起诉|起诉了|被告"
# An Art 32 matter named in a story classified as a category whose questions do not fit it: the category
# that does (a retrial acquittal's state compensation is not a criminal defence).
ART32_CATEGORY: dict[str, tuple[frozenset[str], str]] = {
    "state_comp_after_retrial_acquittal": (
        frozenset({"criminal_defence", "other_legal"}),
        "social_insurance",
    ),
    # hurt while helping someone is not an injury at work (no migrant-worker question)
    "good_samaritan": (frozenset({"work_injury", "wage_arrears", "other_legal"}), "personal_injury"),
}
# Slots about the person (not the matter): kept when the citizen switches to a new problem in the form.
PERSON_SLOTS: tuple[str, ...] = (
    "county",
    "age",
    "disabled",
    "disability_type",
    "income_per_capita",
    "residence",
    "group_status",
    "has_group_proof",
)


def facts_from_story(text: str) -> dict[str, Any]:
    """The facts a free-text story names in so many words (county, age, income, disability, residence)."""
    found: dict[str, Any] = {}
    county = _county(text)
    if county:
        found["county"] = county
    age = re.search(r"[0-9零〇一二两三四五六七八九十]+ *岁", text)
    if age and (value := normalise.parse_age(age.group(0))) is not None and 0 <= value <= 120:
        found["age"] = value
    income = normalise.parse_income(text)
    if income is not None:
        found["income_per_capita"] = income
    for slot, table in OPENER_FACTS.items():
        value = next((code for code, pattern in table if re.search(pattern, text)), None)
        if value is not None:
            found[slot] = value
    if re.search(LITIGATION, text):
        found["litigation"] = True
    if "disability_type" in found:
        found["disabled"] = True
        if found["disability_type"] == "other":
            del found["disability_type"]  # “有残疾证”: disabled, the kind is asked
    return found


def category_for(category: str, facts: Mapping[str, Any]) -> str:
    """The intake category, corrected when the story names an Art 32 matter another category handles."""
    found = ART32_CATEGORY.get(str(facts.get("matter_type")))
    return found[1] if found is not None and category in found[0] else category


def _provisional(slots: Mapping[str, Any]) -> Decision:
    return assess(dict(slots), get_settings())


def plan_for(slots: Mapping[str, Any]) -> list[str]:
    """The questions for these answers (hotline.intake.plan) with the deployment's eligibility rules."""
    return question_plan.plan_for(slots, _provisional)
