"""The gateway's turn in 4 commits (issue 13, capacity): what was merged must keep the queue's guarantees.

The persist commit also reads the citizen's queue; that snapshot may be stale once the citizen's lock is
held, so a message answered meanwhile is skipped (not taken as another replica's claim, which would stop
the drain and leave the citizen's own message unanswered). The replies claimed in the commit that logs
them are delivered in order and marked sent; one that fails stays queued and the later ones are freed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select

from bot.gateway import Gateway, _Queue
from bot.replies import Reply
from hotline.db.models import MessageDirection, MessageLog, MessageState
from hotline.db.session import get_engine, session_scope
from tests.unit.test_gateway import FakeEngine, msg


async def test_a_stale_queue_snapshot_skips_answered_messages(db_url: str) -> None:
    engine = FakeEngine()
    gateway = Gateway(engine, db_url)
    await gateway.handle(msg(1, "第一句"))
    with session_scope(db_url) as session:
        first = session.scalars(select(MessageLog).where(MessageLog.text == "第一句")).one()
        citizen_id, done_id = first.citizen_id, first.id
        waiting = MessageLog(
            citizen_id=citizen_id,
            channel="console",
            direction=MessageDirection.INBOUND,
            text="第二句",
            state=MessageState.RECEIVED,
            attempts=0,
        )
        session.add(waiting)
        session.flush()
        waiting_id = waiting.id
    stale = _Queue([done_id, waiting_id], "console-u1")
    async with gateway._lock(citizen_id):
        replies, answered, _ = await gateway._drain(citizen_id, queued=False, snapshot=stale)
    assert [r.text for r in replies] == ["答复:第二句"]
    assert answered
    assert [text for _, text in engine.seen] == ["第一句", "第二句"]  # the answered one was not resent


async def test_a_turn_with_the_outbox_takes_four_commits_and_marks_replies_sent(db_url: str) -> None:
    gateway = Gateway(FakeEngine(), db_url)
    delivered: list[str] = []

    async def deliver(user: str, replies: list[Reply]) -> None:
        delivered.extend(r.text for r in replies)

    gateway.set_sender(deliver)
    await gateway.handle(msg(1, "预热"))  # the citizen exists
    commits = [0]
    listener = lambda _conn: commits.__setitem__(0, commits[0] + 1)  # noqa: E731
    event.listen(get_engine(db_url), "commit", listener)
    try:
        assert await gateway.handle(msg(2, "老板拖欠工资")) == []
    finally:
        event.remove(get_engine(db_url), "commit", listener)
    assert delivered == ["答复:预热", "答复:老板拖欠工资"]
    assert commits[0] == 4
    with session_scope(db_url) as session:
        states = set(session.scalars(select(MessageLog.state)))
    assert states == {MessageState.PROCESSED, MessageState.SENT}


class TwoReplies(FakeEngine):
    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        return [{"text": "一"}, {"text": "二"}]


async def test_a_failed_delivery_keeps_that_reply_and_frees_the_later_ones(db_url: str) -> None:
    gateway = Gateway(TwoReplies(), db_url)
    tried: list[str] = []

    async def deliver(user: str, replies: list[Reply]) -> None:
        tried.extend(r.text for r in replies)
        raise ConnectionError("telegram down")

    gateway.set_sender(deliver)
    await gateway.handle(msg(1, "你好"))
    assert tried == ["一"]  # the second waits behind the first (order)
    with session_scope(db_url) as session:
        out = session.scalars(
            select(MessageLog)
            .where(MessageLog.direction == MessageDirection.OUTBOUND)
            .order_by(MessageLog.id)
        ).all()
        assert [(m.text, m.state, m.attempts, m.claimed_until) for m in out] == [
            ("一", MessageState.QUEUED, 1, None),
            ("二", MessageState.QUEUED, 0, None),
        ]
        assert out[0].next_attempt_at is not None
