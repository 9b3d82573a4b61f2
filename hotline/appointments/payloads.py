"""Button payloads of the appointment dialog (`appt:` callback data), built and parsed in one place.

The gateway handles them itself (they never reach the dialog engine); the reminder job, which runs without
the gateway, puts the same buttons on its message. All fit Telegram's 64-byte callback data.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "appt:"


@dataclass(frozen=True)
class Command:
    """`action`: offer | book | list | cancel | rebook | move."""

    action: str
    ticket: str = ""  # ticket number (offer, book)
    county: str = ""  # county code (offer, book)
    appointment: int = 0  # appointment id (cancel, rebook, move)
    slot: str = ""  # slot key, local YYYYMMDDHHMM (book, move)


def offer(ticket: str, county: str) -> str:
    return f"{PREFIX}o:{ticket}:{county}"


def book(ticket: str, county: str, slot: str) -> str:
    return f"{PREFIX}b:{ticket}:{county}:{slot}"


def listing() -> str:
    return f"{PREFIX}l"


def cancel(appointment: int) -> str:
    return f"{PREFIX}c:{appointment}"


def rebook(appointment: int) -> str:
    return f"{PREFIX}r:{appointment}"


def move(appointment: int, slot: str) -> str:
    return f"{PREFIX}m:{appointment}:{slot}"


def parse(payload: str | None) -> Command | None:
    """The command of an `appt:` payload; None for any other payload or a malformed one."""
    if not payload or not payload.startswith(PREFIX):
        return None
    kind, *parts = payload[len(PREFIX) :].split(":")
    try:
        if kind == "l" and not parts:
            return Command("list")
        if kind == "o" and len(parts) == 2:
            return Command("offer", ticket=parts[0], county=parts[1])
        if kind == "b" and len(parts) == 3:
            return Command("book", ticket=parts[0], county=parts[1], slot=parts[2])
        if kind in ("c", "r") and len(parts) == 1:
            return Command("cancel" if kind == "c" else "rebook", appointment=int(parts[0]))
        if kind == "m" and len(parts) == 2:
            return Command("move", appointment=int(parts[0]), slot=parts[1])
    except ValueError:
        return None
    return None
