"""Retention (PIPL Art 19): old personal data goes, report figures stay identical."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.cli import main
from hotline.db.models import (
    Citizen,
    MessageLog,
    MessageState,
    NluExample,
    Rating,
    ReviewItem,
    Ticket,
    TicketEvent,
)
from hotline.privacy.retention import ERASED_MARKER, run_retention, tracker_db_url, tracker_engine
from hotline.settings import PROJECT_ROOT, ConfigError, PrivacySettings, Settings, load_settings
from tests.unit.privacy_fixtures import (
    NOW,
    PERSONAL,
    RECENT,
    dump,
    figures,
    seed,
    tracker_senders,
    tracker_store,
)

POLICY = PrivacySettings(message_retention_days=365, tracker_retention_days=90, attachment_retention_days=180)


def test_settings_section_is_typed_and_in_the_yaml(tmp_path: Path) -> None:
    settings = load_settings(PROJECT_ROOT / "config" / "hotline.yaml", environ={})
    assert settings.privacy.message_retention_days == 365
    assert settings.privacy.tracker_retention_days == 90
    env = {"HOTLINE_PRIVACY__TRACKER_RETENTION_DAYS": "30"}
    assert (
        load_settings(PROJECT_ROOT / "config" / "hotline.yaml", environ=env).privacy.tracker_retention_days
        == 30
    )
    with pytest.raises(ConfigError, match=r"privacy\.message_retention_days"):
        load_settings(
            PROJECT_ROOT / "config" / "hotline.yaml", environ={"HOTLINE_PRIVACY__MESSAGE_RETENTION_DAYS": "0"}
        )


def test_retention_erases_old_data_and_keeps_report_figures(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    seeded = seed(session)
    trackers = tracker_store(
        tmp_path / "trackers.db", {"telegram:1001": RECENT, "telegram:2002": NOW - dt.timedelta(days=200)}
    )
    before = figures(session, settings)
    city_2025 = before[0]
    assert (city_2025.new, city_2025.closed, city_2025.ratings_answered, city_2025.fallback_tickets) == (
        2,
        2,
        2,
        2,
    )
    assert city_2025.groups["migrant_worker"] == 2 and city_2025.review_items == {"low_rating": 2}

    result = run_retention(session, POLICY, NOW, trackers=trackers, full=True)
    session.commit()

    assert figures(session, settings) == before  # reports do not change
    # Old messages: texts replaced, attachment reference gone but its kind kept; per citizen: 3 old
    # messages erased (the queued RETRY one is left for the queue), recent ones untouched.
    assert result.messages == 6
    old = session.scalars(select(MessageLog).where(MessageLog.created_at < RECENT)).all()
    for m in old:
        if m.state == MessageState.RETRY:
            assert m.text != ERASED_MARKER
        else:
            assert m.text == ERASED_MARKER
            assert "file_id" not in str(m.payload) and "buttons" not in str(m.payload)
    kinds = [m.payload["attachment"]["kind"] for m in old if m.payload and "attachment" in m.payload]
    assert kinds == ["photo", "photo"]
    assert result.attachments == 2  # the open ticket's recent document is kept
    everything = dump(session)
    for key in ("a", "b"):
        _, id_no, _, file_id = PERSONAL[key]
        assert file_id not in everything
        # Gone from old messages and (masked) from the closed tickets; a's open ticket still has it.
        assert everything.count(id_no) == (1 if key == "a" else 0)
    assert "AgACkeptDoc" in everything  # evidence of the open ticket stays
    recent = session.scalars(select(MessageLog).where(MessageLog.created_at == RECENT)).all()
    assert all(m.text != ERASED_MARKER for m in recent)
    # Closed old tickets: PII masked in free text; the open one untouched.
    assert result.tickets_masked == 2
    masked = session.scalars(select(TicketEvent).where(TicketEvent.kind == "pii_masked")).all()
    assert sorted(e.ticket_id for e in masked) == sorted(
        seeded.tickets[k].id for k in ("a_old", "b_old")
    )  # audited, with what was masked
    assert all(e.actor == "system:retention" for e in masked)
    assert {tuple(e.data["fields"]) for e in masked} == {("description", "rating_comment", "review_detail")}
    closed = session.get(Ticket, seeded.tickets["a_old"].id)
    assert closed is not None and "138****5678" in closed.description and "老板拖欠" in closed.description
    rating = session.scalar(select(Rating).where(Rating.ticket_id == closed.id))
    assert rating is not None and rating.score == 2 and "12345678" not in (rating.comment or "")
    review = session.scalar(select(ReviewItem).where(ReviewItem.ticket_id == closed.id))
    assert review is not None and "12345678" not in review.detail
    opened = session.get(Ticket, seeded.tickets["a_open"].id)
    assert opened is not None and PERSONAL["a"][1] in opened.description
    events = session.scalars(select(TicketEvent).where(TicketEvent.kind == "attachment")).all()
    assert all(e.data["file_name"] is None for e in events) and all(e.data["kind"] == "photo" for e in events)
    # Display names: both citizens wrote recently, so kept.
    assert result.display_names == 0
    # Trackers: b's conversation has been idle for 200 days (> 90): deleted whole; a's kept.
    assert (result.tracker_conversations, result.tracker_events) == (1, 3)
    assert tracker_senders(trackers) == {"telegram:1001": 3}

    again = run_retention(session, POLICY, NOW, trackers=trackers, full=True)  # idempotent
    assert (again.messages, again.attachments, again.tickets_masked, again.tracker_events) == (0, 0, 0, 0)


def test_dry_run_writes_nothing(session: Session, settings: Settings, tmp_path: Path) -> None:
    seed(session)
    trackers = tracker_store(tmp_path / "trackers.db", {"telegram:2002": NOW - dt.timedelta(days=200)})
    before = dump(session)
    planned = run_retention(session, POLICY, NOW, dry_run=True, trackers=trackers, full=True)
    session.commit()
    assert dump(session) == before
    assert tracker_senders(trackers) == {"telegram:2002": 3}
    done = run_retention(session, POLICY, NOW, trackers=trackers, full=True)
    assert (planned.messages, planned.attachments, planned.tickets_masked, planned.tracker_events) == (
        done.messages,
        done.attachments,
        done.tickets_masked,
        done.tracker_events,
    )


def test_display_name_forgotten_when_silent(session: Session) -> None:
    seeded = seed(session)
    later = NOW + dt.timedelta(days=400)  # nobody has written for over a year
    result = run_retention(session, POLICY, later)
    session.commit()
    assert result.display_names == 2
    assert all(c.display_name is None for c in session.scalars(select(Citizen)))
    assert session.get(Citizen, seeded.citizens["a"].id) is not None  # the row (and ticket counts) stay


def test_tracker_store_absent_or_without_events_table(tmp_path: Path) -> None:
    assert tracker_db_url(POLICY, {"RASA_TRACKER_DB": str(tmp_path / "missing.db")}) is None
    assert tracker_engine(POLICY, {"RASA_TRACKER_DB": str(tmp_path / "missing.db")}) is None
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    assert tracker_db_url(POLICY, {"RASA_TRACKER_DB": str(empty)}) == f"sqlite:///{empty}"
    assert tracker_engine(POLICY, {"RASA_TRACKER_DB": str(empty)}) is None  # no `events` table yet
    tracker_store(tmp_path / "t.db", {})
    engine = tracker_engine(POLICY, {"RASA_TRACKER_DB": str(tmp_path / "t.db")})
    assert engine is not None
    distributed = {"TRACKER_DB_HOST": "db.internal", "TRACKER_DB_PORT": "5432", "TRACKER_DB_NAME": "trackers"}
    distributed |= {"TRACKER_DB_USER": "rasa", "TRACKER_DB_PASSWORD": "p@ss"}
    assert tracker_db_url(POLICY, distributed) == "postgresql://rasa:p%40ss@db.internal:5432/trackers"
    configured = PrivacySettings(tracker_db_url=f"sqlite:///{tmp_path / 't.db'}")
    assert tracker_db_url(configured, {}) == f"sqlite:///{tmp_path / 't.db'}"


def test_cli_retention_prints_counts_in_chinese(
    db_url: str,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_CONFIG", str(PROJECT_ROOT / "config" / "hotline.yaml"))
    monkeypatch.setenv("RASA_TRACKER_DB", str(tmp_path / "none.db"))
    seed(session)  # created ~400 days before 2026-12-06; the CLI uses the real clock, so they are old
    before = dump(session)
    assert main(["privacy", "retention", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "试运行（未写入）" in out and "消息记录（超过 365 天）" in out and "未找到对话引擎" in out
    assert dump(session) == before
    assert main(["privacy", "retention"]) == 0
    assert "保留期限清理完成" in capsys.readouterr().out
    assert dump(session) != before


def test_daily_job_registered(settings: Settings) -> None:
    from hotline.reports.delivery import FileNotifier
    from hotline.scheduler.runtime import Runtime
    from hotline.scheduler.service import job_specs

    rt = Runtime(settings, FileNotifier(Path("var/test-outbox")))
    spec = next(s for s in job_specs(rt) if s.id == "privacy_retention")
    assert spec.func == "hotline.scheduler.jobs:privacy_retention"
    assert "hour='3'" in str(spec.trigger)
    off = settings.model_copy(update={"privacy": PrivacySettings(retention_enabled=False)})
    assert all(s.id != "privacy_retention" for s in job_specs(Runtime(off, FileNotifier(Path("var/x")))))


def test_daily_job_runs_the_pass(
    settings: Settings, session: Session, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from hotline.reports.delivery import FileNotifier
    from hotline.scheduler import jobs
    from hotline.scheduler.runtime import Runtime, install

    trackers = tracker_store(tmp_path / "t.db", {"telegram:2002": NOW - dt.timedelta(days=200)})
    monkeypatch.setenv("RASA_TRACKER_DB", str(tmp_path / "t.db"))
    seed(session)  # ~400 days before 2026-12-06; the job uses the real clock
    install(Runtime(settings, FileNotifier(tmp_path / "outbox")))
    assert "RetentionResult(messages=" in jobs.privacy_retention()
    assert tracker_senders(trackers) == {}
    session.expire_all()
    assert (
        session.scalar(
            select(MessageLog.text).where(MessageLog.created_at < RECENT).order_by(MessageLog.id).limit(1)
        )
        == ERASED_MARKER
    )
    off = settings.model_copy(update={"privacy": PrivacySettings(retention_enabled=False)})
    install(Runtime(off, FileNotifier(tmp_path / "outbox")))
    assert jobs.privacy_retention() == "disabled"


def test_unapproved_learned_examples_expire_approved_stay(session: Session) -> None:
    old, recent = NOW - dt.timedelta(days=400), NOW - dt.timedelta(days=10)
    for status, created in [
        ("pending", old),
        ("rejected", old),
        ("approved", old),
        ("pending", recent),
    ]:
        session.add(
            NluExample(
                text=f"{status} 老板不给工资",
                intent="wage_arrears",
                source="citizen_choice",
                status=status,
                created_by="citizen",
                created_at=created,
            )
        )
    session.commit()
    planned = run_retention(session, POLICY, NOW, dry_run=True)
    session.rollback()
    assert planned.learned_examples == 2 and session.scalar(select(func.count(NluExample.id))) == 4
    done = run_retention(session, POLICY, NOW)
    session.commit()
    assert done.learned_examples == 2
    kept = {(e.status, e.created_at) for e in session.scalars(select(NluExample))}
    assert kept == {("approved", old), ("pending", recent)}
    assert run_retention(session, POLICY, NOW).learned_examples == 0


def test_the_daily_pass_reads_only_tickets_that_crossed_the_age_or_changed_lately(session: Session) -> None:
    seeded = seed(session)  # two finished tickets created and last changed 400 days ago, never masked
    session.commit()
    daily = run_retention(session, POLICY, NOW)  # as the scheduler runs it
    assert daily.tickets_masked == 0  # they crossed the age long ago: an earlier (full) pass had them
    a_old = seeded.tickets["a_old"]
    a_old.updated_at = NOW - dt.timedelta(days=2)  # e.g. closed again two days ago
    session.commit()
    assert run_retention(session, POLICY, NOW).tickets_masked == 1
    session.commit()
    assert PERSONAL["a"][1] not in (session.get_one(Ticket, a_old.id).description or "")
    # A ticket that passes the age today is read without having changed.
    b_old = seeded.tickets["b_old"]
    crossed = NOW - dt.timedelta(days=POLICY.message_retention_days + 1)
    b_old.created_at, b_old.updated_at = crossed, crossed
    session.commit()
    assert run_retention(session, POLICY, NOW).tickets_masked == 1
    session.commit()
    assert PERSONAL["b"][1] not in (session.get_one(Ticket, b_old.id).description or "")
    # By hand (full): nothing left.
    assert run_retention(session, POLICY, NOW, full=True).tickets_masked == 0
