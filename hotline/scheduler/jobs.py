"""Scheduled jobs (referenced by import path from the persistent job store; keep names stable)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from hotline.followup.service import due_reminders, pending_review_alerts, request_due_ratings
from hotline.reports.delivery import CitizenNotifier
from hotline.reports.periods import KINDS, Kind, Period, last_complete
from hotline.reports.service import deliver, produce_report
from hotline.scheduler.runs import RunOutcome, run_once
from hotline.scheduler.runtime import Runtime, current
from hotline.sla.clock import SlaClock, recompute_due_times

log = logging.getLogger(__name__)


def report_for_period(rt: Runtime, period: Period, scope: str) -> RunOutcome:
    """Produce and deliver one period's report exactly once (see runs.py)."""
    counties = None if scope == "city" else [scope]

    def produce(session: Session) -> list[Path]:
        return produce_report(session, rt.settings, period, counties, rt.reports_dir).files

    def send(files: list[Path]) -> None:
        text_file = next((f for f in files if f.suffix == ".txt"), None)
        text = (
            text_file.read_text(encoding="utf-8").strip()
            if text_file and text_file.exists()
            else period.label
        )
        deliver(rt.notifier, rt.supervisors_chat, text, [f for f in files if f.exists()])

    outcome = run_once(
        rt.sessions,
        period.kind,
        period.key,
        scope,
        produce,
        send,
        stale_after=dt.timedelta(seconds=rt.config.stale_run_seconds),
    )
    log.info("报告 %s %s %s: %s", period.kind, period.key, scope, outcome)
    return outcome


def scheduled_report(kind: str, today: str | None = None) -> dict[str, RunOutcome]:
    """The job behind the weekly/monthly/annual schedules: the last complete period, city + counties."""
    if kind not in KINDS:
        raise ValueError(f"未知的报告类型: {kind}")
    rt = current()
    tz = rt.settings.city.timezone
    day = dt.date.fromisoformat(today) if today else dt.datetime.now(ZoneInfo(tz)).date()
    k: Kind = kind  # type: ignore[assignment]
    period = last_complete(k, day, tz)
    scopes = ["city"] + (list(rt.settings.county_names) if rt.config.per_county else [])
    return {scope: report_for_period(rt, period, scope) for scope in scopes}


def followup_tick() -> int:
    """Ask for ratings of newly resolved tickets, remind once, hand the messages to the notifier."""
    rt = current()
    with rt.sessions() as session, session.begin():
        messages = request_due_ratings(session)
        messages += due_reminders(session, delay=dt.timedelta(hours=rt.config.rating_reminder_hours))
    for message in messages:
        if not message.conversation_id:
            continue
        if isinstance(rt.notifier, CitizenNotifier):
            rt.notifier.send_to_citizen(message)
        else:
            rt.notifier.send_text(message.conversation_id, message.text)
    return len(messages)


def review_alerts() -> int:
    """Tell supervisors about every new low rating or complaint, whoever recorded it (bot or gateway).

    Delivery happens inside the transaction that marks the items alerted: if sending fails, nothing is
    marked and the next tick tries again.
    """
    rt = current()
    with rt.sessions() as session, session.begin():
        messages = pending_review_alerts(session, county_names=rt.settings.county_names)
        for message in messages:
            rt.notifier.send_text(rt.supervisors_chat, message.text)
    return len(messages)


def sla_refresh() -> int:
    """Recompute due times of open tickets (paused clocks, config changes, tickets created without SLA)."""
    rt = current()
    clock = SlaClock(rt.settings.sla)
    with rt.sessions() as session, session.begin():
        return recompute_due_times(session, clock)


def urgent_unclaimed() -> int:
    """Urgent tickets nobody claimed within `sla.urgent_claim_minutes` of office time: audited once per
    unclaimed spell (the desk posts the card again), and the supervisors alerted. Sent inside the
    transaction that records the escalation: a failed alert is retried on the next run."""
    from hotline import categories
    from hotline.sla.unclaimed import escalate_unclaimed_urgent
    from hotline.tickets.texts import NO_COUNTY, URGENT_UNCLAIMED_ALERT

    rt = current()
    sla = rt.settings.sla
    names = rt.settings.county_names
    with rt.sessions() as session, session.begin():
        found = escalate_unclaimed_urgent(session, SlaClock(sla), sla.urgent_claim_minutes)
        for item in found:
            text = URGENT_UNCLAIMED_ALERT.format(
                number=item.number,
                category=categories.label(item.category),
                county=names.get(item.county_code or "", NO_COUNTY),
                minutes=f"{item.minutes:g}",
            )
            rt.notifier.send_text(rt.supervisors_chat, text)
    return len(found)


def handoff_wait() -> int:
    """Citizens in a handoff with no operator's answer for `sla.handoff_wait_minutes`: told once what happens
    next (hotline.tickets.handoffs); the message waits in the outbox for the gateway to deliver."""
    from hotline.tickets.handoffs import tell_waiting_citizens

    rt = current()
    with rt.sessions() as session, session.begin():
        return len(tell_waiting_citizens(session, rt.settings.sla))


def privacy_retention() -> str:
    """Daily PIPL retention pass (hotline.privacy.retention): old message texts, attachment references
    and idle engine conversations erased; ticket statistics kept."""
    from hotline.db.models import utcnow
    from hotline.privacy.retention import run_retention, tracker_engine

    rt = current()
    policy = rt.settings.privacy
    if not policy.retention_enabled:  # switched off after the job was stored
        return "disabled"
    trackers = tracker_engine(policy)
    try:
        with rt.sessions() as session, session.begin():
            result = run_retention(session, policy, utcnow(), trackers=trackers)
    finally:
        if trackers is not None:
            trackers.dispose()
    return str(result)


def daily_backup() -> str:
    """The scheduled database backup (`backup.schedule`), then rotation; see hotline.db.backup.

    Still in the job store after `backup.scheduled` was switched off (stored jobs are never removed), so it
    checks the switch itself.
    """
    from hotline.db.backup import backup_now

    rt = current()
    if not rt.settings.backup.scheduled:
        return "disabled"
    result = backup_now(rt.settings)
    log.info("数据库已备份：%s（%d 字节，删除旧备份 %d 个）", result.path, result.size, len(result.removed))
    return str(result.path)


def appointment_reminders() -> int:
    """The day-before reminder of each appointment, queued in the citizens' outbox for the gateway to
    deliver (hotline.appointments.reminders); runs every `appointments.reminder_poll_minutes`."""
    from hotline.appointments.reminders import queue_reminders

    rt = current()
    if not rt.settings.appointments.enabled:  # switched off after the job was stored
        return 0
    with rt.sessions() as session, session.begin():
        return queue_reminders(session, rt.settings)
