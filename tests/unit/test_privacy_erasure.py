"""Erasure on request (PIPL Art 47): one citizen's personal data removed, the other's and the counts kept."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.cli import main
from hotline.db.models import Citizen, MessageLog, MessageState, Ticket, TicketEvent
from hotline.privacy.erasure import ERASED_EVENT, ErasureRefused, erase_citizen
from hotline.settings import PROJECT_ROOT, Settings
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


def _a_values() -> tuple[str, ...]:
    phone, id_no, name, file_id = PERSONAL["a"]
    return phone, id_no, name, file_id, "AgACkeptDoc", "欠条.pdf", "telegram:1001"


def test_erase_removes_one_citizen_and_nothing_of_the_other(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    seeded = seed(session)
    trackers = tracker_store(tmp_path / "t.db", {"telegram:1001": RECENT, "telegram:2002": RECENT})
    b_before = {v: dump(session).count(v) for v in PERSONAL["b"]}
    before = figures(session, settings)

    result = erase_citizen(session, "telegram:1001", seeded.admin, NOW, trackers=trackers)
    session.commit()

    everything = dump(session)
    for value in _a_values():
        assert value not in everything, value
    # Citizen b: every personal value exactly as often as before.
    assert {v: everything.count(v) for v in PERSONAL["b"]} == b_before
    assert tracker_senders(trackers) == {"telegram:2002": 3}
    assert result.tracker_events == 3
    assert sorted(result.tickets) == sorted([seeded.tickets["a_old"].number, seeded.tickets["a_open"].number])
    assert result.messages == 6 and result.attachments == 2
    # Reports: identical figures (a's tickets still counted with category, county, dates, scores).
    assert figures(session, settings) == before
    a = session.get(Citizen, seeded.citizens["a"].id)
    assert a is not None and a.external_id == f"erased-{a.id}" and a.display_name is None
    old = session.get(Ticket, seeded.tickets["a_old"].id)
    assert old is not None
    assert (old.category, old.county_code, old.migrant_worker, old.facts) == (
        "wage_arrears",
        "341102",
        True,
        {"fallbacks": 1},
    )
    # A queued message is never sent on after erasure.
    states = {m.state for m in session.scalars(select(MessageLog).where(MessageLog.citizen_id == a.id))}
    assert MessageState.RETRY not in states
    # Audit: one event per ticket naming the admin, carrying only counts.
    audits = session.scalars(select(TicketEvent).where(TicketEvent.kind == ERASED_EVENT)).all()
    assert {e.ticket_id for e in audits} == {seeded.tickets["a_old"].id, seeded.tickets["a_open"].id}
    assert all(e.actor == f"operator:{seeded.admin.id}" for e in audits)
    assert audits[0].data == {"messages": 6, "attachments": 2, "tickets": 2, "tracker_events": 3}
    # The same person writing again is a new citizen, unrelated to the erased row.
    assert session.scalar(select(Citizen).where(Citizen.external_id == "1001")) is None


def test_erase_by_ticket_number(session: Session) -> None:
    seeded = seed(session)
    result = erase_citizen(session, seeded.tickets["b_old"].number, seeded.admin, NOW)
    session.commit()
    assert result.citizen_id == seeded.citizens["b"].id and result.tracker_events is None
    everything = dump(session)
    assert all(value not in everything for value in PERSONAL["b"])
    assert PERSONAL["a"][1] in everything


def test_non_admin_refused_and_nothing_written(session: Session) -> None:
    seeded = seed(session)
    before = dump(session)
    with pytest.raises(ErasureRefused, match="不是管理员"):
        erase_citizen(session, "telegram:1001", seeded.operator, NOW)
    with pytest.raises(ErasureRefused, match="找不到在岗"):
        erase_citizen(session, "telegram:1001", None, NOW)
    seeded.admin.active = False
    with pytest.raises(ErasureRefused, match="找不到在岗"):
        erase_citizen(session, "telegram:1001", seeded.admin, NOW)
    session.rollback()
    assert dump(session) == before
    with pytest.raises(ErasureRefused, match="找不到市民或工单"):
        erase_citizen(session, "telegram:999", seeded.admin, NOW)


def test_dry_run_writes_nothing(session: Session, tmp_path: Path) -> None:
    seeded = seed(session)
    trackers = tracker_store(tmp_path / "t.db", {"telegram:1001": RECENT})
    before = dump(session)
    planned = erase_citizen(session, "telegram:1001", seeded.admin, NOW, dry_run=True, trackers=trackers)
    session.commit()
    assert dump(session) == before
    assert tracker_senders(trackers) == {"telegram:1001": 3}
    done = erase_citizen(session, "telegram:1001", seeded.admin, NOW, trackers=trackers)
    assert planned == done


def test_cli_erase(
    db_url: str,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_CONFIG", str(PROJECT_ROOT / "config" / "hotline.yaml"))
    trackers = tracker_store(tmp_path / "t.db", {"telegram:1001": RECENT, "telegram:2002": RECENT})
    monkeypatch.setenv("RASA_TRACKER_DB", str(tmp_path / "t.db"))
    seeded = seed(session)
    admin, operator = seeded.admin.id, seeded.operator.id
    before = dump(session)

    assert main(["privacy", "erase", "--citizen", "telegram:1001", "--as-operator", str(operator)]) == 1
    assert "不是管理员" in capsys.readouterr().err
    argv = ["privacy", "erase", "--citizen", "telegram:1001", "--as-operator", str(admin)]
    assert main([*argv, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "试运行（未写入）" in out and "消息记录 6 条" in out and "对话引擎记录：3 条" in out
    assert dump(session) == before and tracker_senders(trackers)["telegram:1001"] == 3

    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "已删除该市民的个人信息" in out
    assert PERSONAL["a"][0] not in out  # the erased data is never printed
    assert all(value not in dump(session) for value in _a_values())
    assert tracker_senders(trackers) == {"telegram:2002": 3}
    assert main(argv) == 1  # the citizen no longer exists under that id
    assert "找不到市民或工单" in capsys.readouterr().err


def test_help_is_bilingual(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("erase", "retention"):
        with pytest.raises(SystemExit):
            main(["privacy", command, "--help"])
        out = capsys.readouterr().out
        assert "--dry-run" in out and "只统计" in out and "count only" in out


def test_erasing_twice_is_harmless(session: Session) -> None:
    seeded = seed(session)
    number = seeded.tickets["a_old"].number
    erase_citizen(session, number, seeded.admin, NOW)
    session.commit()
    again = erase_citizen(session, number, seeded.admin, NOW + dt.timedelta(minutes=1))
    session.commit()
    assert again.citizen_id == seeded.citizens["a"].id
    audits = session.scalars(select(TicketEvent).where(TicketEvent.kind == ERASED_EVENT)).all()
    assert len(audits) == 4  # audited each time, on both tickets
