"""The outbox: replies wait in the message log (state QUEUED) until the transport confirmed delivery.

Telegram can fail after the engine answered (network, rate limit, a restart); a reply handed to it and
forgotten would be lost. Each queued reply is claimed (so one replica sends it), delivered, and only then
marked sent; a failure keeps it queued with a doubling backoff, and a citizen's replies go out strictly
in order (a failed one holds back the later ones). A reply the transport refuses for good (`Undeliverable`:
Telegram's 400/403) is set aside as FAILED instead: holding it would hold back every later reply too.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.orm import Session, sessionmaker

from bot.replies import Button, Reply
from bot.textsplit import split_text
from hotline.db.models import Citizen, MessageLog, MessageState
from hotline.db.session import in_thread
from hotline.messages import CLAIM_TTL, claim, mark, mark_undelivered, outbox_for

log = logging.getLogger(__name__)

Deliver = Callable[[str, list[Reply]], Awaitable[None]]  # (citizen's external id, replies)

OUTBOX_BACKOFF = dt.timedelta(seconds=5)
MAX_ROUNDS = 10  # re-reads of the queue per flush (replies queued meanwhile by a flush that lost a claim)


class Undeliverable(Exception):
    """The transport refused this reply for good (e.g. a bad request, or the citizen blocked the bot).

    Retrying cannot help; the reply is marked FAILED and the later replies go on.
    """


OUTBOX_BACKOFF_MAX = dt.timedelta(hours=1)


def outbox_backoff(attempts: int) -> dt.timedelta:
    """5 s, 10 s, 20 s … doubling per failed delivery, at most an hour."""
    delay: dt.timedelta = OUTBOX_BACKOFF * (2 ** min(max(attempts - 1, 0), 20))
    return delay if delay < OUTBOX_BACKOFF_MAX else OUTBOX_BACKOFF_MAX


def replies_of(message: MessageLog) -> list[Reply]:
    """A queued reply as the transport renders it (buttons from the logged payload, on the last piece).

    Split to Telegram's limit: a reply over it would be refused on every retry.
    """
    buttons = tuple(
        Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
        for b in (message.payload or {}).get("buttons") or []
    )
    pieces = split_text(message.text)
    return [Reply(piece) for piece in pieces[:-1]] + [Reply(pieces[-1], buttons)]


async def flush_outbox(
    sessions: sessionmaker[Session],
    citizen_id: int,
    deliver: Deliver,
    token: str,
    ttl: dt.timedelta = CLAIM_TTL,
) -> int:
    """Deliver one citizen's queued replies in order; stop at the first failure. Returns how many went.

    The queue is read again after each round: a concurrent flush (the retry job, another update of the same
    citizen) that found a reply claimed by this one stops and relies on this one to deliver what it queued
    meanwhile. The database work runs in worker threads (`in_thread`), off the event loop.
    """
    delivered = 0
    for _ in range(MAX_ROUNDS):
        went, done = await _flush_round(sessions, citizen_id, deliver, token, ttl)
        delivered += went
        if done:
            break
    return delivered


async def _flush_round(
    sessions: sessionmaker[Session],
    citizen_id: int,
    deliver: Deliver,
    token: str,
    ttl: dt.timedelta,
) -> tuple[int, bool]:
    """One pass over the queue; `done` unless every reply read was handled (then read again)."""

    def queue(session: Session) -> tuple[str, list[tuple[int, list[Reply]]]]:
        user_id = session.get_one(Citizen, citizen_id).external_id
        return user_id, [(m.id, replies_of(m)) for m in outbox_for(session, citizen_id)]

    user_id, queued = await in_thread(sessions, queue)
    delivered = 0
    for message_id, pieces in queued:

        def take(session: Session, message_id: int = message_id) -> bool:
            return claim(session, message_id, token, ttl=ttl)

        if not await in_thread(sessions, take):
            return delivered, True  # another flush is delivering this citizen's replies: it keeps the order
        try:
            await deliver(user_id, pieces)
        except Undeliverable as exc:
            error = f"{type(exc.__cause__ or exc).__name__}: {exc}"

            def refuse(session: Session, message_id: int = message_id, error: str = error) -> None:
                mark(session.get_one(MessageLog, message_id), MessageState.FAILED, error)

            await in_thread(sessions, refuse)
            log.warning(
                "reply %s refused by the transport for good, marked failed: %s",
                message_id,
                type(exc.__cause__ or exc).__name__,
            )
            continue
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"

            def keep(session: Session, message_id: int = message_id, error: str = error) -> None:
                message = session.get_one(MessageLog, message_id)
                mark_undelivered(message, error, outbox_backoff(message.attempts + 1))

            await in_thread(sessions, keep)
            log.warning("reply %s not delivered, kept in the outbox: %s", message_id, type(exc).__name__)
            return delivered, True

        def sent(session: Session, message_id: int = message_id) -> None:
            mark(session.get_one(MessageLog, message_id), MessageState.SENT)

        await in_thread(sessions, sent)
        delivered += 1
    return delivered, not queued
