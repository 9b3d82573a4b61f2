"""Files citizens send (photos, documents, voice): persisted, filed with the right ticket, audited."""

from __future__ import annotations

from typing import Any, cast

import pytest
from sqlalchemy import select

from actions.ticketing import open_ticket
from bot import strings
from bot.gateway import Attachment, Gateway, Inbound
from hotline.attachments import link_unlinked
from hotline.db.models import MessageLog, Ticket, TicketEvent, TicketStatus
from hotline.db.session import session_scope
from hotline.tickets.service import NewTicket, change_status, create_ticket
from tests.unit.test_gateway import FakeEngine

PHOTO = Attachment("photo", "file-1", size=2048, source="1001:7")
VOICE = Attachment("voice", "file-2", mime_type="audio/ogg", source="1001:8")


def media(n: int, attachment: Attachment, caption: str = "") -> Inbound:
    return Inbound("console", "u1", f"m{n}", caption, attachment=attachment)


def inbound_rows(db_url: str) -> list[MessageLog]:
    with session_scope(db_url) as s:
        rows = list(s.scalars(select(MessageLog).where(MessageLog.direction == "in").order_by(MessageLog.id)))
        s.expunge_all()
        return rows


def events(db_url: str, kind: str) -> list[dict[str, Any]]:
    with session_scope(db_url) as s:
        return [e.data for e in s.scalars(select(TicketEvent).where(TicketEvent.kind == kind))]


def new_ticket(db_url: str, *, handoff: bool = False, category: str = "wage_arrears") -> str:
    """A ticket opened as the dialog's action opens one: created, then the earlier files linked."""
    with session_scope(db_url) as s:
        ticket, _ = create_ticket(s, NewTicket(category=category, conversation_id="console-u1"), prefix="滁")
        link_unlinked(s, ticket, ticket.created_at)
        ticket.handoff_requested = handoff
        return ticket.number


async def test_photo_before_any_ticket_is_kept_and_linked_when_the_ticket_opens(db_url: str) -> None:
    engine = FakeEngine()
    replies = await Gateway(engine, db_url).handle(media(1, PHOTO))
    assert [r.text for r in replies] == [strings.ATTACHMENT_NO_TICKET.format(kind="图片")]
    assert engine.seen == []  # nothing for the dialog engine to read
    (row,) = inbound_rows(db_url)
    assert row.state.value == "processed" and row.ticket_id is None
    assert row.payload == {
        "attachment": {"kind": "photo", "file_id": "file-1", "size": 2048, "source": "1001:7"}
    }
    number = new_ticket(db_url)
    (row,) = inbound_rows(db_url)
    with session_scope(db_url) as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert row.ticket_id == ticket.id
    assert events(db_url, "attachment") == [{"message_id": row.id, "kind": "photo", "file_name": None}]


@pytest.mark.usefixtures("env_settings")
async def test_the_dialog_action_links_earlier_files_and_create_ticket_alone_does_not(db_url: str) -> None:
    """Linking is a visible step of the caller (issue 9), not a side effect of create_ticket."""
    await Gateway(FakeEngine(), db_url).handle(media(1, PHOTO))
    with session_scope(db_url) as s:
        create_ticket(s, NewTicket(category="elderly", conversation_id="console-u1"), prefix="滁")
    assert inbound_rows(db_url)[0].ticket_id is None
    number = open_ticket(cast(Any, None), NewTicket(category="wage_arrears", conversation_id="console-u1"))
    with session_scope(db_url) as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert inbound_rows(db_url)[0].ticket_id == ticket.id


async def test_photo_with_an_open_ticket_is_filed_there(db_url: str) -> None:
    number = new_ticket(db_url)
    replies = await Gateway(FakeEngine(), db_url).handle(media(1, PHOTO))
    assert [r.text for r in replies] == [strings.ATTACHMENT_ON_TICKET.format(kind="图片", number=number)]
    assert len(events(db_url, "attachment")) == 1
    # a resolved ticket is no longer where new evidence goes
    with session_scope(db_url) as s:
        change_status(s, s.scalars(select(Ticket)).one(), TicketStatus.RESOLVED, actor="operator:1")
    replies = await Gateway(FakeEngine(), db_url).handle(media(2, PHOTO))
    assert [r.text for r in replies] == [strings.ATTACHMENT_NO_TICKET.format(kind="图片")]


async def test_caption_is_an_ordinary_message_for_the_engine(db_url: str) -> None:
    engine = FakeEngine()
    replies = await Gateway(engine, db_url).handle(media(1, PHOTO, caption="这是欠条"))
    assert engine.seen == [("console-u1", "这是欠条")]
    assert [r.text for r in replies] == [strings.ATTACHMENT_NO_TICKET.format(kind="图片"), "答复:这是欠条"]
    assert inbound_rows(db_url)[0].state.value == "processed"


async def test_voice_message_gets_the_type_or_ask_for_a_human_hint(db_url: str) -> None:
    replies = await Gateway(FakeEngine(), db_url).handle(media(1, VOICE))
    assert replies[0].text.endswith(strings.VOICE_HINT)


async def test_in_a_handoff_the_file_is_copied_to_the_staff(db_url: str) -> None:
    number = new_ticket(db_url, handoff=True)
    copied: list[tuple[str, str, Attachment, str]] = []

    async def sink(number: str, conversation: str, attachment: Attachment, caption: str) -> None:
        copied.append((number, conversation, attachment, caption))

    engine = FakeEngine()
    gateway = Gateway(engine, db_url, on_handoff_attachment=sink)
    replies = await gateway.handle(media(1, PHOTO, caption="受伤的照片"))
    assert [r.text for r in replies] == [strings.ATTACHMENT_TO_STAFF.format(kind="图片")]
    assert copied == [(number, "console-u1", PHOTO, "受伤的照片")]
    assert engine.seen == []  # the caption went to the staff with the photo, not to the bot
    assert inbound_rows(db_url)[0].state.value == "forwarded"


async def test_a_failing_desk_copy_still_keeps_and_files_the_photo(db_url: str) -> None:
    new_ticket(db_url, handoff=True)

    async def broken(number: str, conversation: str, attachment: Attachment, caption: str) -> None:
        raise RuntimeError("telegram timeout")

    replies = await Gateway(FakeEngine(), db_url, on_handoff_attachment=broken).handle(media(1, PHOTO))
    assert [r.text for r in replies] == [strings.ATTACHMENT_TO_STAFF.format(kind="图片")]
    (row,) = inbound_rows(db_url)
    assert row.ticket_id is not None and len(events(db_url, "attachment")) == 1


async def test_redelivered_photo_is_filed_once(db_url: str) -> None:
    new_ticket(db_url)
    gateway = Gateway(FakeEngine(), db_url)
    await gateway.handle(media(1, PHOTO))
    assert await gateway.handle(media(1, PHOTO)) == []
    assert len(inbound_rows(db_url)) == 1 and len(events(db_url, "attachment")) == 1
