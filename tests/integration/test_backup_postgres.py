"""Backup and restore on a real PostgreSQL server (pg_dump -Fc / pg_restore), through the CLI.

A throwaway cluster from tests/integration/services.py; skipped (failed in CI) without the server binaries.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline.cli import main
from hotline.db import backup as bk
from hotline.db.migrate import upgrade
from hotline.db.models import Ticket
from hotline.db.session import get_engine, session_scope
from hotline.settings import PROJECT_ROOT
from hotline.tickets.service import NewTicket, create_ticket
from tests.integration.services import Postgres, missing_binaries

pytestmark = pytest.mark.integration

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    missing = missing_binaries()
    if any(m.startswith("postgresql") or "postgres" in m for m in missing):
        reason = f"needs {', '.join(missing)}: run `bash scripts/services.sh`"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    pg = Postgres()
    url = ""
    try:
        pg.start()
        url = pg.create_database("hotline")
        upgrade(url)
        yield url
    finally:
        if url:
            get_engine(url).dispose()
        pg.stop()


def add_ticket(url: str, description: str) -> None:
    with session_scope(url) as session:
        create_ticket(session, NewTicket(category="wage_arrears", description=description), prefix="滁")


def descriptions(url: str) -> list[str]:
    with session_scope(url) as session:
        return list(session.scalars(select(Ticket.description).order_by(Ticket.id)))


def test_pg_backup_change_restore(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("HOTLINE_CONFIG", str(PROJECT_ROOT / "config" / "hotline.yaml"))
    monkeypatch.setenv("HOTLINE_BACKUP__DIR", str(tmp_path))
    add_ticket(pg_url, "拖欠三个月工资")

    assert main(["db", "backup"]) == 0
    out = capsys.readouterr().out
    assert "pg_dump" in out and "已校验：PostgreSQL" in out
    (dump,) = bk.backups_in(tmp_path)
    assert dump.suffix == ".pgdump" and "hotline-test-pw" not in out
    verified = bk.verify(dump)
    assert verified.kind == "postgresql" and verified.revision  # read from the archive itself

    add_ticket(pg_url, "备份之后")
    with session_scope(pg_url) as session:
        session.scalars(select(Ticket)).first().description = "改过"  # type: ignore[union-attr]
    get_engine(pg_url).dispose()  # pg_restore --clean drops tables: no idle connection of ours holds them

    assert main(["db", "restore", str(dump), "--yes"]) == 0
    assert "恢复完成" in capsys.readouterr().out
    assert descriptions(pg_url) == ["拖欠三个月工资"]
    add_ticket(pg_url, "恢复后")  # sequences restored too: a new row gets a fresh id
    assert descriptions(pg_url) == ["拖欠三个月工资", "恢复后"]


def test_pg_restore_refuses_a_sqlite_backup(pg_url: str, tmp_path: Path, db_url: str) -> None:
    sqlite_backup = bk.backup(db_url, tmp_path, now=dt.datetime(2026, 12, 6)).path
    with pytest.raises(bk.BackupError, match="不能跨类型恢复"):
        bk.restore(pg_url, sqlite_backup)
