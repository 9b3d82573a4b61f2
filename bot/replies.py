"""Transport-neutral replies, parsed from Rasa's REST channel output."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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


def from_rasa(messages: list[dict[str, Any]]) -> list[Reply]:
    """Rasa returns one dict per bot utterance: {"text": ..., "buttons": [{"title", "payload"}]}."""
    replies: list[Reply] = []
    for message in messages:
        text = str(message.get("text") or "").strip()
        buttons = tuple(
            Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
            for b in message.get("buttons") or []
        )
        if text or buttons:
            replies.append(Reply(text=text, buttons=buttons))
    return replies
