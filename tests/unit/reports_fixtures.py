"""Shared fixtures for the SLA/report/scheduler/follow-up/import/CLI tests (import them explicitly)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from hotline.db.models import Base
from hotline.settings import Settings, load_settings


def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hotline.db'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = create_engine(db_url)
    event.listen(eng, "connect", _pragmas)
    Base.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with sessionmaker(engine, expire_on_commit=False)() as s:
        yield s


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    env = {"DATABASE_URL": db_url, "HOTLINE_LOG_DIR": str(tmp_path / "log")}
    return load_settings(environ=env)


def utc(local: str) -> dt.datetime:
    """'2026-09-30 10:00' in Asia/Shanghai → naive UTC."""
    return dt.datetime.fromisoformat(local) - dt.timedelta(hours=8)
