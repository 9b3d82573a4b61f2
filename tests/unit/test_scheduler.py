from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db.models import ReportRun
from hotline.db.session import get_sessionmaker
from hotline.reports.delivery import RecordingNotifier
from hotline.reports.periods import last_complete
from hotline.scheduler import LeaderLock, SchedulerService, run_once
from hotline.settings import Settings


@pytest.fixture
def sched_settings(settings: Settings, tmp_path: Path) -> Settings:
    reports = {"out_dir": str(tmp_path / "reports"), "per_county": False, "enabled_kinds": ["weekly"]}
    return settings.model_copy(update={"reports": settings.reports.model_copy(update=reports)})


def test_leader_lock_exclusive_and_expires(db_url: str) -> None:
    sessions = get_sessionmaker(db_url)
    a = LeaderLock(sessions, holder="a", ttl=60)
    b = LeaderLock(sessions, holder="b", ttl=60)
    t0 = dt.datetime(2026, 11, 30, 0, 0)
    assert a.acquire(t0) and not b.acquire(t0)
    assert a.acquire(t0 + dt.timedelta(seconds=30))  # heartbeat renews
    assert not b.acquire(t0 + dt.timedelta(seconds=80))  # renewed until +90 s
    assert b.acquire(t0 + dt.timedelta(seconds=91))  # a stopped heartbeating: b takes over
    assert not a.acquire(t0 + dt.timedelta(seconds=92))
    assert b.current_holder() == "b"
    b.release()
    assert a.acquire(t0 + dt.timedelta(seconds=93))


def test_run_once_produces_and_delivers_once_and_redelivers_after_crash(db_url: str, tmp_path: Path) -> None:
    sessions = get_sessionmaker(db_url)
    produced: list[int] = []
    delivered: list[list[Path]] = []
    crash = {"on": True}

    def produce(_: Session) -> list[Path]:
        produced.append(1)
        path = tmp_path / f"r{len(produced)}.txt"
        path.write_text("x")
        return [path]

    def deliver(files: list[Path]) -> None:
        if crash["on"]:
            crash["on"] = False
            raise ConnectionError("telegram down")
        delivered.append(files)

    with pytest.raises(ConnectionError):
        run_once(sessions, "weekly", "2026-W48", "city", produce, deliver)
    assert run_once(sessions, "weekly", "2026-W48", "city", produce, deliver) == "redelivered"
    assert run_once(sessions, "weekly", "2026-W48", "city", produce, deliver) == "already_delivered"
    assert len(produced) == 1 and delivered == [[tmp_path / "r1.txt"]]
    with sessions() as s:
        runs = s.scalars(select(ReportRun)).all()
        assert [(r.status, r.delivered_at is not None) for r in runs] == [("delivered", True)]


def test_running_claim_is_busy_until_stale(db_url: str) -> None:
    sessions = get_sessionmaker(db_url)
    t0 = dt.datetime(2026, 11, 30, 0, 30)
    with sessions() as s, s.begin():
        s.add(ReportRun(kind="weekly", period="2026-W48", scope="city", status="running", created_at=t0))
    calls: list[str] = []

    def produce(_: Session) -> list[Path]:
        calls.append("p")
        return []

    def deliver(_: list[Path]) -> None:
        calls.append("d")

    args = (sessions, "weekly", "2026-W48", "city", produce, deliver)
    assert run_once(*args, now=t0 + dt.timedelta(minutes=5)) == "busy"
    assert calls == []
    assert run_once(*args, now=t0 + dt.timedelta(hours=2)) == "delivered"  # crashed worker taken over
    assert calls == ["p", "d"]


def test_only_one_of_two_instances_runs_the_scheduler(sched_settings: Settings) -> None:
    a = SchedulerService(sched_settings, RecordingNotifier(), holder="gw-1")
    b = SchedulerService(sched_settings, RecordingNotifier(), holder="gw-2")
    try:
        assert a.tick() and a.is_leader
        assert not b.tick() and not b.is_leader
    finally:
        a.stop()
        b.stop()


def _wait(pred: object, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def _move_next_run(settings: Settings, ago: dt.timedelta) -> bool:
    """Edit the stored job while no scheduler runs (a paused scheduler would fire it on shutdown)."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    from hotline.db.session import get_engine
    from hotline.scheduler.service import JOBS_TABLE

    store = SQLAlchemyJobStore(engine=get_engine(settings.database_url), tablename=JOBS_TABLE)
    store.start(BackgroundScheduler(), "default")
    job = store.lookup_job("report:weekly")
    if job is None:
        return False
    job._modify(next_run_time=dt.datetime.now(dt.UTC) - ago)
    store.update_job(job)
    return True


def test_jobs_persist_and_missed_monday_runs_once_on_restart(sched_settings: Settings) -> None:
    first = SchedulerService(sched_settings, RecordingNotifier(), holder="p1")
    scheduler = first.start_scheduler()
    job = scheduler.get_job("report:weekly")
    assert job is not None and job.next_run_time.weekday() == 0
    assert (job.next_run_time.hour, job.next_run_time.minute) == (8, 30)
    first.stop_scheduler()  # process "dies"

    # While it was down, Monday 08:30 passed: pretend the stored next run is an hour ago.
    assert _move_next_run(sched_settings, dt.timedelta(hours=1))  # job persisted in the app database

    notifier = RecordingNotifier()
    second = SchedulerService(sched_settings, notifier, holder="p2")
    second.start_scheduler()
    try:
        assert _wait(lambda: len(notifier.texts) >= 1)
        time.sleep(0.5)
        assert len(notifier.texts) == 1  # coalesced: once
        assert "周报" in notifier.texts[0][1]
        period = last_complete("weekly", dt.datetime.now(ZoneInfo("Asia/Shanghai")).date())
        with second.runtime.sessions() as s:
            runs = s.scalars(select(ReportRun)).all()
            assert len(runs) == 1 and runs[0].status == "delivered"
            assert runs[0].period == period.key
        job = second.scheduler.get_job("report:weekly")  # type: ignore[union-attr]
        assert job.next_run_time > dt.datetime.now(dt.UTC)
    finally:
        second.stop_scheduler()

    # A third start (or a second scheduler) for the same week does not deliver again.
    third_notifier = RecordingNotifier()
    third = SchedulerService(sched_settings, third_notifier, holder="p3")
    from hotline.scheduler.jobs import scheduled_report

    third.start_scheduler()
    try:
        assert scheduled_report("weekly") == {"city": "already_delivered"}
        assert third_notifier.texts == []
    finally:
        third.stop_scheduler()


def test_missed_run_beyond_grace_is_skipped(sched_settings: Settings) -> None:
    settings = sched_settings.model_copy(
        update={"reports": sched_settings.reports.model_copy(update={"misfire_grace_seconds": 60})}
    )
    first = SchedulerService(settings, RecordingNotifier(), holder="p1")
    first.start_scheduler()
    first.stop_scheduler()
    assert _move_next_run(settings, dt.timedelta(days=3))
    notifier = RecordingNotifier()
    second = SchedulerService(settings, notifier, holder="p2")
    second.start_scheduler()
    try:
        time.sleep(1.5)
        assert notifier.texts == []
    finally:
        second.stop_scheduler()
