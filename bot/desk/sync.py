"""Post a card for every open ticket that has none, and a notice when a citizen asks for a human.

Each card goes to its ticket's county desk (telegram.county_chats) or the shared group, and moves when the
ticket moves to another county's group (move_card). An urgent ticket nobody claimed in time (the
scheduler's urgent_unclaimed job, hotline.sla.unclaimed) gets its card posted again, on top (repost).

Tickets are created by the action server (another process), so the gateway polls. Each card is reserved in
the database before it is sent (relay.reserve_card), which makes the sync idempotent across ticks, restarts
and several gateway replicas. Telegram allows a bot about 20 messages a minute in one group, hence the
small batch per tick (`telegram.desk_cards_per_tick`, every `telegram.desk_sync_seconds` on the JobQueue).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from telegram.error import BadRequest, TelegramError

from bot import strings
from bot.desk import relay
from bot.desk.cards import card_keyboard, county_name
from hotline.db.models import Ticket

if TYPE_CHECKING:
    from bot.desk.handlers import Desk

log = logging.getLogger(__name__)


async def post_card(desk: Desk, ticket_id: int) -> bool:
    """Reserve, send and record one card (in its county's group); False if someone else has it or
    sending failed."""
    with desk.sessions.begin() as session:
        ticket = session.get_one(Ticket, ticket_id)
        chat = desk.chat_for(ticket.county_code)
        if not relay.reserve_card(session, ticket_id, chat):
            return False
        text, markup = desk.render(session, ticket), card_keyboard(ticket)
    try:
        message = await desk.bot.send_message(chat, text, reply_markup=markup)
    except TelegramError:
        log.exception("card for ticket %s not sent; will retry", ticket_id)
        with desk.sessions.begin() as session:
            relay.release_card(session, ticket_id)
        return False
    with desk.sessions.begin() as session:
        relay.complete_card(session, session.get_one(Ticket, ticket_id), chat, message.message_id)
    return True


async def _post_again(desk: Desk, ticket_id: int, chat: int, header: str, old_text: str) -> None:
    """Post the card anew in `chat` (with a header line), then turn the old card into `old_text`."""
    with desk.sessions.begin() as session:
        ticket = session.get_one(Ticket, ticket_id)
        card = relay.card_of(session, ticket_id)
        old = (card.chat_id, card.message_id) if card else None
        text, markup = desk.render(session, ticket), card_keyboard(ticket)
    message = await desk.bot.send_message(chat, f"{header}\n{text}" if header else text, reply_markup=markup)
    with desk.sessions.begin() as session:
        relay.complete_card(session, session.get_one(Ticket, ticket_id), chat, message.message_id)
    if old is not None:
        try:
            await desk.bot.edit_message_text(old_text, chat_id=old[0], message_id=old[1], reply_markup=None)
        except BadRequest as exc:  # too old to edit: the new card is what counts
            log.info("old card of ticket %s not edited: %s", ticket_id, exc)


async def move_card(desk: Desk, ticket_id: int) -> bool:
    """A ticket now of another group's county (转办, /county, a county the citizen named): its card is
    posted there and the old one says where it went. False when the card stays where it is."""
    with desk.sessions.begin() as session:
        ticket = session.get_one(Ticket, ticket_id)
        card = relay.card_of(session, ticket_id)
        target = desk.chat_for(ticket.county_code)
        if card is None or card.chat_id == target:
            return False
        county = county_name(ticket.county_code, desk.county_names)
        moved = strings.DESK_CARD_MOVED.format(number=ticket.number, county=county)
    await _post_again(desk, ticket_id, target, "", moved)
    return True


async def repost_escalated(desk: Desk, ticket_id: int) -> bool:
    """An urgent ticket nobody claimed in time: its card again, on top of its group, marked as such."""
    with desk.sessions.begin() as session:
        ticket = session.get_one(Ticket, ticket_id)
        number, chat = ticket.number, desk.chat_for(ticket.county_code)
    try:
        await _post_again(
            desk,
            ticket_id,
            chat,
            strings.DESK_REPOSTED.format(minutes=desk.urgent_claim_minutes),
            strings.DESK_CARD_REPOSTED.format(number=number),
        )
    except TelegramError:
        log.exception("urgent ticket %s not posted again; will retry", ticket_id)
        return False
    return True


async def notify_handoff(desk: Desk, ticket_id: int) -> bool:
    """A citizen asked for a human after the card went out: say so under the card and refresh it."""
    with desk.sessions.begin() as session:
        if not relay.mark_handoff_notified(session, ticket_id):
            return False
        ticket = session.get_one(Ticket, ticket_id)
        text = strings.DESK_HANDOFF_NOTICE.format(
            number=ticket.number, county=county_name(ticket.county_code, desk.county_names)
        )
        chat, card_message = desk.where(session, ticket)
    try:
        message = await desk.bot.send_message(
            chat, text, reply_to_message_id=card_message, allow_sending_without_reply=True
        )
    except TelegramError:
        log.exception("handoff notice for ticket %s not sent", ticket_id)
        return False
    with desk.sessions.begin() as session:
        relay.map_message(session, chat, message.message_id, ticket_id, "notice")
    await desk.refresh_card(ticket_id)
    return True


async def sync_once(desk: Desk) -> int:
    """One poll: cards for new tickets (urgent first), urgent ones posted again, then handoff notices.
    Returns messages posted."""
    limit = desk.cards_per_tick
    with desk.sessions.begin() as session:
        new = relay.tickets_without_card(session, limit=limit)
    posted = 0
    for ticket_id in new:
        posted += await post_card(desk, ticket_id)
    if posted < limit:
        with desk.sessions.begin() as session:
            escalated = relay.escalations_to_repost(session, limit=limit - posted)
        for ticket_id in escalated:
            posted += await repost_escalated(desk, ticket_id)
    if posted < limit:
        with desk.sessions.begin() as session:
            escalated = relay.handoffs_to_notify(session, limit=limit - posted)
        for ticket_id in escalated:
            posted += await notify_handoff(desk, ticket_id)
    return posted
