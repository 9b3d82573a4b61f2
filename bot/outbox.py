"""The outbox: replies wait in the message log (state QUEUED) until the transport confirmed delivery.

Telegram can fail after the engine answered (network, rate limit, a restart); a reply handed to it and
forgotten would be lost. Each queued reply is claimed (so one replica sends it), delivered, and only then
marked sent; a failure keeps it queued with a doubling backoff, and a citizen's replies go out strictly
in order (a failed one holds back the later ones). A reply the transport refuses for good (`Undeliverable`:
Telegram's 400/403) is set aside as FAILED instead: holding it would hold back every later reply too.

Few commits per flush (issue 13, gateway capacity): the queue is claimed in one unit of work (the gateway
claims it in the very commit that logs the replies), and the outcome of a whole batch is recorded in one,
which also claims whatever was queued meanwhile for the next round.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.replies import Reply, buttons_of
from bot.textsplit import split_text
from hotline.db.models import Citizen, MessageLog, MessageState, utcnow
from hotline.db.session import in_thread
from hotline.messages import CLAIM_TTL, claim, mark, mark_done, mark_undelivered, outbox_for, release

log = logging.getLogger(__name__)

Deliver = Callable[[str, list[Reply]], Awaitable[None]]  # (citizen's external id, replies)

OUTBOX_BACKOFF = dt.timedelta(seconds=5)
OUTBOX_BACKOFF_MAX = dt.timedelta(hours=1)
MAX_ROUNDS = 10  # re-reads of the queue per flush (replies queued meanwhile by a flush that lost a claim)


class Undeliverable(Exception):
    """The transport refused this reply for good (e.g. a bad request, or the citizen blocked the bot).

    Retrying cannot help; the reply is marked FAILED and the later replies go on.
    """


def outbox_backoff(attempts: int) -> dt.timedelta:
    """5 s, 10 s, 20 s … doubling per failed delivery, at most an hour."""
    delay: dt.timedelta = OUTBOX_BACKOFF * (2 ** min(max(attempts - 1, 0), 20))
    return delay if delay < OUTBOX_BACKOFF_MAX else OUTBOX_BACKOFF_MAX


def replies_of(message: MessageLog) -> list[Reply]:
    """A queued reply as the transport renders it (buttons from the logged payload, on the last piece).

    Split to Telegram's limit: a reply over it would be refused on every retry.
    """
    buttons = buttons_of(message.payload)
    pieces = split_text(message.text)
    return [Reply(piece) for piece in pieces[:-1]] + [Reply(pieces[-1], buttons)]


@dataclass(frozen=True)
class ClaimedReplies:
    """One citizen's queued replies claimed by this replica, oldest first, ready to be delivered."""

    citizen_id: int
    user_id: str  # the citizen's external id, as the transport addresses them
    replies: list[tuple[int, list[Reply]]]  # (message id, pieces)
    complete: bool  # every queued reply was claimed (none held by another flush)


def claim_outbox(
    session: Session,
    citizen_id: int,
    token: str,
    ttl: dt.timedelta = CLAIM_TTL,
    user_id: str | None = None,
) -> ClaimedReplies:
    """Claim one citizen's queued replies in order, stopping at the first another flush holds.

    Runs inside the caller's unit of work (the gateway's settle step claims the replies it just logged in
    the same commit). Each row is one conditional UPDATE as before; only a contiguous run from the oldest
    queued reply is claimed, so a replica never sends a later reply while another holds an earlier one.
    """
    if user_id is None:
        user_id = session.scalar(select(Citizen.external_id).where(Citizen.id == citizen_id))
    claimed: list[tuple[int, list[Reply]]] = []
    complete = True
    for message in outbox_for(session, citizen_id):
        if not claim(session, message.id, token, ttl=ttl):
            complete = False  # another flush is delivering this citizen's replies: it keeps the order
            break
        claimed.append((message.id, replies_of(message)))
    return ClaimedReplies(citizen_id, user_id or "", claimed, complete)


Run = Callable[[Callable[[Session], "ClaimedReplies | None"]], Awaitable["ClaimedReplies | None"]]


async def deliver_claimed(
    batch: ClaimedReplies, deliver: Deliver, run: Run, token: str, ttl: dt.timedelta = CLAIM_TTL
) -> int:
    """Deliver claimed replies in order and record each round's outcome in one commit; returns how many went.

    A round stops at the first failure: the delivered ones are marked sent, the failed one kept with
    backoff, the ones after it given back (unclaimed). A reply refused for good is marked FAILED and the
    round goes on. When a round handled every reply, the same commit claims what was queued meanwhile
    (a concurrent flush that found a reply claimed by this one stops and relies on this one), for at most
    MAX_ROUNDS rounds.

    A crash between a delivery and the round's commit re-sends that round's delivered replies once their
    claims expire (at least once, in order, as before: the window is the round instead of one reply).
    """
    delivered_total = 0
    for _ in range(MAX_ROUNDS):
        if not batch.replies:
            return delivered_total
        delivered: list[int] = []
        refused: list[tuple[int, str]] = []
        failed: tuple[int, str] | None = None
        handled = 0
        for message_id, pieces in batch.replies:
            try:
                await deliver(batch.user_id, pieces)
            except Undeliverable as exc:
                name = type(exc.__cause__ or exc).__name__
                refused.append((message_id, f"{name}: {exc}"))
                log.warning("reply %s refused by the transport for good, marked failed: %s", message_id, name)
                handled += 1
                continue
            except Exception as exc:
                failed = (message_id, f"{type(exc).__name__}: {exc}")
                log.warning("reply %s not delivered, kept in the outbox: %s", message_id, type(exc).__name__)
                break
            delivered.append(message_id)
            handled += 1
        rest = [m for m, _ in batch.replies[handled + (failed is not None) :]]
        again = failed is None and batch.complete

        def record(
            session: Session,
            delivered: list[int] = delivered,
            refused: list[tuple[int, str]] = refused,
            failed: tuple[int, str] | None = failed,
            rest: list[int] = rest,
            again: bool = again,
            batch: ClaimedReplies = batch,
        ) -> ClaimedReplies | None:
            now = utcnow()
            mark_done(session, delivered, MessageState.SENT, now=now)
            for message_id, error in refused:
                mark(session.get_one(MessageLog, message_id), MessageState.FAILED, error, now=now)
            if failed is not None:
                message = session.get_one(MessageLog, failed[0])
                mark_undelivered(message, failed[1], outbox_backoff(message.attempts + 1), now=now)
            for message_id in rest:
                release(session.get_one(MessageLog, message_id))
            if not again:
                return None
            session.flush()
            return claim_outbox(session, batch.citizen_id, token, ttl, user_id=batch.user_id)

        delivered_total += len(delivered)
        following = await run(record)
        if following is None:
            return delivered_total
        batch = following
    return delivered_total


async def flush_outbox(
    sessions: sessionmaker[Session],
    citizen_id: int,
    deliver: Deliver,
    token: str,
    ttl: dt.timedelta = CLAIM_TTL,
) -> int:
    """Deliver one citizen's queued replies in order; stop at the first failure. Returns how many went.

    The database work runs in worker threads (`in_thread`), off the event loop.
    """
    batch = await in_thread(sessions, partial(claim_outbox, citizen_id=citizen_id, token=token, ttl=ttl))
    return await deliver_claimed(batch, deliver, partial(in_thread, sessions), token, ttl)
