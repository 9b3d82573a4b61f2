"""Starts the real stack once per test session: the trained Rasa engine and the real action server.

Uses `python -m stack --no-gateway` (the same supervisor as `make run`) on free ports with a
throwaway SQLite database, so the test exercises the production start-up path too.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hotline.db.migrate import upgrade
from stack.background import start_background, wait_engine_ready, with_run_secrets
from stack.components import CURRENT_MODEL, RASA_BIN, StartError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Stack:
    rasa_url: str
    action_url: str
    action_port: int
    db_url: str
    env: dict[str, str]


def stack_environment(tmp: Path, db_name: str) -> tuple[str, dict[str, str]]:
    """A migrated SQLite app database in `tmp` and the environment a stack on it runs with: logs and the
    engine's tracker store in `tmp`, fresh run secrets, console mode (no Telegram token)."""
    db_url = f"sqlite:///{tmp / db_name}"
    upgrade(db_url)
    env = with_run_secrets(
        {
            **os.environ,
            "DATABASE_URL": db_url,
            "HOTLINE_LOG_DIR": str(tmp / "log"),
            "RASA_TRACKER_DB": str(tmp / "rasa_tracker.db"),
        }
    )
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return db_url, env


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not CURRENT_MODEL.exists() or not RASA_BIN.exists():
        pytest.fail("no trained model or engine venv: run `make test` (it sets up and trains first)")
    tmp = tmp_path_factory.mktemp("stack")
    db_url, env = stack_environment(tmp, "stack.db")
    rasa_port, action_port = free_port(), free_port()
    log = (tmp / "stack.out").open("wb")
    proc = start_background(rasa_port=rasa_port, action_port=action_port, env=env, log=log)
    rasa_url = f"http://127.0.0.1:{rasa_port}"
    try:
        try:
            wait_engine_ready(rasa_url, proc, timeout=300, token=env["RASA_AUTH_TOKEN"])
        except StartError as exc:
            pytest.fail(f"{exc}:\n{Path(log.name).read_text()[-3000:]}")
        yield Stack(rasa_url, f"http://127.0.0.1:{action_port}", action_port, db_url, env)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
