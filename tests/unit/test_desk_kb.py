"""Knowledge-base proposals on the desk (issue 10), through the real python-telegram-bot handlers and the fake
Bot API: /kb_propose by an operator of the ticket's county, /kb_pending, /kb_approve and /kb_reject by a
supervisor; refusals shown in the group; the approved entry served by the bot; every step audited."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import strings
from hotline.db.models import KbProposal
from hotline.db.session import session_scope
from hotline.knowledge import texts
from hotline.knowledge.served import served_retriever
from hotline.settings import Settings, today_in
from tests.unit.test_desk import Desk, events, make_ticket, operators
from tests.unit.test_desk_lifecycle import say

pytestmark = pytest.mark.usefixtures("operators")
__all__ = ["operators"]  # the fixture, shared with test_desk

PROPOSAL = (
    "农民工工资保证金是什么；工资保证金有什么用 | "
    "施工总承包单位应当按照有关规定存储工资保证金，专项用于支付为所承包工程提供劳动的农民工被拖欠的工资。 | "
    "《保障农民工工资支付条例》第三十二条"
)


async def test_propose_then_a_supervisor_approves_and_the_bot_serves_it(
    settings: Settings, operators: dict[str, int]
) -> None:
    db = settings.database_url
    ticket_id, number = make_ticket(settings)  # a 定远 ticket
    async with Desk(settings, first_id=3000) as desk:
        refusal = await say(desk, "langya", f"/kb_propose {number} {PROPOSAL}")
        assert refusal == strings.DESK_NOT_YOUR_COUNTY.format(number=number, county="定远县")
        assert await say(desk, "dingyuan", f"/kb_propose {number}") == strings.DESK_KB_PROPOSE_USAGE
        assert "至少写两种问法" in await say(
            desk, "dingyuan", f"/kb_propose {number} 只有一种问法 | 答案足够长了吧是的"
        )
        answer = await say(desk, "dingyuan", f"/kb_propose {number} {PROPOSAL}")
        with session_scope(db) as s:
            pid = s.query(KbProposal).one().id
        assert answer == strings.DESK_KB_PROPOSED.format(id=pid, number=number)

        assert await say(desk, "dingyuan", "/kb_pending") == texts.SUPERVISORS_ONLY
        listing = await say(desk, "supervisor", "/kb_pending")
        assert listing.startswith(strings.DESK_KB_PENDING_HEADER.format(count=1))
        assert f"#{pid} · 欠薪" in listing and number in listing and "王定远" in listing
        assert "《保障农民工工资支付条例》第三十二条" in listing and strings.DESK_KB_PENDING_HINT in listing

        assert await say(desk, "dingyuan", f"/kb_approve {pid}") == texts.SUPERVISORS_ONLY
        assert await say(desk, "supervisor", "/kb_approve") == strings.DESK_KB_APPROVE_USAGE
        approved = await say(desk, "supervisor", f"/kb_approve {pid} 条文已核对")
        due = today_in(settings) + dt.timedelta(days=settings.knowledge.review_days)
        entry_id = f"wage_arrears_kb{pid}"
        assert approved == strings.DESK_KB_APPROVED.format(id=pid, entry=entry_id, due=due)
        assert "已批准，不能再审核" in await say(desk, "supervisor", f"/kb_approve {pid}")
        assert await say(desk, "supervisor", "/kb_pending") == strings.DESK_KB_PENDING_NONE
    with session_scope(db) as s:
        match = served_retriever(s, settings.knowledge.threshold).answer("工资保证金是干什么用的")
        assert match is not None and match.entry.id == entry_id
        assert match.entry.checked_by == f"赵主任（#{operators['supervisor']}）"
    kb_events = [(k, a, d) for k, a, _, d in events(db, ticket_id) if k.startswith("kb_")]
    assert kb_events == [
        (
            "kb_proposed",
            f"operator:{operators['dingyuan']}",
            {"proposal_id": pid, "category": "wage_arrears"},
        ),
        (
            "kb_approved",
            f"operator:{operators['supervisor']}",
            {"proposal_id": pid, "entry_id": entry_id, "note": "条文已核对"},
        ),
    ]


async def test_a_supervisor_rejects_with_a_reason(settings: Settings, operators: dict[str, int]) -> None:
    db = settings.database_url
    ticket_id, number = make_ticket(settings)
    async with Desk(settings, first_id=3000) as desk:
        await say(desk, "dingyuan", f"/kb_propose {number} {PROPOSAL}")
        with session_scope(db) as s:
            pid = s.query(KbProposal).one().id
        assert await say(desk, "supervisor", f"/kb_reject {pid}") == strings.DESK_KB_REJECT_USAGE
        answer = await say(desk, "supervisor", f"/kb_reject {pid} 答案需补充 适用范围")
        assert answer == strings.DESK_KB_REJECTED.format(id=pid, reason="答案需补充 适用范围")
        assert await say(desk, "stranger", "/kb_pending") == strings.DESK_NOT_OPERATOR
        history = await say(desk, "dingyuan", f"/ticket {number}")
        assert strings.DESK_EVENT_KINDS["kb_rejected"] in history
    with session_scope(db) as s:
        assert s.get_one(KbProposal, pid).status == "rejected"
    assert (
        "kb_rejected",
        f"operator:{operators['supervisor']}",
        None,
        {"proposal_id": pid, "note": "答案需补充 适用范围"},
    ) in events(db, ticket_id)
