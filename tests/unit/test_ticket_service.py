from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db.models import CaseType, Operator, OperatorRole, TicketEvent, TicketStatus
from hotline.db.session import session_scope
from hotline.tickets import lifecycle
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


# ---- lifecycle (issue 12) -------------------------------------------------------------------------------

COUNTIES = {"341125": "定远县", "341102": "琅琊区"}


def _operators(session: Session) -> dict[str, Operator]:
    rows = {
        "a": Operator(name="甲", role=OperatorRole.OPERATOR, counties=["341125"]),
        "b": Operator(name="乙", role=OperatorRole.OPERATOR, counties=["341125"]),
        "boss": Operator(name="丙", role=OperatorRole.SUPERVISOR, counties=[]),
    }
    session.add_all(rows.values())
    session.flush()
    return rows


def test_due_times_are_set_at_creation_without_a_clock(session: Session) -> None:
    """The dialog's actions pass no clock; the configured one applies, so no card shows "—"."""
    ticket, _ = create_ticket(session, new(), prefix="滁", now=dt.datetime(2026, 11, 30, 1))  # Mon 09:00
    # config/hotline.yaml: wage_arrears answered within 2 business hours → 11:00 local
    assert ticket.first_response_due == dt.datetime(2026, 11, 30, 3)
    assert ticket.resolution_due is not None and ticket.resolution_due > ticket.first_response_due


def test_only_the_holder_or_a_supervisor_gives_a_ticket_away(session: Session) -> None:
    ops = _operators(session)
    ticket, _ = create_ticket(session, new(county_code="341125"), prefix="滁")
    lifecycle.reassign(session, ticket, ops["boss"], ops["a"], COUNTIES)
    assert ticket.status is T.ASSIGNED and ticket.assigned_operator_id == ops["a"].id
    with pytest.raises(TicketError, match="由甲承办，只有承办人或监督人员可以退回待认领"):
        lifecycle.unclaim(session, ticket, ops["b"], COUNTIES)
    with pytest.raises(TicketError, match="只有承办人或监督人员可以改派"):
        lifecycle.reassign(session, ticket, ops["b"], ops["b"], COUNTIES)
    lifecycle.reassign(session, ticket, ops["a"], ops["b"], COUNTIES)  # the holder hands it on
    with pytest.raises(TicketError, match="已由乙承办"):
        lifecycle.reassign(session, ticket, ops["boss"], ops["b"], COUNTIES)
    assert ticket.assigned_operator_id == ops["b"].id


def test_lifecycle_refusals_come_from_the_transition_table(session: Session) -> None:
    ops = _operators(session)
    ticket, _ = create_ticket(session, new(county_code="341125"), prefix="滁")
    lifecycle.cancel(session, ticket, ops["a"], "spam", COUNTIES)
    for act in (
        lambda: lifecycle.wait_for_citizen(session, ticket, ops["a"], COUNTIES),
        lambda: lifecycle.refer(session, ticket, ops["a"], "法院", COUNTIES),
        lambda: lifecycle.close(session, ticket, ops["a"], "不予援助", COUNTIES),
    ):
        with pytest.raises(TicketError, match=r"当前为「已撤销」，不能"):
            act()
    lifecycle.reopen(session, ticket, ops["a"], COUNTIES)
    with pytest.raises(TicketError, match="当前为「重新处理中」，不能重新打开"):
        lifecycle.reopen(session, ticket, ops["a"], COUNTIES)
    assert ticket.status is T.REOPENED


def test_citizen_reply_resumes_a_held_ticket_as_assigned(session: Session) -> None:
    ops = _operators(session)
    ticket, _ = create_ticket(session, new(county_code="341125"), prefix="滁")
    lifecycle.reassign(session, ticket, ops["boss"], ops["a"], COUNTIES)
    lifecycle.wait_for_citizen(session, ticket, ops["a"], COUNTIES)
    assert lifecycle.citizen_replied(session, ticket, "好的").resumed and ticket.status is T.ASSIGNED
    assert not lifecycle.citizen_replied(session, ticket, "还有一件事").resumed  # not waiting any more


def test_lifecycle_data_and_referral_text() -> None:
    spec = lifecycle.data()
    assert list(spec.outcomes.values()) == ["已指派律师", "已解答咨询", "已转有关部门", "不予援助"]
    assert {"人社劳动监察", "人民法院", "妇联", "残联"} <= {a.name for a in spec.agencies.values()}
    assert lifecycle.agency_code("法院") == "court" and lifecycle.cancel_reason_code("重复") == "duplicate"
    assert "（电话" not in lifecycle.referral_message("滁-1", "petition")  # no contact configured
    assert "12385" in lifecycle.referral_message("滁-1", "disabled_federation")


def test_search_words() -> None:
    from hotline.settings import load_settings
    from hotline.tickets.search import Criteria, parse_words

    counties = load_settings(environ={}).counties
    words = ["0007", "尾号5678", "2026-11-01..2026-11-30", "欠薪", "处理中", "定远"]
    assert parse_words(words, counties) == Criteria(
        number="0007",
        phone_tail="5678",
        date_from=dt.date(2026, 11, 1),
        date_to=dt.date(2026, 11, 30),
        category="wage_arrears",
        status=T.ASSIGNED,
        county="341125",
    )
    one_day = parse_words(["2026-11-05"], counties)
    assert one_day.date_from == one_day.date_to == dt.date(2026, 11, 5)
    with pytest.raises(TicketError, match="日期格式"):
        parse_words(["2026-13-01"], counties)
