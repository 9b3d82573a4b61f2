"""What the Telegram benchmarks share: the real stack on free ports and the production transport on loopback.

`running_stack` starts `python -m stack --no-gateway` (the trained engine and the action server) with a
throwaway SQLite database and tracker store, and names its processes (for RSS and CPU figures);
`telegram_gateway` runs the production Telegram transport
(python-telegram-bot long-polling the local Bot API server of tests/fakes/bot_api_server.py) in its own
thread and event loop, talking REST to that engine.
"""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from bot.engine import RasaRestEngine
from bot.gateway import Gateway
from bot.transports.telegram import TelegramTransport
from hotline.db.migrate import upgrade
from hotline.settings import PROJECT_ROOT, load_settings
from stack.background import start_background, wait_engine_ready, with_run_secrets
from tests.fakes.bot_api_server import FakeBotApi
from tests.fakes.polling_thread import polling_in_thread
from tests.integration.services import children_of, free_port

TOKEN = "4242:bench"


class RunningStack(NamedTuple):
    rasa_url: str
    token: str  # the engine's auth token
    db_url: str
    pids: dict[str, int]  # "stack supervisor", "engine (rasa)", "action server" -> pid


def stack_pids(stack_pid: int, rasa_port: int, action_port: int) -> dict[str, int]:
    """The stack supervisor and the engine and action server it started, found by their ports."""
    pids = {"stack supervisor": stack_pid}
    for pid in children_of(stack_pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if " run " in cmdline and f"--port {rasa_port}" in cmdline:
            pids["engine (rasa)"] = pid
        elif "-m actions" in cmdline and f"--port {action_port}" in cmdline:
            pids["action server"] = pid
    return pids


@contextmanager
def running_stack(prefix: str) -> Iterator[RunningStack]:
    """The engine URL, its auth token, the database URL and the processes of a stack started here;
    stopped on exit."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    db_url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(db_url)
    rasa_port, action_port = free_port(), free_port()
    env = with_run_secrets(
        {
            **os.environ,
            "DATABASE_URL": db_url,
            "HOTLINE_LOG_DIR": str(tmp / "log"),
            "RASA_TRACKER_DB": str(tmp / "rasa_tracker.db"),
        }
    )
    env.pop("TELEGRAM_BOT_TOKEN", None)
    rasa_url = f"http://127.0.0.1:{rasa_port}"
    with (tmp / "stack.out").open("wb") as log:
        proc = start_background(rasa_port=rasa_port, action_port=action_port, env=env, log=log)
        try:
            print(f"starting the stack (log {log.name})…", flush=True)
            ready = wait_engine_ready(rasa_url, proc, 900, env["RASA_AUTH_TOKEN"])
            print(f"engine ready in {ready:.0f} s", flush=True)
            pids = stack_pids(proc.pid, rasa_port, action_port)
            yield RunningStack(rasa_url, env["RASA_AUTH_TOKEN"], db_url, pids)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
                proc.wait(60)


@contextmanager
def telegram_gateway(rasa_url: str, token: str, db_url: str) -> Iterator[FakeBotApi]:
    """The production Telegram transport polling a local Bot API server, in its own thread and loop."""
    base = load_settings(PROJECT_ROOT / "config" / "hotline.yaml", environ={"DATABASE_URL": db_url})
    with FakeBotApi(token=TOKEN) as api:
        telegram = base.telegram.model_copy(update={"base_url": api.base_url, "operators_chat_id": None})
        settings = base.model_copy(
            update={"transport": "telegram", "telegram_bot_token": TOKEN, "telegram": telegram}
        )
        engine = RasaRestEngine(rasa_url, api_token=token, timeout=60.0)
        app = TelegramTransport(Gateway(engine, db_url), settings).application
        with polling_in_thread(app):
            yield api
