"""The daily roll-ups (hotline.reports.rollup) stay exact whoever writes the ticket table.

Tickets are changed through several writers — ORM updates of category, county, status, flags, facts and
the done times, a Core bulk UPDATE, a DELETE, a raw SQL INSERT — and then every report figure computed from
the roll-ups must equal the same figure computed from the ticket table alone (use_rollups=False, the
definitions; tests/unit/test_reports_scale_exact.py checks those against Python), for several periods,
time zones and scopes, and the roll-up tables must equal a rebuild from scratch. The same scenario runs
on PostgreSQL in tests/integration/test_reports_rollup_postgres.py.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

from sqlalchemy import Connection, Table, delete, func, select, text, update
from sqlalchemy.orm import Session

from hotline.db.models import (
    CaseType,
    Ticket,
    TicketRollupClosed,
    TicketRollupDuration,
    TicketRollupNew,
    TicketStatus,
)
from hotline.db.sqlfuncs import bucket_bounds, bucket_of, duration_bucket
from hotline.reports import rollup
from hotline.reports.metrics import compute_metrics
from hotline.reports.periods import Period, parse_period
from hotline.settings import Settings
from tests.unit.reports_fixtures import COUNTY_CODES, bulk_tickets
from tests.unit.test_reports_scale_exact import random_tickets

ROLLUP_TABLES = (TicketRollupNew, TicketRollupClosed, TicketRollupDuration)


def rollup_rows(conn: Connection | Session) -> dict[str, set[tuple[Any, ...]]]:
    """Every roll-up row that counts something (rows whose counts fell to 0 are left behind)."""
    out: dict[str, set[tuple[Any, ...]]] = {}
    for model in ROLLUP_TABLES:
        table: Table = model.__table__  # type: ignore[assignment]
        rows = conn.execute(select(table)).all()
        out[table.name] = {tuple(r) for r in rows if any(v for k, v in r._mapping.items() if k == "n")}
    return out


def change_through_every_writer(session: Session, seed: int = 5) -> None:
    """Random tickets, then ORM, Core bulk, DELETE and raw SQL changes (committed)."""
    rnd = random.Random(seed)
    bulk_tickets(session, random_tickets(rnd, 600))
    session.commit()
    tickets = list(session.scalars(select(Ticket).order_by(Ticket.id)))
    for t in rnd.sample(tickets, 150):  # ORM: each a different mix of changes
        change = rnd.randrange(6)
        if change == 0:
            t.category = rnd.choice(["wage_arrears", "complaint", "family"])
            t.county_code = rnd.choice([*COUNTY_CODES, None])
        elif change == 1:
            t.status = TicketStatus.CLOSED
            t.resolved_at = t.created_at + dt.timedelta(hours=rnd.randint(0, 200))
        elif change == 2:
            t.status = TicketStatus.REOPENED
            t.resolved_at = None
        elif change == 3:
            t.facts = {"fallbacks": rnd.randint(0, 4), **({"faq_id": "x"} if rnd.random() < 0.5 else {})}
            t.migrant_worker = not t.migrant_worker
            t.handoff_requested = not t.handoff_requested
        elif change == 4:
            t.first_response_at = t.created_at  # an import's placeholder: leaves the durations
            t.first_response_due = None
        else:
            t.created_at = t.created_at - dt.timedelta(hours=rnd.randint(1, 40))  # crosses UTC days
            t.eligibility_outcome = rnd.choice(["eligible", None])
    session.commit()
    # Core bulk UPDATE (no ORM events): a re-classification and new resolution times.
    session.execute(
        update(Ticket)
        .where(Ticket.id % 7 == 0)
        .values(case_type=CaseType.CRIMINAL, resolution_due=None, county_code="341103")
    )
    session.execute(
        update(Ticket)
        .where(Ticket.id % 11 == 0, Ticket.resolved_at.is_not(None))
        .values(resolved_at=dt.datetime(2026, 8, 1, 12, 0, 0, 500000))
    )
    session.execute(update(Ticket).where(Ticket.id % 13 == 0).values(description="只改描述"))
    # DELETE (erasure/retention delete rows outright).
    session.execute(delete(Ticket).where(Ticket.id % 17 == 0))
    # Raw SQL INSERT, bypassing SQLAlchemy's types.
    session.execute(
        text(
            "INSERT INTO ticket (number, source, category, case_type, county_code, status, priority, "
            "description, facts, eligibility_reasons, eligibility_articles, migrant_worker, disabled, "
            "minor, elderly, women, handled_by_bot_only, handoff_requested, created_at, updated_at, "
            "first_response_at, first_response_due, resolved_at, resolution_due) VALUES "
            "('RAW-1', 'operator', 'wage_arrears', 'CIVIL', '341122', 'CLOSED', 'normal', '', :facts, "
            "'[]', '[]', true, false, false, true, false, false, true, :created, :created, :first, :due, "
            ":resolved, :due)"
        ),
        {
            "facts": json.dumps({"fallbacks": 2}),
            "created": dt.datetime(2026, 6, 10, 15, 59, 30),
            "first": dt.datetime(2026, 6, 10, 16, 30, 0),
            "due": dt.datetime(2026, 6, 11, 16, 0, 0),
            "resolved": dt.datetime(2026, 6, 12, 1, 0, 0),
        },
    )
    session.commit()


def periods() -> list[Period]:
    annual = parse_period("annual", "2026")
    return [
        annual,
        parse_period("monthly", "2026-06"),
        parse_period("weekly", "2026-W24"),
        # a period starting on a UTC midnight (no left edge), and one in a time zone behind UTC
        Period("monthly", dt.date(2026, 3, 1), dt.date(2026, 4, 1), timezone="UTC"),
        Period("annual", dt.date(2026, 1, 1), dt.date(2027, 1, 1), timezone="America/New_York"),
        # shorter than a day between UTC midnights: no roll-up row, the ticket table only
        Period("weekly", dt.date(2026, 6, 10), dt.date(2026, 6, 11)),
    ]


def assert_rollups_match_definitions(session: Session, settings: Settings) -> None:
    for period in periods():
        for counties in (None, ["341103"], ["341122", "341181"]):
            fast = compute_metrics(session, settings, period, counties)
            slow = compute_metrics(session, settings, period, counties, use_rollups=False)
            assert fast == slow, (period, counties)
            assert fast.new or counties, period  # the comparison is not vacuous
        if period.kind != "weekly":
            assert fast.closed and fast.resolution.count and fast.first_response.count, period
    before = rollup_rows(session)
    rollup.rebuild(session.connection())
    assert rollup_rows(session) == before
    session.rollback()


def test_rollups_stay_exact_through_every_writer(session: Session, settings: Settings) -> None:
    change_through_every_writer(session)
    assert session.scalar(select(func.count()).select_from(Ticket).where(Ticket.number == "RAW-1"))
    assert_rollups_match_definitions(session, settings)


def test_an_update_of_other_columns_leaves_the_rollups_alone(session: Session) -> None:
    bulk_tickets(session, [{"created_at": dt.datetime(2026, 5, 1, 3)}])
    session.commit()
    before = rollup_rows(session)
    session.execute(update(Ticket).values(description="x", priority="urgent"))
    assert rollup_rows(session) == before


def test_migration_backfills_existing_tickets(db_url: str, settings: Settings) -> None:
    """Tickets written before 0014 (no triggers, no roll-ups) are counted once it runs."""
    from alembic import command

    from hotline.db.migrate import alembic_config, upgrade
    from hotline.db.session import get_engine

    cfg = alembic_config(db_url)
    with get_engine(db_url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0013_ticket_event_kind_index")
    with Session(get_engine(db_url)) as s:
        cols = ", ".join(c for c in ("number", "category", "case_type", "status", "created_at"))
        s.execute(
            text(
                f"INSERT INTO ticket ({cols}, source, priority, description, facts, eligibility_reasons,"
                " eligibility_articles, migrant_worker, disabled, minor, elderly, women,"
                " handled_by_bot_only, handoff_requested, updated_at, resolved_at) VALUES"
                " (:n, 'family', 'CIVIL', 'CLOSED', :c, 'bot', 'normal', '', '{}', '[]', '[]',"
                " 0, 0, 0, 0, 0, 1, 0, :c, :r)"
            ),
            [
                {"n": f"OLD-{i}", "c": dt.datetime(2026, 2, 1) + dt.timedelta(hours=7 * i), "r": None}
                if i % 3
                else {
                    "n": f"OLD-{i}",
                    "c": dt.datetime(2026, 2, 1) + dt.timedelta(hours=7 * i),
                    "r": dt.datetime(2026, 2, 1) + dt.timedelta(hours=7 * i + 50),
                }
                for i in range(200)
            ],
        )
        s.commit()
    upgrade(db_url)
    with Session(get_engine(db_url)) as s:
        m = compute_metrics(s, settings, parse_period("annual", "2026"), with_previous=False)
        assert (m.new, m.closed, m.resolution.count) == (200, 67, 67)
        assert m == compute_metrics(
            s, settings, parse_period("annual", "2026"), with_previous=False, use_rollups=False
        )


def test_duration_buckets_are_monotone_and_match_sql(session: Session) -> None:
    samples = [-86400, -1, 0, 1, 299, 300, 3599, 3600, 3601, 86399, 86400, 604799, 604800]
    samples += [7775999, 7776000, 10**8]
    buckets = [bucket_of(s) for s in samples]
    assert buckets == sorted(buckets)
    for s, b in zip(samples, buckets, strict=True):
        lower, upper = bucket_bounds(b)
        assert (lower is None or lower <= s) and (upper is None or s < upper)
        assert session.scalar(select(duration_bucket(func.abs(s) * (1 if s >= 0 else -1)))) == b
