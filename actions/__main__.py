"""Run the action server: `python -m actions [--port N] [--host H]` (see `actions.server`)."""

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
    parser.add_argument(
        "--host", default=os.environ.get("ACTION_SERVER_HOST") or "127.0.0.1", help="$ACTION_SERVER_HOST"
    )
    args = parser.parse_args(argv)
    token = os.environ.get("ACTION_SERVER_TOKEN") or None

    from actions.server import create_action_app, exposure_error, serve

    if (refusal := exposure_error(args.host, token)) is not None:
        print(refusal, file=sys.stderr)
        return 2
    ready_database(settings)
    setup_logging("actions", settings.log_dir, files=settings.logging)
    from actions.probes import add_probe_routes

    app = add_probe_routes(create_action_app(token), settings.database_url)  # /metrics /readyz /healthz
    serve(app, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
