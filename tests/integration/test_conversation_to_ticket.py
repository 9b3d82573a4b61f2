"""End to end through the real engine and action server: a citizen's complaint becomes a ticket."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select

from bot import strings
from bot.engine import RasaRestEngine
from bot.gateway import LEAVE_HANDOFF_PAYLOAD, Gateway, Inbound
from hotline.db.models import MessageLog, Ticket, TicketEvent
from hotline.db.session import session_scope
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration


def inbound(user: str, text: str, payload: str | None = None) -> Inbound:
    return Inbound("console", user, uuid.uuid4().hex, text, button_payload=payload)


async def test_action_server_is_healthy(stack: Stack) -> None:
    assert httpx.get(f"{stack.action_url}/health").json()["status"] == "ok"
    actions = {a["name"] for a in httpx.get(f"{stack.action_url}/actions").json()}
    assert {"action_create_ticket", "validate_intake_form", "action_request_human"} <= actions


async def test_wage_arrears_conversation_creates_one_ticket(stack: Stack) -> None:
    gateway = Gateway(RasaRestEngine(stack.rasa_url), stack.db_url)
    user = uuid.uuid4().hex[:8]
    first = await gateway.handle(inbound(user, "老板拖欠我三个月工资"))
    texts = " ".join(r.text for r in first)
    assert "欠薪" in texts, texts
    county_question = next(r for r in first if r.buttons)
    dingyuan = next(b for b in county_question.buttons if b.title == "定远县")
    replies = await gateway.handle(inbound(user, dingyuan.title, dingyuan.payload))
    # The labour intake: migrant worker? proof? deadline? then the summary to confirm.
    for title in ("是农民工", "能拿出", "还早", "对，提交"):
        button = next((b for r in replies for b in r.buttons if b.title == title), None)
        assert button is not None, [r.text for r in replies]
        replies = await gateway.handle(inbound(user, button.title, button.payload))
    reply = " ".join(r.text for r in replies)
    # The action's text-free appointment offer came through the engine and became slot buttons.
    slots = [b for r in replies for b in r.buttons if b.payload.startswith("appt:b:")]
    assert slots and all("341125" in b.payload for b in slots), [r.text for r in replies]
    with session_scope(stack.db_url) as s:
        tickets = s.scalars(select(Ticket).where(Ticket.conversation_id == f"console-{user}")).all()
        assert len(tickets) == 1
        ticket = tickets[0]
        assert ticket.number in reply
        assert (ticket.category, ticket.county_code, ticket.case_type.value) == (
            "wage_arrears",
            "341125",
            "civil",
        )
        assert ticket.description == "老板拖欠我三个月工资"
        assert ticket.citizen_id is not None
        events = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).all()
        assert [e.kind for e in events] == ["created", "eligibility"]
        assert ticket.eligibility_outcome == "HARDSHIP_DEEMED"
        logged = s.scalars(select(MessageLog).where(MessageLog.citizen_id == ticket.citizen_id)).all()
        assert [m.direction.value for m in logged][:1] == ["in"] and len(logged) >= 4


async def test_request_human_opens_handoff_ticket(stack: Stack) -> None:
    gateway = Gateway(RasaRestEngine(stack.rasa_url), stack.db_url)
    user = uuid.uuid4().hex[:8]
    replies = await gateway.handle(inbound(user, "我要转人工"))
    text = " ".join(r.text for r in replies)
    with session_scope(stack.db_url) as s:
        ticket = s.scalars(select(Ticket).where(Ticket.conversation_id == f"console-{user}")).one()
        assert ticket.handoff_requested and not ticket.handled_by_bot_only
        assert ticket.number in text
        number = ticket.number
    # Not yet claimed by anyone: the next message still goes to the staff, not to the bot.
    follow = await gateway.handle(inbound(user, "我还有照片要给你们"))
    assert [r.text for r in follow] == [strings.FORWARDED_TO_OPERATOR]
    with session_scope(stack.db_url) as s:
        row = s.scalars(select(MessageLog).where(MessageLog.text == "我还有照片要给你们")).one()
        assert row.state.value == "forwarded" and row.ticket_id is not None
    # 返回机器人 (the button under "forwarded"): the engine is reset and the dialog starts afresh
    back = await gateway.handle(inbound(user, strings.LEAVE_HANDOFF_BUTTON, LEAVE_HANDOFF_PAYLOAD))
    assert [r.text for r in back] == [strings.HANDOFF_LEFT.format(number=number)]
    again = await gateway.handle(inbound(user, "老板拖欠我三个月工资"))
    assert "欠薪" in " ".join(r.text for r in again), [r.text for r in again]
    with session_scope(stack.db_url) as s:
        ticket = s.scalars(select(Ticket).where(Ticket.conversation_id == f"console-{user}")).one()
        assert ticket.status.value == "new" and not ticket.handoff_requested  # still open for the desk
