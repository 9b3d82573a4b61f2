"""Photos, documents and voice messages citizens send (wage slips, injury photos, IOUs).

The bot cannot read them, but they are evidence: each one is kept in the message log like any other
inbound message and linked to the citizen's open work order with an audit event, so staff find it with
the ticket. One sent before any ticket exists is linked when the next ticket of that conversation is
opened (within ``LINK_WINDOW``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db.models import (
    OPEN_TICKET_STATUSES,
    Citizen,
    MessageDirection,
    MessageLog,
    Ticket,
    utcnow,
)
from hotline.tickets.service import record_event

LINK_WINDOW = dt.timedelta(days=7)

# What the citizen and the staff read for each kind (Telegram's names for them).
KIND_LABELS: dict[str, str] = {
    "photo": "图片",
    "document": "文件",
    "voice": "语音",
    "audio": "音频",
    "video": "视频",
    "video_note": "视频",
    "sticker": "表情",
    "animation": "动图",
    "location": "位置",
    "contact": "名片",
}


def label(kind: str) -> str:
    return KIND_LABELS.get(kind, "附件")


def attachment_of(message: MessageLog) -> dict[str, Any] | None:
    """The attachment metadata stored with a message, if it carried one."""
    payload = message.payload or {}
    value = payload.get("attachment")
    return value if isinstance(value, dict) else None


def open_ticket_for(session: Session, conversation_id: str) -> Ticket | None:
    """The newest open ticket of a conversation: where a new piece of evidence belongs."""
    return session.scalar(
        select(Ticket)
        .where(Ticket.conversation_id == conversation_id, Ticket.status.in_(OPEN_TICKET_STATUSES))
        .order_by(Ticket.id.desc())
        .limit(1)
    )


def files_of(session: Session, ticket_id: int) -> list[tuple[MessageLog, dict[str, Any]]]:
    """The citizen's files filed with a ticket, oldest first, with their metadata."""
    messages = session.scalars(
        select(MessageLog)
        .where(MessageLog.ticket_id == ticket_id, MessageLog.direction == MessageDirection.INBOUND)
        .order_by(MessageLog.id)
    )
    return [(m, a) for m in messages if (a := attachment_of(m)) is not None]


def link(session: Session, message: MessageLog, ticket: Ticket, now: dt.datetime | None = None) -> None:
    """Attach one message's file to a ticket; audited like every other ticket change."""
    attachment = attachment_of(message) or {}
    message.ticket_id = ticket.id
    data = {
        "message_id": message.id,
        "kind": attachment.get("kind"),
        "file_name": attachment.get("file_name"),
    }
    record_event(session, ticket, "attachment", actor="citizen", data=data, now=now)


def link_unlinked(session: Session, ticket: Ticket, now: dt.datetime | None = None) -> int:
    """On a new ticket: link the conversation's recent attachments that had no ticket yet."""
    if ticket.conversation_id is None:
        return 0
    at = now or utcnow()
    candidates = session.scalars(
        select(MessageLog)
        .join(Citizen, Citizen.id == MessageLog.citizen_id)
        .where(
            Citizen.conversation_id == ticket.conversation_id,
            MessageLog.direction == MessageDirection.INBOUND,
            MessageLog.ticket_id.is_(None),
            MessageLog.created_at >= at - LINK_WINDOW,
        )
        .order_by(MessageLog.id)
    )
    linked = 0
    for message in candidates:
        if attachment_of(message) is not None:
            link(session, message, ticket, at)
            linked += 1
    return linked
