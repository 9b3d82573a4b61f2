"""Cut long texts into pieces Telegram accepts (4,096 characters per message, counted in UTF-16 units).

A citizen may paste a long account of their case and an operator's relay adds a prefix; a message over the
limit is rejected as a whole, so it is split before sending instead of being lost.
"""

from __future__ import annotations

TELEGRAM_LIMIT = 4096
_SENTENCE_ENDS = "。！？；!?;.\n"


def units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def _fitting_prefix(text: str, limit: int) -> int:
    """The largest number of characters from the start whose UTF-16 length is at most `limit`."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def split_text(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Pieces of at most `limit` units, cut after a line break or sentence end in the second half if any.

    Joining the pieces gives the text back, so nothing the citizen wrote is dropped at a cut.
    """
    if limit < 2:
        raise ValueError("limit must leave room for at least one character")
    pieces: list[str] = []
    rest = text
    while units(rest) > limit:
        cut = _fitting_prefix(rest, limit)
        head = rest[:cut]
        soft = max(head.rfind(mark) for mark in _SENTENCE_ENDS)
        if soft + 1 > cut // 2:
            cut = soft + 1
        pieces.append(rest[:cut])
        rest = rest[cut:]
    pieces.append(rest)
    return pieces
