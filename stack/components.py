"""The supervised processes: how each is started, probed for readiness, stopped, and its log read.

A component runs in its own session (so Ctrl-C reaches only the supervisor, which stops everything in
order) and gets SIGTERM if the supervisor itself dies, so no engine is ever left running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from hotline.logging_setup import DEFAULT_FILES, rotate_if_large
from hotline.settings import PROJECT_ROOT, LoggingSettings

RASA_BIN = Path(os.environ.get("RASA_BIN", PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"))
CURRENT_MODEL = PROJECT_ROOT / "models" / "current.tar.gz"
# The engine's default endpoints: action server (URL + bearer token) and the SQLite tracker store.
DEFAULT_ENDPOINTS = PROJECT_ROOT / "endpoints.yml"
DEFAULT_TRACKER_DB = PROJECT_ROOT / "var" / "rasa_tracker.db"


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the supervisor dies, so no engine is left running (Linux only)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class StartError(Exception):
    def __init__(self, message: str, component: Component | None = None) -> None:
        super().__init__(message)
        self.component = component


def _ok(response: httpx.Response) -> bool:
    return response.status_code == 200


@dataclass
class Component:
    """One child process. `log_path=None` means it shares the terminal (the console gateway)."""

    name: str
    label: str  # Chinese, shown while starting
    argv: list[str]
    ready_url: str | None
    log_path: Path | None
    env: dict[str, str] = field(default_factory=dict)
    ready_check: Callable[[httpx.Response], bool] = _ok
    # How the output file is rotated, at each start (settings.logging).
    log_files: LoggingSettings = DEFAULT_FILES
    # A clean exit (code 0) of this component ends the whole stack: the console user typed /quit.
    exit_ends_stack: bool = False
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        own_terminal = self.log_path is None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            rotate_if_large(self.log_path, self.log_files)
        with contextlib.ExitStack() as files:  # the child keeps its own copy of the descriptor
            log = None if self.log_path is None else files.enter_context(self.log_path.open("ab"))
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT if log is not None else None,
                stdin=None if own_terminal else subprocess.DEVNULL,
                cwd=PROJECT_ROOT,
                env={**os.environ, **self.env},
                # Ctrl-C is handled by the supervisor, which stops the services together; a terminal
                # program (the console) stays in the terminal's process group to read its keys.
                start_new_session=not own_terminal,
                preexec_fn=_die_with_parent,
            )

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def exit_code(self) -> int | None:
        """None while running (or never started); the exit code once it has ended."""
        return None if self.process is None else self.process.poll()

    def probe(self) -> bool:
        """One readiness probe. A component without a probe is ready once started."""
        if self.ready_url is None:
            return True
        try:
            return self.ready_check(httpx.get(self.ready_url, timeout=2))
        except (httpx.HTTPError, ValueError):
            return False

    def wait_ready(self, timeout: float) -> float:
        assert self.process is not None
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise StartError(f"{self.label} 启动失败 (exit {self.process.returncode})", self)
            if self.probe():
                return time.monotonic() - started
            time.sleep(0.3)
        raise StartError(f"{self.label} 在 {timeout:.0f} 秒内没有就绪", self)

    def _signal_group(self, sig: signal.Signals) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self.log_path is None:  # shares the terminal's group: signal the process only
                self.process.send_signal(sig)
            else:
                os.killpg(self.process.pid, sig)

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self._signal_group(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL the component and whatever it left in its session (e.g. after it died itself)."""
        self._signal_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait()

    def wait_or_kill(self, deadline: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None:
            return "(output went to the terminal)"
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def model_loaded(response: httpx.Response) -> bool:
    return response.status_code == 200 and bool(response.json().get("model_file"))


@dataclass(frozen=True)
class Secrets:
    """Per-run shared secrets: the engine's HTTP API token and the action server's bearer token."""

    rasa_auth_token: str
    action_server_token: str

    @classmethod
    def for_run(cls, environ: Mapping[str, str]) -> Secrets:
        """The environment's values when set (tests, a deployment's secret store); random otherwise."""
        import secrets

        return cls(
            rasa_auth_token=environ.get("RASA_AUTH_TOKEN") or secrets.token_urlsafe(32),
            action_server_token=environ.get("ACTION_SERVER_TOKEN") or secrets.token_urlsafe(32),
        )


def build_components(
    *,
    model: Path,
    rasa_port: int,
    action_port: int,
    log_dir: Path,
    secrets: Secrets,
    endpoints: Path = DEFAULT_ENDPOINTS,
    log_files: LoggingSettings = DEFAULT_FILES,
) -> list[Component]:
    """The action server and the engine. The endpoints file (default `endpoints.yml`; for several
    machines `config/endpoints.distributed.yml`) reads `${ACTION_SERVER_URL}`, `${ACTION_SERVER_TOKEN}`
    and, for the default SQLite tracker store, `${RASA_TRACKER_DB}`: the action server started here and
    `var/rasa_tracker.db` unless the environment already names them (a load balancer, another file)."""
    action_env = {
        "ACTION_SERVER_PORT": str(action_port),
        "ACTION_SERVER_TOKEN": secrets.action_server_token,
        "PYTHONUNBUFFERED": "1",
    }
    engine_env = {
        "ACTION_SERVER_URL": os.environ.get("ACTION_SERVER_URL") or f"http://127.0.0.1:{action_port}/webhook",
        "ACTION_SERVER_TOKEN": secrets.action_server_token,
        "RASA_TRACKER_DB": os.environ.get("RASA_TRACKER_DB") or str(DEFAULT_TRACKER_DB),
    }
    Path(engine_env["RASA_TRACKER_DB"]).parent.mkdir(parents=True, exist_ok=True)
    return [
        Component(
            name="actions",
            label="动作服务器 (action server)",
            argv=[sys.executable, "-m", "actions", "--port", str(action_port)],
            ready_url=f"http://127.0.0.1:{action_port}/health",
            log_path=log_dir / "actions.out",
            log_files=log_files,
            env=action_env,
        ),
        Component(
            name="engine",
            label="对话引擎 (Rasa)",
            argv=[
                str(RASA_BIN),
                "run",
                "--enable-api",
                # One argument with "=": a token starting with "-" (token_urlsafe draws one in 64) would
                # otherwise be read by rasa's argparse as an option, and the engine would not start.
                f"--auth-token={secrets.rasa_auth_token}",
                "--model",
                str(model),
                "--port",
                str(rasa_port),
                "--interface",
                # Loopback unless RASA_INTERFACE says otherwise (gateways on other machines); the HTTP API
                # always needs the auth token, and the action server refuses to leave loopback without one.
                os.environ.get("RASA_INTERFACE") or "127.0.0.1",
                "--endpoints",
                str(endpoints),
                "--credentials",
                str(PROJECT_ROOT / "credentials.yml"),
            ],
            ready_url=f"http://127.0.0.1:{rasa_port}/status?token={secrets.rasa_auth_token}",
            log_path=log_dir / "rasa.out",
            log_files=log_files,
            env=engine_env,
            ready_check=model_loaded,
        ),
    ]


def gateway_component(*, rasa_port: int, secrets: Secrets) -> Component:
    """The gateway in this terminal (console chat, or Telegram polling with its output here)."""
    return Component(
        name="gateway",
        label="网关 (gateway)",
        argv=[sys.executable, "-m", "bot"],
        ready_url=None,
        log_path=None,
        env={"RASA_URL": f"http://127.0.0.1:{rasa_port}", "RASA_AUTH_TOKEN": secrets.rasa_auth_token},
        exit_ends_stack=True,
    )
