"""Run the action server: `python -m actions [--port N]` (wraps rasa-sdk's own entry point)."""

from __future__ import annotations

import sys

from hotline.logging_setup import setup_logging
from hotline.runtime import ready_database
from hotline.settings import ConfigError, get_settings


def main() -> int:
    try:
        settings = get_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    ready_database(settings)
    from rasa_sdk.__main__ import main as sdk_main

    port = str(settings.action_server_port)
    args = sys.argv[1:]
    sys.argv = [
        "rasa_sdk",
        "--actions",
        "actions",
        *(["--port", port] if "--port" not in args else []),
        *args,
    ]
    setup_logging("actions", settings.log_dir)
    sdk_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
