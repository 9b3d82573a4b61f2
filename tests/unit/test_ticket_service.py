from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db.models import CaseType, TicketEvent, TicketStatus
from hotline.db.session import session_scope
from hotline.tickets.service import (
    NewTicket,
    TicketError,
    change_status,
    create_ticket,
    get_by_number,
    tickets_of_conversation,
)

T = TicketStatus


def new(**kw: object) -> NewTicket:
    base: dict[str, object] = {"category": "wage_arrears", "conversation_id": "c1", "intake_key": "k1"}
    base.update(kw)
    return NewTicket(**base)  # type: ignore[arg-type]


def test_numbers_are_per_local_day_and_sequential(session: Session) -> None:
    # 2026-11-29 17:00 UTC is already 11-30 in Shanghai.
    late = dt.datetime(2026, 11, 29, 17, 0)
    t1, _ = create_ticket(session, new(intake_key="a"), prefix="滁", now=dt.datetime(2026, 11, 29, 2))
    t2, _ = create_ticket(session, new(intake_key="b"), prefix="滁", now=dt.datetime(2026, 11, 29, 3))
    t3, _ = create_ticket(session, new(intake_key="c"), prefix="滁", now=late)
    assert (t1.number, t2.number, t3.number) == ("滁-20261129-0001", "滁-20261129-0002", "滁-20261130-0001")


def test_create_is_idempotent_per_conversation_and_intake(session: Session) -> None:
    first, created1 = create_ticket(session, new(), prefix="滁")
    again, created2 = create_ticket(session, new(description="changed"), prefix="滁")
    other, created3 = create_ticket(session, new(intake_key="k2"), prefix="滁")
    assert created1 and not created2 and created3
    assert again.id == first.id and other.id != first.id
    assert len(tickets_of_conversation(session, "c1")) == 2


def test_creation_is_audited(session: Session) -> None:
    t, _ = create_ticket(session, new(case_type=CaseType.CIVIL, county_code="341125"), prefix="滁")
    session.flush()
    events = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id)).all()
    assert [(e.kind, e.to_status, e.actor) for e in events] == [("created", "new", "bot")]
    assert events[0].data["county"] == "341125"


def test_lifecycle_transitions_are_audited_and_stamped(session: Session) -> None:
    t, _ = create_ticket(session, new(), prefix="滁")
    now = dt.datetime(2026, 12, 1, 9)
    change_status(session, t, T.ASSIGNED, actor="operator:1")
    change_status(session, t, T.RESOLVED, actor="operator:1", note="已调解", now=now)
    assert t.resolved_at == now
    change_status(session, t, T.CLOSED, actor="system")
    assert t.closed_at is not None
    change_status(session, t, T.REOPENED, actor="operator:2")
    assert t.resolved_at is None and t.closed_at is None
    session.flush()
    trail = [
        (e.from_status, e.to_status, e.actor)
        for e in session.scalars(select(TicketEvent).where(TicketEvent.kind == "status")).all()
    ]
    assert trail == [
        ("new", "assigned", "operator:1"),
        ("assigned", "resolved", "operator:1"),
        ("resolved", "closed", "system"),
        ("closed", "reopened", "operator:2"),
    ]


@pytest.mark.parametrize(
    ("path", "bad"), [([], T.CLOSED), ([T.RESOLVED], T.ASSIGNED), ([T.CANCELLED], T.NEW)]
)
def test_illegal_transitions_rejected_in_chinese(
    session: Session, path: list[TicketStatus], bad: TicketStatus
) -> None:
    t, _ = create_ticket(session, new(), prefix="滁")
    for step in path:
        change_status(session, t, step, actor="x")
    with pytest.raises(TicketError, match="不能从"):
        change_status(session, t, bad, actor="x")


def test_lookup_by_number(db_url: str) -> None:
    with session_scope(db_url) as s:
        t, _ = create_ticket(s, new(), prefix="滁")
        number = t.number
    with session_scope(db_url) as s:
        found = get_by_number(s, f" {number} ")
        assert found is not None and found.category == "wage_arrears"
        assert get_by_number(s, "滁-19990101-0001") is None
