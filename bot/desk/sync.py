"""Post a card for every open ticket that has none, and a notice when a citizen asks for a human.

Tickets are created by the action server (another process), so the gateway polls. Each card is reserved in
the database before it is sent (relay.reserve_card), which makes the sync idempotent across ticks, restarts
and several gateway replicas. Telegram allows a bot about 20 messages a minute in one group, hence the
small batch per tick (`telegram.desk_cards_per_tick`, every `telegram.desk_sync_seconds` on the JobQueue).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from telegram.error import TelegramError

from bot import strings
from bot.desk import relay
from bot.desk.cards import card_keyboard, county_name
from hotline.db.models import Ticket

if TYPE_CHECKING:
    from bot.desk.handlers import Desk

log = logging.getLogger(__name__)


async def post_card(desk: Desk, ticket_id: int) -> bool:
    """Reserve, send and record one card; False if someone else has it or sending failed."""
    with desk.sessions.begin() as session:
        if not relay.reserve_card(session, ticket_id, desk.chat_id):
            return False
        ticket = session.get_one(Ticket, ticket_id)
        text, markup = desk.render(session, ticket), card_keyboard(ticket)
    try:
        message = await desk.bot.send_message(desk.chat_id, text, reply_markup=markup)
    except TelegramError:
        log.exception("card for ticket %s not sent; will retry", ticket_id)
        with desk.sessions.begin() as session:
            relay.release_card(session, ticket_id)
        return False
    with desk.sessions.begin() as session:
        relay.complete_card(session, session.get_one(Ticket, ticket_id), desk.chat_id, message.message_id)
    return True


async def notify_handoff(desk: Desk, ticket_id: int) -> bool:
    """A citizen asked for a human after the card went out: say so under the card and refresh it."""
    with desk.sessions.begin() as session:
        if not relay.mark_handoff_notified(session, ticket_id):
            return False
        ticket = session.get_one(Ticket, ticket_id)
        card = relay.card_of(session, ticket_id)
        text = strings.DESK_HANDOFF_NOTICE.format(
            number=ticket.number, county=county_name(ticket.county_code, desk.county_names)
        )
        card_message = card.message_id if card else None
    try:
        message = await desk.bot.send_message(
            desk.chat_id, text, reply_to_message_id=card_message, allow_sending_without_reply=True
        )
    except TelegramError:
        log.exception("handoff notice for ticket %s not sent", ticket_id)
        return False
    with desk.sessions.begin() as session:
        relay.map_message(session, desk.chat_id, message.message_id, ticket_id, "notice")
    await desk.refresh_card(ticket_id)
    return True


async def sync_once(desk: Desk) -> int:
    """One poll: cards for new tickets (urgent first), then handoff notices. Returns messages posted."""
    limit = desk.cards_per_tick
    with desk.sessions.begin() as session:
        new = relay.tickets_without_card(session, limit=limit)
    posted = 0
    for ticket_id in new:
        posted += await post_card(desk, ticket_id)
    if posted < limit:
        with desk.sessions.begin() as session:
            escalated = relay.handoffs_to_notify(session, limit=limit - posted)
        for ticket_id in escalated:
            posted += await notify_handoff(desk, ticket_id)
    return posted
