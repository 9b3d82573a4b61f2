"""Run the action server: `python -m actions [--port N]` (rasa-sdk's app, plus our probe routes)."""

from __future__ import annotations

import argparse
import os
import sys

from hotline.logging_setup import setup_logging
from hotline.runtime import ready_database
from hotline.settings import ConfigError, get_settings


def main(argv: list[str] | None = None) -> int:
    try:
        settings = get_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="python -m actions", description=__doc__)
    parser.add_argument("--port", type=int, default=settings.action_server_port)
    args = parser.parse_args(argv)
    ready_database(settings)
    setup_logging("actions", settings.log_dir)
    from rasa_sdk.endpoint import create_app
    from rasa_sdk.executor import ActionExecutor

    from actions.probes import add_probe_routes

    # Built here rather than by rasa-sdk's entry point, whose worker manager rebuilds the app in a child
    # process where routes added to it would be lost; one process, so the supervisor's signals reach it.
    executor = ActionExecutor()
    executor.register_package("actions")
    app = add_probe_routes(create_app(executor, cors_origins=None), settings.database_url)
    host = os.environ.get("SANIC_HOST", "0.0.0.0")  # rasa-sdk's own default
    app.run(host=host, port=args.port, single_process=True, motd=False, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
