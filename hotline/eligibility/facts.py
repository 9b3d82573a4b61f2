"""The facts of one inquiry, as the rules see them.

Every field is optional: the bot often learns only part of the story, and `decide()` must still answer
(usually NEEDS_REVIEW with a list of what is missing). `None` always means "not known"; an empty set means
"known to be none". The vocabulary (allowed values) is defined here once, and the rule loader checks every
value written in rules.yaml against it, so a typo in the rules fails at load time, not on a citizen.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from hotline.normalise import MAX_NUMBER

Proceeding = Literal[
    "criminal_defence", "criminal_victim", "civil", "administrative", "non_litigation", "retrial"
]
Role = Literal["suspect", "defendant", "victim", "private_prosecutor", "civil_plaintiff", "party", "relative"]
DisabilityType = Literal["visual", "hearing", "speech", "physical", "intellectual", "mental", "other"]
# `life_or_death`: the dialog only asks "可能判无期徒刑或死刑吗", so it cannot tell which of the two.
Sentence = Literal["life", "death", "life_or_death", "other"]
MatterType = Literal[
    "wage_arrears",
    "labour_relationship",
    "work_injury",
    "traffic_injury",
    "medical_injury",
    "food_drug_injury",
    "environmental",
    "support_payment",
    "social_insurance",
    "social_assistance",
    "state_compensation",
    "pension_fuxu",
    "civil_capacity",
    "domestic_violence",
    "abuse_abandonment",
    "good_samaritan",
    "martyr_rights",
    "state_comp_after_retrial_acquittal",
    "student_injury_at_school",
    # Anhui 2016 regulation Art 13 adds these to the national Art 31 list.
    "product_quality",
    "high_risk_operation",
    "fake_agri_inputs",
    "rural_land_contract",
    "contract",
    "debt",
    "housing",
    "divorce_property",
    "other",
]
GroupFlag = Literal[
    "minor_no_income",
    "elderly_no_income",
    "disabled_no_income",
    "no_fixed_income",  # raw answer; combined with age/disability by the rules, not here
    "dibao",
    "tekun",
    "social_assistance",
    "judicial_assistance",
    "youfu",
    "charity_supported",
    "fuxu_relief",
    "temporary_relief",
]
Residence = Literal["urban", "rural"]


class Facts(BaseModel):
    """What is known about one inquiry. Frozen so a Decision can keep it as evidence."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    proceeding: Proceeding | None = None
    role: Role | None = None
    has_lawyer: bool | None = None
    age: int | None = Field(default=None, ge=0, le=130)
    disabled: bool | None = None
    disability_types: frozenset[DisabilityType] | None = None
    cannot_fully_recognise_conduct: bool | None = None
    max_possible_sentence: Sentence | None = None
    death_review: bool | None = None
    in_absentia: bool | None = None
    compulsory_medical: bool | None = None
    matter_type: MatterType | None = None
    is_migrant_worker: bool | None = None
    group_flags: frozenset[GroupFlag] | None = None
    has_group_proof: bool | None = None
    household_income_per_capita_month: float | None = Field(default=None, ge=0)
    residence: Residence | None = None
    county: str | None = None
    case_organ_county: str | None = None  # where the court / procuratorate / police handling the case sits
    matter_county: str | None = None  # where the dispute arose or the dispute-handling organ sits
    days_to_deadline: int | None = None  # negative = the deadline has already passed
    urgent_preservation: bool | None = None
    in_custody: bool | None = None
    dv_in_progress: bool | None = None

    @field_serializer("disability_types", "group_flags")
    def _sorted(self, value: frozenset[str] | None) -> list[str] | None:
        # Sorted so the stored JSON (and any hash of it) is stable.
        return None if value is None else sorted(value)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict that `from_json` turns back into equal Facts."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Facts:
        """Rebuild stored facts, ignoring keys this version does not know (e.g. `as_of`)."""
        return cls.model_validate({k: v for k, v in data.items() if k in cls.model_fields})


# --- vocabulary used by the rule loader -------------------------------------------------------------

FieldKind = Literal["number", "bool", "enum", "text", "set"]


def _literal_values(annotation: Any) -> frozenset[str]:
    out: set[str] = set()
    for arg in typing.get_args(annotation):
        if typing.get_origin(arg) is Literal:
            out.update(typing.get_args(arg))
        elif isinstance(arg, str):
            out.add(arg)
        else:
            out.update(_literal_values(arg))
    return frozenset(out)


def _kind(annotation: Any) -> FieldKind:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    inner = args[0] if args else annotation
    origin = typing.get_origin(inner)
    if origin is frozenset:
        return "set"
    if origin is Literal:
        return "enum"
    if inner is bool:
        return "bool"
    if inner in (int, float):
        return "number"
    if inner is str:
        return "text"
    raise TypeError(f"unsupported Facts field type {annotation!r}")  # pragma: no cover


def _field_info() -> dict[str, tuple[FieldKind, frozenset[str]]]:
    hints = typing.get_type_hints(Facts)
    info: dict[str, tuple[FieldKind, frozenset[str]]] = {}
    for name in Facts.model_fields:
        ann = hints[name]
        info[name] = (_kind(ann), _literal_values(ann))
    return info


FIELDS: dict[str, tuple[FieldKind, frozenset[str]]] = _field_info()
"""Facts field name -> (kind, allowed literal values; empty for free text and numbers)."""


# Chinese wording of each fact, used in "还需要了解" lists shown to citizens and staff.
FIELD_LABELS: dict[str, str] = {
    "proceeding": "案件类型（刑事案件、民事纠纷还是行政案件）",
    "role": "您在案件中的身份",
    "has_lawyer": "是否已经请了律师",
    "age": "当事人的年龄",
    "disabled": "当事人是否有残疾",
    "disability_types": "残疾类别（例如视力、听力、言语残疾）",
    "cannot_fully_recognise_conduct": "当事人是否不能完全辨认自己的行为",
    "max_possible_sentence": "是否可能被判无期徒刑或者死刑",
    "death_review": "是否是死刑复核案件",
    "in_absentia": "是否是缺席审判",
    "compulsory_medical": "是否是强制医疗案件",
    "matter_type": "具体是什么事（例如讨工资、工伤、交通事故、追讨赡养费或抚养费）",
    "is_migrant_worker": "是否是进城务工人员（农民工）",
    "group_flags": "是否领取低保、特困供养等救助，或者没有固定生活来源",
    "has_group_proof": "能否提供身份材料（例如低保证、残疾证）",
    "household_income_per_capita_month": "家庭每人每月平均收入（元）",
    "residence": "您住在城镇还是农村",
    "county": "您所在的县（市、区）",
    "case_organ_county": "办案的法院、检察院或公安机关在哪个县（市、区）",
    "matter_county": "事情发生在哪个县（市、区）",
    "days_to_deadline": "离起诉、仲裁等期限还有几天",
    "urgent_preservation": "是否需要马上保全财产或证据",
    "in_custody": "当事人是否被羁押",
    "dv_in_progress": "家暴是否正在发生",
}


def _num(value: Any) -> float | None:
    """Numbers from slots: 15, 15.0, "15", "十五" (cn2an); anything else is unknown, not an error, and so
    is a number beyond MAX_NUMBER (an int too large for a float raised OverflowError here)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            result = float(value)
        except OverflowError:
            return None
    elif isinstance(value, str):
        text = value.strip().replace(",", "").replace("，", "").rstrip("元岁天")
        if not text:
            return None
        try:
            result = float(text)
        except ValueError:
            try:
                import cn2an  # type: ignore[import-untyped,unused-ignore]

                result = float(cn2an.cn2an(text, "smart"))
            except Exception:
                return None
    else:
        return None
    return result if math.isfinite(result) and abs(result) <= MAX_NUMBER else None


_TRUE = {"true", "yes", "y", "1", "是", "有", "对"}
_FALSE = {"false", "no", "n", "0", "否", "没有", "无", "不是"}


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def _choice(value: Any, allowed: frozenset[str], synonyms: Mapping[str, str] | None = None) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    text = (synonyms or {}).get(text, text)
    return text if text in allowed else None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


# Rasa dialog category -> (proceeding, matter_type when the dialog did not ask for a finer one).
# None = the category does not tell which matter it is (e.g. 婚姻家庭 could be 抚养费 or 离婚财产):
# leaving it unknown makes the decision ask, instead of wrongly answering "not in scope".
CATEGORY_MAP: dict[str, tuple[Proceeding, MatterType | None]] = {
    "wage_arrears": ("civil", "wage_arrears"),
    "work_injury": ("civil", "work_injury"),
    "disability_rights": ("civil", None),
    "minors": ("civil", None),
    "elderly": ("civil", None),
    "domestic_violence": ("civil", "domestic_violence"),
    "marriage_family": ("civil", None),
    "personal_injury": ("civil", "traffic_injury"),
    "criminal_defence": ("criminal_defence", None),
    "social_insurance": ("civil", "social_insurance"),
    "other_legal": ("civil", "other"),
}

_GROUP_STATUS: dict[str, frozenset[GroupFlag]] = {
    "none": frozenset(),
    "dibao": frozenset({"dibao"}),
    "tekun": frozenset({"tekun"}),
    "social_assistance": frozenset({"social_assistance"}),
    "judicial_assistance": frozenset({"judicial_assistance"}),
    "youfu": frozenset({"youfu"}),
    "no_fixed_income": frozenset({"no_fixed_income"}),
}
_RESIDENCE_SYNONYMS = {"城镇": "urban", "城市": "urban", "城里": "urban", "农村": "rural", "乡村": "rural"}


# The dialog slots `facts_from_slots` reads: the contract between the dialog (actions/) and this package.
SLOT_NAMES: tuple[str, ...] = (
    "category",
    "county",
    "age",
    "disabled",
    "disability_type",
    "in_custody",
    "has_lawyer",
    "serious_charge",
    "migrant_worker",
    "income_per_capita",
    "residence",
    "has_group_proof",
    "group_status",
    "days_to_deadline",
    "urgent_preservation",
    "dv_in_progress",
    "matter_type",
    "case_county",
    "description",
    "proceeding",
)


def facts_from_slots(slots: Mapping[str, Any]) -> Facts:
    """Map Rasa slots to Facts. Never raises: unusable values become unknown (None).

    Slot names are the dialog contract (category, county, age, disabled, disability_type, in_custody,
    has_lawyer, serious_charge, migrant_worker, income_per_capita, residence, has_group_proof,
    group_status, days_to_deadline, urgent_preservation, dv_in_progress, matter_type, case_county,
    description);
    `proceeding` is also honoured if a future dialog sets it.
    """
    category = _text(slots.get("category"))
    proceeding, derived_matter = CATEGORY_MAP.get(category or "", (None, None))
    explicit_proceeding = _choice(slots.get("proceeding"), FIELDS["proceeding"][1])
    matter = _choice(slots.get("matter_type"), FIELDS["matter_type"][1]) or derived_matter

    age_num = _num(slots.get("age"))
    age = int(age_num) if age_num is not None and 0 <= age_num <= 130 else None

    disabled = _bool(slots.get("disabled"))
    dtype = _choice(slots.get("disability_type"), FIELDS["disability_types"][1])
    disability_types: frozenset[str] | None
    if disabled is False:
        disability_types = frozenset()
    elif dtype is not None:
        disability_types = frozenset({dtype})
    else:
        disability_types = None  # disabled but type unknown, or nothing said

    serious = _bool(slots.get("serious_charge"))
    sentence = {True: "life_or_death", False: "other", None: None}[serious]

    status = _text(slots.get("group_status"))
    group_flags = _GROUP_STATUS.get(status) if status is not None else None

    county = _text(slots.get("county"))
    # Art 38: the county of the organ handling the case ("same": the citizen's; "none"/unknown: no organ).
    case_county = _text(slots.get("case_county"))
    if case_county == "same":
        case_county = county
    elif case_county in ("none", "unknown"):
        case_county = None

    income = _num(slots.get("income_per_capita"))
    days = _num(slots.get("days_to_deadline"))

    data: dict[str, Any] = {
        "proceeding": explicit_proceeding or proceeding,
        "has_lawyer": _bool(slots.get("has_lawyer")),
        "age": age,
        "disabled": disabled if disabled is not None else (True if dtype else None),
        "disability_types": disability_types,
        "max_possible_sentence": sentence,
        "matter_type": matter,
        "is_migrant_worker": _bool(slots.get("migrant_worker")),
        "group_flags": group_flags,
        "has_group_proof": _bool(slots.get("has_group_proof")),
        "household_income_per_capita_month": income if income is not None and income >= 0 else None,
        "residence": _choice(slots.get("residence"), FIELDS["residence"][1], _RESIDENCE_SYNONYMS),
        "county": county,
        "case_organ_county": case_county,
        "days_to_deadline": math.floor(days) if days is not None and abs(days) < 100_000 else None,
        "urgent_preservation": _bool(slots.get("urgent_preservation")),
        "in_custody": _bool(slots.get("in_custody")),
        "dv_in_progress": _bool(slots.get("dv_in_progress")),
    }
    return Facts.model_validate(data)
