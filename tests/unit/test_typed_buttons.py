"""A button title typed instead of tapped ("解决了") is that button's press; anything else stays text."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.gateway import Gateway, Inbound
from bot.replies import Button, typed_button
from hotline.db.models import MessageLog
from hotline.db.session import session_scope

FAQ_BUTTONS = (Button("解决了", "/affirm"), Button("没解决，我想咨询自己的事", "/deny"))


@pytest.mark.parametrize(
    ("text", "payload"),
    [
        ("解决了", "/affirm"),
        ("解决了。", "/affirm"),
        (" 解决了！", "/affirm"),
        ("没解决", "/deny"),
        ("没解决，我想咨询自己的事", "/deny"),
        ("解决", None),  # not a title
        ("解决了谢谢你", None),
        ("我的问题是老板拖欠工资解决了一半", None),
        ("", None),
    ],
)
def test_typed_button(text: str, payload: str | None) -> None:
    found = typed_button(text, FAQ_BUTTONS)
    assert (found.payload if found else None) == payload


def test_an_ambiguous_title_matches_nothing() -> None:
    buttons = (Button("定远县（城区）", "/a"), Button("定远县（乡镇）", "/b"))
    assert typed_button("定远县", buttons) is None
    assert typed_button("定远县乡镇", buttons) == buttons[1]
    assert typed_button("🔁 重新开始", (Button("🔁 重新开始", "/restart"),)) == Button(
        "🔁 重新开始", "/restart"
    )


class FaqEngine:
    """Answers a question, then asks whether it helped with the two buttons."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        self.seen.append(text)
        buttons = [{"title": b.title, "payload": b.payload} for b in FAQ_BUTTONS]
        return [{"text": "答复"}, {"text": "这个回答解决您的问题了吗？", "buttons": buttons}]


def said(n: int, text: str) -> Inbound:
    return Inbound(channel="console", user_id="u1", message_id=f"m{n}", text=text)


async def test_the_engine_gets_the_payload_of_the_typed_title_and_the_log_says_so(db_url: str) -> None:
    engine = FaqEngine()
    gateway = Gateway(engine, db_url)
    await gateway.handle(said(1, "工资被拖欠怎么办"))
    await gateway.handle(said(2, "解决了"))
    await gateway.handle(said(3, "没解决"))
    await gateway.handle(said(4, "解决了谢谢"))  # not a title: the dialog's to understand
    assert engine.seen == ["工资被拖欠怎么办", "/affirm", "/deny", "解决了谢谢"]
    with session_scope(db_url) as s:
        row = s.scalars(select(MessageLog).where(MessageLog.external_message_id == "m2")).one()
        assert (row.text, row.payload) == ("解决了", {"button": "/affirm", "typed": True})


async def test_a_title_typed_after_the_citizen_moved_on_is_text(db_url: str) -> None:
    engine = FaqEngine()
    gateway = Gateway(engine, db_url)
    await gateway.handle(said(1, "工资被拖欠怎么办"))  # the buttons are offered
    await gateway.handle(said(2, "我是在建筑工地干活的"))  # the citizen wrote instead: they are passed
    with session_scope(db_url) as s:  # the bot's answer to it offered no buttons
        for row in s.scalars(select(MessageLog).where(MessageLog.id > 3)):
            row.payload = None
    await gateway.handle(said(3, "解决了"))
    assert engine.seen == ["工资被拖欠怎么办", "我是在建筑工地干活的", "解决了"]


class ChattyEngine(FaqEngine):
    """The buttons, then several messages without any (a long answer split up)."""

    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        replies = await super().send(sender, text)
        return replies + [{"text": f"补充说明 {i}"} for i in range(6)]


async def test_buttons_followed_by_several_plain_replies_still_answer_a_typed_title(db_url: str) -> None:
    engine = ChattyEngine()
    gateway = Gateway(engine, db_url)
    await gateway.handle(said(1, "工资被拖欠怎么办"))
    await gateway.handle(said(2, "没解决"))
    assert engine.seen == ["工资被拖欠怎么办", "/deny"]
