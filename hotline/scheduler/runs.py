"""Exactly-once report runs: a `report_run` row unique on (kind, period, scope) is claimed before any work.

running → produced → delivered. A second run for the same period finds the row and either does nothing
(delivered), only delivers (produced: a crash happened between producing and delivering), waits (running,
another worker is on it) or takes over a `running` claim that is older than `stale_after` (a crash while
producing). Files are never produced twice for a period that reached `produced`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hotline.db.models import ReportRun, utcnow

# What one `run_once` call did (not to be confused with the eligibility `Outcome`).
RunOutcome = Literal["delivered", "redelivered", "already_delivered", "busy"]


def _claim(
    session: Session, kind: str, period: str, scope: str, at: dt.datetime, stale_after: dt.timedelta
) -> tuple[ReportRun, bool]:
    try:
        with session.begin_nested():
            run = ReportRun(kind=kind, period=period, scope=scope, status="running", created_at=at)
            session.add(run)
        return run, True
    except IntegrityError:
        pass
    run = session.scalars(
        select(ReportRun).where(ReportRun.kind == kind, ReportRun.period == period, ReportRun.scope == scope)
    ).one()
    if run.status == "running" and run.created_at < at - stale_after:
        took = cast(
            CursorResult[Any],
            session.execute(
                update(ReportRun)
                .where(
                    ReportRun.id == run.id,
                    ReportRun.status == "running",
                    ReportRun.created_at == run.created_at,
                )
                .values(created_at=at)
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
        session.refresh(run)
        return run, bool(took)
    return run, False


def run_once(
    sessions: sessionmaker[Session],
    kind: str,
    period: str,
    scope: str,
    produce: Callable[[Session], list[Path]],
    deliver: Callable[[list[Path]], None],
    *,
    now: dt.datetime | None = None,
    stale_after: dt.timedelta = dt.timedelta(hours=1),
) -> RunOutcome:
    at = now or utcnow()
    with sessions() as session:
        with session.begin():
            run, claimed = _claim(session, kind, period, scope, at, stale_after)
            run_id, status = run.id, run.status
        if status == "delivered":
            return "already_delivered"
        if status == "running" and not claimed:
            return "busy"
        redelivery = status == "produced"
        if claimed:
            with session.begin():
                files = produce(session)
                session.execute(
                    update(ReportRun)
                    .where(ReportRun.id == run_id)
                    .values(status="produced", files=[str(f) for f in files])
                )
        with session.begin():
            run = session.get_one(ReportRun, run_id)
            paths = [Path(f) for f in run.files]
        deliver(paths)
        with session.begin():
            session.execute(
                update(ReportRun)
                .where(ReportRun.id == run_id, ReportRun.status == "produced")
                .values(status="delivered", delivered_at=utcnow())
            )
    return "redelivered" if redelivery else "delivered"
