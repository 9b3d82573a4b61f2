"""Ticket cards and keyboards for the operators' group (pure rendering, no I/O)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import strings
from hotline import categories
from hotline.db.models import OPEN_TICKET_STATUSES, Ticket, TicketEvent, TicketStatus, utcnow
from hotline.eligibility.decision import OUTCOME_LABELS
from hotline.logging_setup import mask_pii
from hotline.tickets.service import STATUS_LABELS

PREFIX = "desk"
DESCRIPTION_LIMIT = 600
# The clock runs in these statuses (hotline.sla.clock.overdue_query); waiting_citizen is paused.
_CLOCK_RUNNING = (TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.REOPENED)
# Statuses in which a human may still act on the card.
ACTIONABLE = OPEN_TICKET_STATUSES


def callback(action: str, ticket_id: int, arg: str = "") -> str:
    data = f"{PREFIX}:{action}:{ticket_id}" + (f":{arg}" if arg else "")
    assert len(data.encode()) <= 64, data  # Telegram's callback_data limit
    return data


# Callback data comes back from the client, so it is matched strictly: ASCII digits only (str.isdigit
# accepts "1²", which int() then refuses, and \d accepts "١٢", which int() reads as 12) and \Z, not $
# (which allows a trailing newline). Forged data matches no action and is answered as a stale button.
_DIGITS = "[0-9]+"
_CALLBACK = re.compile(rf"^{PREFIX}:(?P<action>[a-z]+):(?P<ticket>{_DIGITS})(?::(?P<arg>{_DIGITS}))?\Z")


def callback_pattern(action: str, *, with_arg: bool = False) -> str:
    """The regular expression a CallbackQueryHandler uses to take one button action."""
    return rf"^{PREFIX}:{action}:{_DIGITS}" + (f":{_DIGITS}" if with_arg else "") + r"\Z"


def parse_callback(data: str) -> tuple[str, int, str] | None:
    """`desk:to:12:341125` → ("to", 12, "341125"); anything else → None."""
    match = _CALLBACK.match(data)
    if match is None:
        return None
    return match["action"], int(match["ticket"]), match["arg"] or ""


def is_overdue(ticket: Ticket, now: dt.datetime | None = None) -> bool:
    now = now or utcnow()
    if TicketStatus(ticket.status) not in _CLOCK_RUNNING:
        return False
    first = ticket.first_response_at is None and ticket.first_response_due is not None
    return (first and ticket.first_response_due < now) or (  # type: ignore[operator]
        ticket.resolution_due is not None and ticket.resolution_due < now
    )


def local(utc: dt.datetime | None, timezone: str) -> str:
    if utc is None:
        return "—"
    return utc.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(timezone)).strftime("%m-%d %H:%M")


def county_name(code: str | None, county_names: Mapping[str, str]) -> str:
    if not code:
        return strings.DESK_NO_COUNTY
    return county_names.get(code, code)


def render_card(
    ticket: Ticket,
    *,
    county_names: Mapping[str, str],
    timezone: str,
    assignee: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    """The card text: urgent marker, number, category, county, eligibility, status, due times, description."""
    status = TicketStatus(ticket.status)
    lines: list[str] = []
    if ticket.priority == "urgent":
        lines.append(strings.DESK_URGENT)
    lines.append(strings.DESK_CARD_TITLE.format(number=ticket.number))
    lines.append(strings.DESK_CARD_CATEGORY.format(category=categories.label(ticket.category)))
    lines.append(strings.DESK_CARD_COUNTY.format(county=county_name(ticket.county_code, county_names)))
    outcome = ticket.eligibility_outcome
    lines.append(
        strings.DESK_CARD_ELIGIBILITY.format(
            outcome=OUTCOME_LABELS.get(outcome, outcome) if outcome else strings.DESK_NOT_ASSESSED
        )
    )
    lines.append(strings.DESK_CARD_STATUS.format(status=STATUS_LABELS[status]))
    if assignee:
        lines.append(strings.DESK_CARD_ASSIGNEE.format(name=assignee))
    if status in ACTIONABLE:
        if ticket.first_response_at is None:
            lines.append(strings.DESK_CARD_FIRST_DUE.format(due=local(ticket.first_response_due, timezone)))
        lines.append(strings.DESK_CARD_RESOLUTION_DUE.format(due=local(ticket.resolution_due, timezone)))
        if is_overdue(ticket, now):
            lines.append(strings.DESK_CARD_OVERDUE)
    if status is TicketStatus.WAITING_CITIZEN:
        lines.append(strings.DESK_CARD_WAITING)
    if ticket.handoff_requested and status in ACTIONABLE:
        lines.append(strings.DESK_CARD_HANDOFF)
    if not ticket.county_code and status in ACTIONABLE:
        lines.append(strings.DESK_CARD_COUNTY_UNKNOWN.format(number=ticket.number))
    description = mask_pii(ticket.description or "").strip()
    if description:
        if len(description) > DESCRIPTION_LIMIT:
            description = description[:DESCRIPTION_LIMIT] + "…"
        lines.append(strings.DESK_CARD_DESCRIPTION.format(description=description))
    if status in ACTIONABLE:
        lines.append(strings.DESK_CARD_HINT)
    return "\n".join(lines)


def card_keyboard(ticket: Ticket) -> InlineKeyboardMarkup | None:
    """认领 (while unassigned) · 办结 · 转办; no buttons once the ticket is no longer open."""
    status = TicketStatus(ticket.status)
    if status not in ACTIONABLE:
        return None
    row = []
    if status is not TicketStatus.ASSIGNED or ticket.assigned_operator_id is None:
        row.append(
            InlineKeyboardButton(strings.DESK_BUTTON_CLAIM, callback_data=callback("claim", ticket.id))
        )
    row.append(
        InlineKeyboardButton(strings.DESK_BUTTON_RESOLVE, callback_data=callback("resolve", ticket.id))
    )
    row.append(InlineKeyboardButton(strings.DESK_BUTTON_TRANSFER, callback_data=callback("xfer", ticket.id)))
    return InlineKeyboardMarkup([row])


def confirm_resolve_keyboard(ticket: Ticket) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    strings.DESK_BUTTON_CONFIRM_RESOLVE, callback_data=callback("done", ticket.id)
                ),
                InlineKeyboardButton(strings.DESK_BUTTON_BACK, callback_data=callback("back", ticket.id)),
            ]
        ]
    )


def transfer_keyboard(ticket: Ticket, counties: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup:
    """The configured counties except the current one, two per row, then 返回."""
    buttons = [
        InlineKeyboardButton(name, callback_data=callback("to", ticket.id, code))
        for code, name in counties
        if code != ticket.county_code
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([InlineKeyboardButton(strings.DESK_BUTTON_BACK, callback_data=callback("back", ticket.id))])
    return InlineKeyboardMarkup(rows)


def render_list(
    tickets: Sequence[Ticket],
    *,
    county_names: Mapping[str, str],
    limit: int,
    now: dt.datetime | None = None,
    header: str = strings.DESK_TICKETS_HEADER,
    empty: str = strings.DESK_NO_OPEN_TICKETS,
) -> str:
    """One line per ticket; `header` takes {count} (/tickets: open ones, /find: search results)."""
    if not tickets:
        return empty
    lines = [header.format(count=len(tickets))]
    for ticket in tickets[:limit]:
        marks = ("🔴" if ticket.priority == "urgent" else "") + ("⏰" if is_overdue(ticket, now) else "")
        lines.append(
            strings.DESK_TICKETS_LINE.format(
                marks=f"{marks} " if marks else "",
                number=ticket.number,
                category=categories.label(ticket.category),
                county=county_name(ticket.county_code, county_names),
                status=STATUS_LABELS[TicketStatus(ticket.status)],
            )
        )
    if len(tickets) > limit:
        lines.append(strings.DESK_TICKETS_MORE.format(limit=limit))
    return "\n".join(lines)


def event_detail(event: TicketEvent, county_names: Mapping[str, str]) -> str:
    """What an audit event changed, in words (PII masked: notes are free text)."""
    data = event.data or {}
    if event.kind == "county_set":
        return f"{county_name(data.get('from'), county_names)}→{county_name(data.get('to'), county_names)}"
    if event.kind == "transferred":
        return f"{county_name(data.get('from'), county_names)}→{county_name(data.get('to'), county_names)}"
    for key in ("label", "name", "note", "text"):  # outcome/reason label, agency or operator, status note
        if data.get(key):
            return mask_pii(str(data[key]))[:200]
    return ""


def render_events(
    events: Sequence[TicketEvent],
    timezone: str,
    county_names: Mapping[str, str] | None = None,
    actors: Mapping[str, str] | None = None,
) -> str:
    """The whole audit trail, one line per event, oldest first; `actors` names "operator:12" and the like."""
    lines = [strings.DESK_EVENTS_HEADER]
    for event in events:
        kind = strings.DESK_EVENT_KINDS.get(event.kind, event.kind)
        if event.kind == "status" and event.to_status:
            kind += f"→{STATUS_LABELS[TicketStatus(event.to_status)]}"
        detail = event_detail(event, county_names or {})
        if detail:
            kind += strings.DESK_EVENT_DETAIL.format(detail=detail)
        lines.append(
            strings.DESK_EVENT_LINE.format(
                time=local(event.created_at, timezone),
                kind=kind,
                actor=(actors or {}).get(event.actor, event.actor),
            )
        )
    return "\n".join(lines)
