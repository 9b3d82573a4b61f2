"""The operators' desk in the Telegram group, against a fake Bot API (PTB's request layer replaced).

Everything above the HTTP layer is real: Application, handlers, callback queries, the gateway, a migrated
SQLite database. "Restarts" build a new transport (new Application, new fake API) over the same database.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Update

from bot import strings
from bot.desk.cards import parse_callback, render_card
from bot.desk.handlers import SYNC_JOB
from bot.desk.sync import sync_once
from bot.gateway import Gateway
from bot.transports.telegram import TelegramTransport
from hotline.db.models import (
    DeskCard,
    MessageDirection,
    MessageLog,
    Operator,
    OperatorRole,
    Rating,
    Ticket,
    TicketEvent,
    TicketStatus,
    utcnow,
)
from hotline.db.session import session_scope
from hotline.followup.service import request_due_ratings
from hotline.messages import get_or_create_citizen
from hotline.settings import Settings
from hotline.sla.clock import SlaClock
from hotline.tickets.service import NewTicket, create_ticket
from tests.unit.conftest import BOT, DATE, FakeBotApi, telegram_settings
from tests.unit.test_gateway import FakeEngine

GROUP_ID = -1001234567890  # supergroup ids exceed 32 bits
GROUP = {"id": GROUP_ID, "type": "supergroup", "title": "12348 工作人员群"}
CITIZEN = 1001
DINGYUAN, LANGYA = "341125", "341102"


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def reply_to_id(params: dict[str, Any]) -> int | None:
    reply = _json(params.get("reply_parameters"))
    return int(reply["message_id"]) if reply else None


def buttons(params: dict[str, Any]) -> list[tuple[str, str]]:
    markup = _json(params.get("reply_markup"))
    if not markup:
        return []
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


class Desk:
    """One running gateway process: transport + fake API + fake engine."""

    def __init__(self, settings: Settings, first_id: int = 1000, **telegram: Any) -> None:
        self.api, self.engine = FakeBotApi(first_id), FakeEngine()
        self.settings = telegram_settings(settings, operators_chat_id=GROUP_ID, **telegram)
        self.transport = TelegramTransport(
            Gateway(self.engine, self.settings.database_url), self.settings, request=self.api
        )
        self.app = self.transport.application
        self._update_id = first_id

    async def __aenter__(self) -> Desk:
        await self.app.initialize()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.app.shutdown()

    async def sync(self) -> int:
        assert self.transport.desk is not None
        return await sync_once(self.transport.desk)

    async def _process(self, payload: dict[str, Any]) -> None:
        self._update_id += 1
        await self.app.process_update(Update.de_json({"update_id": self._update_id, **payload}, self.app.bot))

    async def group_text(self, user: int, text: str, reply_to: int | None = None) -> int:
        self._update_id += 1
        message: dict[str, Any] = {
            "message_id": 50000 + self._update_id,
            "date": DATE,
            "chat": GROUP,
            "from": {"id": user, "is_bot": False, "first_name": "工作人员"},
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if reply_to is not None:
            message["reply_to_message"] = {
                "message_id": reply_to,
                "date": DATE,
                "chat": GROUP,
                "from": BOT,
                "text": "…",
            }
        await self._process({"message": message})
        return int(message["message_id"])

    async def press(self, user: int, data: str, card_id: int) -> None:
        await self._process(
            {
                "callback_query": {
                    "id": f"cb{self._update_id}",
                    "from": {"id": user, "is_bot": False, "first_name": "工作人员"},
                    "chat_instance": "g",
                    "data": data,
                    "message": {
                        "message_id": card_id,
                        "date": DATE,
                        "chat": GROUP,
                        "from": BOT,
                        "text": "卡片",
                    },
                }
            }
        )

    async def citizen_text(self, text: str, message_id: int) -> None:
        await self._citizen_message(message_id, text=text)

    async def citizen_photo(self, message_id: int, caption: str) -> None:
        photo = [{"file_id": "p1", "file_unique_id": "p", "width": 800, "height": 600}]
        await self._citizen_message(message_id, photo=photo, caption=caption)

    async def _citizen_message(self, message_id: int, **content: Any) -> None:
        await self._process(
            {
                "message": {
                    "message_id": message_id,
                    "date": DATE,
                    "chat": {"id": CITIZEN, "type": "private"},
                    "from": {"id": CITIZEN, "is_bot": False, "first_name": "张"},
                    **content,
                }
            }
        )


OPS = {"dingyuan": 501, "langya": 502, "supervisor": 503, "inactive": 504, "stranger": 999}


@pytest.fixture
def operators(db_url: str) -> dict[str, int]:
    """Operator ids by key; their Telegram ids are OPS[key]."""
    rows = {
        "dingyuan": Operator(
            telegram_user_id=501, name="王定远", role=OperatorRole.OPERATOR, counties=[DINGYUAN]
        ),
        "langya": Operator(
            telegram_user_id=502, name="李琅琊", role=OperatorRole.OPERATOR, counties=[LANGYA]
        ),
        "supervisor": Operator(
            telegram_user_id=503, name="赵主任", role=OperatorRole.SUPERVISOR, counties=[]
        ),
        "inactive": Operator(
            telegram_user_id=504, name="钱离职", role=OperatorRole.OPERATOR, counties=[DINGYUAN], active=False
        ),
    }
    with session_scope(db_url) as s:
        s.add_all(rows.values())
        s.flush()
        return {k: v.id for k, v in rows.items()}


def make_ticket(
    settings: Settings,
    *,
    key: str = "k1",
    priority: str = "normal",
    county: str | None = DINGYUAN,
    conversation: str = f"telegram-{CITIZEN}",
    description: str = "老板拖欠三个月工资，我的电话13812345678",
) -> tuple[int, str]:
    clock = SlaClock(settings.sla)
    with session_scope(settings.database_url) as s:
        channel, _, external = conversation.partition("-")
        get_or_create_citizen(s, channel, external)
        ticket, _ = create_ticket(
            s,
            NewTicket(
                category="wage_arrears",
                conversation_id=conversation,
                intake_key=key,
                county_code=county,
                description=description,
                priority=priority,
            ),
            prefix="滁",
            sla=clock,
        )
        ticket.eligibility_outcome = "MEANS_TEST_PASSED"
        s.flush()
        return ticket.id, ticket.number


def ticket(db_url: str, ticket_id: int) -> Ticket:
    with session_scope(db_url) as s:
        return s.get_one(Ticket, ticket_id)


def events(db_url: str, ticket_id: int) -> list[tuple[str, str, str | None, dict[str, Any]]]:
    with session_scope(db_url) as s:
        rows = s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        )
        return [(e.kind, e.actor, e.to_status, e.data) for e in rows]


def card_id(db_url: str, ticket_id: int) -> int:
    with session_scope(db_url) as s:
        card = s.get_one(DeskCard, ticket_id)
        assert card.message_id is not None
        return card.message_id


async def posted_card(settings: Settings, **kw: Any) -> tuple[int, str, int]:
    ticket_id, number = make_ticket(settings, **kw)
    async with Desk(settings, first_id=100) as desk:
        assert await desk.sync() == 1
    return ticket_id, number, card_id(settings.database_url, ticket_id)


# ---- cards and sync ------------------------------------------------------------------------------------


async def test_cards_posted_once_urgent_first_and_survive_restart(settings: Settings) -> None:
    normal_id, normal_no = make_ticket(settings, key="a")
    urgent_id, urgent_no = make_ticket(settings, key="b", priority="urgent")
    async with Desk(settings) as desk:
        assert await desk.sync() == 2
        assert await desk.sync() == 0  # idempotent: no second card
        cards = desk.api.to(GROUP_ID)
    assert [urgent_no in c["text"] for c in cards] == [True, False]
    assert cards[0]["text"].startswith(strings.DESK_URGENT) and strings.DESK_URGENT not in cards[1]["text"]
    card = cards[1]["text"]
    for expected in (
        normal_no,
        "欠薪及劳动报酬",
        "定远县",
        "经济困难审查通过",
        "待受理",
        "办结时限",
        "138****5678",
    ):
        assert expected in card
    assert "13812345678" not in card  # PII masked in the group
    assert [t for t, _ in buttons(cards[1])] == ["认领", "办结", "转办"]
    assert buttons(cards[1])[0][1] == f"desk:claim:{normal_id}"
    async with Desk(settings, first_id=2000) as restarted:  # the map is in the database
        assert await restarted.sync() == 0
        assert restarted.api.to(GROUP_ID) == []
    with session_scope(settings.database_url) as s:
        assert s.scalars(select(DeskCard.ticket_id).order_by(DeskCard.ticket_id)).all() == [
            normal_id,
            urgent_id,
        ]


async def test_closed_tickets_get_no_card_and_escalation_is_announced_once(settings: Settings) -> None:
    ticket_id, number, card = await posted_card(settings)
    with session_scope(settings.database_url) as s:
        s.get_one(Ticket, ticket_id).handoff_requested = True  # the citizen asked for a human (action server)
    async with Desk(settings, first_id=3000) as desk:
        assert await desk.sync() == 1
        assert await desk.sync() == 0
        notices = desk.api.to(GROUP_ID)
        edits = desk.api.to(GROUP_ID, "editMessageText")
    assert len(notices) == 1 and number in notices[0]["text"] and "请求人工" in notices[0]["text"]
    assert reply_to_id(notices[0]) == card
    assert edits and strings.DESK_CARD_HANDOFF in edits[-1]["text"]


async def test_sync_retries_a_card_whose_send_failed(settings: Settings) -> None:
    from telegram.error import NetworkError

    ticket_id, _ = make_ticket(settings)
    async with Desk(settings) as desk:
        original = desk.api.do_request

        async def failing(url: str, *a: Any, **kw: Any) -> tuple[int, bytes]:
            if url.endswith("sendMessage"):
                raise NetworkError("down")
            return await original(url, *a, **kw)

        desk.api.do_request = failing  # type: ignore[method-assign]
        assert await desk.sync() == 0
        with session_scope(settings.database_url) as s:
            assert s.get(DeskCard, ticket_id) is None  # reservation released
        desk.api.do_request = original  # type: ignore[method-assign]
        assert await desk.sync() == 1


async def test_card_sync_is_a_job_at_the_configured_pace(settings: Settings) -> None:
    for key in "abc":
        make_ticket(settings, key=key)
    async with Desk(settings, desk_cards_per_tick=2, desk_sync_seconds=42.0) as desk:
        assert desk.app.post_init is not None and desk.app.job_queue is not None
        await desk.app.post_init(desk.app)  # as run_polling does, before it starts the JobQueue
        (job,) = desk.app.job_queue.get_jobs_by_name(SYNC_JOB)
        assert job.job.trigger.interval == dt.timedelta(seconds=42)
        await job.run(desk.app)
        assert len(desk.api.to(GROUP_ID)) == 2  # desk_cards_per_tick
        await job.run(desk.app)
        assert len(desk.api.to(GROUP_ID)) == 3


# ---- claim ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "refusal"),
    [
        ("stranger", strings.DESK_NOT_OPERATOR),
        ("inactive", strings.DESK_NOT_OPERATOR),
        ("langya", "无权处理"),
    ],
)
async def test_claim_refused(settings: Settings, operators: dict[str, int], who: str, refusal: str) -> None:
    ticket_id, _, card = await posted_card(settings)
    async with Desk(settings, first_id=3000) as desk:
        await desk.press(OPS[who], f"desk:claim:{ticket_id}", card)
        alert = desk.api.alerts()[-1]
        assert refusal in alert["text"] and alert["show_alert"] is True
        assert desk.api.to(GROUP_ID, "editMessageText") == []
    t = ticket(settings.database_url, ticket_id)
    assert (t.status, t.assigned_operator_id, t.first_response_at) == (TicketStatus.NEW, None, None)
    assert [e[0] for e in events(settings.database_url, ticket_id)] == ["created"]


def arabic_indic(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


@pytest.mark.parametrize(
    "forged",
    [
        "desk:claim:{id}²",  # str.isdigit() says yes, int() raises
        "desk:claim:{arabic}",  # int() reads it as the ticket id
        "desk:claim:{id}\n",  # $ would match before the newline
        "desk:to:{id}:{arabic_county}",
        "desk:claim:{id}:341102",
        "desk:delete:{id}",
    ],
)
async def test_forged_callback_data_is_a_stale_button(
    settings: Settings, operators: dict[str, int], forged: str
) -> None:
    ticket_id, _, card = await posted_card(settings)
    data = forged.format(id=ticket_id, arabic=arabic_indic(ticket_id), arabic_county=arabic_indic(341102))
    async with Desk(settings, first_id=3000) as desk:
        await desk.press(OPS["dingyuan"], data, card)
        (alert,) = desk.api.alerts()
        assert (alert["text"], alert["show_alert"]) == (strings.DESK_STALE_BUTTON, True)
        assert desk.api.to(GROUP_ID, "editMessageText") == []
    t = ticket(settings.database_url, ticket_id)
    assert (t.status, t.assigned_operator_id, t.county_code) == (TicketStatus.NEW, None, DINGYUAN)
    assert [e[0] for e in events(settings.database_url, ticket_id)] == ["created"]


async def test_claim_by_allowed_operator(settings: Settings, operators: dict[str, int]) -> None:
    ticket_id, number, card = await posted_card(settings)
    op = operators["dingyuan"]
    async with Desk(settings, first_id=3000) as desk:
        await desk.press(OPS["dingyuan"], f"desk:claim:{ticket_id}", card)
        assert desk.api.alerts()[-1]["text"] == strings.DESK_CLAIMED.format(number=number)
        edit = desk.api.to(GROUP_ID, "editMessageText")[-1]
        await desk.press(OPS["langya"], f"desk:claim:{ticket_id}", card)  # other county: still refused
        assert "无权处理" in desk.api.alerts()[-1]["text"]
        await desk.press(OPS["supervisor"], f"desk:claim:{ticket_id}", card)  # already taken
        assert "王定远" in desk.api.alerts()[-1]["text"]
    assert int(edit["message_id"]) == card
    assert "处理中" in edit["text"] and "承办人：王定远" in edit["text"]
    assert [t for t, _ in buttons(edit)] == ["办结", "转办"]
    t = ticket(settings.database_url, ticket_id)
    assert t.status is TicketStatus.ASSIGNED and t.assigned_operator_id == op
    assert t.first_response_at is not None and not t.handled_by_bot_only
    assert [(k, a, s) for k, a, s, _ in events(settings.database_url, ticket_id)] == [
        ("created", "bot", "new"),
        ("assigned", f"operator:{op}", None),
        ("status", f"operator:{op}", "assigned"),
    ]


# ---- relay ---------------------------------------------------------------------------------------------


def outbound(db_url: str) -> list[tuple[str, int | None]]:
    with session_scope(db_url) as s:
        rows = s.scalars(
            select(MessageLog)
            .where(MessageLog.direction == MessageDirection.OUTBOUND)
            .order_by(MessageLog.id)
        )
        return [(m.text, m.ticket_id) for m in rows]


async def test_reply_relay_both_ways_across_restarts(settings: Settings, operators: dict[str, int]) -> None:
    db = settings.database_url
    ticket_id, number, card = await posted_card(settings)
    op = operators["dingyuan"]
    async with Desk(settings, first_id=3000) as desk:  # restart: only the database knows the card
        await desk.group_text(OPS["dingyuan"], "您好，请问欠薪的时间和金额？", reply_to=card)
        sent = desk.api.to(CITIZEN)
        assert [p["text"] for p in sent] == ["【12348工作人员】您好，请问欠薪的时间和金额？"]
        assert any(e == "setMessageReaction" for e, _ in desk.api.calls)
        # the unclaimed ticket was claimed by the operator who answered, and is now in human handoff
        t = ticket(db, ticket_id)
        assert (t.status, t.assigned_operator_id, t.handoff_requested) == (TicketStatus.ASSIGNED, op, True)
        # the citizen's answer goes to the group under the card, not to the bot
        await desk.citizen_text("去年十月到今年一月，一共三万元", message_id=77)
        assert desk.engine.seen == []
        relayed = desk.api.to(GROUP_ID)[-1]
        assert "去年十月到今年一月" in relayed["text"] and number in relayed["text"]
        assert reply_to_id(relayed) == card
        relayed_id = desk.api.last_id(GROUP_ID)
    async with Desk(settings, first_id=4000) as desk:  # another restart: reply to the relayed message
        await desk.group_text(
            OPS["dingyuan"], "好的，请带上劳动合同到定远县法律援助中心。", reply_to=relayed_id
        )
        assert [p["text"] for p in desk.api.to(CITIZEN)] == [
            "【12348工作人员】好的，请带上劳动合同到定远县法律援助中心。"
        ]
        # chatter that is not a reply to a ticket message stays in the group
        await desk.group_text(OPS["dingyuan"], "大家中午好", reply_to=None)
        await desk.group_text(OPS["dingyuan"], "这条是回复同事的", reply_to=99999)
        assert len(desk.api.to(CITIZEN)) == 1 and desk.engine.seen == []
        # someone who is not a registered operator cannot speak to the citizen
        await desk.group_text(OPS["stranger"], "我来回答", reply_to=card)
        assert len(desk.api.to(CITIZEN)) == 1
        assert desk.api.to(GROUP_ID)[-1]["text"] == strings.DESK_NOT_OPERATOR
        await desk.group_text(OPS["langya"], "我是琅琊区的", reply_to=relayed_id)  # not their county
        assert len(desk.api.to(CITIZEN)) == 1
        assert "无权处理" in desk.api.to(GROUP_ID)[-1]["text"]
    assert outbound(db) == [
        ("【12348工作人员】您好，请问欠薪的时间和金额？", ticket_id),
        ("【12348工作人员】好的，请带上劳动合同到定远县法律援助中心。", ticket_id),
    ]
    kinds = [(k, a) for k, a, _, _ in events(db, ticket_id)]
    assert kinds.count(("operator_reply", f"operator:{op}")) == 2
    assert ("handoff_requested", f"operator:{op}") in kinds


async def test_citizen_photo_in_a_handoff_is_announced_not_posted_to_the_shared_group(
    settings: Settings, operators: dict[str, int]
) -> None:
    db = settings.database_url
    ticket_id, number, card = await posted_card(settings)
    with session_scope(db) as s:
        s.get_one(Ticket, ticket_id).handoff_requested = True  # asked for a human, nobody claimed yet
    async with Desk(settings, first_id=5000) as desk:
        await desk.citizen_photo(88, "工资条 我电话13955012345")
        assert desk.api.to(GROUP_ID, "copyMessage") == []  # every county's operators are in the group
        notice = desk.api.to(GROUP_ID)[-1]
        assert number in notice["text"] and "图片" in notice["text"] and "/files" in notice["text"]
        assert "工资条" in notice["text"] and "13955012345" not in notice["text"]
        assert reply_to_id(notice) == card
        assert desk.api.to(CITIZEN)[-1]["text"] == strings.ATTACHMENT_TO_STAFF.format(kind="图片")
        assert desk.engine.seen == []
        # replying to the notice reaches the citizen
        await desk.group_text(OPS["dingyuan"], "收到工资条了", reply_to=desk.api.last_id(GROUP_ID))
        assert desk.api.to(CITIZEN)[-1]["text"] == "【12348工作人员】收到工资条了"
        # a relayed text message is masked in the group like the card
        await desk.citizen_text("我的身份证号341122198001011238", message_id=89)
        assert "341122198001011238" not in desk.api.to(GROUP_ID)[-1]["text"]
    assert ("attachment", "citizen") in [(k, a) for k, a, _, _ in events(db, ticket_id)]


async def test_files_command_sends_the_files_privately_to_an_allowed_operator_only(
    settings: Settings, operators: dict[str, int]
) -> None:
    db = settings.database_url
    ticket_id, number, _ = await posted_card(settings)
    async with Desk(settings, first_id=6000) as desk:
        await desk.citizen_photo(90, "欠条")  # an open (not handed-off) ticket: filed, not announced
        filed = strings.ATTACHMENT_ON_TICKET.format(kind="图片", number=number)
        # the caption is an ordinary message for the bot
        assert [p["text"] for p in desk.api.to(CITIZEN)] == [filed, "答复:欠条"]
        await desk.group_text(OPS["langya"], f"/files {number}")  # another county
        assert "无权处理" in desk.api.to(GROUP_ID)[-1]["text"]
        await desk.group_text(OPS["stranger"], f"/files {number}")
        assert desk.api.to(GROUP_ID)[-1]["text"] == strings.DESK_NOT_OPERATOR
        assert desk.api.to(OPS["langya"], "copyMessage") == []
        await desk.group_text(OPS["dingyuan"], f"/files {number}")
        (copy,) = desk.api.to(OPS["dingyuan"], "copyMessage")
        assert (int(copy["from_chat_id"]), int(copy["message_id"])) == (CITIZEN, 90)
        assert desk.api.to(GROUP_ID)[-1]["text"] == strings.DESK_FILES_SENT.format(number=number, count=1)
        await desk.group_text(OPS["dingyuan"], "/files 滁-20990101-0001")
        assert "找不到工单" in desk.api.to(GROUP_ID)[-1]["text"]
    kinds = [(k, a) for k, a, _, _ in events(db, ticket_id)]
    assert ("files_viewed", f"operator:{operators['dingyuan']}") in kinds


async def test_console_citizen_cannot_be_reached(settings: Settings, operators: dict[str, int]) -> None:
    ticket_id, number, card = await posted_card(settings, conversation="console-u1")
    async with Desk(settings, first_id=3000) as desk:
        await desk.group_text(OPS["dingyuan"], "您好", reply_to=card)
        assert desk.api.to(GROUP_ID)[-1]["text"] == strings.DESK_CITIZEN_UNREACHABLE.format(number=number)
        assert [p for e, p in desk.api.calls if e == "sendMessage" and int(p["chat_id"]) != GROUP_ID] == []
    assert outbound(settings.database_url) == []
    assert "operator_reply" not in [e[0] for e in events(settings.database_url, ticket_id)]


# ---- commands ------------------------------------------------------------------------------------------


async def test_note_is_internal(settings: Settings, operators: dict[str, int]) -> None:
    ticket_id, number, card = await posted_card(settings)
    async with Desk(settings, first_id=3000) as desk:
        await desk.group_text(OPS["dingyuan"], f"/note {number} 市民情绪激动，已电话安抚")
        await desk.group_text(OPS["dingyuan"], "/note 第二条备注", reply_to=card)
        await desk.group_text(OPS["langya"], f"/note {number} 越权备注")
        await desk.group_text(OPS["dingyuan"], "/note")
        replies = [p["text"] for p in desk.api.to(GROUP_ID)]
        assert desk.api.to(CITIZEN) == []
    assert replies[0] == replies[1] == strings.DESK_NOTE_SAVED.format(number=number)
    assert "无权处理" in replies[2] and replies[3] == strings.DESK_NOTE_USAGE
    notes = [(a, d["text"]) for k, a, _, d in events(settings.database_url, ticket_id) if k == "note"]
    op = operators["dingyuan"]
    assert notes == [(f"operator:{op}", "市民情绪激动，已电话安抚"), (f"operator:{op}", "第二条备注")]
    assert outbound(settings.database_url) == []


async def test_tickets_and_ticket_commands(settings: Settings, operators: dict[str, int]) -> None:
    db = settings.database_url
    mine, my_no = make_ticket(settings, key="a")
    _, other_no = make_ticket(settings, key="b", county=LANGYA)
    late, late_no = make_ticket(settings, key="c")
    with session_scope(db) as s:
        s.get_one(Ticket, late).resolution_due = utcnow() - dt.timedelta(hours=1)
    async with Desk(settings, first_id=3000) as desk:
        await desk.group_text(OPS["dingyuan"], "/tickets")
        listing = desk.api.to(GROUP_ID)[-1]["text"]
        await desk.group_text(OPS["dingyuan"], f"/ticket {my_no}")
        view = desk.api.to(GROUP_ID)[-1]
        view_id = desk.api.last_id(GROUP_ID)
        await desk.group_text(OPS["langya"], f"/ticket {my_no}")
        refused = desk.api.to(GROUP_ID)[-1]["text"]
        await desk.group_text(OPS["stranger"], "/tickets")
        stranger = desk.api.to(GROUP_ID)[-1]["text"]
        await desk.group_text(OPS["dingyuan"], "在吗", reply_to=view_id)  # the view is mapped too
        assert len(desk.api.to(CITIZEN)) == 1
    assert my_no in listing and late_no in listing and other_no not in listing
    late_line = next(line for line in listing.splitlines() if late_no in line)
    my_line = next(line for line in listing.splitlines() if my_no in line)
    assert "⏰" in late_line and "⏰" not in my_line
    assert my_no in view["text"] and strings.DESK_EVENTS_HEADER in view["text"] and "创建" in view["text"]
    assert "无权处理" in refused and stranger == strings.DESK_NOT_OPERATOR
    assert [e[0] for e in events(db, mine)][-1] == "operator_reply"


# ---- resolve -------------------------------------------------------------------------------------------


async def test_resolve_notifies_citizen_and_opens_rating(
    settings: Settings, operators: dict[str, int]
) -> None:
    db = settings.database_url
    ticket_id, number, card = await posted_card(settings)
    op = operators["dingyuan"]
    async with Desk(settings, first_id=3000) as desk:
        await desk.press(OPS["dingyuan"], f"desk:claim:{ticket_id}", card)
        await desk.press(OPS["dingyuan"], f"desk:resolve:{ticket_id}", card)  # asks for confirmation first
        confirm = desk.api.to(GROUP_ID, "editMessageReplyMarkup")[-1]
        assert [t for t, _ in buttons(confirm)] == ["确认办结", "返回"]
        assert ticket(db, ticket_id).status is TicketStatus.ASSIGNED and desk.api.to(CITIZEN) == []
        await desk.press(OPS["dingyuan"], f"desk:done:{ticket_id}", card)
        told = desk.api.to(CITIZEN)
        final_card = desk.api.to(GROUP_ID, "editMessageText")[-1]
        await desk.press(OPS["dingyuan"], f"desk:claim:{ticket_id}", card)
        assert "不能再操作" in desk.api.alerts()[-1]["text"]
        # the citizen taps a rating button: recorded by the gateway
        rate = buttons(told[0])[1][1]
        await desk._process(
            {
                "callback_query": {
                    "id": "rate1",
                    "from": {"id": CITIZEN, "is_bot": False, "first_name": "张"},
                    "chat_instance": "c",
                    "data": rate,
                    "message": {
                        "message_id": 5,
                        "date": DATE,
                        "chat": {"id": CITIZEN, "type": "private"},
                        "from": BOT,
                        "text": "?",
                        "reply_markup": _json(told[0]["reply_markup"]),
                    },
                }
            }
        )
    assert len(told) == 1 and f"您的工单 {number} 已办结" in told[0]["text"]
    assert [c for _, c in buttons(told[0])] == [f"#rate:{number}:{n}" for n in (5, 4, 3, 2, 1)]
    assert "已办结" in final_card["text"] and buttons(final_card) == []
    t = ticket(db, ticket_id)
    assert t.status is TicketStatus.RESOLVED and t.resolved_at is not None
    with session_scope(db) as s:
        ratings = [(r.round, r.operator_id, r.score) for r in s.scalars(select(Rating))]
        assert request_due_ratings(s) == []  # the scheduler does not ask a second time
    assert ratings == [(1, op, 4)]
    trail = [(k, a, st) for k, a, st, _ in events(db, ticket_id)]
    assert ("status", f"operator:{op}", "resolved") in trail
    assert ("rating_requested", "system:followup", None) in trail
    assert (told[0]["text"], ticket_id) in outbound(db)


# ---- transfer ------------------------------------------------------------------------------------------


async def test_transfer_reroutes_card_and_resets_assignment(
    settings: Settings, operators: dict[str, int]
) -> None:
    db = settings.database_url
    ticket_id, number, card = await posted_card(settings)
    op = operators["dingyuan"]
    async with Desk(settings, first_id=3000) as desk:
        await desk.press(OPS["dingyuan"], f"desk:claim:{ticket_id}", card)
        await desk.press(OPS["dingyuan"], f"desk:xfer:{ticket_id}", card)
        choice = buttons(desk.api.to(GROUP_ID, "editMessageReplyMarkup")[-1])
        assert ("定远县", f"desk:to:{ticket_id}:{DINGYUAN}") not in choice
        assert ("琅琊区", f"desk:to:{ticket_id}:{LANGYA}") in choice and choice[-1][0] == "返回"
        assert len(choice) == len(settings.counties)  # the other seven counties + 返回
        await desk.press(OPS["dingyuan"], f"desk:to:{ticket_id}:{LANGYA}", card)
        edited = desk.api.to(GROUP_ID, "editMessageText")[-1]
        notice = desk.api.to(GROUP_ID)[-1]
        await desk.press(OPS["dingyuan"], f"desk:claim:{ticket_id}", card)  # no longer theirs
        refused = desk.api.alerts()[-1]["text"]
        await desk.press(OPS["langya"], f"desk:claim:{ticket_id}", card)
    assert "琅琊区" in edited["text"] and "待受理" in edited["text"] and "承办人" not in edited["text"]
    assert "琅琊区" in notice["text"] and number in notice["text"] and reply_to_id(notice) == card
    assert "无权处理" in refused
    transfers = [(a, d["from"], d["to"]) for k, a, _, d in events(db, ticket_id) if k == "transferred"]
    assert transfers == [(f"operator:{op}", DINGYUAN, LANGYA)]
    statuses = [(a, s) for k, a, s, _ in events(db, ticket_id) if k == "status"]
    assert statuses == [
        (f"operator:{op}", "assigned"),
        (f"operator:{op}", "new"),
        (f"operator:{operators['langya']}", "assigned"),
    ]
    t = ticket(db, ticket_id)
    assert (t.county_code, t.assigned_operator_id) == (LANGYA, operators["langya"])


# ---- without a chat, and pure helpers ------------------------------------------------------------------


async def test_desk_disabled_without_operators_chat(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    make_ticket(settings)
    s = telegram_settings(settings, operators_chat_id=None)
    with caplog.at_level(logging.WARNING):
        transport = TelegramTransport(Gateway(FakeEngine(), s.database_url), s, request=FakeBotApi())
    assert transport.desk is None
    assert [r.getMessage() for r in caplog.records].count(strings.DESK_DISABLED) == 1
    with session_scope(s.database_url) as session:
        assert session.scalars(select(DeskCard)).all() == []


def test_callback_data_round_trip() -> None:
    assert parse_callback("desk:to:12:341125") == ("to", 12, "341125")
    assert parse_callback("desk:claim:7") == ("claim", 7, "")
    assert parse_callback("/affirm") is None
    assert parse_callback("desk:claim:x") is None
    for forged in ("desk:claim:1²", "desk:claim:١٢", "desk:claim:7\n", "desk:to:12:３４１１０２"):
        assert parse_callback(forged) is None  # ASCII digits only


def test_card_without_county_or_assessment() -> None:
    t = Ticket(
        number="滁-20261129-0001",
        category="unknown",
        status=TicketStatus.NEW,
        priority="normal",
        description="",
        handoff_requested=False,
    )
    text = render_card(t, county_names={}, timezone="Asia/Shanghai")
    assert "未定县区" in text and "其他法律问题" in text and "未评估" in text and "问题描述" not in text
