"""Lifecycle commands on the desk (issue 12), through the real python-telegram-bot handlers and the fake
Bot API: /wait, /close, /reopen, /cancel, /refer, /unclaim, /assign, /county, /find and the full /ticket
history, each audited and each refused outside the operator's counties."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import strings
from bot.desk.cards import render_card
from hotline.db.models import MessageLog, Ticket, TicketStatus
from hotline.db.session import session_scope
from hotline.settings import Settings
from hotline.sla.clock import SlaClock
from hotline.tickets import lifecycle
from tests.unit.test_desk import (
    CITIZEN,
    DINGYUAN,
    GROUP_ID,
    LANGYA,
    OPS,
    Desk,
    buttons,
    events,
    make_ticket,
    operators,
    posted_card,
    ticket,
)

pytestmark = pytest.mark.usefixtures("operators")
__all__ = ["operators"]  # the fixture, shared with test_desk


async def say(desk: Desk, who: str, text: str) -> str:
    """An operator's command in the group; returns the bot's answer in the group."""
    await desk.group_text(OPS[who], text)
    return str(desk.api.to(GROUP_ID)[-1]["text"])


def status_trail(db: str, ticket_id: int) -> list[str | None]:
    return [s for k, _, s, _ in events(db, ticket_id) if k == "status"]


async def test_wait_pauses_the_clock_and_the_citizens_reply_resumes_it(
    settings: Settings, operators: dict[str, int]
) -> None:
    db = settings.database_url
    ticket_id, number, card = await posted_card(settings)
    before = ticket(db, ticket_id).resolution_due
    assert before is not None  # due times are set when the ticket is created, not by a later job
    async with Desk(settings, first_id=3000) as desk:
        answer = await say(desk, "dingyuan", f"/wait {number} 请市民补充劳动合同")
        assert answer == strings.DESK_WAITING.format(number=number)
        edit = desk.api.to(GROUP_ID, "editMessageText")[-1]
        assert int(edit["message_id"]) == card and strings.DESK_CARD_WAITING in edit["text"]
    t = ticket(db, ticket_id)
    assert t.status is TicketStatus.WAITING_CITIZEN and t.first_response_at is not None
    later = dt.datetime(2030, 1, 7, 3)  # the citizen answers years later (a Monday, 11:00 local)
    clock = SlaClock(settings.sla)
    with session_scope(db) as s:
        row = s.get_one(Ticket, ticket_id)
        reply = lifecycle.citizen_replied(s, row, "材料我明天送来", sla=clock, now=later)
    assert reply == lifecycle.CitizenReply(resumed=True, county=None)
    t = ticket(db, ticket_id)
    assert t.status is TicketStatus.NEW  # nobody held it: back to the county's queue
    assert t.resolution_due is not None and t.resolution_due > later > before  # the pause did not count
    ev = events(db, ticket_id)
    assert ("status", "citizen", "new", {"note": "市民已回复"}) in ev
    assert (
        "status",
        f"operator:{operators['dingyuan']}",
        "waiting_citizen",
        {"note": "请市民补充劳动合同"},
    ) in ev


async def test_close_with_outcome_asks_for_a_rating_then_reopen(
    settings: Settings, operators: dict[str, int]
) -> None:
    db = settings.database_url
    ticket_id, number, _ = await posted_card(settings)
    op = f"operator:{operators['dingyuan']}"
    async with Desk(settings, first_id=3000) as desk:
        refusal = await say(desk, "dingyuan", f"/close {number} 随便写")
        assert refusal.startswith("未知结案结果：随便写") and "已指派律师" in refusal
        assert "用法：/close" in await say(desk, "dingyuan", f"/close {number}")
        answer = await say(desk, "dingyuan", f"/close {number} 已解答咨询 电话里讲清楚了")
        assert answer == strings.DESK_CLOSED_RATING.format(number=number, outcome="已解答咨询")
        assert len(desk.api.to(CITIZEN)) == 1 and buttons(desk.api.to(CITIZEN)[0])  # the rating buttons
        edit = desk.api.to(GROUP_ID, "editMessageText")[-1]
        assert "已关闭" in edit["text"] and buttons(edit) == []
        refusal = await say(desk, "dingyuan", f"/wait {number}")
        assert refusal == f"工单 {number} 当前为「已关闭」，不能设为等待市民补充"
        answer = await say(desk, "dingyuan", f"/reopen {number} 市民又来电")
        assert answer == strings.DESK_REOPENED.format(number=number)
        edit = desk.api.to(GROUP_ID, "editMessageText")[-1]
        assert "重新处理中" in edit["text"] and ("认领", f"desk:claim:{ticket_id}") in buttons(edit)
    assert status_trail(db, ticket_id) == ["resolved", "closed", "reopened"]
    ev = events(db, ticket_id)
    assert ("outcome", op, None, {"outcome": "answered", "label": "已解答咨询"}) in ev
    t = ticket(db, ticket_id)
    assert t.status is TicketStatus.REOPENED and t.closed_at is None and t.assigned_operator_id is not None


async def test_cancel_and_refer(settings: Settings, operators: dict[str, int]) -> None:
    db = settings.database_url
    dup_id, dup_no = make_ticket(settings, key="dup")
    ref_id, ref_no = make_ticket(settings, key="ref")
    async with Desk(settings, first_id=3000) as desk:
        assert "重复工单" in await say(desk, "dingyuan", f"/cancel {dup_no} 火星")
        answer = await say(desk, "dingyuan", f"/cancel {dup_no} 重复")
        assert answer == strings.DESK_CANCELLED.format(number=dup_no, reason="重复工单")
        assert "妇联" in await say(desk, "dingyuan", f"/refer {ref_no}")
        answer = await say(desk, "dingyuan", f"/refer {ref_no} 人社劳动监察")
        text = lifecycle.referral_message(ref_no, "labour_inspection")
        assert "人社劳动监察" in text and "12333" in text and ref_no in text
        assert [p["text"] for p in desk.api.to(CITIZEN)] == [text]  # the referral reached the citizen
        assert answer == strings.DESK_REFERRED.format(number=ref_no, agency="人社劳动监察", message=text)
    assert ticket(db, dup_id).status is TicketStatus.CANCELLED
    assert ticket(db, ref_id).status is TicketStatus.REFERRED
    assert ("cancel_reason", "duplicate") in [(k, d.get("reason")) for k, _, _, d in events(db, dup_id)]
    assert ("referred", "labour_inspection") in [(k, d.get("agency")) for k, _, _, d in events(db, ref_id)]
    with session_scope(db) as s:
        logged = [m.text for m in s.query(MessageLog).filter(MessageLog.ticket_id == ref_id)]
    assert logged == [text]


async def test_unclaim_and_assign(settings: Settings, operators: dict[str, int]) -> None:
    db = settings.database_url
    ticket_id, number, card = await posted_card(settings)
    async with Desk(settings, first_id=3000) as desk:
        assert await say(desk, "dingyuan", f"/unclaim {number}") == f"工单 {number} 没有承办人"
        await desk.press(OPS["dingyuan"], f"desk:claim:{ticket_id}", card)
        answer = await say(desk, "dingyuan", f"/unclaim {number}")
        assert answer == strings.DESK_UNCLAIMED.format(number=number)
        assert ticket(db, ticket_id).status is TicketStatus.NEW
        # a county operator cannot be given another county's ticket; unknown names are refused
        assert (
            await say(desk, "supervisor", f"/assign {number} 李琅琊")
            == "李琅琊无权处理定远县的工单，不能改派给他/她"
        )
        assert await say(desk, "supervisor", f"/assign {number} 无名氏") == "找不到在岗的工作人员：无名氏"
        answer = await say(desk, "supervisor", f"/assign {number} 王定远")
        assert answer == strings.DESK_ASSIGNED.format(number=number, name="王定远")
        assert "承办人：王定远" in desk.api.to(GROUP_ID, "editMessageText")[-1]["text"]
        # only the holder or a supervisor gives a held ticket away
        assert "只有承办人或监督人员" not in await say(desk, "dingyuan", f"/unclaim {number}")
    t = ticket(db, ticket_id)
    assert t.status is TicketStatus.NEW and t.assigned_operator_id is None
    kinds = [k for k, _, _, _ in events(db, ticket_id)]
    assert kinds.count("unassigned") == 2 and "reassigned" in kinds


async def test_county_less_ticket_gets_a_county(settings: Settings, operators: dict[str, int]) -> None:
    db = settings.database_url
    ticket_id, number, card = await posted_card(settings, county=None)
    names = dict(settings.county_names)
    with session_scope(db) as s:
        text = render_card(s.get_one(Ticket, ticket_id), county_names=names, timezone="Asia/Shanghai")
    assert strings.DESK_CARD_COUNTY_UNKNOWN.format(number=number) in text
    async with Desk(settings, first_id=3000) as desk:
        assert "无权处理" in await say(desk, "dingyuan", f"/ticket {number}")  # as before: supervisors only
        assert await say(desk, "langya", f"/county {number} 定远") == "您只能把工单设到本人负责的县区"
        assert await say(desk, "dingyuan", f"/county {number} 火星") == strings.DESK_COUNTY_USAGE
        answer = await say(desk, "dingyuan", f"/county {number} 定远")
        assert answer == strings.DESK_COUNTY_SET.format(number=number, county="定远县")
        edit = desk.api.to(GROUP_ID, "editMessageText")[-1]
        assert "县区：定远县" in edit["text"] and "县区未知" not in edit["text"]
        await desk.press(OPS["dingyuan"], f"desk:claim:{ticket_id}", card)  # now the county can take it
        assert desk.api.alerts()[-1]["text"] == strings.DESK_CLAIMED.format(number=number)
        assert "无权处理" in await say(desk, "langya", f"/county {number} 琅琊")
    assert ticket(db, ticket_id).county_code == DINGYUAN
    op = f"operator:{operators['dingyuan']}"
    assert ("county_set", op, None, {"from": None, "to": DINGYUAN}) in events(db, ticket_id)


async def test_citizen_naming_a_county_routes_a_county_less_ticket(settings: Settings) -> None:
    db = settings.database_url
    ticket_id, _ = make_ticket(settings, county=None)
    with session_scope(db) as s:
        row = s.get_one(Ticket, ticket_id)
        both = lifecycle.citizen_replied(s, row, "我在定远也在琅琊打过工", counties=settings.counties)
        assert both.county is None and row.county_code is None  # two counties: do not guess
        named = lifecycle.citizen_replied(s, row, "我是琅琊区的", counties=settings.counties)
    assert named == lifecycle.CitizenReply(resumed=False, county=LANGYA)
    assert ticket(db, ticket_id).county_code == LANGYA
    assert ("county_set", "citizen") in [(k, a) for k, a, _, _ in events(db, ticket_id)]


COMMANDS = [
    "/wait {n}",
    "/close {n} 已解答咨询",
    "/reopen {n}",
    "/cancel {n} 重复",
    "/refer {n} 法院",
    "/unclaim {n}",
    "/assign {n} 李琅琊",
    "/county {n} 琅琊",
    "/ticket {n}",
]


@pytest.mark.parametrize("command", COMMANDS)
async def test_every_command_holds_county_authorisation(settings: Settings, command: str) -> None:
    db = settings.database_url
    ticket_id, number = make_ticket(settings)  # a 定远县 ticket
    before = events(db, ticket_id)
    async with Desk(settings, first_id=3000) as desk:
        answer = await say(desk, "langya", command.format(n=number))
        assert answer == f"工单 {number} 属于定远县，您无权处理。"
        assert await say(desk, "stranger", command.format(n=number)) == strings.DESK_NOT_OPERATOR
        assert desk.api.to(CITIZEN) == []
    assert events(db, ticket_id) == before and ticket(db, ticket_id).status is TicketStatus.NEW


async def test_find_within_the_operators_counties(settings: Settings, operators: dict[str, int]) -> None:
    _, mine = make_ticket(settings, key="a")
    _, other = make_ticket(settings, key="b", county=LANGYA, description="邻居噪音，电话13900001111")
    async with Desk(settings, first_id=3000) as desk:
        found = await say(desk, "dingyuan", f"/find {mine[-4:]}")
        assert mine in found and found.startswith("查询结果（1）")
        assert mine in await say(desk, "dingyuan", "/find 尾号5678 欠薪 待受理 定远")
        assert await say(desk, "dingyuan", "/find 尾号1111") == strings.DESK_FIND_NONE  # 琅琊's ticket
        assert other in await say(desk, "supervisor", "/find 尾号1111")
        # Local (city) days: after 16:00 UTC the city's date is the machine's tomorrow.
        tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
        both = await say(desk, "supervisor", f"/find 2000-01-01..{tomorrow}")
        assert mine in both and other in both
        assert await say(desk, "supervisor", "/find 2000-01-01..2000-12-31") == strings.DESK_FIND_NONE
        assert await say(desk, "dingyuan", "/find") == strings.DESK_FIND_USAGE
        assert "电话尾号" in await say(desk, "dingyuan", "/find 尾号12")


async def test_ticket_shows_the_whole_history(settings: Settings, operators: dict[str, int]) -> None:
    _, number = make_ticket(settings)
    async with Desk(settings, first_id=3000) as desk:
        for i in range(12):
            await say(desk, "dingyuan", f"/note {number} 第{i}条备注")
        await say(desk, "dingyuan", f"/wait {number}")
        view = await say(desk, "dingyuan", f"/ticket {number}")
    assert "第0条备注" in view and "第11条备注" in view and "状态变更→等待您补充材料" in view
    assert view.count("\n") > 14
    assert "创建 机器人" in view and "内部备注（第3条备注） 王定远" in view  # who, by name


async def test_citizen_message_resumes_and_routes_on_the_desk(
    settings: Settings, operators: dict[str, int]
) -> None:
    """What the handoff sink does after posting a citizen's message (Desk.on_citizen_message)."""
    db = settings.database_url
    ticket_id, number, card = await posted_card(settings, county=None)
    async with Desk(settings, first_id=3000) as desk:
        await say(desk, "supervisor", f"/wait {number} 请问您在哪个县区？")
        assert desk.transport.desk is not None
        await desk.transport.desk.on_citizen_message(number, "我在定远县炉桥镇")
        notices = [p["text"] for p in desk.api.to(GROUP_ID)[-2:]]
        assert notices == [
            strings.DESK_RESUMED_NOTICE.format(number=number),
            strings.DESK_COUNTY_FROM_CITIZEN.format(number=number, county="定远县"),
        ]
        edit = desk.api.to(GROUP_ID, "editMessageText")[-1]
        assert int(edit["message_id"]) == card and "县区：定远县" in edit["text"] and "待受理" in edit["text"]
        posted = len(desk.api.to(GROUP_ID))
        await desk.transport.desk.on_citizen_message(number, "还有琅琊区的事")  # nothing left to change
        assert len(desk.api.to(GROUP_ID)) == posted
        await desk.press(OPS["dingyuan"], f"desk:claim:{ticket_id}", card)  # 定远 can take it now
        assert desk.api.alerts()[-1]["text"] == strings.DESK_CLAIMED.format(number=number)
    t = ticket(db, ticket_id)
    assert (t.county_code, t.status) == (DINGYUAN, TicketStatus.ASSIGNED)
