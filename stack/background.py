"""The engine + action server under the supervisor in the background, for tests and benchmarks."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import IO

import httpx

from hotline.settings import PROJECT_ROOT
from stack.components import Secrets, StartError, model_loaded


def with_run_secrets(env: dict[str, str]) -> dict[str, str]:
    """`env` plus the per-run tokens (drawn now unless already set), so the caller can use them too."""
    secrets = Secrets.for_run(env)
    return {
        **env,
        "RASA_AUTH_TOKEN": secrets.rasa_auth_token,
        "ACTION_SERVER_TOKEN": secrets.action_server_token,
    }


def start_background(
    *,
    rasa_port: int,
    action_port: int,
    env: dict[str, str],
    log: IO[bytes] | None = None,
    extra_args: list[str] | None = None,
) -> subprocess.Popen[bytes]:
    """`python -m stack --no-gateway` on the given ports. Pass `with_run_secrets(env)` to know the
    per-run tokens; otherwise the stack draws its own and the engine's HTTP API (`/status`,
    `/conversations/...`) is closed to the caller."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stack",
            "--no-gateway",
            "--rasa-port",
            str(rasa_port),
            "--action-port",
            str(action_port),
            *(extra_args or []),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT if log is not None else None,
        start_new_session=True,
    )


def wait_engine_ready(
    rasa_url: str, process: subprocess.Popen[bytes], timeout: float = 300, token: str | None = None
) -> float:
    """Seconds until the engine serves a loaded model; StartError if the stack exits or times out."""
    started = time.monotonic()
    params = {"token": token} if token else {}
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise StartError(f"stack exited {process.returncode}")
        try:
            if model_loaded(httpx.get(f"{rasa_url}/status", params=params, timeout=2)):
                return time.monotonic() - started
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    raise StartError(f"engine not ready in {timeout:.0f} s")
