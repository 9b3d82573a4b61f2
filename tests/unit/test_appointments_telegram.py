"""Appointments end to end through the Telegram transport: real python-telegram-bot handlers, the gateway,
the database, and the local Bot API server over HTTP (tests/fakes/bot_api_server.py).

offer (the engine's text-free payload) → book by button → confirmation with what to bring → rebook →
/yuyue → the day-before reminder from the outbox → cancel from the reminder's button. The appointment
buttons and commands never reach the dialog engine.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.gateway import Gateway
from bot.transports.telegram import TelegramTransport
from hotline.appointments.reminders import queue_reminders
from hotline.appointments.service import documents_for
from hotline.appointments.slots import to_local, to_utc
from hotline.db.models import Appointment, AppointmentStatus, Ticket, TicketEvent
from hotline.db.session import session_scope
from hotline.eligibility import assess
from hotline.intake.decision_record import ticket_facts
from hotline.messages import get_or_create_citizen
from hotline.settings import Settings
from hotline.tickets.service import NewTicket, create_ticket
from tests.fakes.bot_api_server import FakeBotApi

TOKEN = "4343:appointments"
CITIZEN = 2001
LANGYA = "341102"
WAGE = {
    "category": "wage_arrears",
    "description": "老板拖欠我三个月工资",
    "county": "琅琊区",
    "migrant_worker": True,
    "has_group_proof": True,
    "days_to_deadline": 30,
    "confirmed": True,
}


class TicketEngine:
    """Stands in for engine + action server: the first message opens a ticket with an eligibility
    decision, and the answer carries the offer exactly as actions/ticketing.py sends it."""

    def __init__(self, settings: Settings, channel: str = "telegram", user: str = str(CITIZEN)) -> None:
        self.settings = settings
        self.channel, self.user = channel, user
        self.seen: list[str] = []

    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        self.seen.append(text)
        with session_scope(self.settings.database_url) as session:
            citizen = get_or_create_citizen(session, self.channel, self.user)
            decision = assess(WAGE, self.settings)
            ticket, _ = create_ticket(
                session,
                NewTicket(
                    category="wage_arrears",
                    conversation_id=citizen.conversation_id,
                    intake_key="intake",
                    county_code=LANGYA,
                    facts=ticket_facts(decision, "wage_arrears"),
                ),
                prefix="滁",
            )
            number = ticket.number
        return [
            {"text": f"已登记工单 {number}"},
            {"custom": {"appointment_offer": {"ticket": number, "county": LANGYA}}},
        ]


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(token=TOKEN) as server:
        yield server


def http_settings(settings: Settings, api: FakeBotApi) -> Settings:
    telegram = settings.telegram.model_copy(update={"base_url": api.base_url, "operators_chat_id": None})
    gateway = settings.gateway.model_copy(update={"retry_interval_seconds": 0.2})  # delivers the outbox
    return settings.model_copy(
        update={
            "transport": "telegram",
            "telegram_bot_token": TOKEN,
            "telegram": telegram,
            "gateway": gateway,
        }
    )


def last_with_buttons(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return next(m for m in reversed(messages) if FakeBotApi.buttons(m))


async def test_offer_book_rebook_list_reminder_cancel_over_http(api: FakeBotApi, settings: Settings) -> None:
    s = http_settings(settings, api)
    engine = TicketEngine(s)
    app = TelegramTransport(Gateway(engine, s.database_url, settings=s), s).application

    async def turn(action: Any) -> list[dict[str, Any]]:
        after = max((m["message_id"] for m in api.bot_messages(CITIZEN)), default=0)
        await asyncio.to_thread(action)
        return await asyncio.to_thread(api.wait_for_reply, CITIZEN, after=after, timeout=30)

    async with app:
        assert app.post_init is not None
        await app.post_init(app)  # as run_polling does: the retry job that delivers the outbox
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=10)
        try:
            offer = await turn(lambda: api.inject_text(CITIZEN, CITIZEN, "老板拖欠我三个月工资"))
            assert offer[0]["text"].startswith("已登记工单")
            slots_message = last_with_buttons(offer)
            assert "琅琊区法律援助中心" in slots_message["text"]
            titles = FakeBotApi.buttons(slots_message)
            assert len(titles) == s.appointments.offer_slots

            confirmed = await turn(
                lambda: api.press(CITIZEN, CITIZEN, slots_message["message_id"], titles[0])
            )
            text = confirmed[-1]["text"]
            assert "预约成功" in text and titles[0] in text
            with session_scope(s.database_url) as session:
                ticket = session.scalars(select(Ticket)).one()
                for document in documents_for(s, ticket):  # what to bring, from the rules' data
                    assert document in text
            assert FakeBotApi.buttons(confirmed[-1]) == ["取消预约", "改约"]

            pick = await turn(lambda: api.press(CITIZEN, CITIZEN, confirmed[-1]["message_id"], "改约"))
            new_titles = FakeBotApi.buttons(pick[-1])
            assert titles[0] not in new_titles
            moved = await turn(lambda: api.press(CITIZEN, CITIZEN, pick[-1]["message_id"], new_titles[0]))
            assert "已改约" in moved[-1]["text"] and new_titles[0] in moved[-1]["text"]

            listing = await turn(lambda: api.inject_text(CITIZEN, CITIZEN, "/yuyue"))
            assert listing[0]["text"] == "您的预约：" and new_titles[0] in listing[1]["text"]

            # The reminder job on the eve of the visit (the booking was made the day before that).
            with session_scope(s.database_url) as session:
                appt = session.scalars(
                    select(Appointment).where(Appointment.status == AppointmentStatus.BOOKED)
                ).one()
                day = to_local(s, appt.starts_at).date()
                appt.created_at = to_utc(s, dt.datetime.combine(day - dt.timedelta(days=2), dt.time(10)))
                eve = to_utc(s, dt.datetime.combine(day - dt.timedelta(days=1), dt.time(17)))
                assert queue_reminders(session, s, now=eve) == 1
            reminder = (await turn(lambda: None))[-1]  # delivered from the outbox by the retry job
            assert "预约提醒" in reminder["text"] and ticket.number in reminder["text"]

            cancelled = await turn(lambda: api.press(CITIZEN, CITIZEN, reminder["message_id"], "取消预约"))
            assert "已取消" in cancelled[-1]["text"] and FakeBotApi.buttons(cancelled[-1]) == ["重新预约"]
        finally:
            await app.updater.stop()
            await app.stop()

    assert engine.seen == ["老板拖欠我三个月工资"]  # buttons and /yuyue were answered by the gateway
    with session_scope(s.database_url) as session:
        statuses = session.scalars(select(Appointment.status).order_by(Appointment.id)).all()
        assert [str(x) for x in statuses] == ["rebooked", "cancelled"]
        kinds = session.scalars(
            select(TicketEvent.kind).where(TicketEvent.kind.like("appointment%")).order_by(TicketEvent.id)
        ).all()
        assert kinds == [
            "appointment_booked",
            "appointment_rebooked",
            "appointment_reminded",
            "appointment_cancelled",
        ]


async def test_console_shows_slots_as_numbered_choices(settings: Settings) -> None:
    """The console transport: the offer's slots are numbered; typing a number books, /yuyue lists, and the
    listing's buttons (取消预约, 改约) are numbered on so each can be chosen."""
    import io

    from bot.transports.console import ConsoleChat

    engine = TicketEngine(settings, channel="console", user="u1")
    out = io.StringIO()
    chat = ConsoleChat(
        Gateway(engine, settings.database_url, settings=settings),
        user_id="u1",
        stdin=io.StringIO("老板拖欠我三个月工资\n1\n/yuyue\n1\n"),
        stdout=out,
    )
    await chat.run()
    text = out.getvalue()
    assert "  [1] " in text and "预约成功" in text and "您的预约：" in text and "已取消" in text
    assert engine.seen == ["老板拖欠我三个月工资"]
    with session_scope(settings.database_url) as session:
        assert [str(a.status) for a in session.scalars(select(Appointment))] == ["cancelled"]


async def test_gateway_refuses_other_citizens_bookings_and_repeats_the_offer_when_a_slot_filled(
    settings: Settings,
) -> None:
    from bot.gateway import Inbound
    from hotline.appointments import payloads

    s = settings.model_copy(
        update={
            "appointments": settings.appointments.model_copy(
                update={"default": settings.appointments.default.model_copy(update={"capacity": 1})}
            )
        }
    )
    alice = Gateway(TicketEngine(s, channel="console", user="alice"), s.database_url, settings=s)
    bob = Gateway(TicketEngine(s, channel="console", user="bob"), s.database_url, settings=s)
    n = iter(range(100))

    def said(user: str, text: str, payload: str | None = None) -> Inbound:
        return Inbound("console", user, f"m{next(n)}", text, button_payload=payload)

    offer = (await alice.handle(said("alice", "老板欠薪")))[-1]
    first = offer.buttons[0]
    booked = await alice.handle(said("alice", first.title, first.payload))
    assert "预约成功" in booked[0].text
    mine = payloads.parse(booked[0].buttons[0].payload)
    assert mine is not None and mine.action == "cancel"
    # Bob presses Alice's cancel button (forged callback data): refused, her booking stays.
    refused = await bob.handle(said("bob", "取消预约", payloads.cancel(mine.appointment)))
    assert [r.text for r in refused] == ["没有找到这个预约。"]
    # Bob's own offer: the same first slot is now full (capacity 1), so it is not offered to him…
    bob_offer = (await bob.handle(said("bob", "我也被欠薪")))[-1]
    assert first.title not in [b.title for b in bob_offer.buttons]
    # …and a stale button for it gets "just filled" and a fresh offer.
    with session_scope(s.database_url) as session:
        bob_ticket = (
            session.scalars(select(Ticket).where(Ticket.conversation_id == "console-bob")).one().number
        )
    slot = payloads.parse(first.payload)
    assert slot is not None
    stale = await bob.handle(said("bob", first.title, payloads.book(bob_ticket, LANGYA, slot.slot)))
    assert stale[0].text == "这个时间刚刚约满了，请选择其他时间。" and stale[1].buttons
    # Alice presses another slot of her old offer: she already has a booking, which is shown.
    again = await alice.handle(said("alice", offer.buttons[1].title, offer.buttons[1].payload))
    assert again[0].text == "这个工单已经有预约了。" and again[1].text == "您的预约："
