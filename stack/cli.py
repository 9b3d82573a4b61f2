"""`python -m stack`: start the action server, the dialog engine and the gateway, in that order.

Each component is started, then waited for until it answers its readiness probe (action server
`/health`, engine `/status` with a loaded model), with what is starting and how long it took on the
terminal. Afterwards the supervisor restarts a component that dies (backoff, logged in `stack.log` and
shown) and gives up after too many failures. Ctrl-C (or SIGTERM) stops everything.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from hotline.logging_setup import setup_logging
from hotline.settings import PROJECT_ROOT, ConfigError, load_settings
from stack.components import (
    CURRENT_MODEL,
    DEFAULT_ENDPOINTS,
    RASA_BIN,
    Secrets,
    StartError,
    build_components,
    gateway_component,
)
from stack.supervisor import RestartPolicy, Supervisor, report_start_failure

log = logging.getLogger("stack")


def say(text: str) -> None:
    """Shown on the terminal and kept in the stack's log file."""
    print(text, file=sys.stderr, flush=True)
    log.info(text)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    defaults = RestartPolicy()
    parser = argparse.ArgumentParser(
        prog="python -m stack",
        description="一条命令启动整个系统：动作服务器、对话引擎、网关（控制台或 Telegram）。"
        " Starts action server, Rasa engine and gateway, restarts what dies; Ctrl-C stops all.",
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
        default=DEFAULT_ENDPOINTS,
        help="引擎的 endpoints 文件（多副本部署：config/endpoints.distributed.yml，见 README）;"
        " default: endpoints.yml (SQLite tracker store in $RASA_TRACKER_DB, default var/rasa_tracker.db)",
    )
    parser.add_argument(
        "--max-failures",
        type=int,
        default=defaults.max_failures,
        help="give up (stop everything, exit 1) when one component failed this often within the window",
    )
    parser.add_argument("--failure-window", type=float, default=defaults.window, help="seconds")
    return parser.parse_args(argv)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    needed = (
        (args.model, "模型", "：请先运行 `make train`。"),
        (RASA_BIN, "对话引擎", "：请先运行 `make setup`。"),
        (args.endpoints, "endpoints 文件", ""),
    )
    for path, what, hint in needed:
        if not path.exists():
            print(f"找不到{what} {path}{hint}", file=sys.stderr)
            return 2

    log_dir = PROJECT_ROOT / settings.log_dir
    setup_logging("stack", log_dir, files=settings.logging)
    logging.getLogger().handlers[:] = [  # the terminal gets `say`, the file everything
        h for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler)
    ]
    from hotline.db.migrate import upgrade

    say("· 数据库迁移 (database upgrade)…")
    upgrade(settings.database_url)

    secrets = Secrets.for_run(os.environ)
    components = build_components(
        model=args.model,
        rasa_port=args.rasa_port,
        action_port=args.action_port or settings.action_server_port,
        log_dir=log_dir,
        secrets=secrets,
        endpoints=args.endpoints.resolve(),
        log_files=settings.logging,
    )
    policy = RestartPolicy(
        max_failures=args.max_failures, window=args.failure_window, ready_timeout=args.timeout
    )
    supervisor = Supervisor(policy, say=say)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored (`&`)
    try:
        supervisor.start(components, args.timeout)
        if args.no_gateway:
            say("引擎和动作服务器已就绪。按 Ctrl-C 停止。")
        else:
            supervisor.start([gateway_component(rasa_port=args.rasa_port, secrets=secrets)], args.timeout)
        return supervisor.run()
    except StartError as exc:
        report_start_failure(supervisor, exc)
        return 1
    except KeyboardInterrupt:
        say("\n正在停止…")
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        supervisor.stop_all()
