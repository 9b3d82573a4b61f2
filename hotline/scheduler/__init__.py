"""Report scheduler: APScheduler 3 with a persistent job store, leader lock and exactly-once report runs."""

from hotline.scheduler.lock import LeaderLock
from hotline.scheduler.runs import run_once
from hotline.scheduler.service import SchedulerService, start_embedded

__all__ = ["LeaderLock", "SchedulerService", "run_once", "start_embedded"]
