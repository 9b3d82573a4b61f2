"""Shared fixtures: a fresh migrated SQLite database per test and settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.db.migrate import upgrade
from hotline.settings import PROJECT_ROOT, Settings, load_settings


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'test.db'}"
    upgrade(url)
    return url


@pytest.fixture
def settings(db_url: str) -> Settings:
    return load_settings(PROJECT_ROOT / "config" / "hotline.yaml", environ={"DATABASE_URL": db_url})


@pytest.fixture
def session(db_url: str) -> Iterator[object]:
    from hotline.db.session import get_sessionmaker

    with get_sessionmaker(db_url)() as s:
        yield s
