"""Shared helpers for the SLA/report/scheduler/follow-up/import/CLI tests.

The database fixtures (db_url, settings, session on a migrated SQLite file) come from tests/conftest.py.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session


def utc(local: str) -> dt.datetime:
    """'2026-09-30 10:00' in Asia/Shanghai → naive UTC."""
    return dt.datetime.fromisoformat(local) - dt.timedelta(hours=8)


COUNTY_CODES = ["341102", "341103", "341122", "341124", "341125", "341126", "341181", "341182"]


def bulk_tickets(session: Session, rows: list[dict[str, object]]) -> None:
    """Fast insert (executemany) of ticket dicts; fills the required columns."""
    from sqlalchemy import func, insert, select

    from hotline.db.models import Ticket

    start = (session.scalar(select(func.max(Ticket.id))) or 0) + 1
    payload = []
    for i, row in enumerate(rows, start=start):
        data: dict[str, object] = {
            "number": f"T-{i:07d}",
            "category": "other",
            "case_type": "consultation",
            "status": "new",
            "priority": "normal",
            "facts": {},
            "eligibility_reasons": [],
            "eligibility_articles": [],
            "source": "import",
        }
        data.update(row)
        data.setdefault("updated_at", data["created_at"])
        payload.append(data)
    session.execute(insert(Ticket), payload)
    session.flush()


def seed_year_2019(session: Session) -> None:
    """Exactly the seed report's totals: 6761 cases (4564/2182/15), 6134 closed, 2072 migrant workers;
    plus 1631 criminal cases in 2018 so criminal growth is 33.8%."""
    base = dt.datetime(2019, 1, 1, 2, 0)
    types = ["civil"] * 4564 + ["criminal"] * 2182 + ["administrative"] * 15
    rows: list[dict[str, object]] = []
    for i, case_type in enumerate(types):
        created = base + dt.timedelta(minutes=(i * 523_000 // len(types)))  # spread over ~363 days
        closed = i % 6761 < 6134
        rows.append(
            {
                "case_type": case_type,
                "category": "wage_arrears" if i < 2072 else "family",
                "county_code": COUNTY_CODES[i % 8],
                "created_at": created,
                "migrant_worker": i < 2072,
                "status": "closed" if closed else "assigned",
                "resolved_at": created + dt.timedelta(hours=1)
                if closed and created < dt.datetime(2019, 12, 31)
                else None,
            }
        )
    # keep exactly 6134 resolved inside 2019: the spread above never reaches 31 Dec, so no adjustment needed
    rows += [
        {
            "case_type": "criminal",
            "category": "criminal_defence",
            "county_code": COUNTY_CODES[i % 8],
            "created_at": dt.datetime(2018, 3, 1) + dt.timedelta(minutes=i),
        }
        for i in range(1631)
    ]
    bulk_tickets(session, rows)
