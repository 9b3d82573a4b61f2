"""Recording, reviewing and exporting learned examples (the `nlu_example` table).

Pure service functions over a session: the caller commits. Text is masked with `hotline.privacy.masking`
before it is stored, so an example never holds a phone, ID or bank-card number.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.categories import INTAKE_CATEGORIES
from hotline.db.models import NluExample, Operator, Ticket, utcnow
from hotline.learning import texts
from hotline.privacy.masking import mask_pii
from hotline.tickets.service import record_event

OPERATOR_CORRECTION = "operator_correction"
CITIZEN_CHOICE = "citizen_choice"
SOURCES = (OPERATOR_CORRECTION, CITIZEN_CHOICE)
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
MAX_TEXT = 1000  # a training example, not a transcript
_SPACE = re.compile(r"\s+")


class InboxError(Exception):
    """A user error with a Chinese message (unknown example, already reviewed)."""


def clean_text(text: str) -> str:
    """One line, masked, without Rasa entity markup characters (`[`/`]` would be read as an annotation)."""
    text = _SPACE.sub(" ", mask_pii(text)).strip()
    return text.replace("[", "［").replace("]", "］")[:MAX_TEXT]


def record_example(
    session: Session,
    text: str,
    intent: str,
    source: str,
    *,
    actor: str,
    previous_intent: str | None = None,
    ticket: Ticket | None = None,
    conversation_id: str | None = None,
    now: dt.datetime | None = None,
) -> NluExample | None:
    """Keep `text` labelled `intent` for review; None when there is nothing to learn.

    Nothing is kept for a non-legal category (complaint, handoff), an empty text, a command-like payload,
    or a text already waiting or approved with the same label.
    """
    if intent not in INTAKE_CATEGORIES or source not in SOURCES:
        return None
    cleaned = clean_text(text)
    if not cleaned or cleaned.startswith("/"):
        return None
    duplicate = session.scalar(
        select(NluExample.id).where(
            NluExample.text == cleaned,
            NluExample.intent == intent,
            NluExample.status.in_((PENDING, APPROVED)),
        )
    )
    if duplicate is not None:
        return None
    example = NluExample(
        text=cleaned,
        intent=intent,
        previous_intent=previous_intent,
        source=source,
        status=PENDING,
        ticket_id=ticket.id if ticket is not None else None,
        conversation_id=conversation_id or (ticket.conversation_id if ticket is not None else None),
        created_by=actor,
        created_at=now or utcnow(),
    )
    session.add(example)
    session.flush()
    return example


def pending(session: Session, limit: int | None = None) -> list[NluExample]:
    query = select(NluExample).where(NluExample.status == PENDING).order_by(NluExample.id)
    return list(session.scalars(query.limit(limit) if limit else query))


def review(
    session: Session, example_id: int, approve: bool, reviewer: Operator, *, now: dt.datetime | None = None
) -> NluExample:
    """Approve or reject a pending example; who and when are kept on it, and on its ticket's audit trail."""
    example = session.get(NluExample, example_id)
    if example is None:
        raise InboxError(texts.NOT_FOUND.format(id=example_id))
    if example.status != PENDING:
        raise InboxError(texts.NOT_PENDING.format(id=example_id, status=texts.STATUSES[example.status]))
    at = now or utcnow()
    example.status = APPROVED if approve else REJECTED
    example.reviewed_by = reviewer.id
    example.reviewed_at = at
    ticket = session.get(Ticket, example.ticket_id) if example.ticket_id else None
    if ticket is not None:
        record_event(
            session,
            ticket,
            "nlu_example_reviewed",
            actor=f"operator:{reviewer.id}",
            data={"example_id": example.id, "intent": example.intent, "status": example.status},
            now=at,
        )
    return example


@dataclass(frozen=True)
class Export:
    path: Path
    written: int
    skipped: int  # already in the training data under nlu/ (outside the learned file)


def approved_by_intent(session: Session, known: dict[str, str]) -> tuple[dict[str, list[str]], int]:
    """Approved texts per intent, the latest label winning for a text; texts already in `known`
    (text → intent of the hand-written training data) are left out, so Rasa never sees a text twice."""
    latest: dict[str, str] = {}
    for example in session.scalars(
        select(NluExample).where(NluExample.status == APPROVED).order_by(NluExample.id)
    ):
        latest[example.text] = example.intent
    by_intent: dict[str, list[str]] = {}
    skipped = 0
    for text, intent in latest.items():
        if text in known:
            skipped += 1
            continue
        by_intent.setdefault(intent, []).append(text)
    return by_intent, skipped


def render(by_intent: dict[str, list[str]]) -> str:
    """Rasa 3 NLU YAML, intents in the categories' order."""
    lines = [texts.FILE_HEADER.rstrip("\n"), 'version: "3.1"', "nlu:"]
    for intent in INTAKE_CATEGORIES:
        if by_intent.get(intent):
            lines += [f"- intent: {intent}", "  examples: |"]
            lines += [f"    - {text}" for text in by_intent[intent]]
    return "\n".join(lines) + "\n"


def export(session: Session, path: Path, known: dict[str, str]) -> Export:
    """Write every approved example to `path` (overwritten: the database is the source); nothing written
    when there is none, so an empty inbox never changes the model's inputs."""
    by_intent, skipped = approved_by_intent(session, known)
    written = sum(len(v) for v in by_intent.values())
    if written:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(render(by_intent), encoding="utf-8")
        tmp.replace(path)
    return Export(path, written, skipped)
