"""A dead component does not stay dead, and neither does the conversation (issue 14).

A stack of its own (`python -m stack --no-gateway`, real engine and action server, SQLite tracker store as
in `make run`): `kill -9` the engine, then the action server, in the middle of an intake form. The
supervisor restarts each; the citizen's next answer continues the form where it stopped and the intake
ends in exactly one ticket. Figures (time until the engine serves again) print with `pytest -s`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stack.background import start_background, wait_engine_ready
from stack.components import CURRENT_MODEL, RASA_BIN, StartError
from tests.integration.conftest import Stack, free_port, stack_environment
from tests.integration.services import children_of
from tests.integration.test_dialog import SUMMARY, WAGE_ANSWERS, Chat

pytestmark = pytest.mark.integration

RESTART_TIMEOUT = 600.0  # the engine loads its model again, on 2 cores shared with other test runs


class Supervised:
    """The stack process, its output, and how to find and kill one of its components."""

    def __init__(self, stack: Stack, proc: subprocess.Popen[bytes], out: Path) -> None:
        self.stack, self.proc, self.out = stack, proc, out

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def component_pid(self, marker: str) -> int:
        for pid in children_of(self.proc.pid):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            if marker in cmdline:
                return pid
        raise AssertionError(f"no component {marker!r} under the stack:\n{self.output()}")

    def wait_for_output(self, text: str, count: int) -> None:
        deadline = time.monotonic() + RESTART_TIMEOUT
        while self.output().count(text) < count:
            assert self.proc.poll() is None, f"the stack exited {self.proc.returncode}:\n{self.output()}"
            assert time.monotonic() < deadline, f"no {text!r} in time:\n{self.output()}"
            time.sleep(0.2)

    def engine_ready(self) -> bool:
        token = self.stack.env["RASA_AUTH_TOKEN"]
        try:
            status = httpx.get(f"{self.stack.rasa_url}/status", params={"token": token}, timeout=2)
            return status.status_code == 200 and bool(status.json().get("model_file"))
        except (httpx.HTTPError, ValueError):
            return False


@pytest.fixture(scope="module")
def supervised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Supervised]:
    if not CURRENT_MODEL.exists() or not RASA_BIN.exists():
        pytest.fail("no trained model or engine venv: run `make test` (it sets up and trains first)")
    tmp = tmp_path_factory.mktemp("hardening")
    db_url, env = stack_environment(tmp, "app.db")
    rasa_port, action_port = free_port(), free_port()
    out_path = tmp / "stack.out"
    with out_path.open("wb") as out:
        proc = start_background(
            rasa_port=rasa_port,
            action_port=action_port,
            env=env,
            log=out,
            extra_args=["--timeout", str(RESTART_TIMEOUT)],  # also the supervisor's wait after a restart
        )
    rasa_url = f"http://127.0.0.1:{rasa_port}"
    try:
        try:
            wait_engine_ready(rasa_url, proc, timeout=RESTART_TIMEOUT, token=env["RASA_AUTH_TOKEN"])
        except StartError as exc:
            pytest.fail(f"{exc}:\n{out_path.read_text()[-3000:]}")
        stack = Stack(rasa_url, f"http://127.0.0.1:{action_port}", action_port, db_url, env)
        yield Supervised(stack, proc, out_path)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


async def test_engine_killed_mid_form_is_restarted_and_the_form_continues(supervised: Supervised) -> None:
    chat = Chat(supervised.stack)
    assert "欠薪" in await chat.say("老板拖欠我三个月工资"), chat.log
    await chat.click(WAGE_ANSWERS["哪个县"])
    assert "农民工吗" in chat.text, chat.log  # in the middle of the intake form

    engine = supervised.component_pid("rasa run")
    killed_at = time.monotonic()
    os.kill(engine, signal.SIGKILL)
    supervised.wait_for_output("对话引擎 (Rasa) 意外退出 (exit -9)", 1)
    supervised.wait_for_output("对话引擎 (Rasa) 重新就绪", 1)
    assert supervised.engine_ready()
    print(f"\nengine serving again {time.monotonic() - killed_at:.1f} s after kill -9")
    assert supervised.component_pid("rasa run") != engine

    await chat.answer(WAGE_ANSWERS)  # the next answer continues the form: nothing asked twice, no "没太明白"
    assert "是否是农民工：是" in chat.text and "定远县" in chat.text, chat.log
    assert "没太明白" not in chat.log, chat.log
    reply = await chat.click("对，提交")
    (ticket,) = chat.tickets(supervised.stack.db_url)
    assert ticket.number in reply and ticket.county_code == "341125" and ticket.migrant_worker


async def test_action_server_killed_mid_form_is_restarted(supervised: Supervised) -> None:
    chat = Chat(supervised.stack)
    await chat.say("老板拖欠我三个月工资")
    await chat.click(WAGE_ANSWERS["哪个县"])
    assert "农民工吗" in chat.text, chat.log

    actions = supervised.component_pid("-m actions")
    killed_at = time.monotonic()
    os.kill(actions, signal.SIGKILL)
    supervised.wait_for_output("动作服务器 (action server) 重新就绪", 1)
    print(f"\naction server serving again {time.monotonic() - killed_at:.1f} s after kill -9")

    await chat.answer(WAGE_ANSWERS, until=SUMMARY)
    reply = await chat.click("对，提交")
    (ticket,) = chat.tickets(supervised.stack.db_url)
    assert ticket.number in reply
    assert supervised.proc.poll() is None  # the stack kept running throughout
