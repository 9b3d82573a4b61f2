from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from bot.replies import Button, Reply
from bot.transports.telegram import CALLBACK_LIMIT, decode_payload, encode_payload, keyboard


def test_short_payload_passes_through_long_one_is_stored(sessions: sessionmaker[Session]) -> None:
    assert encode_payload(sessions, "/affirm") == "/affirm"
    long_payload = '/inform{"county":"琅琊区","relationship":"儿子","age":"十五岁"}'  # > 64 bytes
    key = encode_payload(sessions, long_payload)
    assert len(key.encode()) <= CALLBACK_LIMIT and key.startswith("k:")
    assert encode_payload(sessions, long_payload) == key  # stable, stored once
    assert decode_payload(sessions, key) == long_payload
    assert decode_payload(sessions, "k:unknown") is None


def test_keyboard_two_per_row(sessions: sessionmaker[Session]) -> None:
    reply = Reply("选", tuple(Button(str(i), f"/p{i}") for i in range(5)))
    markup = keyboard(sessions, reply)
    assert markup is not None
    assert [len(row) for row in markup.inline_keyboard] == [2, 2, 1]
    assert keyboard(sessions, Reply("无按钮")) is None
