"""Turn citizens' free-text answers into values: Chinese numerals, amounts, ages, durations, yes/no.

Pure helpers for the dialog's slot validation. Every function returns None when it cannot tell; none
raises. Numbers are read with cn2an (“十五岁”→15, “一千五”→1500, “三万多块”→30000). Every number returned
is finite and at most MAX_NUMBER in size: a 300-digit “income” is not an answer (it used to become `inf`
and break ticket creation on PostgreSQL), so it is read as “cannot tell” and the dialog asks again.
"""

from __future__ import annotations

import math
import re

import cn2an  # type: ignore[import-untyped,unused-ignore]

MAX_NUMBER = 1e12
"""Largest magnitude any parsed answer may have (a trillion yuan, days or years is already nonsense)."""
_MAX_DIGITS = 16  # longer digit runs are beyond MAX_NUMBER: not even converted
_CN_DIGITS = "零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟点"
_CN_RUN = re.compile(f"[{_CN_DIGITS}]+")
_UNKNOWN_WORDS = (
    *("不知道", "不清楚", "不确定", "说不好", "说不清", "不记得", "记不清", "不晓得", "不太清楚"),
    *("不方便说", "不愿意说", "不想回答", "保密"),
)


def is_unknown(text: str) -> bool:
    """“不知道 / 不清楚 …”: the citizen cannot answer; the dialog records the answer as unknown."""
    return any(word in text for word in _UNKNOWN_WORDS)


def _cn_to_float(run: str) -> float | None:
    run = run.strip("点")
    if not run:
        return None
    try:
        value = float(cn2an.cn2an(run, "smart"))
    except Exception:
        # “三千五百多” and similar partial forms: read digit by digit as a last resort.
        try:
            value = float(cn2an.cn2an(run.rstrip("多几余"), "smart"))
        except Exception:
            return None
    return value if math.isfinite(value) else None


def _bounded(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) and abs(value) <= MAX_NUMBER else None


def first_number(text: str) -> float | None:
    """The first number in a text, Arabic or Chinese, with 万/千 multipliers (“1.5万”→15000); None when
    there is none or it is larger than MAX_NUMBER."""
    text = text.replace(",", "").replace("，", "").replace("两", "二")
    # Arabic digits, possibly followed by a Chinese multiplier: 3万, 1.5千.
    m = re.search(r"(\d+(?:\.\d+)?)\s*([万千百])?", text)
    cn = _CN_RUN.search(text)
    if m and (cn is None or m.start() <= cn.start()):
        if len(m.group(1).partition(".")[0]) > _MAX_DIGITS:
            return None
        value = float(m.group(1))
        multiplier = {"万": 10_000, "千": 1_000, "百": 100}.get(m.group(2) or "", 1)
        return _bounded(value * multiplier)
    if cn:
        run = cn.group(0)
        # “一千五”: cn2an reads the spoken shortening as 1500 in smart mode.
        return _bounded(_cn_to_float(run))
    return None


def parse_age(text: str) -> int | None:
    """Age in years: “十五岁”→15, “16”→16, “未成年”→17 (the rules only compare with 18)."""
    if re.search(r"未成年|不满(十八|18)", text):
        return 17
    value = first_number(text)
    if value is None or not 0 <= value <= 120:
        return None
    return int(value)


def parse_amount(text: str) -> float | None:
    """A yuan amount: “三万多块”→30000, “一千五”→1500, “两千左右”→2000; “没有收入”→0."""
    if re.search(r"没(有)?(收入|工资|钱)|无收入|零收入|收入为零", text):
        return 0.0
    value = first_number(text)
    if value is None or value < 0:
        return None
    return value


# Words that say a number is the household's income, not an amount at stake (“被骗了八千块”, “欠我三万”).
_INCOME_CUE = re.compile(r"收入|月入|每人每月|每人|每个人|一个月挣|每月挣|挣")
_NO_INCOME = re.compile(r"没有?(任何)?收入|无收入|零收入|收入为零|没有?经济来源")


def parse_income(text: str) -> float | None:
    """An income named as such in a longer message (“每月收入一千五”, “没有收入”); other amounts → None.

    Why: a story names amounts of several roles (the debt, the loss, the wage owed); only one stated as
    income may fill the means test's income, anything else must be asked.
    """
    if _NO_INCOME.search(text):
        return 0.0
    cue = _INCOME_CUE.search(text)
    if cue is None:
        return None
    after = re.split(r"[，。,.；;！？!?]", text[cue.end() :], maxsplit=1)[0]
    return parse_amount(after) if after else None


_UNITS = (("年", 365), ("个月", 30), ("月", 30), ("周", 7), ("星期", 7), ("礼拜", 7), ("天", 1), ("日", 1))


def parse_days(text: str) -> int | None:
    """Days left until a deadline: “还有五天”→5, “一周”→7, “两个月”→60, “明天”→1; “已经过了”→-1."""
    if re.search(r"已经过了|过期了|超过了|错过了", text):
        return -1
    if "今天" in text:
        return 0
    if "明天" in text:
        return 1
    if "后天" in text:
        return 2
    value = first_number(text)
    unit = 1
    for word, days in _UNITS:
        if word in text:
            unit = days
            break
    if value is None:
        if re.search(r"[一个]?(周|星期|礼拜)", text):
            value = 1
        elif "半个月" in text:
            return 15
        elif "半年" in text:
            return 180
        else:
            return None
    if "半" in text and value is not None and unit > 1:
        value += 0.5
    if value > 100_000:
        return None
    return int(value * unit)


# “无/未” only at the start: “可能判无期” is not a no.
_NO = re.compile(r"^(不|没|否|无|别|非|未)|不是|没|不用|不需要|并未")
_YES = re.compile(r"^(是|有|对|要|需要|嗯|好|在|能|可以)|是的|有的|对的|需要|可以|能提供|已经|还在|正在")


def parse_bool(text: str) -> bool | None:
    """Yes/no from a short answer: “是的/有/需要”→True, “没有/不是/不用”→False, else None."""
    t = text.strip().lower()
    if t in {"true", "yes", "y", "1"}:
        return True
    if t in {"false", "no", "n", "0"}:
        return False
    if is_unknown(t):
        return None
    if _NO.search(t):
        return False
    if _YES.search(t):
        return True
    return None


def parse_residence(text: str) -> str | None:
    if re.search(r"农村|乡下|村里|乡镇|村", text):
        return "rural"
    if re.search(r"城镇|城市|城里|市区|县城|镇上|城", text):
        return "urban"
    return None


_DISABILITY = (
    ("visual", r"视力|盲|眼睛|看不见"),
    ("hearing", r"听力|聋|耳朵|听不见"),
    ("speech", r"言语|哑|说不了话|不会说话"),
    ("physical", r"肢体|腿|胳膊|手|脚|瘫"),
    ("intellectual", r"智力|智障|脑瘫"),
    ("mental", r"精神"),
    ("other", r"其他|别的|多重"),
)


def parse_disability_type(text: str) -> str | None:
    for code, pattern in _DISABILITY:
        if re.search(pattern, text):
            return code
    return None


_GROUP_STATUS = (
    ("judicial_assistance", r"司法救助"),
    ("dibao", r"低保"),
    ("tekun", r"特困|五保"),
    ("youfu", r"优抚|军属|烈属|退役军人"),
    ("social_assistance", r"救助"),
    ("no_fixed_income", r"没有?(固定)?(收入|生活来源|工作)|无固定|没固定"),
    ("none", r"都不是|不是|没有|无|都没有"),
)


def parse_group_status(text: str) -> str | None:
    """Assistance status as facts_from_slots expects it (dibao, tekun, …, no_fixed_income, none)."""
    for code, pattern in _GROUP_STATUS:
        if re.search(pattern, text):
            return code
    return None


_MATTER = (
    # Legal Aid Law Art 32 situations first (no means test): their wording is specific.
    ("state_comp_after_retrial_acquittal", r"(再审|改判).{0,12}无罪|无罪.{0,20}国家赔偿"),
    ("martyr_rights", r"烈士|英烈"),
    ("good_samaritan", r"见义勇为"),
    ("domestic_violence", r"家暴|家庭暴力|打我|动手"),
    ("abuse_abandonment", r"虐待|遗弃|不管|不养"),
    ("support_payment", r"抚养费|赡养费|扶养费|生活费|养老费"),
    ("divorce_property", r"离婚|分财产|彩礼|房产分割"),
    ("traffic_injury", r"交通|车祸|撞"),
    ("medical_injury", r"医疗|医院|手术|医疗事故"),
    ("student_injury_at_school", r"学校|校园|在校"),
    ("work_injury", r"工伤"),
    ("wage_arrears", r"工资|欠薪"),
    ("labour_relationship", r"劳动合同|辞退|开除|社保没交"),
    ("social_insurance", r"社保|养老保险|医保|失业"),
    ("other", r"其他|别的|都不是"),
)


def parse_matter_type(text: str) -> str | None:
    """The kind of matter (facts MatterType code) from a button or a short answer."""
    for code, pattern in _MATTER:
        if re.search(pattern, text):
            return code
    return None


_RATING_WORDS = (  # the first row that matches wins: the longer, negated phrases come first
    (5, r"非常满意|很满意|特别满意|十分满意|好评"),
    (1, r"很不满意|非常不满意|特别不满意|十分不满意|太差|差评"),
    (2, r"不满意|不太满意|不大满意|差"),
    (3, r"基本满意|一般|还行|还可以"),
    (4, r"满意|不错|挺好"),
)
_SCORE_CHARS = {**{c: i + 1 for i, c in enumerate("12345")}, **{c: i + 1 for i, c in enumerate("１２３４５")}}
_SCORE_CHARS.update({c: i + 1 for i, c in enumerate("一二三四五")})
_WORD_END = r"(?=$|[\s，,。.!！、；;：:~～])"  # a rating word ends here: "满意度" is not "满意"
_TYPED_SCORE = re.compile(rf"([1-5１-５一二三四五])\s*(?:分|星|颗星)?{_WORD_END}")
_SEPARATORS = " \t\n，,。.!！、；;：:~～"


def parse_rating(text: str) -> int | None:
    """A satisfaction score 1–5: “5分”, “五星”, “非常满意”→5, “不满意”→2."""
    m = re.search(r"[1-5一二三四五]", text)
    if m and re.fullmatch(r"\s*[1-5一二三四五]\s*(分|星|颗星)?\s*.*", text):
        return int(cn2an.cn2an(m.group(0), "smart"))
    for score, pattern in _RATING_WORDS:
        if re.search(pattern, text):
            return score
    return None


def parse_typed_rating(text: str) -> tuple[int, str | None] | None:
    """A rating typed as a message of its own ("5", "五星", "非常满意", "不满意，律师没回电话"):
    (score, the words after it as a comment). Stricter than `parse_rating`, which reads an answer to the
    rating question: only the start of the message counts, and only a whole word ("满意度怎么算",
    "5分钟前" and "我对判决不满意" are no ratings)."""
    stripped = text.strip()
    found = _TYPED_SCORE.match(stripped)
    score = _SCORE_CHARS[found.group(1)] if found else None
    for words_score, pattern in () if found else _RATING_WORDS:
        found = re.match(rf"(?:{pattern}){_WORD_END}", stripped)
        if found:
            score = words_score
            break
    if found is None or score is None:
        return None
    return score, stripped[found.end() :].strip(_SEPARATORS) or None


_CASE_COUNTY_WORDS = (
    ("same", r"同一个|一样|也是|也在|就在这|本地|本县|这里"),
    ("none", r"还没|没有机关|没人办|没有人办|没到法院|没立案"),
)


def parse_case_place(text: str) -> str | None:
    """Where the case is handled, when the answer names no county: "same" (the citizen's county), "none"."""
    for code, pattern in _CASE_COUNTY_WORDS:
        if re.search(pattern, text):
            return code
    return None
