"""Operators propose knowledge-base entries from a ticket's answer; supervisors approve or reject them.

Why in the database and not straight into faq.yaml: the file is curated and versioned by the bureau, while
a good answer turns up on a ticket any day. A proposal names its source ticket and is audited on it like any
ticket change (`kb_proposed`, `kb_approved`, `kb_rejected` events, same transaction). Operators may propose
only from tickets they may see (their counties, hotline.tickets.access); supervisors approve or reject, and
not their own proposals. An approved entry is served next to faq.yaml (`served_kb`) with checked_by = the
approving supervisor and review_due = approval day + `knowledge.review_days`, until the bureau folds it into
the file (`export_yaml`, `python -m hotline kb export`); once its id is in the file, the file's copy wins.

An entry is checked at proposal and again at approval exactly like a file entry (loader.validate_entry), with
Chinese reasons for the usual mistakes. When the base is served, an approved row that no longer passes (the
file changed under it) is skipped with a logged warning: a bad row never stops the bot.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.db.models import KbProposal, Operator, OperatorRole, Ticket, utcnow
from hotline.knowledge import texts
from hotline.knowledge.loader import (
    FAQ_CATEGORIES,
    MAX_ANSWER_CHARS,
    KnowledgeBase,
    KnowledgeError,
    packaged_kb,
    validate_entry,
    with_extra,
)
from hotline.tickets.access import Viewer, can_see, visible_counties
from hotline.tickets.service import TicketError, record_event

log = logging.getLogger(__name__)

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
MIN_ANSWER_CHARS = 10  # as FaqEntry.answer
_SEPARATORS = re.compile(r"[；;\n]+")
_ARTICLE_TOKENS = re.compile(r"《([^》]{2,})》|(第[零一二三四五六七八九十百千]+条)")


class ProposalError(TicketError):
    """A proposal or decision refused; the message is Chinese, for operators (shown like TicketError)."""


@dataclass(frozen=True)
class Draft:
    """What an operator proposes: phrasings, the short answer, its articles; category defaults to the
    ticket's."""

    questions: tuple[str, ...]
    answer: str
    articles: tuple[dict[str, str], ...] = ()
    details: str = ""
    category: str | None = None


def split_questions(text: str) -> tuple[str, ...]:
    """`问法一；问法二` → the phrasings (“；”, “;” or new lines between them), blanks and repeats dropped."""
    return tuple(dict.fromkeys(q.strip() for q in _SEPARATORS.split(text) if q.strip()))


def parse_articles(text: str) -> tuple[dict[str, str], ...]:
    """`《劳动法》第四十四条；第四十五条` → [{law, article}…]; an article without a law before it, or any
    text left over, is refused (an article is cited exactly or not at all)."""
    found: list[dict[str, str]] = []
    law: str | None = None
    leftover = _ARTICLE_TOKENS.sub("", text)
    if re.sub(r"[\s；;、，,和及]+", "", leftover):
        raise ProposalError(texts.BAD_ARTICLES.format(text=text.strip()))
    for match in _ARTICLE_TOKENS.finditer(text):
        if match.group(1):
            law = match.group(1).strip()
        elif law is None:
            raise ProposalError(texts.BAD_ARTICLES.format(text=text.strip()))
        else:
            found.append({"law": law, "article": match.group(2)})
    if text.strip() and not found:
        raise ProposalError(texts.BAD_ARTICLES.format(text=text.strip()))
    unique = {(a["law"], a["article"]): a for a in found}  # a repeated citation once
    return tuple(unique.values())


def parse_draft(text: str) -> Draft:
    """The desk's `问题 | 答案 | 条文 [| 详细说明]` (half- or full-width bars) as a draft."""
    parts = [p.strip() for p in re.split(r"[|｜]", text)]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise ProposalError(texts.DRAFT_FORMAT)
    articles = parse_articles(parts[2]) if len(parts) > 2 else ()
    details = "｜".join(parts[3:]).strip()
    return Draft(split_questions(parts[0]), parts[1], articles, details)


def _actor(operator: Operator) -> str:
    return f"operator:{operator.id}"


def _active(operator: Operator) -> None:
    if not operator.active:
        raise ProposalError(texts.NOT_ACTIVE.format(name=operator.name))


def _county(ticket: Ticket, county_names: dict[str, str]) -> str:
    return county_names.get(ticket.county_code or "", texts.NO_COUNTY)


def _entry_id(proposal: KbProposal) -> str:
    return f"{proposal.category}_kb{proposal.id}"


def _raw(proposal: KbProposal, **review: Any) -> dict[str, Any]:
    """The entry as faq.yaml would hold it (FaqEntry fields)."""
    raw: dict[str, Any] = {
        "id": proposal.entry_id or _entry_id(proposal),
        "category": proposal.category,
        "questions": list(proposal.questions),
        "answer": proposal.answer,
        "details": proposal.details,
        "articles": [dict(a) for a in proposal.articles],
        "last_checked": proposal.last_checked,
        "checked_by": proposal.checked_by,
        "review_due": proposal.review_due,
    }
    raw.update(review)
    if not raw["details"]:
        del raw["details"]
    return raw


def _check(raw: dict[str, Any], name: str, served: KnowledgeBase) -> None:
    """Chinese reasons for the usual mistakes, then the file's own validation as the last word."""
    questions = raw["questions"]
    if len(questions) < 2:
        raise ProposalError(texts.TOO_FEW_QUESTIONS)
    answer = str(raw["answer"])
    if len(answer) < MIN_ANSWER_CHARS:
        raise ProposalError(texts.ANSWER_TOO_SHORT.format(min=MIN_ANSWER_CHARS))
    if len(answer) > MAX_ANSWER_CHARS:
        raise ProposalError(texts.ANSWER_TOO_LONG.format(max=MAX_ANSWER_CHARS, length=len(answer)))
    if raw["category"] not in FAQ_CATEGORIES:
        from hotline.reports.texts import category_label

        choices = "、".join(category_label(c) for c in sorted(FAQ_CATEGORIES))
        raise ProposalError(texts.BAD_CATEGORY.format(category=raw["category"], choices=choices))
    owners = {q: e.id for e in served.entries for q in e.questions}
    for question in questions:
        if question in owners:
            raise ProposalError(texts.DUPLICATE_QUESTION.format(question=question, entry=owners[question]))
    try:
        validate_entry(raw, name, served.entries)
    except KnowledgeError as exc:
        raise ProposalError(texts.INVALID.format(reason=exc)) from exc


def propose(
    session: Session,
    ticket: Ticket,
    operator: Operator,
    draft: Draft,
    county_names: dict[str, str],
    *,
    now: dt.datetime | None = None,
) -> KbProposal:
    """A pending proposal from this ticket's answer; only from a ticket the operator may see. Audited."""
    _active(operator)
    if not can_see(Viewer.of(operator), ticket):
        raise ProposalError(
            texts.NOT_YOUR_TICKET.format(number=ticket.number, county=_county(ticket, county_names))
        )
    at = now or utcnow()
    proposal = KbProposal(
        ticket_id=ticket.id,
        category=draft.category or ticket.category,
        questions=list(draft.questions),
        answer=draft.answer.strip(),
        details=draft.details.strip(),
        articles=[dict(a) for a in draft.articles],
        status=PENDING,
        proposed_by=operator.id,
        proposed_at=at,
        decision_note="",
    )
    today = at.date()
    draft_review = {"last_checked": today, "checked_by": "待复核", "review_due": today}
    _check(_raw(proposal, id="proposal", **draft_review), "proposal", served_kb(session))
    session.add(proposal)
    session.flush()
    record_event(
        session,
        ticket,
        "kb_proposed",
        actor=_actor(operator),
        data={"proposal_id": proposal.id, "category": proposal.category},
        now=at,
    )
    return proposal


def require_supervisor(operator: Operator) -> None:
    """Only active supervisors (and admins) review proposals."""
    _active(operator)
    if OperatorRole(operator.role) not in (OperatorRole.SUPERVISOR, OperatorRole.ADMIN):
        raise ProposalError(texts.SUPERVISORS_ONLY)


def citations(proposal: KbProposal) -> str:
    """The proposal's articles as cited to citizens: 《法律》第几条；…"""
    return "；".join(f"《{a['law']}》{a['article']}" for a in proposal.articles)


def _decidable(
    session: Session, proposal_id: int, supervisor: Operator, county_names: dict[str, str]
) -> tuple[KbProposal, Ticket]:
    require_supervisor(supervisor)
    proposal = session.get(KbProposal, proposal_id)
    if proposal is None:
        raise ProposalError(texts.UNKNOWN_PROPOSAL.format(id=proposal_id))
    ticket = session.get_one(Ticket, proposal.ticket_id)
    if not can_see(Viewer.of(supervisor), ticket):
        raise ProposalError(
            texts.NOT_YOUR_TICKET.format(number=ticket.number, county=_county(ticket, county_names))
        )
    if proposal.status != PENDING:
        raise ProposalError(texts.NOT_PENDING.format(id=proposal.id, status=texts.STATUS[proposal.status]))
    if proposal.proposed_by == supervisor.id:
        raise ProposalError(texts.OWN_PROPOSAL.format(id=proposal.id))
    return proposal, ticket


def approve(
    session: Session,
    proposal_id: int,
    supervisor: Operator,
    county_names: dict[str, str],
    *,
    review_days: int,
    today: dt.date,
    note: str = "",
    now: dt.datetime | None = None,
) -> KbProposal:
    """Approve: the entry is served from now on, checked_by the supervisor, due for review in
    `review_days`. Checked again against the base as served now (another approval may have taken a
    phrasing meanwhile). Audited on the source ticket."""
    proposal, ticket = _decidable(session, proposal_id, supervisor, county_names)
    entry_id, checked_by = _entry_id(proposal), f"{supervisor.name}（#{supervisor.id}）"
    due = today + dt.timedelta(days=review_days)
    raw = _raw(proposal, id=entry_id, last_checked=today, checked_by=checked_by, review_due=due)
    _check(raw, entry_id, served_kb(session))
    at = now or utcnow()
    proposal.status = APPROVED
    proposal.decided_by, proposal.decided_at, proposal.decision_note = supervisor.id, at, note.strip()
    proposal.entry_id, proposal.checked_by = entry_id, checked_by
    proposal.last_checked, proposal.review_due = today, due
    record_event(
        session,
        ticket,
        "kb_approved",
        actor=_actor(supervisor),
        data={"proposal_id": proposal.id, "entry_id": proposal.entry_id, "note": proposal.decision_note},
        now=at,
    )
    return proposal


def reject(
    session: Session,
    proposal_id: int,
    supervisor: Operator,
    reason: str,
    county_names: dict[str, str],
    *,
    now: dt.datetime | None = None,
) -> KbProposal:
    """Reject with a reason (required: the proposer should learn why). Audited on the source ticket."""
    if not reason.strip():
        raise ProposalError(texts.REASON_REQUIRED)
    proposal, ticket = _decidable(session, proposal_id, supervisor, county_names)
    at = now or utcnow()
    proposal.status = REJECTED
    proposal.decided_by, proposal.decided_at, proposal.decision_note = supervisor.id, at, reason.strip()
    record_event(
        session,
        ticket,
        "kb_rejected",
        actor=_actor(supervisor),
        data={"proposal_id": proposal.id, "note": proposal.decision_note},
        now=at,
    )
    return proposal


def pending(
    session: Session, viewer: Viewer | None, *, limit: int = 50
) -> list[tuple[KbProposal, Ticket, Operator]]:
    """Pending proposals from tickets the viewer may see, oldest first, with their ticket and proposer."""
    query = (
        select(KbProposal, Ticket, Operator)
        .join(Ticket, Ticket.id == KbProposal.ticket_id)
        .join(Operator, Operator.id == KbProposal.proposed_by)
        .where(KbProposal.status == PENDING)
        .order_by(KbProposal.proposed_at, KbProposal.id)
    )
    counties = visible_counties(viewer)
    if counties is not None:
        query = query.where(Ticket.county_code.in_(counties))
    return [(p, t, o) for p, t, o in session.execute(query.limit(limit))]


# ---- what the bot serves -------------------------------------------------------------------------------


def approved_rows(session: Session) -> list[KbProposal]:
    """Approved proposals not yet folded into faq.yaml (their id not in the file), in approval order."""
    in_file = packaged_kb().by_id
    rows = session.scalars(
        select(KbProposal).where(KbProposal.status == APPROVED).order_by(KbProposal.decided_at, KbProposal.id)
    )
    return [p for p in rows if p.entry_id not in in_file]


def approved_stamp(session: Session) -> tuple[int, str]:
    """Changes whenever an approval does: lets a long-running process rebuild its retriever cheaply."""
    count, last = session.execute(
        select(func.count(), func.max(KbProposal.decided_at)).where(KbProposal.status == APPROVED)
    ).one()
    return int(count or 0), str(last)


def served_kb(session: Session, base: KnowledgeBase | None = None) -> KnowledgeBase:
    """faq.yaml plus the approved entries, each validated; a bad approved entry is skipped (logged)."""
    extra = [(f"approved proposal #{p.id} ({p.entry_id})", _raw(p)) for p in approved_rows(session)]
    return with_extra(base or packaged_kb(), extra)


def export_yaml(session: Session) -> tuple[str, int]:
    """The approved entries not yet in faq.yaml, as a faq.yaml document (entries to fold into the file)."""
    served = served_kb(session)
    in_file = set(packaged_kb().by_id)
    entries = [e for e in served.entries if e.id not in in_file]
    docs = [e.model_dump() for e in entries]
    for doc in docs:  # as written in faq.yaml: lists, plain dates, no empty details
        doc["questions"] = list(doc["questions"])
        doc["articles"] = [dict(a) for a in doc["articles"]]
        if not doc["details"]:
            del doc["details"]
    text = yaml.safe_dump({"version": 1, "entries": docs}, allow_unicode=True, sort_keys=False, width=200)
    return text, len(entries)
