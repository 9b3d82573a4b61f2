"""Two citizens with old and recent personal data everywhere it is stored, and an engine tracker store.

Shared by test_privacy_retention.py and test_privacy_erasure.py. Every personal value is distinctive
(`PERSONAL[...]`), so a test can search the whole database dump for it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from hotline.db.models import (
    CaseType,
    Citizen,
    MessageDirection,
    MessageLog,
    MessageState,
    Operator,
    OperatorRole,
    Rating,
    ReviewItem,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from hotline.reports.metrics import ReportMetrics, compute_metrics
from hotline.reports.periods import Period
from hotline.settings import Settings

NOW = dt.datetime(2026, 12, 6, 4, 0)  # naive UTC, like the database
OLD = NOW - dt.timedelta(days=400)
RECENT = NOW - dt.timedelta(days=10)
# Per citizen: phone, ID number (valid check digit), a name, a Telegram file id.
PERSONAL = {
    "a": ("13812345678", "34112219800101122X", "张三丰", "AgACfileA"),
    "b": ("13987654321", "110101199003074477", "李四光", "AgACfileB"),
}


@dataclass
class Seeded:
    citizens: dict[str, Citizen]
    tickets: dict[str, Ticket]  # "a_old", "a_open", "b_old"
    admin: Operator
    operator: Operator


def _message(
    session: Session,
    citizen: Citizen,
    at: dt.datetime,
    text_: str,
    *,
    payload: dict[str, Any] | None = None,
    direction: MessageDirection = MessageDirection.INBOUND,
    state: MessageState = MessageState.PROCESSED,
    ticket: Ticket | None = None,
) -> MessageLog:
    message = MessageLog(
        citizen_id=citizen.id,
        channel=citizen.channel,
        direction=direction,
        text=text_,
        payload=payload,
        state=state,
        ticket_id=ticket.id if ticket else None,
        created_at=at,
    )
    session.add(message)
    return message


def _ticket(session: Session, number: str, citizen: Citizen, at: dt.datetime, key: str, **kw: Any) -> Ticket:
    phone, id_no, name, _ = PERSONAL[key]
    ticket = Ticket(
        number=number,
        citizen_id=citizen.id,
        conversation_id=citizen.conversation_id,
        category="wage_arrears",
        case_type=CaseType.CIVIL,
        county_code="341102",
        description=f"{name}：老板拖欠三个月工资，电话{phone}，身份证{id_no}",
        facts={"age": 45, "income_per_capita": 900, "fallbacks": 1},
        eligibility_outcome="eligible",
        eligibility_reasons=[f"{name} 人均收入 900 元"],
        migrant_worker=True,
        created_at=at,
        updated_at=at,
        first_response_due=at + dt.timedelta(hours=4),
        first_response_at=at + dt.timedelta(hours=1),
        resolution_due=at + dt.timedelta(days=5),
        **kw,
    )
    session.add(ticket)
    session.flush()
    return ticket


def seed(session: Session) -> Seeded:
    admin = Operator(name="管理员", role=OperatorRole.ADMIN, counties=[])
    operator = Operator(name="话务员", role=OperatorRole.OPERATOR, counties=["341102"])
    session.add_all([admin, operator])
    citizens: dict[str, Citizen] = {}
    tickets: dict[str, Ticket] = {}
    for key, ext in (("a", "1001"), ("b", "2002")):
        phone, id_no, name, file_id = PERSONAL[key]
        citizen = Citizen(
            channel="telegram",
            external_id=ext,
            conversation_id=f"telegram:{ext}",
            display_name=name,
            created_at=OLD,
        )
        session.add(citizen)
        session.flush()
        citizens[key] = citizen
        old = _ticket(
            session,
            {"a": "滁-20251101-0001", "b": "滁-20251102-0001"}[key],
            citizen,
            OLD,
            key,
            status=TicketStatus.CLOSED,
            resolved_at=OLD + dt.timedelta(days=2),
            closed_at=OLD + dt.timedelta(days=3),
        )
        tickets[f"{key}_old"] = old
        session.add_all(
            [
                Rating(
                    ticket_id=old.id,
                    score=2,
                    comment=f"不满意，回电{phone}",
                    requested_at=OLD + dt.timedelta(days=2),
                    answered_at=OLD + dt.timedelta(days=2),
                ),
                ReviewItem(
                    ticket_id=old.id, reason="low_rating", detail=f"{name} 电话 {phone}", created_at=OLD
                ),
                TicketEvent(
                    ticket_id=old.id,
                    kind="note",
                    actor=f"operator:{operator.id}",
                    data={"text": f"已联系{name}"},
                    created_at=OLD,
                ),
                TicketEvent(
                    ticket_id=old.id,
                    kind="review_done",
                    actor=f"operator:{operator.id}",
                    data={"review_id": 1, "note": "", "outcome": f"已回访{name}，表示理解"},
                    created_at=OLD,
                ),
                TicketEvent(
                    ticket_id=old.id,
                    kind="attachment",
                    actor="citizen",
                    data={"message_id": 1, "kind": "photo", "file_name": f"{name}身份证.jpg"},
                    created_at=OLD,
                ),
            ]
        )
        attachment = {"kind": "photo", "file_id": file_id, "file_name": f"{name}身份证.jpg", "source": "1:5"}
        _message(session, citizen, OLD, f"我叫{name}，身份证{id_no}", ticket=old)
        _message(session, citizen, OLD, "", payload={"attachment": attachment}, ticket=old)
        _message(
            session,
            citizen,
            OLD,
            f"您的工单 {old.number} 已受理",
            direction=MessageDirection.OUTBOUND,
            state=MessageState.SENT,
            payload={"buttons": [{"title": "是", "payload": "/affirm"}]},
        )
        _message(session, citizen, OLD, f"还在吗 {phone}", state=MessageState.RETRY)  # still queued
        _message(session, citizen, RECENT, f"最近的消息 {phone}")
    session.flush()
    # Citizen a has a recent open ticket with its evidence.
    a = citizens["a"]
    open_ticket = _ticket(session, "滁-20261126-0003", a, RECENT, "a", status=TicketStatus.ASSIGNED)
    tickets["a_open"] = open_ticket
    _message(
        session,
        a,
        RECENT,
        "",
        payload={"attachment": {"kind": "document", "file_id": "AgACkeptDoc", "file_name": "欠条.pdf"}},
        ticket=open_ticket,
    )
    session.commit()
    return Seeded(citizens, tickets, admin, operator)


def tracker_store(path: Path, conversations: dict[str, dt.datetime]) -> Engine:
    """A SQLite file shaped like Rasa 3.6's SQLTrackerStore (table `events`), three events per
    conversation ending at the given time."""
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
                "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
                "action_name VARCHAR(255), data TEXT)"
            )
        )
        for sender, last in conversations.items():
            for back in (2, 1, 0):
                at = (last - dt.timedelta(hours=back)).replace(tzinfo=dt.UTC).timestamp()
                data = json.dumps({"event": "user", "text": f"{sender} 的消息"}, ensure_ascii=False)
                conn.execute(
                    text(
                        "INSERT INTO events (sender_id, type_name, timestamp, intent_name, data) "
                        "VALUES (:s, 'user', :t, 'inform', :d)"
                    ),
                    {"s": sender, "t": at, "d": data},
                )
    return engine


def tracker_senders(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT sender_id, COUNT(*) FROM events GROUP BY sender_id"))
        return {str(sender): int(n) for sender, n in rows}


def dump(session: Session) -> str:
    """Every row of every table the application writes, as one string to search for personal data."""
    session.expire_all()
    parts: list[str] = []
    for model in (Citizen, MessageLog, Ticket, TicketEvent, Rating, ReviewItem):
        for row in session.query(model).all():
            parts.append(repr({c.key: getattr(row, c.key) for c in model.__table__.columns}))
    return "\n".join(parts)


def figures(session: Session, settings: Settings) -> list[ReportMetrics]:
    """The report figures of the two years the seed spans, city-wide and for the county."""
    session.expire_all()
    tz = settings.city.timezone
    periods = [Period("annual", dt.date(year, 1, 1), dt.date(year + 1, 1, 1), tz) for year in (2025, 2026)]
    return [
        compute_metrics(session, settings, p, counties) for p in periods for counties in (None, ["341102"])
    ]
