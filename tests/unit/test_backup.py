"""Database backup, verification, restore and rotation (SQLite here; PostgreSQL in
tests/integration/test_backup_postgres.py), through the CLI and the scheduled job."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hotline.cli import main
from hotline.db import backup as bk
from hotline.db.models import Ticket
from hotline.db.session import session_scope
from hotline.scheduler import jobs
from hotline.scheduler.runtime import Runtime, install
from hotline.scheduler.service import job_specs
from hotline.settings import PROJECT_ROOT, Settings, load_settings
from hotline.tickets.service import NewTicket, create_ticket

NOW = dt.datetime(2026, 12, 6, 2, 30, 0)


def add_ticket(db_url: str, description: str) -> str:
    with session_scope(db_url) as session:
        ticket, _ = create_ticket(
            session, NewTicket(category="wage_arrears", description=description), prefix="滁"
        )
        return ticket.number


def descriptions(db_url: str) -> list[str]:
    with session_scope(db_url) as session:
        return list(session.scalars(select(Ticket.description).order_by(Ticket.id)))


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    backups = tmp_path / "backups"
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_CONFIG", str(PROJECT_ROOT / "config" / "hotline.yaml"))
    monkeypatch.setenv("HOTLINE_BACKUP__DIR", str(backups))
    return backups


def test_backup_change_restore_brings_the_data_back(db_url: str, tmp_path: Path) -> None:
    add_ticket(db_url, "拖欠三个月工资")
    result = bk.backup(db_url, tmp_path / "b", now=NOW)
    assert result.path.name == "hotline-20261206-023000.sqlite3"
    assert result.verified.kind == "sqlite" and result.verified.tickets == 1
    assert result.verified.revision  # the Alembic head of the copied database

    add_ticket(db_url, "后来的工单")
    with session_scope(db_url) as session:
        session.scalars(select(Ticket)).first().description = "改过的描述"  # type: ignore[union-attr]
    assert descriptions(db_url) == ["改过的描述", "后来的工单"]

    restored = bk.restore(db_url, result.path)
    assert restored.tickets == 1
    assert descriptions(db_url) == ["拖欠三个月工资"]
    add_ticket(db_url, "恢复后新建")  # the restored database is writable through the app's own engine
    assert len(descriptions(db_url)) == 2


def test_backup_is_consistent_while_a_connection_holds_the_database_open(db_url: str, tmp_path: Path) -> None:
    add_ticket(db_url, "一")
    with session_scope(db_url) as session:  # an open session of another "process" with uncommitted work
        session.add(Ticket(number="滁-20261206-9999", category="x", description="未提交"))
        session.flush()
        result = bk.backup(db_url, tmp_path, now=NOW)
        session.rollback()
    assert result.verified.tickets == 1


def test_backup_finishes_while_another_process_keeps_writing(db_url: str, tmp_path: Path) -> None:
    """A second connection commits in a loop (the bot at a busy hour): the copy still completes, and holds
    a consistent count of what was committed before it began or during it."""
    import sqlite3
    import threading

    path = db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE load (id INTEGER PRIMARY KEY, body TEXT)")
        conn.executemany("INSERT INTO load(body) VALUES (?)", [("x" * 2000,)] * 5000)  # ~10 MB
    stop = threading.Event()
    written = 0

    def writer() -> None:
        nonlocal written
        conn = sqlite3.connect(path, timeout=30)
        while not stop.is_set():
            conn.execute("INSERT INTO load(body) VALUES ('y')")
            conn.commit()
            written += 1
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while written < 5:
            stop.wait(0.01)
        result = bk.backup(db_url, tmp_path, now=NOW)
    finally:
        stop.set()
        thread.join()
    with sqlite3.connect(result.path) as copy:
        rows = copy.execute("SELECT count(*) FROM load").fetchone()[0]
    assert 5000 + 5 <= rows <= 5000 + written


def test_two_backups_in_one_second_get_distinct_names(db_url: str, tmp_path: Path) -> None:
    first = bk.backup(db_url, tmp_path, now=NOW).path
    second = bk.backup(db_url, tmp_path, now=NOW).path
    assert (first.name, second.name) == (
        "hotline-20261206-023000.sqlite3",
        "hotline-20261206-023000-2.sqlite3",
    )
    assert not list(tmp_path.glob(".*.part"))  # no temporary file left behind


def test_verify_refuses_what_is_not_one_of_our_backups(tmp_path: Path, db_url: str) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(bk.BackupError, match="不是本系统的备份文件"):
        bk.verify(text)
    with pytest.raises(bk.BackupError, match="不存在"):
        bk.verify(tmp_path / "missing.sqlite3")
    other = tmp_path / "other.sqlite3"
    import sqlite3

    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(bk.BackupError, match="缺少 alembic_version"):
        bk.verify(other)
    good = bk.backup(db_url, tmp_path / "b", now=NOW).path
    truncated = tmp_path / "truncated.sqlite3"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(bk.BackupError):
        bk.verify(truncated)


def test_restore_refuses_a_bad_file_and_leaves_the_database_alone(db_url: str, tmp_path: Path) -> None:
    add_ticket(db_url, "原有")
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    with pytest.raises(bk.BackupError):
        bk.restore(db_url, bad)
    assert descriptions(db_url) == ["原有"]


def test_rotation_keeps_the_last_n_days_and_only_our_files(tmp_path: Path) -> None:
    names = [
        "hotline-20261201-023000.sqlite3",
        "hotline-20261202-023000.sqlite3",
        "hotline-20261203-023000.sqlite3",
        "hotline-20261203-140000.sqlite3",  # a manual backup on a kept day stays
        "hotline-20261205-023000.pgdump",  # (no backup on the 4th: days with backups count)
    ]
    for name in [*names, "notes.txt", "hotline-latest.sqlite3"]:
        (tmp_path / name).write_bytes(b"x")
    removed = bk.rotate(tmp_path, 3)
    assert sorted(p.name for p in removed) == names[:1]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*names[1:], "notes.txt", "hotline-latest.sqlite3"]
    )
    assert bk.rotate(tmp_path, 1) == [tmp_path / n for n in names[1:4]]
    assert bk.rotate(tmp_path, 1) == []


def test_backup_rotates_after_writing(db_url: str, tmp_path: Path) -> None:
    for day in range(1, 6):
        result = bk.backup(db_url, tmp_path, now=NOW.replace(day=day), keep_daily=2)
    assert [p.name for p in bk.backups_in(tmp_path)] == [
        "hotline-20261204-023000.sqlite3",
        "hotline-20261205-023000.sqlite3",
    ]
    assert result.removed == [tmp_path / "hotline-20261203-023000.sqlite3"]


def test_missing_pg_tools_are_named_in_chinese(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(bk.BackupError, match=r"backup\.pg_bin_dir"):
        bk.find_pg_tool("pg_dump", str(tmp_path))
    monkeypatch.setattr("hotline.db.backup.glob.glob", lambda _pattern: [])
    monkeypatch.setattr("hotline.db.backup.shutil.which", lambda _name: None)
    with pytest.raises(bk.BackupError, match="找不到 pg_dump：请安装 PostgreSQL 客户端"):
        bk.backup("postgresql://u:p@127.0.0.1:1/db", tmp_path, now=NOW)
    assert not list(tmp_path.iterdir())


def test_cli_backup_then_restore_needs_yes(
    cli_env: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    add_ticket(db_url, "备份前")
    assert main(["db", "backup"]) == 0
    out = capsys.readouterr().out
    assert "备份完成" in out and "已校验：SQLite 备份" in out and "工单 1 件" in out
    (backup,) = bk.backups_in(cli_env)

    add_ticket(db_url, "备份后")
    assert main(["db", "restore", str(backup)]) == 1
    captured = capsys.readouterr()
    assert "备份文件校验通过" in captured.out and "--yes" in captured.err
    assert descriptions(db_url) == ["备份前", "备份后"]  # nothing changed without --yes

    assert main(["db", "restore", str(backup), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "恢复前已备份当前数据库" in out and "恢复完成" in out
    assert descriptions(db_url) == ["备份前"]
    assert backup.exists() and len(bk.backups_in(cli_env)) == 2  # the pre-restore copy, nothing rotated


def test_cli_errors_are_chinese(cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "restore", str(tmp_path / "nope.sqlite3"), "--yes"]) == 1
    assert "备份文件不存在" in capsys.readouterr().err
    assert main(["db", "backup", "--to", str(tmp_path / "elsewhere")]) == 0
    assert bk.backups_in(tmp_path / "elsewhere")


def test_scheduled_backup_job(settings: Settings, tmp_path: Path, db_url: str) -> None:
    configured = load_settings(
        PROJECT_ROOT / "config" / "hotline.yaml",
        environ={
            "DATABASE_URL": db_url,
            "HOTLINE_BACKUP__DIR": str(tmp_path),
            "HOTLINE_BACKUP__KEEP_DAILY": "3",
        },
    )
    rt = Runtime(configured, notifier=None)  # type: ignore[arg-type]  # the backup job sends nothing
    (spec,) = [s for s in job_specs(rt) if s.id == "backup"]
    assert spec.func == "hotline.scheduler.jobs:daily_backup"
    assert "hour='2'" in str(spec.trigger) and "minute='30'" in str(spec.trigger)
    install(rt)
    path = Path(jobs.daily_backup())
    assert path.parent == tmp_path and bk.verify(path).kind == "sqlite"

    off = load_settings(
        PROJECT_ROOT / "config" / "hotline.yaml",
        environ={"DATABASE_URL": db_url, "HOTLINE_BACKUP__SCHEDULED": "false"},
    )
    assert "backup" not in {s.id for s in job_specs(Runtime(off, notifier=None))}  # type: ignore[arg-type]
    install(Runtime(off, notifier=None))  # type: ignore[arg-type]
    assert jobs.daily_backup() == "disabled"


def test_backup_counts_in_the_database(db_url: str, tmp_path: Path) -> None:
    for n in range(3):
        add_ticket(db_url, f"工单{n}")
    path = bk.backup(db_url, tmp_path, now=NOW).path
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    bk.restore(copy, path)  # restoring into a database file that did not exist yet
    with session_scope(copy) as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 3
