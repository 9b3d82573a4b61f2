"""The supervisor restarts a component that dies, with backoff, and gives up on one that keeps dying.

Fake components are real child processes (a tiny HTTP server, a script that crashes), so the restart
path is the one `python -m stack` takes with the engine."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from stack.background import with_run_secrets
from stack.components import Component, Secrets, StartError, build_components
from stack.supervisor import RestartPolicy, Supervisor

FAST = RestartPolicy(first_delay=0.05, max_delay=0.1, max_failures=3, window=60, ready_timeout=30)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_server(tmp_path: Path) -> Component:
    port = _free_port()
    return Component(
        name="fake",
        label="假组件 (fake)",
        argv=[sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        ready_url=f"http://127.0.0.1:{port}/",
        log_path=tmp_path / "fake.out",
    )


CRASHER = """
import pathlib, sys, time
started, go = pathlib.Path(sys.argv[1] + ".started"), pathlib.Path(sys.argv[1] + ".go")
if not started.exists():  # the first run stays up until the test says go, so its start succeeds
    started.touch()
    while not go.exists():
        time.sleep(0.01)
print("fake component: cannot open its database", flush=True)
sys.exit(3)
"""


def crasher(tmp_path: Path) -> Component:
    """Starts fine, dies once `crash(tmp_path)` is called, and dies right away on every restart."""
    return Component(
        name="crasher",
        label="总崩溃的组件 (crasher)",
        argv=[sys.executable, "-c", CRASHER, str(tmp_path / "crasher")],
        ready_url=None,
        log_path=tmp_path / "crasher.out",
    )


def crash(tmp_path: Path) -> None:
    (tmp_path / "crasher.go").touch()


def wait_until(condition: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not callable(condition) or not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_backoff_doubles_from_one_second_to_thirty() -> None:
    policy = RestartPolicy()
    assert [policy.delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_a_killed_component_is_restarted_and_ready_again(tmp_path: Path) -> None:
    said: list[str] = []
    supervisor = Supervisor(FAST, say=said.append)
    fake = http_server(tmp_path)
    stop = threading.Event()
    try:
        supervisor.start([fake], timeout=30)
        first_pid = fake.pid
        assert first_pid is not None
        runner = threading.Thread(target=supervisor.run, kwargs={"stop": stop, "interval": 0.05})
        runner.start()
        os.kill(first_pid, signal.SIGKILL)
        wait_until(lambda: any("重新就绪" in line for line in said), f"not ready again: {said}")
        assert fake.pid != first_pid and fake.exit_code() is None and fake.probe()
        assert supervisor.restarts("fake") == 1
        assert any("意外退出 (exit -9)" in line and "秒后重启" in line for line in said), said
    finally:
        stop.set()
        supervisor.stop_all(grace=5)
    assert fake.exit_code() is not None  # stopped with the stack


def test_gives_up_after_repeated_failures_with_the_log_tail(tmp_path: Path) -> None:
    said: list[str] = []
    supervisor = Supervisor(FAST, say=said.append)
    component = crasher(tmp_path)
    try:
        supervisor.start([component], timeout=30)
        crash(tmp_path)
        assert supervisor.run(interval=0.02) == 1
    finally:
        supervisor.stop_all(grace=5)
    assert supervisor.restarts("crasher") == FAST.max_failures - 1
    assert "放弃并停止全部组件" in said[-2] and "第 3 次失败" in said[-2]
    assert "cannot open its database" in said[-1]  # the log tail explains why


def test_other_components_are_stopped_when_the_supervisor_gives_up(tmp_path: Path) -> None:
    supervisor = Supervisor(FAST, say=lambda _: None)
    healthy, broken = http_server(tmp_path), crasher(tmp_path)
    try:
        supervisor.start([healthy, broken], timeout=30)
        crash(tmp_path)
        assert supervisor.run(interval=0.02) == 1
    finally:
        supervisor.stop_all(grace=5)
    assert healthy.exit_code() is not None


def test_a_failed_first_start_is_not_retried(tmp_path: Path) -> None:
    supervisor = Supervisor(FAST, say=lambda _: None)
    component = crasher(tmp_path)
    component.ready_url = f"http://127.0.0.1:{_free_port()}/"  # never answers
    crash(tmp_path)
    with pytest.raises(StartError, match="启动失败"):
        supervisor.start([component], timeout=30)
    supervisor.stop_all(grace=5)


def test_a_clean_exit_of_the_console_ends_the_stack(tmp_path: Path) -> None:
    supervisor = Supervisor(FAST, say=lambda _: None)
    console = Component("gateway", "网关", [sys.executable, "-c", "pass"], None, None, exit_ends_stack=True)
    supervisor.start([console], timeout=30)
    assert supervisor.run(interval=0.02) == 0
    assert supervisor.restarts("gateway") == 0


def test_each_run_gets_its_own_secrets_for_engine_and_action_server(tmp_path: Path) -> None:
    one, two = Secrets.for_run({}), Secrets.for_run({})
    assert one.rasa_auth_token != two.rasa_auth_token and len(one.action_server_token) >= 32
    assert Secrets.for_run({"RASA_AUTH_TOKEN": "given"}).rasa_auth_token == "given"
    env = with_run_secrets({"PATH": "/bin"})
    assert env["RASA_AUTH_TOKEN"] and env["ACTION_SERVER_TOKEN"] and env["PATH"] == "/bin"

    actions, engine = build_components(
        model=tmp_path / "model.tar.gz",
        rasa_port=5005,
        action_port=5055,
        log_dir=tmp_path,
        secrets=one,
    )
    assert actions.env["ACTION_SERVER_TOKEN"] == engine.env["ACTION_SERVER_TOKEN"] == one.action_server_token
    assert f"--auth-token={one.rasa_auth_token}" in engine.argv
    assert engine.argv[engine.argv.index("--interface") + 1] == "127.0.0.1"
    assert engine.env["RASA_TRACKER_DB"].endswith("rasa_tracker.db")


def test_an_engine_token_starting_with_a_dash_reaches_rasa_intact(tmp_path: Path) -> None:
    """token_urlsafe draws a leading "-" once in 64 runs; `rasa run` (argparse) then refused to start."""
    import argparse

    token = "-Yq3x_token-from-the-secret-store"
    _, engine = build_components(
        model=tmp_path / "model.tar.gz",
        rasa_port=5005,
        action_port=5055,
        log_dir=tmp_path,
        secrets=Secrets(rasa_auth_token=token, action_server_token="a" * 32),
    )
    rasa_like = argparse.ArgumentParser(exit_on_error=False)
    rasa_like.add_argument("-t", "--auth-token")
    known, _ = rasa_like.parse_known_args([a for a in engine.argv[2:] if a.startswith("--auth-token")])
    assert known.auth_token == token
    with pytest.raises((argparse.ArgumentError, SystemExit)):  # the old two-argument form
        rasa_like.parse_known_args(["--auth-token", token])
