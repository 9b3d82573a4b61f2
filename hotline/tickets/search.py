"""Ticket search for operators (desk `/find`, CLI `tickets find`), always within what the viewer may see.

Criteria: number fragment, phone tail (in the ticket's description or the citizen's messages; phones are
never stored elsewhere), created date range (local days), category, status, county. The desk's free-form
words are parsed here too, so both surfaces understand the same things.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hotline import categories
from hotline.db.models import Citizen, MessageDirection, MessageLog, Ticket, TicketStatus
from hotline.tickets import texts
from hotline.tickets.access import Viewer, restrict
from hotline.tickets.lifecycle import CountyLike
from hotline.tickets.service import STATUS_LABELS, TicketError

_DATE = r"\d{4}-\d{2}-\d{2}"
_RANGE = re.compile(rf"^(?P<a>{_DATE})?(?:\.\.|~|至)?(?P<b>{_DATE})?\Z")
_PHONE = re.compile(r"^(?:尾号|电话|手机)(?P<tail>\S*)\Z")


@dataclass(frozen=True)
class Criteria:
    number: str | None = None
    phone_tail: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None  # inclusive
    category: str | None = None
    status: TicketStatus | None = None
    county: str | None = None

    @property
    def empty(self) -> bool:
        return self == Criteria()


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise TicketError(texts.BAD_DATE.format(text=text)) from exc


def phone_tail(text: str) -> str:
    if not (text.isascii() and text.isdigit() and 4 <= len(text) <= 11):
        raise TicketError(texts.BAD_PHONE_TAIL.format(text=text))
    return text


def parse_words(words: Sequence[str], counties: Sequence[CountyLike]) -> Criteria:
    """`0007 尾号5678 2026-11-01..2026-11-30 欠薪 处理中 定远` → Criteria (order free)."""
    found = Criteria()
    for word in (w.strip() for w in words):
        if not word:
            continue
        phone = _PHONE.match(word)
        dates = _RANGE.match(word) if re.search(_DATE, word) else None
        county = next((c.code for c in counties if word in (c.code, c.name, *c.aliases)), None)
        status = next((s for s, label in STATUS_LABELS.items() if word in (s.value, label)), None)
        category = next(
            (c.code for c in categories.CATEGORIES if word == c.code or (len(word) >= 2 and word in c.label)),
            None,
        )
        if phone:
            found = replace(found, phone_tail=phone_tail(phone["tail"]))
        elif dates:
            a, b = dates["a"], dates["b"]
            single = a and not b and ".." not in word and "~" not in word and "至" not in word
            found = replace(
                found,
                date_from=parse_date(a) if a else None,
                date_to=parse_date(b) if b else (parse_date(a) if single else None),
            )
        elif county:
            found = replace(found, county=county)
        elif status:
            found = replace(found, status=status)
        elif category:
            found = replace(found, category=category)
        else:
            found = replace(found, number=word)
    return found


def _utc_start(day: dt.date, timezone: str) -> dt.datetime:
    local = dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(timezone))
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def find_tickets(
    session: Session,
    criteria: Criteria,
    *,
    viewer: Viewer | None,
    timezone: str = "Asia/Shanghai",
    limit: int = 30,
) -> list[Ticket]:
    """Newest first; only tickets the viewer may see (an operator without counties sees none)."""
    query = select(Ticket).order_by(Ticket.created_at.desc(), Ticket.id.desc())
    if criteria.number:
        query = query.where(Ticket.number.contains(criteria.number, autoescape=True))
    if criteria.phone_tail:
        said = (
            select(Citizen.conversation_id)
            .join(MessageLog, MessageLog.citizen_id == Citizen.id)
            .where(
                MessageLog.direction == MessageDirection.INBOUND,  # what the citizen said, not our replies
                MessageLog.text.contains(criteria.phone_tail, autoescape=True),
            )
        )
        query = query.where(
            or_(
                Ticket.description.contains(criteria.phone_tail, autoescape=True),
                Ticket.conversation_id.in_(said),
            )
        )
    if criteria.date_from:
        query = query.where(Ticket.created_at >= _utc_start(criteria.date_from, timezone))
    if criteria.date_to:
        query = query.where(Ticket.created_at < _utc_start(criteria.date_to + dt.timedelta(days=1), timezone))
    if criteria.category:
        query = query.where(Ticket.category == criteria.category)
    if criteria.status:
        query = query.where(Ticket.status == criteria.status)
    if criteria.county:
        query = query.where(Ticket.county_code == criteria.county)
    return list(session.scalars(restrict(query, viewer).limit(limit)))
