"""hotline.normalise: citizens' free-text answers as numbers, yes/no and codes."""

from __future__ import annotations

import pytest

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
        ("好吧", None),
    ],
)
def test_rating(text: str, score: int | None) -> None:
    assert n.parse_rating(text) == score


def test_unknown() -> None:
    assert n.is_unknown("我也不清楚")
    assert n.is_unknown("这个不方便说")
    assert not n.is_unknown("清楚")
