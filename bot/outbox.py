"""The outbox: replies wait in the message log (state QUEUED) until the transport confirmed delivery.

Telegram can fail after the engine answered (network, rate limit, a restart); a reply handed to it and
forgotten would be lost. Each queued reply is claimed (so one replica sends it), delivered, and only then
marked sent; a failure keeps it queued with a doubling backoff, and a citizen's replies go out strictly
in order (a failed one holds back the later ones).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.replies import Button, Reply
from bot.textsplit import split_text
from hotline.db.models import Citizen, MessageLog, MessageState, utcnow
from hotline.db.session import in_thread
from hotline.messages import CLAIM_TTL, claim, mark_done, mark_undelivered, outbox_for, release

log = logging.getLogger(__name__)

Deliver = Callable[[str, list[Reply]], Awaitable[None]]  # (citizen's external id, replies)

OUTBOX_BACKOFF = dt.timedelta(seconds=5)
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


@dataclass(frozen=True)
class ClaimedReplies:
    """One citizen's queued replies claimed by this replica, oldest first, ready to be delivered."""

    user_id: str  # the citizen's external id, as the transport addresses them
    replies: list[tuple[int, list[Reply]]]  # (message id, pieces)


def claim_outbox(
    session: Session,
    citizen_id: int,
    token: str,
    ttl: dt.timedelta = CLAIM_TTL,
    user_id: str | None = None,
) -> ClaimedReplies:
    """Claim one citizen's queued replies in order, stopping at the first another replica holds.

    Runs inside the caller's unit of work (the gateway's settle step claims the replies it just logged in
    the same commit). Each row is one conditional UPDATE as before; only a contiguous run from the oldest
    queued reply is claimed, so a replica never sends a later reply while another holds an earlier one.
    """
    if user_id is None:
        user_id = session.scalar(select(Citizen.external_id).where(Citizen.id == citizen_id))
    claimed: list[tuple[int, list[Reply]]] = []
    for message in outbox_for(session, citizen_id):
        if not claim(session, message.id, token, ttl=ttl):
            break  # another replica is delivering this citizen's replies: it keeps the order
        claimed.append((message.id, replies_of(message)))
    return ClaimedReplies(user_id or "", claimed)


Run = Callable[[Callable[[Session], None]], Awaitable[None]]  # runs one unit of work (off the loop)


async def deliver_claimed(batch: ClaimedReplies, deliver: Deliver, run: Run) -> int:
    """Deliver claimed replies in order, stop at the first failure; then record the outcome in one commit:
    the delivered ones sent, the failed one kept with backoff, the ones after it given back (unclaimed).

    A crash between a delivery and that commit re-sends the batch's delivered replies once their claims
    expire (at least once, in order, as before: the window is the batch instead of one reply).
    """
    if not batch.replies:
        return 0
    delivered: list[int] = []
    failed: tuple[int, str] | None = None
    for message_id, pieces in batch.replies:
        try:
            await deliver(batch.user_id, pieces)
        except Exception as exc:
            failed = (message_id, f"{type(exc).__name__}: {exc}")
            log.warning("reply %s not delivered, kept in the outbox: %s", message_id, type(exc).__name__)
            break
        delivered.append(message_id)
    rest = [m for m, _ in batch.replies[len(delivered) + (failed is not None) :]]

    def record(session: Session) -> None:
        now = utcnow()
        mark_done(session, delivered, MessageState.SENT, now=now)
        if failed is not None:
            message = session.get_one(MessageLog, failed[0])
            mark_undelivered(message, failed[1], outbox_backoff(message.attempts + 1), now=now)
        for message_id in rest:
            release(session.get_one(MessageLog, message_id))

    await run(record)
    return len(delivered)


async def flush_outbox(
    sessions: sessionmaker[Session],
    citizen_id: int,
    deliver: Deliver,
    token: str,
    ttl: dt.timedelta = CLAIM_TTL,
) -> int:
    """Deliver one citizen's queued replies in order; stop at the first failure. Returns how many went.

    Two units of work (claim the queue; record the outcome), both in worker threads (`in_thread`).
    """
    batch = await in_thread(sessions, lambda session: claim_outbox(session, citizen_id, token, ttl))
    return await deliver_claimed(batch, deliver, partial(in_thread, sessions))
