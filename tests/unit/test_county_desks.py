"""County desks (issue 12): each county may have its own operators' group (telegram.county_chats), the
shared group stays the default and the city-wide desk. Through the real python-telegram-bot handlers and
the fake Bot API: cards, citizen messages and notices land in the ticket's county group and move with a
transfer; a forged action from another county's group is refused, whoever sends it."""

from __future__ import annotations

from typing import Any

import pytest

from bot import strings
from hotline.db.models import Ticket, TicketStatus
from hotline.db.session import session_scope
from hotline.settings import ConfigError, Settings, load_settings
from tests.unit.conftest import BOT, DATE
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
    reply_to_id,
    ticket,
)

pytestmark = pytest.mark.usefixtures("operators")
__all__ = ["operators"]

DY_GROUP, LY_GROUP = -1002000000125, -1002000000102
COUNTY_CHATS = {DINGYUAN: DY_GROUP, LANGYA: LY_GROUP}


class CountyDesk(Desk):
    def __init__(self, settings: Settings, first_id: int = 1000) -> None:
        super().__init__(settings, first_id, county_chats=COUNTY_CHATS)

    async def __aenter__(self) -> CountyDesk:
        await super().__aenter__()
        return self

    async def text_in(self, chat: int, user: int, text: str, reply_to: int | None = None) -> None:
        group = {"id": chat, "type": "supergroup", "title": "工作群"}
        message: dict[str, Any] = {
            "message_id": 60000 + self._update_id,
            "date": DATE,
            "chat": group,
            "from": {"id": user, "is_bot": False, "first_name": "工作人员"},
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if reply_to is not None:
            message["reply_to_message"] = {"message_id": reply_to, "date": DATE, "chat": group, "from": BOT}
        await self._process({"message": message})

    async def press_in(self, chat: int, user: int, data: str, card_id: int) -> None:
        await self._process(
            {
                "callback_query": {
                    "id": f"cb{self._update_id}",
                    "from": {"id": user, "is_bot": False, "first_name": "工作人员"},
                    "chat_instance": str(chat),
                    "data": data,
                    "message": {
                        "message_id": card_id,
                        "date": DATE,
                        "chat": {"id": chat, "type": "supergroup"},
                        "from": BOT,
                        "text": "卡片",
                    },
                }
            }
        )

    def last(self, chat: int) -> str:
        return str(self.api.to(chat)[-1]["text"])


def card_in(desk: Desk, chat: int, number: str) -> int:
    """Id of the card of this ticket posted in this chat (the latest one)."""
    cards = [p for p in desk.api.to(chat) if p.get("text", "").find(f"工单 {number}\n") >= 0]
    assert cards, f"no card of {number} in {chat}"
    index = desk.api.to(chat).index(cards[-1])
    return [m for c, m in desk.api.messages if c == chat][index]


async def test_cards_land_in_their_county_group_and_a_forged_action_from_another_is_refused(
    settings: Settings, operators: dict[str, int]
) -> None:
    db = settings.database_url
    dy_id, dy_no = make_ticket(settings, key="dy")
    ly_id, ly_no = make_ticket(settings, key="ly", county=LANGYA, conversation="telegram-1002")
    none_id, none_no = make_ticket(settings, key="none", county=None, conversation="telegram-1003")
    async with CountyDesk(settings) as desk:
        assert await desk.sync() == 3
        assert [dy_no in p["text"] for p in desk.api.to(DY_GROUP)] == [True]
        assert [ly_no in p["text"] for p in desk.api.to(LY_GROUP)] == [True]
        assert [none_no in p["text"] for p in desk.api.to(GROUP_ID)] == [True]  # county-less: shared
        dy_card = card_in(desk, DY_GROUP, dy_no)

        # forged: the Dingyuan ticket's claim button pressed in the Langya group, by its own county's
        # operator and by a city supervisor: both refused there
        for who in ("dingyuan", "supervisor"):
            await desk.press_in(LY_GROUP, OPS[who], f"desk:claim:{dy_id}", dy_card)
            alert = desk.api.alerts()[-1]
            assert alert["text"] == strings.DESK_OTHER_DESK.format(number=dy_no, county="定远县")
        await desk.text_in(LY_GROUP, OPS["supervisor"], f"/close {dy_no} 已解答咨询")
        assert desk.last(LY_GROUP) == strings.DESK_OTHER_DESK.format(number=dy_no, county="定远县")
        await desk.text_in(LY_GROUP, OPS["supervisor"], "越权回复", reply_to=dy_card)  # not its message
        assert desk.api.to(CITIZEN) == []
        assert ticket(db, dy_id).status is TicketStatus.NEW

        # a county group lists its own tickets only; the shared group is the city's desk
        await desk.text_in(LY_GROUP, OPS["supervisor"], "/tickets")
        assert ly_no in desk.last(LY_GROUP) and dy_no not in desk.last(LY_GROUP)
        await desk.text_in(GROUP_ID, OPS["supervisor"], "/tickets")
        assert all(n in desk.last(GROUP_ID) for n in (dy_no, ly_no, none_no))

        # in its own group the claim works, and the card there is edited
        await desk.press_in(DY_GROUP, OPS["dingyuan"], f"desk:claim:{dy_id}", dy_card)
        assert desk.api.alerts()[-1]["text"] == strings.DESK_CLAIMED.format(number=dy_no)
        edit = desk.api.to(DY_GROUP, "editMessageText")[-1]
        assert int(edit["message_id"]) == dy_card and "王定远" in edit["text"]
        # the supervisor acts on any ticket from the shared group
        await desk.text_in(GROUP_ID, OPS["supervisor"], f"/note {ly_no} 请琅琊区今天回复")
        assert desk.last(GROUP_ID) == strings.DESK_NOTE_SAVED.format(number=ly_no)
    assert ticket(db, dy_id).assigned_operator_id == operators["dingyuan"]
    assert ("note", f"operator:{operators['supervisor']}") in [(k, a) for k, a, _, _ in events(db, ly_id)]
    assert ticket(db, none_id).status is TicketStatus.NEW


async def test_citizen_messages_follow_the_ticket_and_the_card_moves_on_transfer(
    settings: Settings, operators: dict[str, int]
) -> None:
    db = settings.database_url
    dy_id, dy_no = make_ticket(settings, key="dy")
    with session_scope(db) as s:
        s.get_one(Ticket, dy_id).handoff_requested = True  # the citizen asked for a human
    async with CountyDesk(settings) as desk:
        await desk.sync()
        dy_card = card_in(desk, DY_GROUP, dy_no)
        await desk.citizen_text("老板今天又不接电话了", message_id=71)
        relayed = desk.api.to(DY_GROUP)[-1]
        assert "老板今天又不接电话了" in relayed["text"] and reply_to_id(relayed) == dy_card
        assert desk.api.to(GROUP_ID) == [] and desk.api.to(LY_GROUP) == []
        # an operator answers from the county group
        await desk.text_in(
            DY_GROUP, OPS["dingyuan"], "请把工资条发给我们", reply_to=desk.api.last_id(DY_GROUP)
        )
        assert [p["text"] for p in desk.api.to(CITIZEN)][-1] == "【12348工作人员】请把工资条发给我们"

        # 转办 to Langya: the card is posted in the Langya group, the old one says where it went
        await desk.press_in(DY_GROUP, OPS["dingyuan"], f"desk:xfer:{dy_id}", dy_card)
        await desk.press_in(DY_GROUP, OPS["dingyuan"], f"desk:to:{dy_id}:{LANGYA}", dy_card)
        old = desk.api.to(DY_GROUP, "editMessageText")[-1]
        assert int(old["message_id"]) == dy_card
        assert old["text"] == strings.DESK_CARD_MOVED.format(number=dy_no, county="琅琊区")
        assert buttons(old) == []
        ly_card = card_in(desk, LY_GROUP, dy_no)
        new_card = next(p for p in desk.api.to(LY_GROUP) if f"工单 {dy_no}\n" in p["text"])
        assert "琅琊区" in new_card["text"] and ("认领", f"desk:claim:{dy_id}") in buttons(new_card)
        notice = desk.api.to(LY_GROUP)[-1]
        assert "转办至琅琊区" in notice["text"] and reply_to_id(notice) == ly_card
        # the citizen's next message reaches the Langya group, under the new card
        await desk.citizen_text("工资条拍好了", message_id=72)
        relayed = desk.api.to(LY_GROUP)[-1]
        assert "工资条拍好了" in relayed["text"] and reply_to_id(relayed) == ly_card
        # Dingyuan's group can no longer act on it, even by replying to its old messages
        await desk.text_in(DY_GROUP, OPS["supervisor"], "我来回复", reply_to=dy_card)
        assert desk.last(DY_GROUP) == strings.DESK_OTHER_DESK.format(number=dy_no, county="琅琊区")
        await desk.press_in(LY_GROUP, OPS["langya"], f"desk:claim:{dy_id}", ly_card)
        assert desk.api.alerts()[-1]["text"] == strings.DESK_CLAIMED.format(number=dy_no)
    assert ticket(db, dy_id).assigned_operator_id == operators["langya"]
    transfers = [(d["from"], d["to"]) for k, _, _, d in events(db, dy_id) if k == "transferred"]
    assert transfers == [(DINGYUAN, LANGYA)]


def test_county_chats_must_name_configured_counties(settings: Settings) -> None:
    env = {
        "HOTLINE_CONFIG": "config/hotline.yaml",
        "HOTLINE_TELEGRAM__OPERATORS_CHAT_ID": "-100",
        "HOTLINE_TELEGRAM__COUNTY_CHATS": '{"341125": -1001, "999999": -1002}',
    }
    with pytest.raises(ConfigError, match="999999"):
        load_settings(environ=env)
    env["HOTLINE_TELEGRAM__COUNTY_CHATS"] = '{"341125": -1001}'
    assert load_settings(environ=env).telegram.county_chats == {"341125": -1001}
    del env["HOTLINE_TELEGRAM__OPERATORS_CHAT_ID"]
    with pytest.raises(ConfigError, match="operators_chat_id"):
        load_settings(environ=env)
