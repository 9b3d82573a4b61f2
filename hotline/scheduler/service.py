"""The scheduler process: leader election + APScheduler 3 with a persistent SQLAlchemy job store.

Every instance (the `python -m hotline scheduler` process or a gateway that embeds it) runs the election
loop; only the lock holder runs APScheduler. Jobs live in the application database, so they survive
restarts; `coalesce=True` + `misfire_grace_time` make a missed run happen once when the leader comes back.
Existing jobs are never re-added on start (re-adding would recompute next_run_time and lose the misfire).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from hotline import observability
from hotline.db.session import get_engine
from hotline.reports.delivery import Notifier
from hotline.scheduler import runtime
from hotline.scheduler.lock import LeaderLock
from hotline.scheduler.runtime import Runtime
from hotline.settings import Settings

log = logging.getLogger(__name__)
JOBS_TABLE = "apscheduler_jobs"


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: str
    trigger: Any
    kwargs: dict[str, Any]


def job_specs(rt: Runtime) -> list[JobSpec]:
    cfg, tz = rt.config, rt.settings.city.timezone
    specs = [
        JobSpec(
            f"report:{kind}",
            "hotline.scheduler.jobs:scheduled_report",
            CronTrigger(timezone=tz, **getattr(cfg, kind).fields()),
            {"kind": kind},
        )
        for kind in cfg.enabled_kinds
    ]
    specs.append(
        JobSpec(
            "followup",
            "hotline.scheduler.jobs:followup_tick",
            IntervalTrigger(minutes=cfg.followup_poll_minutes, timezone=tz),
            {},
        )
    )
    specs.append(
        JobSpec(
            "review_alerts",
            "hotline.scheduler.jobs:review_alerts",
            IntervalTrigger(minutes=cfg.review_alert_minutes, timezone=tz),
            {},
        )
    )
    specs.append(
        JobSpec(
            "sla_refresh",
            "hotline.scheduler.jobs:sla_refresh",
            IntervalTrigger(minutes=cfg.sla_refresh_minutes, timezone=tz),
            {},
        )
    )
    specs.append(  # as often as review alerts: both are for supervisors who must act quickly
        JobSpec(
            "urgent_unclaimed",
            "hotline.scheduler.jobs:urgent_unclaimed",
            IntervalTrigger(minutes=cfg.review_alert_minutes, timezone=tz),
            {},
        )
    )
    specs.append(
        JobSpec(
            "handoff_wait",
            "hotline.scheduler.jobs:handoff_wait",
            IntervalTrigger(minutes=cfg.review_alert_minutes, timezone=tz),
            {},
        )
    )
    appointments = rt.settings.appointments
    if appointments.enabled:
        specs.append(
            JobSpec(
                "appointment_reminders",
                "hotline.scheduler.jobs:appointment_reminders",
                IntervalTrigger(minutes=appointments.reminder_poll_minutes, timezone=tz),
                {},
            )
        )
    privacy = rt.settings.privacy
    if privacy.retention_enabled:
        specs.append(
            JobSpec(
                "privacy_retention",
                "hotline.scheduler.jobs:privacy_retention",
                CronTrigger(hour=privacy.retention_hour, minute=17, timezone=tz),
                {},
            )
        )
    if rt.settings.backup.scheduled:
        schedule = rt.settings.backup.schedule.fields()
        specs.append(
            JobSpec("backup", "hotline.scheduler.jobs:daily_backup", CronTrigger(timezone=tz, **schedule), {})
        )
    return specs


class SchedulerService:
    def __init__(
        self,
        settings: Settings,
        notifier: Notifier | None = None,
        *,
        holder: str | None = None,
        out_dir: Path | None = None,
    ) -> None:
        self.runtime = Runtime(settings, notifier or runtime.default_notifier(settings), out_dir)
        self.lock = LeaderLock(
            self.runtime.sessions, "scheduler", holder, self.runtime.config.lock_ttl_seconds
        )
        self.scheduler: BackgroundScheduler | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        return self.scheduler is not None

    def build_scheduler(self) -> BackgroundScheduler:
        settings, cfg = self.runtime.settings, self.runtime.config
        store = SQLAlchemyJobStore(engine=get_engine(settings.database_url), tablename=JOBS_TABLE)
        return BackgroundScheduler(
            jobstores={"default": store},
            job_defaults={
                "coalesce": True,
                "misfire_grace_time": cfg.misfire_grace_seconds,
                "max_instances": 1,
            },
            timezone=settings.city.timezone,
        )

    def _ensure_jobs(self, scheduler: BackgroundScheduler) -> None:
        for spec in job_specs(self.runtime):
            job = scheduler.get_job(spec.id)
            if job is None:
                scheduler.add_job(spec.func, spec.trigger, id=spec.id, kwargs=spec.kwargs, name=spec.id)
            elif str(job.trigger) != str(spec.trigger):
                job.reschedule(spec.trigger)  # schedule changed in the configuration

    def start_scheduler(self) -> BackgroundScheduler:
        runtime.install(self.runtime)
        scheduler = self.build_scheduler()
        scheduler.start(paused=True)
        self._ensure_jobs(scheduler)
        scheduler.resume()  # due (missed) jobs within the grace time run now, once
        self.scheduler = scheduler
        observability.SCHEDULER_LEADER.set(1)
        log.info("调度器已启动（leader=%s）", self.lock.holder)
        return scheduler

    def stop_scheduler(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
            observability.SCHEDULER_LEADER.set(0)

    def tick(self) -> bool:
        """One election round: become leader and start, or stand by / step down."""
        try:
            leader = self.lock.acquire()
        except Exception:  # database briefly unavailable: keep state, retry next round
            log.exception("调度器选主失败，稍后重试")
            return self.is_leader
        if leader and self.scheduler is None:
            self.start_scheduler()
        elif not leader and self.scheduler is not None:
            log.warning("调度器失去主节点锁，停止运行")
            self.stop_scheduler()
        return leader

    def run_forever(self) -> None:
        """Blocking loop for `python -m hotline scheduler`; returns after stop()."""
        interval = max(1.0, self.lock.ttl.total_seconds() / 3)
        try:
            while not self._stop.is_set():
                self.tick()
                self._stop.wait(interval)
        finally:
            self.stop_scheduler()
            self.lock.release()

    def start_background(self) -> threading.Thread:
        """Embedded mode (e.g. inside the gateway's process): the election loop in a daemon thread."""
        self._thread = threading.Thread(target=self.run_forever, name="hotline-scheduler", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        else:
            self.stop_scheduler()


def start_embedded(settings: Settings, notifier: Notifier | None = None) -> SchedulerService:
    """For the gateway: start the scheduler alongside the bot; safe with several gateways (one leader)."""
    service = SchedulerService(settings, notifier)
    service.start_background()
    return service
