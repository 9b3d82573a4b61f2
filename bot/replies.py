"""Transport-neutral replies, parsed from Rasa's REST channel output."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_NOT_WORD = re.compile(r"[\W_]+")  # punctuation, spaces, emoji
_CLAUSE_END = re.compile(r"[，,（(：:；;。]")
TYPED_TITLE_MAX = 24  # characters: a button's title, not a question that happens to start with one


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)

    def as_payload(self) -> dict[str, Any] | None:
        if not self.buttons:
            return None
        return {"buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons]}


def buttons_of(message: dict[str, Any] | None) -> tuple[Button, ...]:
    """The buttons of a Rasa utterance, or of a reply's logged payload (`Reply.as_payload`)."""
    return tuple(
        Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
        for b in (message or {}).get("buttons") or []
        if isinstance(b, dict)
    )


def from_rasa(messages: list[dict[str, Any]]) -> list[Reply]:
    """Rasa returns one dict per bot utterance: {"text": ..., "buttons": [{"title", "payload"}]}."""
    replies: list[Reply] = []
    for message in messages:
        text = str(message.get("text") or "").strip()
        buttons = buttons_of(message)
        if text or buttons:
            replies.append(Reply(text=text, buttons=buttons))
    return replies


def _words(text: str) -> str:
    return _NOT_WORD.sub("", text).lower()


def typed_button(text: str, buttons: Iterable[Button]) -> Button | None:
    """The button whose title the citizen typed instead of tapping ("解决了"; "没解决" for
    "没解决，我想咨询自己的事"): the whole title or its first clause, punctuation and spaces aside.
    None when no title or several buttons match (the words then stay the dialog's to understand)."""
    typed = _words(text)
    if not typed or len(typed) > TYPED_TITLE_MAX:
        return None
    hits = {
        b.payload: b
        for b in buttons
        if b.payload and typed in (_words(b.title), _words(_CLAUSE_END.split(b.title, maxsplit=1)[0]))
    }
    return next(iter(hits.values())) if len(hits) == 1 else None
