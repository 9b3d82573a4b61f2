"""The update journal: no Telegram update lost between Telegram's hand-over and our handlers.

Telegram forgets an update once the webhook answered 200 or the next getUpdates moved the offset on; in
python-telegram-bot both happen as soon as the update sits in the application's in-memory queue, before any
handler (and so before the gateway persisted the citizen's message). A gateway killed in that window lost
the update. `JournalQueue` is that in-memory queue with one change: `put` writes the raw update to the
`update_journal` table first (a failure raises NetworkError: the webhook answers 500 and Telegram resends;
polling does not confirm the batch and fetches it again). `ChatOrderedProcessor` marks the row done after
the handlers ran, and the `replay` job puts rows left undone for longer than `stale` back in the queue —
of whichever replica runs it first, since the claim is one conditional UPDATE. Handlers are idempotent
(message ids are deduplicated), so replaying an update that was in fact handled does nothing twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot, Update
from telegram.error import NetworkError

from hotline.db.models import UpdateJournal, utcnow
from hotline.db.session import in_thread

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # replays of one update before it is given up (logged: a poison update, not a crash)
KEEP_DONE = dt.timedelta(hours=1)  # done rows are deleted after this (they hold message text)


class JournalQueue(asyncio.Queue[object]):
    """python-telegram-bot's update queue, journalling each update before it is queued."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__()
        self._sessions = sessions

    async def put(self, item: object) -> None:
        if isinstance(item, Update):
            try:
                body = json.loads(json.dumps(item.to_dict(), default=_timestamp))
            except (TypeError, ValueError) as exc:  # never hold up the others for one odd update
                log.error("update %s not journalled, queued anyway (%s)", item.update_id, type(exc).__name__)
            else:
                chat = item.effective_chat.id if item.effective_chat is not None else None
                try:
                    await in_thread(self._sessions, lambda s: record(s, item.update_id, body, chat))
                except SQLAlchemyError as exc:  # not confirmed to Telegram: it delivers the update again
                    log.error("update %s not journalled (%s)", item.update_id, type(exc).__name__)
                    raise NetworkError("update journal unavailable") from exc
        await super().put(item)

    async def requeue(self, item: Update) -> None:
        """Queue an update that is already in the journal (a replay)."""
        await super().put(item)


def _timestamp(value: object) -> int:
    """PTB leaves some dates as datetimes in to_dict() (e.g. an inaccessible pinned message's date 0)."""
    if isinstance(value, dt.datetime):
        return int(value.timestamp())
    raise TypeError(type(value).__name__)


def record(session: Session, update_id: int, body: dict[str, Any], chat_id: int | None = None) -> bool:
    """Journal an update; False when it is already there (Telegram or a replica delivered it again)."""
    try:
        with session.begin_nested():
            session.add(UpdateJournal(update_id=update_id, chat_id=chat_id, body=body, received_at=utcnow()))
    except IntegrityError:
        return False
    return True


def earlier_undone(session: Session, chat_id: int, update_id: int) -> bool:
    """Whether an earlier update of this chat is journalled and not done yet (on any replica)."""
    return (
        session.scalar(
            select(UpdateJournal.id)
            .where(
                UpdateJournal.chat_id == chat_id,
                UpdateJournal.update_id < update_id,
                UpdateJournal.done_at.is_(None),
            )
            .limit(1)
        )
        is not None
    )


async def after_earlier_updates(
    sessions: sessionmaker[Session], update: Update, timeout: float, poll: float = 0.02
) -> bool:
    """Wait until this chat's earlier updates are done on whichever replica took them (True), at most
    `timeout` seconds (False: that replica may have died; its update is replayed later, out of order).

    Telegram sends a chat's next update once the previous one was answered 200, which the webhook does as
    soon as the update is journalled, before its handler stored the message. Behind a load balancer the
    next update can reach another replica and be stored first, so the citizen's queue (message ids) would
    take the other order; waiting here is the cross-replica form of ChatOrderedProcessor's chat lock.
    """
    chat = update.effective_chat
    if chat is None:
        return True
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while await in_thread(sessions, lambda s: earlier_undone(s, chat.id, update.update_id)):
            if asyncio.get_running_loop().time() > deadline:
                log.warning("update %s: an earlier update of its chat is still not done", update.update_id)
                return False
            await asyncio.sleep(poll)
            poll = min(poll * 1.5, 0.2)
    except SQLAlchemyError as exc:  # the order is best effort here; the update itself must go on
        log.warning("update %s: earlier updates not checked (%s)", update.update_id, type(exc).__name__)
        return False
    return True


def mark_done(session: Session, update_id: int, now: dt.datetime | None = None) -> None:
    session.execute(
        update(UpdateJournal)
        .where(UpdateJournal.update_id == update_id, UpdateJournal.done_at.is_(None))
        .values(done_at=now or utcnow())
    )


def take_stale(
    session: Session, stale: dt.timedelta, now: dt.datetime | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Claim undone updates older than `stale` for a replay (their clock restarts); oldest first.

    An update replayed MAX_ATTEMPTS times without finishing is given up: marked done and logged.
    """
    at = now or utcnow()
    rows = session.execute(
        select(UpdateJournal.id, UpdateJournal.update_id, UpdateJournal.attempts)
        .where(UpdateJournal.done_at.is_(None), UpdateJournal.received_at < at - stale)
        .order_by(UpdateJournal.update_id)
        .limit(limit)
    ).all()
    taken: list[dict[str, Any]] = []
    for row_id, update_id, attempts in rows:
        if attempts >= MAX_ATTEMPTS:
            session.execute(update(UpdateJournal).where(UpdateJournal.id == row_id).values(done_at=at))
            log.error("update %s given up after %s replays", update_id, attempts)
            continue
        claimed = session.execute(
            update(UpdateJournal)
            .where(
                UpdateJournal.id == row_id,
                UpdateJournal.done_at.is_(None),
                UpdateJournal.received_at < at - stale,
            )
            .values(received_at=at, attempts=UpdateJournal.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0) == 1:
            body = session.scalar(select(UpdateJournal.body).where(UpdateJournal.id == row_id))
            taken.append(dict(body or {}))
    return taken


def forget_done(session: Session, now: dt.datetime | None = None) -> int:
    """Delete rows done for longer than KEEP_DONE (the journal is not an archive of what citizens wrote)."""
    result = session.execute(
        delete(UpdateJournal).where(UpdateJournal.done_at < (now or utcnow()) - KEEP_DONE)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def replay(sessions: sessionmaker[Session], queue: JournalQueue, bot: Bot, stale: dt.timedelta) -> int:
    """Put updates left undone (their gateway died, or they are still stuck) back in the queue."""
    bodies = await in_thread(sessions, lambda s: take_stale(s, stale))
    for body in bodies:
        item = Update.de_json(body, bot)
        if item is not None:
            log.warning("update %s was not processed: replayed", item.update_id)
            await queue.requeue(item)
    await in_thread(sessions, forget_done)
    return len(bodies)
