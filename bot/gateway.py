"""Transport-independent gateway: persist → dialog engine → replies → persist.

Order of operations is the guarantee: the inbound message is committed before the engine sees it, and
it only leaves the RECEIVED/RETRY states once the engine has answered (or the operators' desk confirmed
it has it). A citizen's messages are processed strictly in arrival order, one at a time, so a retried old
message can never overtake a newer one.

Nothing is dropped (hotline.messages is the queue, both ways):
- each message is claimed in the database before it is sent on, so of several gateway replicas one sends
  it; a turn the engine may already have seen (timeout) is looked up in its tracker before a resend;
- a message for a ticket a human handles is marked forwarded only once the desk sink returned;
- when the engine stays down past the retry budget a handoff ticket carries the saved messages to the
  desk, and the engine still gets them when it is back;
- with a sender (`set_sender`, and always in `retry_pending`), replies wait in an outbox until the
  transport confirmed delivery, retried with backoff.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot import appointments, strings
from bot.engine import DialogEngine, EngineUnavailable, TurnLookup
from bot.notify import parse_rating
from bot.outbox import ClaimedReplies, Deliver, claim_outbox, deliver_claimed
from bot.replies import TYPED_TITLE_MAX, Button, Reply, buttons_of, from_rasa, typed_button
from hotline import attachments, observability
from hotline.appointments import payloads
from hotline.db.models import Citizen, MessageDirection, MessageLog, MessageState, Rating, Ticket, utcnow
from hotline.db.session import get_sessionmaker, in_thread
from hotline.followup.service import FollowupError, record_rating
from hotline.intake.danger import assess as assess_danger
from hotline.messages import (
    CLAIM_TTL,
    PENDING,
    active_handoff_ticket,
    citizens_with_retries,
    claim,
    escalate_outage,
    get_or_create_citizen,
    later_pending,
    log_inbound,
    log_outbound,
    mark,
    mark_done,
    offered_since_last_inbound,
    outbox_citizens,
    pending_for,
    previous_answer_at,
    release,
)
from hotline.normalise import parse_typed_rating
from hotline.sanitise import DEFAULT_MAX_CHARS, sanitise_text
from hotline.settings import Settings
from hotline.tickets.lifecycle import citizen_left_handoff
from hotline.tickets.service import get_by_number

log = logging.getLogger(__name__)
T = TypeVar("T")
# Pauses before running a unit of work again while the database cannot be reached (~62 s in all): long
# enough for a PostgreSQL restart or a failover, short enough not to hold a citizen's turn forever.
DB_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0)
# Handoff both ways: the button under "forwarded to staff" (handled here, never sent to the engine), and what
# the engine is sent when the citizen comes back, so the dialog starts afresh instead of resuming wherever
# it was when the person took over: Rasa's built-in `restart` intent (RulePolicy's default rule runs
# action_restart; domain.yml has no utter_restart, so it says nothing).
LEAVE_HANDOFF_PAYLOAD = "#handoff:leave"
ENGINE_RESET = "/restart"
FORWARDED = Reply(
    strings.FORWARDED_TO_OPERATOR, (Button(strings.LEAVE_HANDOFF_BUTTON, LEAVE_HANDOFF_PAYLOAD),)
)


def is_leave_request(engine_text: str) -> bool:
    """The citizen's "返回机器人" (typed, or the button's payload)."""
    return engine_text == LEAVE_HANDOFF_PAYLOAD or engine_text.strip() in strings.LEAVE_HANDOFF_WORDS


@dataclass(frozen=True)
class Attachment:
    """A file the citizen sent (no content, only what is needed to fetch or forward it later)."""

    kind: str  # photo, document, voice, … (hotline.attachments.KIND_LABELS)
    file_id: str | None = None
    file_name: str | None = None
    mime_type: str | None = None
    size: int | None = None
    source: str | None = None  # transport's address of the original message, e.g. "chat:message_id"

    def as_payload(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Inbound:
    channel: str
    user_id: str
    message_id: str | None
    text: str  # for an attachment: its caption, possibly empty
    button_payload: str | None = None
    display_name: str | None = None
    attachment: Attachment | None = None


@dataclass(frozen=True)
class _Pending:
    id: int
    engine_text: str
    dispatched_at: dt.datetime | None  # as it was before this attempt (a resend looks the turn up)
    relayed: bool
    escalated: bool
    failed_before: bool  # the citizen was told the system is busy (or the desk down) for it
    handoff: tuple[int, str] | None = None  # (ticket id, number) of the open handoff ticket, if any
    dispatch_marked: bool = False  # dispatched_at was set in the claim's commit (no handoff, first send)


@dataclass(frozen=True)
class _Queue:
    """A citizen's pending inbound messages (ids, oldest first) as read after persisting a message.

    Read in the persist commit to save a transaction; it may be stale once the citizen's lock is held
    (another task answered some meanwhile), so each message is re-read fresh when it is claimed and one
    already done is skipped.
    """

    ids: list[int]
    conversation_id: str


HandoffSink = Callable[[str, str, str], Awaitable[None]]  # (ticket number, conversation id, text)
# (ticket number, conversation id, the file, its caption)
AttachmentSink = Callable[[str, str, Attachment, str], Awaitable[None]]


def _rating_asked_just_before(message_id: int, citizen_id: int, session: Session) -> str | None:
    """The ticket number when a rating of one of the citizen's tickets is waiting for an answer and the
    citizen has written nothing since it was asked (or reminded): the typed words answer that question.
    None otherwise, so a "3" typed into the intake (household size) stays the dialog's."""
    citizen = session.get_one(Citizen, citizen_id)
    waiting = session.execute(
        select(Ticket.number, func.coalesce(Rating.reminded_at, Rating.requested_at))
        .join(Ticket, Ticket.id == Rating.ticket_id)
        .where(Ticket.conversation_id == citizen.conversation_id, Rating.score.is_(None))
        .order_by(Rating.requested_at.desc())
        .limit(1)
    ).first()
    if waiting is None:
        return None
    number, asked_at = waiting
    previous = session.scalar(
        select(func.max(MessageLog.created_at)).where(
            MessageLog.citizen_id == citizen_id,
            MessageLog.direction == MessageDirection.INBOUND,
            MessageLog.id < message_id,
        )
    )
    return str(number) if previous is None or previous < asked_at else None


class Gateway:
    def __init__(
        self,
        engine: DialogEngine,
        database: str | sessionmaker[Session],
        *,
        max_attempts: int = 20,
        on_handoff_message: HandoffSink | None = None,
        low_rating_max: int = 2,
        on_handoff_attachment: AttachmentSink | None = None,
        ticket_prefix: str | None = None,
        timezone: str = "Asia/Shanghai",
        claim_ttl: dt.timedelta = CLAIM_TTL,
        db_retry_delays: tuple[float, ...] = DB_RETRY_DELAYS,
        settings: Settings | None = None,
    ) -> None:
        """`database`: a session factory (or, for older call sites, a database URL).

        `max_attempts` is the engine retry budget after which a handoff ticket is opened (the messages
        stay queued for the engine); `ticket_prefix` numbers that ticket (default: the city's, from the
        settings). `settings` configures appointments (default: the deployment's, read when first needed).
        """
        self._engine = engine
        self._sessions = get_sessionmaker(database) if isinstance(database, str) else database
        self._max_attempts = max_attempts
        self._on_handoff_message = on_handoff_message
        self._low_rating_max = low_rating_max
        self._on_handoff_attachment = on_handoff_attachment
        self._ticket_prefix = ticket_prefix
        self._timezone = timezone
        self._claim_ttl = claim_ttl
        self._db_retry_delays = db_retry_delays
        self._token = uuid.uuid4().hex  # this replica's name on its claims
        self._sender: Deliver | None = None
        self._locks: dict[int, asyncio.Lock] = {}
        self._settings = settings
        self._appointments: appointments.CitizenAppointments | None = None

    def set_handoff_sink(self, sink: HandoffSink | None) -> None:
        """Where messages of tickets in human handoff go; it must raise when the message was not posted."""
        self._on_handoff_message = sink

    def set_attachment_sink(self, sink: AttachmentSink | None) -> None:
        """Who hears of files of tickets in human handoff (the operators' desk announces them)."""
        self._on_handoff_attachment = sink

    def set_sender(self, sender: Deliver | None) -> None:
        """Let the gateway deliver replies itself through an outbox: `handle` then returns [] and each reply
        is marked sent only once `sender` returned for it; a failed one is retried by `retry_pending`."""
        self._sender = sender

    async def _db(self, work: Callable[[Session], T]) -> T:
        """One unit of work in a worker thread: a commit waiting for the disk or another writer's lock
        must not stall the event loop, which serves every other citizen meanwhile.

        A unit that fails because the database cannot be reached (a PostgreSQL restart or failover, a
        locked SQLite file) was rolled back; it is run again after a pause, for about a minute, instead of
        losing the message: Telegram does not deliver an update twice, so an inbound message that could
        not be persisted would be gone. Every unit is safe to repeat (inbound messages are deduplicated by
        their message id)."""
        for delay in (*self._db_retry_delays, None):
            try:
                return await in_thread(self._sessions, work)
            except OperationalError as exc:
                if delay is None:
                    raise
                log.warning("database unavailable (%s); retrying in %.1f s", type(exc.orig).__name__, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    @staticmethod
    def _typed_button(session: Session, citizen_id: int, inbound: Inbound) -> str | None:
        """The payload of the button whose title the citizen typed instead of tapping it ("解决了"), when
        our last buttons are still unanswered; the message then goes on as that button's press."""
        if inbound.attachment is not None or not inbound.text or len(inbound.text) > 2 * TYPED_TITLE_MAX:
            return None
        offered = offered_since_last_inbound(session, citizen_id)
        button = typed_button(inbound.text, buttons_of(offered)) if offered else None
        return button.payload if button else None

    def _lock(self, citizen_id: int) -> asyncio.Lock:
        return self._locks.setdefault(citizen_id, asyncio.Lock())

    @observability.timed_turn
    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Persist one inbound message, then answer everything this citizen has pending.

        The text and button payload are sanitised first (NUL, control characters and lone surrogates break
        PostgreSQL inserts; an endless message is capped), and a capped message is followed by a note.
        """
        clean = sanitise_text(inbound.text)
        # A button payload comes back from the client too (Telegram callback data): same rules (fuzz finding:
        # a lone surrogate in it failed the insert of the engine's echo and lost the message).
        button = sanitise_text(inbound.button_payload).text if inbound.button_payload else None
        inbound = replace(inbound, text=clean.text, button_payload=button)
        queued = self._sender is not None

        def persist(session: Session) -> tuple[int, bool, int, list[Reply], _Queue, str | None]:
            citizen = get_or_create_citizen(session, inbound.channel, inbound.user_id, inbound.display_name)
            payload: dict[str, Any] | None = None
            pressed = inbound.button_payload or self._typed_button(session, citizen.id, inbound)
            if pressed:
                payload = {"button": pressed}
                if not inbound.button_payload:
                    payload["typed"] = True
            elif inbound.attachment is not None:
                payload = {"attachment": inbound.attachment.as_payload()}
            message, new = log_inbound(
                session,
                citizen,
                external_message_id=inbound.message_id,
                text=inbound.text,
                payload=payload,
            )
            notes: list[Reply] = []
            danger = assess_danger(inbound.text) if new else None
            if danger is not None:  # danger now: the emergency numbers first, before the engine (issue 12)
                log.warning("danger cue %s on message %s", danger.cue, message.id)
                notes.append(Reply(strings.DANGER_NOW[danger.kind]))
            if new and clean.truncated:
                notes.append(Reply(strings.MESSAGE_TOO_LONG.format(max_chars=DEFAULT_MAX_CHARS)))
            self._say(session, citizen.id, notes, queued=queued, citizen=citizen)
            waiting = _Queue([m.id for m in pending_for(session, citizen.id)], citizen.conversation_id)
            done = not new and message.state not in PENDING
            return citizen.id, done, message.id, notes, waiting, pressed

        citizen_id, duplicate_done, message_id, notes, waiting, pressed = await self._db(persist)
        inbound = replace(inbound, button_payload=pressed)
        if duplicate_done:
            log.info("duplicate delivery of message %s ignored", inbound.message_id)
            return []
        rating = parse_rating(inbound.button_payload)
        comment = None
        typed = None if rating or inbound.attachment else parse_typed_rating(inbound.text or "")
        if typed is not None:  # "满意" typed right after the rating request answers it, like the button
            number = await self._db(partial(_rating_asked_just_before, message_id, citizen_id))
            rating, comment = ((number, typed[0]), typed[1]) if number else (None, None)
        claimed: ClaimedReplies | None = None
        booking = (
            None if inbound.attachment else appointments.command_of(inbound.button_payload, inbound.text)
        )
        if rating is not None:
            replies = await self._rate(message_id, citizen_id, *rating, comment=comment, queued=queued)
        elif booking is not None:  # appointment buttons and commands never reach the engine
            replies = await self._appointment(message_id, citizen_id, booking, queued=queued)
        else:
            async with self._lock(citizen_id):
                first = await self._file(message_id, inbound.attachment, queued) if inbound.attachment else []
                snapshot = None if inbound.attachment else waiting  # the file step changed the queue
                replies, _, claimed = await self._drain(citizen_id, queued=queued, snapshot=snapshot)
            replies = first + replies
        if self._sender is None:
            return notes + replies
        if claimed is not None:  # the replies were claimed in the commit that logged them
            await deliver_claimed(claimed, self._sender, self._db, self._token, self._claim_ttl)
        else:
            await self._flush_outbox(citizen_id, self._sender)
        return []

    async def handle_edit(self, inbound: Inbound) -> list[Reply]:
        """A citizen edited a message already sent: kept in the log, not applied; they are asked to resend.

        The dialog has moved on since the original (a form may be past that question), so replaying the
        edit could answer the wrong question; saying so beats ignoring it silently. `inbound.message_id`
        must name this edit (e.g. with its edit date), so each edit is answered once.
        """

        def persist(session: Session) -> int | None:
            citizen = get_or_create_citizen(session, inbound.channel, inbound.user_id, inbound.display_name)
            message, new = log_inbound(
                session,
                citizen,
                external_message_id=inbound.message_id,
                text=inbound.text,
                payload={"edited": True},
            )
            if not new:
                return None
            mark(message, MessageState.PROCESSED)
            log_outbound(session, citizen, strings.EDIT_NOT_APPLIED, queued=self._sender is not None)
            return citizen.id

        citizen_id = await self._db(persist)
        if citizen_id is None:
            return []
        if self._sender is None:
            return [Reply(strings.EDIT_NOT_APPLIED)]
        await self._flush_outbox(citizen_id, self._sender)
        return []

    async def retry_pending(self, deliver: Deliver) -> int:
        """Re-send queued messages of every citizen and deliver queued replies; returns how many citizens
        got answers from the engine. Replies produced here always go through the outbox via `deliver`."""
        citizen_ids = await self._db(citizens_with_retries)
        answered = 0
        for citizen_id in citizen_ids:
            async with self._lock(citizen_id):
                _, engine_answered, claimed = await self._drain(citizen_id, queued=True, retrying=True)
            if claimed is not None:
                await deliver_claimed(claimed, deliver, self._db, self._token, self._claim_ttl)
            answered += engine_answered
        waiting = await self._db(outbox_citizens)
        for citizen_id in waiting:
            await self._flush_outbox(citizen_id, deliver)
        return answered

    async def deliver_queued(self, channel: str, user_id: str, deliver: Deliver) -> int:
        """Deliver one citizen's queued messages now: what an operator answered from the CLI or the
        scheduler said (`tickets reply`, handoff_wait) reaches a console chat without waiting for a turn."""

        def citizen(session: Session) -> int | None:
            found = session.scalar(
                select(Citizen.id).where(Citizen.channel == channel, Citizen.external_id == user_id)
            )
            return None if found is None or found not in outbox_citizens(session) else found

        citizen_id = await self._db(citizen)
        return 0 if citizen_id is None else await self._flush_outbox(citizen_id, deliver)

    async def _flush_outbox(self, citizen_id: int, deliver: Deliver) -> int:
        """Claim this citizen's queued replies (one commit), deliver them, record the outcome (one)."""
        batch = await self._db(
            partial(claim_outbox, citizen_id=citizen_id, token=self._token, ttl=self._claim_ttl)
        )
        return await deliver_claimed(batch, deliver, self._db, self._token, self._claim_ttl)

    def _say(
        self,
        session: Session,
        citizen_id: int,
        replies: list[Reply],
        queued: bool,
        citizen: Citizen | None = None,
    ) -> None:
        if not replies:
            return
        citizen = citizen or session.get_one(Citizen, citizen_id)
        for reply in replies:
            log_outbound(session, citizen, reply.text, reply.as_payload(), queued=queued)

    # ---- inbound queue ---------------------------------------------------------------------------------

    async def _drain(
        self, citizen_id: int, *, queued: bool, retrying: bool = False, snapshot: _Queue | None = None
    ) -> tuple[list[Reply], bool, ClaimedReplies | None]:
        """Take this citizen's pending messages in order: to the desk if a human has the conversation,
        else to the engine. Once the engine failed, later engine-bound messages wait (order), while
        messages for the desk still go.

        Three commits per message in the common case: the claim (with the handoff check and the dispatch
        mark), the engine's answer with its replies, and (`snapshot` given: from the persist commit) no
        separate read of the queue. With the outbox, the last message's commit also claims the citizen's
        queued replies, returned for delivery (None when they were not claimed here).
        """
        replies: list[Reply] = []
        engine_answered = engine_blocked = False
        claimed: ClaimedReplies | None = None

        def queue(session: Session) -> _Queue:
            ids = [m.id for m in pending_for(session, citizen_id)]
            return _Queue(ids, session.get_one(Citizen, citizen_id).conversation_id)

        waiting = snapshot if snapshot is not None else await self._db(queue)
        conversation_id = waiting.conversation_id
        ids = list(waiting.ids)  # grows while walked: messages another replica left to this round
        for position, message_id in enumerate(ids):
            taken = await self._take(message_id, conversation_id, mark_dispatch=not engine_blocked)
            if isinstance(taken, _Done):
                continue  # answered meanwhile by another task (the snapshot was stale)
            if taken is None:
                break  # another replica is on this citizen and keeps the order
            item = taken
            last = position == len(ids) - 1
            said: list[Reply] = []
            answer: list[Reply] | None = None
            stop = False
            try:
                left = await self._leave_handoff(item, conversation_id)
                desk = await self._to_desk(item, conversation_id) if left is None else None
                if left is not None:
                    said = left
                elif desk is not None:
                    said = desk
                elif not engine_blocked:
                    answer = await self._answer(
                        await self._to_engine(item, conversation_id), conversation_id
                    ) or [Reply(strings.EMPTY_REPLY)]
                    if retrying and item.failed_before and not engine_answered:
                        answer = [Reply(strings.ENGINE_BACK), *answer]
                    engine_answered = True
                    observability.TURNS.inc()
            except _DeskDown as exc:
                log.warning("operators' desk unavailable (message %s kept for retry): %s", item.id, exc)
                observability.RETRIES.labels(reason="desk").inc()

                def keep(session: Session, i: int = item.id, error: str = str(exc)[:255]) -> None:
                    message = session.get_one(MessageLog, i)
                    message.state, message.last_error = MessageState.RETRY, error

                await self._db(keep)
                said = [] if retrying else [Reply(strings.DESK_DOWN)]
                stop = True  # keep the order at the desk too
            except EngineUnavailable as exc:
                said = await self._engine_failed(item, citizen_id, conversation_id, exc, retrying)
                engine_blocked = True
            said = answer if answer is not None else said

            claim_replies = queued and (last or stop)

            def settle(
                session: Session,
                i: int = item.id,
                answered: bool = answer is not None,
                said: list[Reply] = said,
                claim_replies: bool = claim_replies,
                last: bool = last,
            ) -> tuple[ClaimedReplies | None, list[int]]:  # answered, replies logged: one commit
                if answered:
                    mark_done(session, [i], MessageState.PROCESSED)
                else:
                    release(session.get_one(MessageLog, i))
                citizen = session.get_one(Citizen, citizen_id)
                self._say(session, citizen_id, said, queued, citizen=citizen)
                # Another replica may have persisted this citizen's next message while we held the claim
                # and left it to us (order): it is ours now, in the same round (else it waited for the
                # retry tick, 30-60 s). Read after this message's row is locked by the update above, so
                # a message committed later is seen by its own replica as answered-or-ours.
                later = later_pending(session, citizen_id, i) if answered and last else []
                if not claim_replies or later:
                    return None, later
                session.flush()
                return claim_outbox(
                    session, citizen_id, self._token, self._claim_ttl, user_id=citizen.external_id
                ), []

            claimed, later = await self._db(settle)
            ids.extend(later)
            replies.extend(said)
            if stop:
                break
        return replies, engine_answered, claimed

    async def _take(
        self, message_id: int, conversation_id: str, *, mark_dispatch: bool
    ) -> _Pending | _Done | None:
        """Claim one pending message and read it fresh, in one commit with the handoff check and (no
        handoff, never sent, `mark_dispatch`) the dispatch mark. None: another replica holds it; _DONE:
        it is no longer pending."""

        def take(session: Session) -> _Pending | _Done | None:
            if not claim(session, message_id, self._token, ttl=self._claim_ttl):
                state = session.scalar(select(MessageLog.state).where(MessageLog.id == message_id))
                return None if state in PENDING else _DONE
            m = session.get_one(MessageLog, message_id)
            if m.state not in PENDING:  # an outbound id cannot be here; kept as a guard
                release(m)
                return _DONE
            ticket = active_handoff_ticket(session, conversation_id)
            handoff = None if ticket is None else (ticket.id, ticket.number)
            item = _Pending(
                m.id,
                (m.payload or {}).get("button") or m.text,
                m.dispatched_at,
                m.relayed_at is not None,
                m.escalated,
                m.attempts > 0,
                handoff,
            )
            # Not for "返回机器人" (answered here, `_leave_handoff`, never sent to the engine as such).
            engine_bound = handoff is None and not is_leave_request(item.engine_text)
            if mark_dispatch and engine_bound and m.dispatched_at is None:
                m.dispatched_at = utcnow()
                item = replace(item, dispatch_marked=True)
            return item

        return await self._db(take)

    async def _to_engine(self, item: _Pending, conversation_id: str) -> list[dict[str, Any]]:
        """The engine's answer to one turn, sent at most once if the engine can tell us it has it."""
        if item.dispatched_at is not None and isinstance(self._engine, TurnLookup):
            after = await self._db(lambda session: previous_answer_at(session, item.id))
            known = await self._engine.turn_answer(
                conversation_id, item.engine_text, item.dispatched_at, after
            )
            if known is not None:
                log.info(
                    "message %s was already processed by the engine; answer taken from its tracker", item.id
                )
                return known

        def dispatched(at: dt.datetime | None) -> Callable[[Session], None]:
            def work(session: Session) -> None:
                session.get_one(MessageLog, item.id).dispatched_at = at

            return work

        if not item.dispatch_marked:  # else marked in the claim's commit
            await self._db(dispatched(utcnow()))
        try:
            return await self._engine.send(conversation_id, item.engine_text)
        except EngineUnavailable as exc:
            if not exc.maybe_processed:  # never reached the engine: a plain resend is safe
                await self._db(dispatched(item.dispatched_at))
            raise

    async def _engine_failed(
        self, item: _Pending, citizen_id: int, conversation_id: str, exc: EngineUnavailable, retrying: bool
    ) -> list[Reply]:
        """Count the failure; past the budget, open a handoff ticket once (the message stays queued)."""

        def count(session: Session) -> str | None:
            message = session.get_one(MessageLog, item.id)
            mark(message, MessageState.RETRY, str(exc))
            if message.attempts < self._max_attempts or message.escalated:
                return None
            return escalate_outage(
                session, citizen_id, conversation_id, prefix=self._prefix(), timezone=self._timezone
            )

        number = await self._db(count)
        log.warning("engine unavailable (message %s kept for retry): %s", item.id, exc)
        observability.RETRIES.labels(reason="engine").inc()
        if number is not None:
            observability.HANDOFFS.labels(reason="engine_outage").inc()
            log.warning("engine down past the retry budget: handoff ticket %s opened", number)
            return [Reply(strings.ENGINE_ESCALATED.format(number=number))]
        if retrying or item.escalated:
            return []
        return [Reply(strings.ENGINE_DOWN)]

    def _prefix(self) -> str:
        if self._ticket_prefix is None:
            from hotline.settings import get_settings  # only when the caller did not pass it

            self._ticket_prefix = get_settings().city.ticket_prefix
        return self._ticket_prefix

    async def _to_desk(self, item: _Pending, conversation_id: str) -> list[Reply] | None:
        """If a human has this conversation: post the message to the desk (once) and say so.

        None when the message is for the engine: no handoff, or kept for the engine after an outage
        handoff (it is relayed to the desk first). Raises _DeskDown when the desk did not take it.
        """

        if item.handoff is None:  # looked up in the claim's commit
            return None
        ticket_id, number = item.handoff
        if not item.relayed:
            if self._on_handoff_message is not None:
                try:
                    await self._on_handoff_message(number, conversation_id, item.engine_text)
                except Exception as exc:  # the desk (Telegram) failed: keep the message for the retry loop
                    raise _DeskDown(f"operator desk: {type(exc).__name__}: {exc}") from exc

            def relayed(session: Session) -> None:
                message = session.get_one(MessageLog, item.id)
                message.ticket_id, message.relayed_at = ticket_id, utcnow()

            await self._db(relayed)
        if item.escalated:
            return None
        await self._db(lambda session: mark(session.get_one(MessageLog, item.id), MessageState.FORWARDED))
        return [FORWARDED]

    async def _leave_handoff(self, item: _Pending, conversation_id: str) -> list[Reply] | None:
        """ "返回机器人" in a handoff: the conversation goes back to the bot (audited; the ticket stays open
        for the operators, who are told under its card), and the engine starts the dialog afresh.

        None when the message is not such a request, or is typed words outside a handoff (the engine
        answers those as usual)."""
        if not is_leave_request(item.engine_text):
            return None

        def leave(session: Session) -> tuple[bool, str | None]:
            ticket = active_handoff_ticket(session, conversation_id)
            if ticket is None and item.engine_text != LEAVE_HANDOFF_PAYLOAD:
                return False, None  # typed outside a handoff: the engine's to answer
            message = session.get_one(MessageLog, item.id)
            mark(message, MessageState.PROCESSED)
            if ticket is None:
                return True, None
            message.ticket_id = ticket.id
            citizen_left_handoff(session, ticket)
            return True, ticket.number

        handled, number = await self._db(leave)
        if not handled:
            return None
        if number is None:  # the button pressed again after leaving
            return [Reply(strings.HANDOFF_NOT_ACTIVE)]
        if self._on_handoff_message is not None:
            try:  # the desk hears it under the card; recorded on the ticket either way
                await self._on_handoff_message(number, conversation_id, strings.LEAVE_HANDOFF_BUTTON)
            except Exception:
                log.exception("ticket %s: the desk was not told the citizen went back to the bot", number)
        try:
            await self._engine.send(conversation_id, ENGINE_RESET)
        except EngineUnavailable as exc:  # the dialog then goes on where it was: still answered
            log.warning("engine not reset after a handoff ended: %s", exc)
        return [Reply(strings.HANDOFF_LEFT.format(number=number))]

    # ---- appointments (bot/appointments.py) -------------------------------------------------------------

    def _booking(self) -> appointments.CitizenAppointments:
        if self._appointments is None:
            if self._settings is None:
                from hotline.settings import get_settings

                self._settings = get_settings()
            self._appointments = appointments.CitizenAppointments(self._settings)
        return self._appointments

    async def _answer(self, messages: list[dict[str, Any]], conversation_id: str) -> list[Reply]:
        """The engine's answer as replies, an appointment offer in it rendered as slot buttons in place.

        A failure to render the offer must not cost the citizen the engine's answer: it is left out."""
        if not appointments.has_offer(messages):
            return from_rasa(messages)

        def render(session: Session) -> list[Reply]:
            replies: list[Reply] = []
            for message in messages:
                replies += from_rasa([message])
                custom = message.get("custom")
                if isinstance(custom, dict):
                    replies += self._booking().render(session, conversation_id, custom)
            return replies

        try:
            return await self._db(render)
        except Exception:
            log.exception("appointment offer not rendered")
            return from_rasa(messages)

    async def _appointment(
        self, message_id: int, citizen_id: int, command: payloads.Command, *, queued: bool
    ) -> list[Reply]:
        """An `appt:` button or an appointment text command: answered here, in one unit of work."""

        def work(session: Session) -> list[Reply]:
            mark(session.get_one(MessageLog, message_id), MessageState.PROCESSED)
            conversation_id = session.get_one(Citizen, citizen_id).conversation_id
            replies = self._booking().handle(session, conversation_id, command)
            self._say(session, citizen_id, replies, queued)
            return replies

        return await self._db(work)

    # ---- ratings and files -----------------------------------------------------------------------------

    async def _rate(
        self,
        message_id: int,
        citizen_id: int,
        number: str,
        score: int,
        *,
        comment: str | None = None,
        queued: bool,
    ) -> list[Reply]:
        """A follow-up rating (a button, or typed words answering the request): recorded directly, the
        dialog engine is not involved. Typed words after the score are kept as the comment."""

        def rate(session: Session) -> str:
            message = session.get_one(MessageLog, message_id)
            citizen = session.get_one(Citizen, citizen_id)
            ticket = get_by_number(session, number)
            mark(message, MessageState.PROCESSED)
            if ticket is None or ticket.conversation_id != citizen.conversation_id:
                reply = strings.RATING_UNKNOWN_TICKET
            else:
                try:
                    # A low score opens a review item; the scheduler's review_alerts job tells supervisors.
                    reply = record_rating(session, ticket, score, comment, low_max=self._low_rating_max).reply
                except FollowupError as exc:  # already rated, or no rating was asked
                    reply = str(exc)
            log_outbound(session, citizen, reply, queued=queued)
            return reply

        return [Reply(await self._db(rate))]

    async def _file(self, message_id: int, attachment: Attachment, queued: bool) -> list[Reply]:
        """Keep a file with the citizen's open ticket (audited); in a handoff, tell the staff too.

        A caption is an ordinary message: unless a human has the ticket it stays queued for the engine.
        """

        def file(session: Session) -> tuple[str, str, bool, str | None, str]:
            message = session.get_one(MessageLog, message_id)
            citizen = session.get_one(Citizen, message.citizen_id)
            conversation_id, caption = citizen.conversation_id, (message.text or "").strip()
            handoff = active_handoff_ticket(session, conversation_id)
            ticket = handoff or attachments.open_ticket_for(session, conversation_id)
            if ticket is not None:
                attachments.link(session, message, ticket)
            number = ticket.number if ticket is not None else None
            if handoff is not None or not caption:
                mark(message, MessageState.FORWARDED if handoff is not None else MessageState.PROCESSED)
            kind = attachments.label(attachment.kind)
            if handoff is not None:
                text = strings.ATTACHMENT_TO_STAFF.format(kind=kind)
            elif number is not None:
                text = strings.ATTACHMENT_ON_TICKET.format(kind=kind, number=number)
            else:
                text = strings.ATTACHMENT_NO_TICKET.format(kind=kind)
            if attachment.kind in {"voice", "audio", "video_note"} and handoff is None:
                text += strings.VOICE_HINT
            log_outbound(session, citizen, text, queued=queued)
            return conversation_id, caption, handoff is not None, number, text

        conversation_id, caption, handoff, number, text = await self._db(file)
        if handoff and number is not None and self._on_handoff_attachment is not None:
            try:
                await self._on_handoff_attachment(number, conversation_id, attachment, caption)
            except Exception:  # kept and linked in the database either way; staff see it with the ticket
                log.exception("attachment of ticket %s not announced to the operators' group", number)
        return [Reply(text)]


class _Done:
    """A queued message found answered when claimed (skipped, not an obstacle to the order)."""


_DONE = _Done()


class _DeskDown(Exception):
    """The operators' desk did not take a message; it stays queued (not an engine failure)."""
