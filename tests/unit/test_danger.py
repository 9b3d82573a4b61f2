"""Danger now: which messages must give the emergency numbers at once, and which must not (no false alarm)."""

from __future__ import annotations

import pytest

from bot import strings
from bot.gateway import Gateway
from hotline.intake.danger import DangerCuesError, assess, default_cues, parse_cues
from tests.unit.test_gateway import FakeEngine, log_rows, msg

MUST_TRIGGER: list[tuple[str, str]] = [
    ("他现在在外面砸门说要杀了我", "domestic_violence"),
    ("我老公刚被警察带走了", "detention"),
    ("我老公喝醉了，正在打我", "domestic_violence"),
    ("他刚才打我了，现在还在门外", "domestic_violence"),
    ("救命！他拿着刀", "domestic_violence"),
    ("我男人说要弄死我", "domestic_violence"),
    ("他把我锁在屋里，现在不让我走", "domestic_violence"),
    ("孩子他爸又在打孩子", "domestic_violence"),
    ("我儿子今天被派出所带走了，怎么办", "detention"),
    ("我爸昨晚被刑拘了", "detention"),
    ("以前他也打过我，可是现在他又在打我", "domestic_violence"),  # the past clause does not hide the present
]

MUST_NOT_TRIGGER = [
    "我以前被打过，现在离婚了",
    "他以前经常打我，我想离婚",
    "去年被家暴过，现在想起诉离婚",
    "我现在想起诉打我的人",
    "老板拖欠我三个月工资",
    "刚才打电话问了法院，说要材料",
    "我儿子去年被判刑了，现在想申诉",
    "我弟弟之前被拘留过，现在放出来了",
    "我想咨询一下人身安全保护令怎么申请",
    "工伤认定要多久",
    "",
]


@pytest.mark.parametrize(("text", "kind"), MUST_TRIGGER)
def test_danger_now_triggers(text: str, kind: str) -> None:
    danger = assess(text)
    assert danger is not None and danger.kind == kind
    assert danger.basis  # every cue names its legal basis


@pytest.mark.parametrize("text", MUST_NOT_TRIGGER)
def test_no_false_alarm(text: str) -> None:
    assert assess(text) is None


def test_every_cue_cites_the_law() -> None:
    cues = default_cues()
    assert {c.kind for c in cues} == {"domestic_violence", "detention"}
    dv = [b for c in cues if c.kind == "domestic_violence" for b in c.basis]
    assert "反家庭暴力法第十五条" in dv and "反家庭暴力法第二十三条" in dv


def test_malformed_cues_are_refused_at_load() -> None:
    with pytest.raises(DangerCuesError, match="kind"):
        parse_cues({"cues": [{"id": "x", "kind": "weather", "basis": ["a"], "all_of": [["b"]]}]})
    with pytest.raises(DangerCuesError, match="basis"):
        parse_cues({"cues": [{"id": "x", "kind": "detention", "all_of": [["b"]]}]})
    with pytest.raises(DangerCuesError, match="all_of"):
        parse_cues({"cues": [{"id": "x", "kind": "detention", "basis": ["a"], "all_of": []}]})


def test_emergency_replies_carry_the_numbers() -> None:
    for kind in ("domestic_violence", "detention"):
        text = strings.DANGER_NOW[kind]
        assert "110" in text and "12338" in text and "12348" in text


async def test_gateway_sends_the_emergency_numbers_before_the_engine_answer(db_url: str) -> None:
    engine = FakeEngine()
    replies = await Gateway(engine, db_url).handle(msg(1, "他现在在外面砸门说要杀了我"))
    assert [r.text for r in replies] == [
        strings.DANGER_NOW["domestic_violence"],
        "答复:他现在在外面砸门说要杀了我",
    ]
    assert engine.seen == [("console-u1", "他现在在外面砸门说要杀了我")]  # the dialog still goes on
    assert [row[1] for row in log_rows(db_url)][1] == strings.DANGER_NOW["domestic_violence"]


async def test_gateway_emergency_numbers_even_when_the_engine_is_down(db_url: str) -> None:
    engine = FakeEngine()
    engine.up = False
    replies = await Gateway(engine, db_url).handle(msg(1, "我老公刚被警察带走了"))
    assert replies[0].text == strings.DANGER_NOW["detention"]
    assert replies[1].text == strings.ENGINE_DOWN


async def test_gateway_no_alarm_for_the_past(db_url: str) -> None:
    replies = await Gateway(FakeEngine(), db_url).handle(msg(1, "我以前被打过，现在离婚了"))
    assert [r.text for r in replies] == ["答复:我以前被打过，现在离婚了"]
