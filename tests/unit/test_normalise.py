"""hotline.normalise: citizens' free-text answers as numbers, yes/no and codes."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline import normalise as n


@pytest.mark.parametrize(
    ("text", "age"),
    [("十五岁", 15), ("16岁", 16), ("他17岁", 17), ("今年六十八", 68), ("未成年", 17), ("七十二岁了", 72)],
)
def test_age(text: str, age: int) -> None:
    assert n.parse_age(text) == age


@pytest.mark.parametrize("text", ["不知道", "很大了", "两百岁"])
def test_age_unreadable(text: str) -> None:
    assert n.parse_age(text) is None


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("三万多块", 30000),
        ("一千五", 1500),
        ("两千左右", 2000),
        ("每个月1500", 1500),
        ("八百块", 800),
        ("1.5万", 15000),
        ("3千", 3000),
        ("没有收入", 0),
        ("月收入2,000元", 2000),
    ],
)
def test_amount(text: str, amount: float) -> None:
    assert n.parse_amount(text) == amount


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("还有五天", 5),
        ("还有5天开庭", 5),
        ("一周", 7),
        ("两个星期", 14),
        ("两个月", 60),
        ("明天", 1),
        ("半年", 180),
        ("已经过了", -1),
    ],
)
def test_days(text: str, days: int) -> None:
    assert n.parse_days(text) == days


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("是的", True),
        ("有", True),
        ("需要", True),
        ("还在打", True),
        ("没有", False),
        ("不是", False),
        ("还没请", False),
        ("不用", False),
        ("不知道", None),
        ("你好", None),
    ],
)
def test_bool(text: str, value: bool | None) -> None:
    assert n.parse_bool(text) is value


def test_codes() -> None:
    assert n.parse_residence("农村") == "rural"
    assert n.parse_residence("住在城里") == "urban"
    assert n.parse_disability_type("他是聋哑人") == "hearing"
    assert n.parse_disability_type("视力残疾") == "visual"
    assert n.parse_group_status("低保") == "dibao"
    assert n.parse_group_status("五保户") == "tekun"
    assert n.parse_group_status("没有固定生活来源") == "no_fixed_income"
    assert n.parse_group_status("都不是") == "none"
    assert n.parse_matter_type("抚养费赡养费") == "support_payment"
    assert n.parse_matter_type("被虐待遗弃") == "abuse_abandonment"
    assert n.parse_matter_type("随便") is None


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("5分", 5),
        ("1分", 1),
        ("五星", 5),
        ("3", 3),
        ("非常满意", 5),
        ("不满意", 2),
        ("满意", 4),
        ("不太满意", 2),  # was read as 满意 (4)
        ("差评", 1),
        ("好吧", None),
    ],
)
def test_rating(text: str, score: int | None) -> None:
    assert n.parse_rating(text) == score


def test_unknown() -> None:
    assert n.is_unknown("我也不清楚")
    assert n.is_unknown("这个不方便说")
    assert not n.is_unknown("清楚")


@pytest.mark.parametrize(
    "text",
    ["1" * 300, "9" * 400 + "元", "1" * 300 + "万", "一" + "亿" * 60, "收入" + "9" * 20],
)
def test_absurd_numbers_are_unknown_not_inf(text: str) -> None:
    # A 300-digit income became inf and broke ticket creation on PostgreSQL.
    assert n.parse_amount(text) is None
    assert n.parse_days(text) is None
    value = n.first_number(text)
    assert value is None or abs(value) <= n.MAX_NUMBER


def test_large_but_sane_amount_is_kept() -> None:
    assert n.parse_amount("年收入1200000000元") == 1_200_000_000


def test_facts_from_huge_integers_are_unknown() -> None:
    from hotline.eligibility.facts import facts_from_slots

    facts = facts_from_slots({"income_per_capita": 10**400, "age": 10**400, "days_to_deadline": -(10**400)})
    assert facts.household_income_per_capita_month is None
    assert facts.age is None and facts.days_to_deadline is None
    assert facts_from_slots({"income_per_capita": "9" * 400}).household_income_per_capita_month is None
    assert facts_from_slots({"income_per_capita": 1500}).household_income_per_capita_month == 1500


_ANSWERS = st.one_of(
    st.text(),
    st.text(
        alphabet="0123456789.,，万千百零一二两三四五六七八九十百千万亿多几余点岁天年月周不没有是", max_size=80
    ),
)


@settings(max_examples=400, deadline=None)
@given(_ANSWERS)
def test_parsers_never_raise_and_stay_finite(text: str) -> None:
    for parse in (n.first_number, n.parse_amount, n.parse_age, n.parse_days):
        value = parse(text)
        assert value is None or (math.isfinite(value) and abs(value) <= n.MAX_NUMBER)
    for parse_code in (n.parse_bool, n.parse_residence, n.parse_group_status, n.parse_rating):
        parse_code(text)
