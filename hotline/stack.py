"""Process supervisor: start the action server, the dialog engine and the gateway, in that order.

Each component is started, then waited for until it answers its readiness probe (action server
`/health`, engine `/status` with a loaded model). A component that dies or never becomes ready stops
the whole stack with the tail of its log, so a failed start is never silent. Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from hotline.settings import PROJECT_ROOT, ConfigError, Settings, load_settings

RASA_BIN = Path(os.environ.get("RASA_BIN", PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"))
CURRENT_MODEL = PROJECT_ROOT / "models" / "current.tar.gz"


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


@dataclass
class Component:
    name: str
    label: str  # Chinese, shown while starting
    argv: list[str]
    ready_url: str | None
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    ready_check: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=PROJECT_ROOT,
                env={**os.environ, **self.env},
                start_new_session=True,  # Ctrl-C is handled here, children are stopped together
                preexec_fn=_die_with_parent,
            )

    def wait_ready(self, timeout: float) -> float:
        assert self.process is not None and self.ready_url is not None
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise StartError(f"{self.label} 启动失败 (exit {self.process.returncode})", self)
            try:
                if self.ready_check(httpx.get(self.ready_url, timeout=2)):
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise StartError(f"{self.label} 在 {timeout:.0f} 秒内没有就绪", self)

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)

    def wait_or_kill(self, deadline: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def _model_loaded(response: httpx.Response) -> bool:
    return response.status_code == 200 and bool(response.json().get("model_file"))


def engine_endpoints_file(directory: Path, action_port: int) -> Path:
    """endpoints.yml for this run: the engine must call the action server on the port we started."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"endpoints-{action_port}.yml"
    path.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n', encoding="utf-8")
    return path


def build_components(
    settings: Settings,
    *,
    model: Path,
    rasa_port: int,
    action_port: int,
    log_dir: Path,
    endpoints: Path | None = None,
) -> list[Component]:
    """The action server and the engine. `endpoints` replaces the generated engine endpoints file (e.g.
    `config/endpoints.distributed.yml`: shared tracker and lock stores); its `${ACTION_SERVER_URL}` defaults
    to the action server started here unless the environment already names one (a load balancer)."""
    env = {"ACTION_SERVER_PORT": str(action_port), "PYTHONUNBUFFERED": "1"}
    engine_env: dict[str, str] = {}
    if endpoints is None:
        endpoints = engine_endpoints_file(log_dir, action_port)
    elif not os.environ.get("ACTION_SERVER_URL"):
        engine_env["ACTION_SERVER_URL"] = f"http://127.0.0.1:{action_port}/webhook"
    return [
        Component(
            name="actions",
            label="动作服务器 (action server)",
            argv=[sys.executable, "-m", "actions", "--port", str(action_port)],
            ready_url=f"http://127.0.0.1:{action_port}/health",
            log_path=log_dir / "actions.out",
            env=env,
        ),
        Component(
            name="engine",
            label="对话引擎 (Rasa)",
            argv=[
                str(RASA_BIN),
                "run",
                "--enable-api",
                "--model",
                str(model),
                "--port",
                str(rasa_port),
                "--interface",
                "127.0.0.1",
                "--endpoints",
                str(endpoints),
                "--credentials",
                str(PROJECT_ROOT / "credentials.yml"),
            ],
            ready_url=f"http://127.0.0.1:{rasa_port}/status",
            log_path=log_dir / "rasa.out",
            env=engine_env,
            ready_check=_model_loaded,
        ),
    ]


def start_background(
    *, rasa_port: int, action_port: int, env: dict[str, str], log: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """Engine + action server under this supervisor in the background (tests, benchmarks)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hotline.stack",
            "--no-gateway",
            "--rasa-port",
            str(rasa_port),
            "--action-port",
            str(action_port),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT if log is not None else None,
        start_new_session=True,
    )


def wait_engine_ready(rasa_url: str, process: subprocess.Popen[bytes], timeout: float = 300) -> float:
    """Seconds until the engine serves a loaded model; StartError if the stack exits or times out."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise StartError(f"stack exited {process.returncode}")
        try:
            if _model_loaded(httpx.get(f"{rasa_url}/status", timeout=2)):
                return time.monotonic() - started
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    raise StartError(f"engine not ready in {timeout:.0f} s")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hotline.stack",
        description="一条命令启动整个系统：动作服务器、对话引擎、网关（控制台或 Telegram）。"
        " Starts action server, Rasa engine and gateway; Ctrl-C stops all.",
    )
    parser.add_argument("--model", type=Path, default=CURRENT_MODEL, help="trained Rasa model (.tar.gz)")
    parser.add_argument("--rasa-port", type=int, default=5005)
    parser.add_argument("--action-port", type=int, default=None, help="default: config action_server_port")
    parser.add_argument(
        "--no-gateway", action="store_true", help="只启动引擎和动作服务器（测试、网关另行启动时用）"
    )
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for each component")
    parser.add_argument(
        "--endpoints",
        type=Path,
        default=None,
        help="引擎的 endpoints 文件（多副本部署：config/endpoints.distributed.yml，见 README）;"
        " default: generated, in-memory tracker store",
    )
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except ConfigError as exc:
        say(str(exc))
        return 2
    if not args.model.exists():
        say(f"找不到模型 {args.model}：请先运行 `make train`。")
        return 2
    if not RASA_BIN.exists():
        say(f"找不到对话引擎 {RASA_BIN}：请先运行 `make setup`。")
        return 2
    if args.endpoints is not None and not args.endpoints.exists():
        say(f"找不到 endpoints 文件 {args.endpoints}")
        return 2

    from hotline.db.migrate import upgrade

    say("· 数据库迁移 (database upgrade)…")
    upgrade(settings.database_url)

    action_port = args.action_port or settings.action_server_port
    log_dir = PROJECT_ROOT / settings.log_dir
    components = build_components(
        settings,
        model=args.model,
        rasa_port=args.rasa_port,
        action_port=action_port,
        log_dir=log_dir,
        endpoints=args.endpoints.resolve() if args.endpoints else None,
    )
    gateway_env = {**os.environ, "RASA_URL": f"http://127.0.0.1:{args.rasa_port}"}
    started: list[Component] = []
    try:
        for component in components:
            say(f"· 启动{component.label}… (log: {component.log_path})")
            component.start()
            started.append(component)
        for component in components:
            seconds = component.wait_ready(args.timeout)
            say(f"  ✓ {component.label} 就绪 ({seconds:.1f} s)")
        if args.no_gateway:
            say("引擎和动作服务器已就绪。按 Ctrl-C 停止。")
            while all(c.process and c.process.poll() is None for c in started):
                time.sleep(1)
            failed = next(c for c in started if c.process and c.process.poll() is not None)
            raise StartError(f"{failed.label} 意外退出", failed)
        say("· 启动网关 (gateway)…")
        gateway = subprocess.Popen([sys.executable, "-m", "bot"], cwd=PROJECT_ROOT, env=gateway_env)
        return gateway.wait()
    except StartError as exc:
        say(f"✗ {exc}")
        if exc.component is not None:
            c = exc.component
            say(f"--- {c.label} 日志末尾 ({c.log_path}) ---\n{c.log_tail()}")
        return 1
    except KeyboardInterrupt:
        say("\n正在停止…")
        return 0
    finally:
        stop_all(started)


def stop_all(components: list[Component], grace: float = 10.0) -> None:
    """SIGTERM everything at once, then wait; SIGKILL what is still alive after `grace` seconds."""
    for component in components:
        component.terminate()
    deadline = time.monotonic() + grace
    for component in components:
        component.wait_or_kill(deadline)


if __name__ == "__main__":
    sys.exit(run())
