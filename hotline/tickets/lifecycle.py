"""The operator's lifecycle actions on a ticket, shared by the desk (bot/desk) and the CLI.

Wait for the citizen, resume on the citizen's reply, close with an outcome, reopen, cancel, refer to another
agency, unclaim, reassign, set the county, correct the category. Each function checks the operator's county
access, moves the status only along `service.TRANSITIONS` (refusing anything else with a Chinese reason),
writes the audit event in the caller's transaction and recomputes the SLA due times when a clock is given.
Outcomes, cancel reasons and agencies (with the citizen's referral message) are data in `lifecycle.yaml`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hotline import categories
from hotline.db.models import (
    OPEN_TICKET_STATUSES,
    DeskCard,
    Operator,
    OperatorRole,
    Ticket,
    TicketStatus,
    utcnow,
)
from hotline.tickets import texts
from hotline.tickets.access import Viewer, can_see, visible_counties
from hotline.tickets.service import STATUS_LABELS, TRANSITIONS, TicketError, change_status, record_event

if TYPE_CHECKING:
    from hotline.sla.clock import SlaClock

S = TicketStatus
DATA_FILE = Path(__file__).with_name("lifecycle.yaml")


class CountyLike(Protocol):
    code: str
    name: str
    aliases: list[str]


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    contact: str


@dataclass(frozen=True)
class LifecycleData:
    outcomes: Mapping[str, str]  # code → label
    cancel_reasons: Mapping[str, str]
    agencies: Mapping[str, Agency]
    referral_message: str
    referral_contact: str


@functools.cache
def data() -> LifecycleData:
    raw: dict[str, Any] = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    return LifecycleData(
        outcomes=dict(raw["outcomes"]),
        cancel_reasons=dict(raw["cancel_reasons"]),
        agencies={
            code: Agency(code, str(a["name"]), str(a.get("contact") or ""))
            for code, a in raw["agencies"].items()
        },
        referral_message=str(raw["referral_message"]),
        referral_contact=str(raw["referral_contact"]),
    )


def _pick(text: str, choices: Mapping[str, str], error: str) -> str:
    """A code from its code or label (exact, then a unique partial label match)."""
    text = text.strip()
    for code, label in choices.items():
        if text in (code, label):
            return code
    partial = [code for code, label in choices.items() if text and text in label]
    if len(partial) == 1:
        return partial[0]
    raise TicketError(error.format(text=text, choices="、".join(choices.values())))


def outcome_code(text: str) -> str:
    return _pick(text, data().outcomes, texts.UNKNOWN_OUTCOME)


def cancel_reason_code(text: str) -> str:
    return _pick(text, data().cancel_reasons, texts.UNKNOWN_REASON)


def agency_code(text: str) -> str:
    return _pick(text, {c: a.name for c, a in data().agencies.items()}, texts.UNKNOWN_AGENCY)


def referral_message(number: str, agency: str) -> str:
    """The citizen's referral text (the one place it is written: lifecycle.yaml)."""
    spec = data()
    found = spec.agencies[agency]
    contact = spec.referral_contact.format(contact=found.contact) if found.contact else ""
    return spec.referral_message.format(number=number, agency=found.name, contact=contact)


# ---- checks ---------------------------------------------------------------------------------------------


def actor(operator: Operator) -> str:
    return f"operator:{operator.id}"


def county_label(code: str | None, county_names: Mapping[str, str]) -> str:
    return county_names.get(code, code) if code else texts.NO_COUNTY


def check_access(operator: Operator, ticket: Ticket, county_names: Mapping[str, str]) -> None:
    if not operator.active:
        raise TicketError(texts.NOT_ACTIVE.format(name=operator.name))
    if not can_see(Viewer.of(operator), ticket):
        raise TicketError(
            texts.NOT_YOUR_COUNTY.format(
                number=ticket.number, county=county_label(ticket.county_code, county_names)
            )
        )


def _allowed(ticket: Ticket, to: TicketStatus, action: str) -> None:
    current = TicketStatus(ticket.status)
    if to not in TRANSITIONS[current]:
        raise TicketError(
            texts.NOT_ALLOWED.format(
                number=ticket.number, status=STATUS_LABELS[current], action=texts.ACTIONS[action]
            )
        )


def _refuse_unless_open(ticket: Ticket, action: str) -> None:
    status = TicketStatus(ticket.status)
    if status not in OPEN_TICKET_STATUSES:
        raise TicketError(
            texts.NOT_ALLOWED.format(
                number=ticket.number, status=STATUS_LABELS[status], action=texts.ACTIONS[action]
            )
        )


def _move(
    session: Session,
    ticket: Ticket,
    to: TicketStatus,
    action: str,
    who: str,
    at: dt.datetime,
    sla: SlaClock | None,
    note: str = "",
) -> None:
    _allowed(ticket, to, action)
    change_status(session, ticket, to, actor=who, note=note, now=at, sla=sla)


def _is_supervisor(operator: Operator) -> bool:
    return OperatorRole(operator.role) in (OperatorRole.SUPERVISOR, OperatorRole.ADMIN)


def _assignee(session: Session, ticket: Ticket) -> Operator | None:
    return session.get(Operator, ticket.assigned_operator_id) if ticket.assigned_operator_id else None


def _only_assignee_or_supervisor(session: Session, ticket: Ticket, operator: Operator, action: str) -> None:
    holder = _assignee(session, ticket)
    if holder is not None and holder.id != operator.id and not _is_supervisor(operator):
        raise TicketError(
            texts.ONLY_ASSIGNEE.format(number=ticket.number, name=holder.name, action=texts.ACTIONS[action])
        )


# ---- actions --------------------------------------------------------------------------------------------


def wait_for_citizen(
    session: Session,
    ticket: Ticket,
    operator: Operator,
    county_names: Mapping[str, str],
    *,
    note: str = "",
    sla: SlaClock | None = None,
    now: dt.datetime | None = None,
) -> None:
    """等待市民补充: the SLA clock pauses (hotline.sla.clock) until the citizen's next message."""
    check_access(operator, ticket, county_names)
    _move(session, ticket, S.WAITING_CITIZEN, "wait", actor(operator), now or utcnow(), sla, note)


@dataclass(frozen=True)
class CitizenReply:
    resumed: bool  # the ticket was waiting for the citizen and is being worked on again
    county: str | None  # the county code newly set from the message, if any


def county_in_text(text: str, counties: Sequence[CountyLike]) -> str | None:
    """The one county a message names (full name or alias); None when none or several."""
    found = {c.code for c in counties for name in (c.name, *c.aliases) if name and name in text}
    return found.pop() if len(found) == 1 else None


def citizen_replied(
    session: Session,
    ticket: Ticket,
    text: str = "",
    *,
    counties: Sequence[CountyLike] = (),
    sla: SlaClock | None = None,
    now: dt.datetime | None = None,
) -> CitizenReply:
    """The citizen wrote while a person handles the ticket (gateway, handoff path).

    A ticket waiting for the citizen resumes (ASSIGNED when someone holds it, else NEW) and its SLA clock
    runs again; a county-less ticket gets the county the message names, so county operators can take it.
    """
    at = now or utcnow()
    resumed = False
    if TicketStatus(ticket.status) is S.WAITING_CITIZEN:
        to = S.ASSIGNED if ticket.assigned_operator_id is not None else S.NEW
        _move(session, ticket, to, "resume", "citizen", at, sla, note="市民已回复")
        resumed = True
    county = None
    if not ticket.county_code and counties and text:
        county = county_in_text(text, counties)
        if county is not None:
            record_event(
                session, ticket, "county_set", actor="citizen", data={"from": None, "to": county}, now=at
            )
            ticket.county_code = county
    return CitizenReply(resumed, county)


def citizen_left_handoff(session: Session, ticket: Ticket, *, now: dt.datetime | None = None) -> None:
    """The citizen went back to the bot ("返回机器人"): their messages go to the dialog again, the ticket
    stays open for the operators with a note in its history, and a new request for a human is announced
    on the desk again. An operator's reply takes the conversation back (bot/desk/service.record_reply)."""
    ticket.handoff_requested = False
    record_event(
        session, ticket, "handoff_left", actor="citizen", data={"note": texts.HANDOFF_LEFT_NOTE}, now=now
    )
    session.execute(update(DeskCard).where(DeskCard.ticket_id == ticket.id).values(handoff_notified_at=None))


def close(
    session: Session,
    ticket: Ticket,
    operator: Operator,
    outcome: str,
    county_names: Mapping[str, str],
    *,
    note: str = "",
    sla: SlaClock | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """结案 with an outcome (code or label). An open ticket is resolved first (its own audited step);
    returns True then, so the caller opens the rating round as 办结 does."""
    check_access(operator, ticket, county_names)
    code = outcome_code(outcome)
    at = now or utcnow()
    who = actor(operator)
    resolved_now = False
    if TicketStatus(ticket.status) in OPEN_TICKET_STATUSES:
        _allowed(ticket, S.RESOLVED, "close")
        if ticket.assigned_operator_id is None:
            _assign(session, ticket, operator, who, at)
        _move(session, ticket, S.RESOLVED, "close", who, at, sla)
        resolved_now = True
    _move(session, ticket, S.CLOSED, "close", who, at, sla, note)
    label = data().outcomes[code]
    record_event(session, ticket, "outcome", actor=who, data={"outcome": code, "label": label}, now=at)
    return resolved_now


def reopen(
    session: Session,
    ticket: Ticket,
    operator: Operator,
    county_names: Mapping[str, str],
    *,
    note: str = "",
    sla: SlaClock | None = None,
    now: dt.datetime | None = None,
) -> None:
    """重新打开 a resolved, closed, referred or cancelled ticket; the SLA clock runs again."""
    check_access(operator, ticket, county_names)
    _move(session, ticket, S.REOPENED, "reopen", actor(operator), now or utcnow(), sla, note)


def cancel(
    session: Session,
    ticket: Ticket,
    operator: Operator,
    reason: str,
    county_names: Mapping[str, str],
    *,
    sla: SlaClock | None = None,
    now: dt.datetime | None = None,
) -> str:
    """撤销 (duplicate, spam…); returns the reason's label. Cancelled tickets are left out of the reports."""
    check_access(operator, ticket, county_names)
    code = cancel_reason_code(reason)
    label = data().cancel_reasons[code]
    _move(session, ticket, S.CANCELLED, "cancel", actor(operator), now or utcnow(), sla, note=label)
    record_event(
        session, ticket, "cancel_reason", actor=actor(operator), data={"reason": code, "label": label}
    )
    return label


def refer(
    session: Session,
    ticket: Ticket,
    operator: Operator,
    agency: str,
    county_names: Mapping[str, str],
    *,
    sla: SlaClock | None = None,
    now: dt.datetime | None = None,
) -> tuple[str, str]:
    """转其他部门: REFERRED, audited with the agency; returns (agency name, the citizen's referral text)."""
    check_access(operator, ticket, county_names)
    code = agency_code(agency)
    at = now or utcnow()
    found = data().agencies[code]
    _move(session, ticket, S.REFERRED, "refer", actor(operator), at, sla, note=found.name)
    message = referral_message(ticket.number, code)
    record_event(
        session,
        ticket,
        "referred",
        actor=actor(operator),
        data={"agency": code, "name": found.name, "message": message},
        now=at,
    )
    return found.name, message


def _assign(session: Session, ticket: Ticket, operator: Operator, who: str, at: dt.datetime) -> None:
    ticket.assigned_operator_id = operator.id
    ticket.handled_by_bot_only = False
    record_event(
        session,
        ticket,
        "assigned",
        actor=who,
        data={"operator_id": operator.id, "name": operator.name},
        now=at,
    )


def unclaim(
    session: Session,
    ticket: Ticket,
    operator: Operator,
    county_names: Mapping[str, str],
    *,
    sla: SlaClock | None = None,
    now: dt.datetime | None = None,
) -> None:
    """退回待认领: the holder (or a supervisor) gives the ticket back; an ASSIGNED ticket becomes NEW."""
    check_access(operator, ticket, county_names)
    _refuse_unless_open(ticket, "unclaim")
    if ticket.assigned_operator_id is None:
        raise TicketError(texts.NOT_ASSIGNED.format(number=ticket.number))
    _only_assignee_or_supervisor(session, ticket, operator, "unclaim")
    at = now or utcnow()
    who = actor(operator)
    record_event(
        session, ticket, "unassigned", actor=who, data={"operator_id": ticket.assigned_operator_id}, now=at
    )
    ticket.assigned_operator_id = None
    if TicketStatus(ticket.status) is S.ASSIGNED:
        _move(session, ticket, S.NEW, "unclaim", who, at, sla)


def claim(
    session: Session,
    ticket: Ticket,
    operator: Operator,
    county_names: Mapping[str, str],
    *,
    sla: SlaClock | None = None,
    now: dt.datetime | None = None,
) -> None:
    """认领 of an unassigned open ticket (as the desk's button): assigned, and ASSIGNED if it was queued."""
    check_access(operator, ticket, county_names)
    _refuse_unless_open(ticket, "assign")
    if ticket.assigned_operator_id is not None:
        return
    at = now or utcnow()
    _assign(session, ticket, operator, actor(operator), at)
    if TicketStatus(ticket.status) in (S.NEW, S.REOPENED):
        _move(session, ticket, S.ASSIGNED, "assign", actor(operator), at, sla)


def find_operator(session: Session, name: str) -> Operator:
    """An active operator by name, or by id written `#12`."""
    name = name.strip()
    if name.startswith("#") and name[1:].isdigit():
        found = session.get(Operator, int(name[1:]))
        if found is None or not found.active:
            raise TicketError(texts.UNKNOWN_OPERATOR.format(name=name))
        return found
    matches = list(session.scalars(select(Operator).where(Operator.name == name, Operator.active.is_(True))))
    if not matches:
        raise TicketError(texts.UNKNOWN_OPERATOR.format(name=name))
    if len(matches) > 1:
        raise TicketError(texts.AMBIGUOUS_OPERATOR.format(name=name))
    return matches[0]


def reassign(
    session: Session,
    ticket: Ticket,
    operator: Operator,
    target: Operator,
    county_names: Mapping[str, str],
    *,
    sla: SlaClock | None = None,
    now: dt.datetime | None = None,
) -> None:
    """改派 to a named operator who may handle the ticket's county; by its holder or a supervisor."""
    check_access(operator, ticket, county_names)
    _refuse_unless_open(ticket, "assign")
    _only_assignee_or_supervisor(session, ticket, operator, "assign")
    if not target.active or not can_see(Viewer.of(target), ticket):
        raise TicketError(
            texts.TARGET_NOT_ALLOWED.format(
                name=target.name, county=county_label(ticket.county_code, county_names)
            )
        )
    if ticket.assigned_operator_id == target.id:
        raise TicketError(texts.ALREADY_ASSIGNED.format(number=ticket.number, name=target.name))
    at = now or utcnow()
    who = actor(operator)
    previous = ticket.assigned_operator_id
    _assign(session, ticket, target, who, at)
    record_event(session, ticket, "reassigned", actor=who, data={"from": previous, "to": target.id}, now=at)
    if TicketStatus(ticket.status) in (S.NEW, S.REOPENED):
        _move(session, ticket, S.ASSIGNED, "assign", who, at, sla)


def set_county(
    session: Session,
    ticket: Ticket,
    operator: Operator,
    county: str,
    county_names: Mapping[str, str],
    *,
    now: dt.datetime | None = None,
) -> str | None:
    """设定县区. A county-less ticket may be given a county by any operator (a county operator: one of
    their own, so they can then take it); a ticket with a county only by those who may see it (转办).
    Returns the previous county code."""
    if not operator.active:
        raise TicketError(texts.NOT_ACTIVE.format(name=operator.name))
    if county not in county_names:
        raise TicketError(texts.UNKNOWN_COUNTY.format(text=county, choices="、".join(county_names.values())))
    _refuse_unless_open(ticket, "county")
    previous = ticket.county_code
    if previous:
        check_access(operator, ticket, county_names)
    else:
        own = visible_counties(Viewer.of(operator))
        if own is not None and county not in own:
            raise TicketError(texts.COUNTY_ONLY_OWN)
    if previous == county:
        raise TicketError(texts.SAME_COUNTY.format(number=ticket.number, county=county_names[county]))
    at = now or utcnow()
    record_event(
        session, ticket, "county_set", actor=actor(operator), data={"from": previous, "to": county}, now=at
    )
    ticket.county_code = county
    holder = _assignee(session, ticket)
    if holder is not None and not can_see(Viewer.of(holder), ticket):  # as 转办: back to the new county
        record_event(
            session, ticket, "unassigned", actor=actor(operator), data={"operator_id": holder.id}, now=at
        )
        ticket.assigned_operator_id = None
        if TicketStatus(ticket.status) is S.ASSIGNED:
            _move(session, ticket, S.NEW, "county", actor(operator), at, None)
    return previous


def category_code(text: str) -> str:
    """A legal category from its code, its label or a part of its label (“欠薪”, “工伤”); else TicketError."""
    word = text.strip()
    legal = [categories.BY_CODE[code] for code in categories.INTAKE_CATEGORIES]
    exact = [c.code for c in legal if word in (c.code, c.label)]
    partial = [c.code for c in legal if len(word) >= 2 and word in c.label]
    found = exact or partial
    if len(found) != 1:
        raise TicketError(texts.UNKNOWN_CATEGORY.format(text=word, choices="、".join(c.label for c in legal)))
    return found[0]


def set_category(
    session: Session,
    ticket: Ticket,
    operator: Operator,
    category: str,
    county_names: Mapping[str, str],
    *,
    now: dt.datetime | None = None,
) -> str:
    """更正类别: the operator's reading of the matter replaces the bot's (any status: reports count the
    corrected category). The citizen's opening words become a labelled example for the NLU inbox
    (hotline.learning). `category` is a code, label or part of a label; returns the previous code."""
    from hotline.learning.inbox import OPERATOR_CORRECTION, record_example

    check_access(operator, ticket, county_names)
    code = category_code(category)
    previous = ticket.category
    if previous == code:
        raise TicketError(texts.SAME_CATEGORY.format(number=ticket.number, category=categories.label(code)))
    at = now or utcnow()
    who = actor(operator)
    record_event(session, ticket, "category_set", actor=who, data={"from": previous, "to": code}, now=at)
    if ticket.case_type == categories.case_type(previous):  # the old category's default: follow the new one
        ticket.case_type = categories.case_type(code)
    ticket.category = code
    record_example(
        session,
        ticket.description,
        code,
        OPERATOR_CORRECTION,
        actor=who,
        previous_intent=previous,
        ticket=ticket,
        now=at,
    )
    return previous
