"""The action server as we run it: rasa-sdk's app, closed to everyone but our engine.

The engine posts a whole conversation (sender id, slots) to `/webhook` and the actions answer with that
citizen's tickets, so a forged request could read another citizen's ticket or silence the bot for them.
Hence: loopback by default (`ACTION_SERVER_HOST`), a shared secret (`ACTION_SERVER_TOKEN`, sent by the
engine as `Authorization: Bearer …`, see endpoints.yml) required on every webhook request whenever it is
configured, and refusing to listen elsewhere without one. An error answers a bare 500: rasa-sdk's own
handler would echo the exception text and the posted conversation back.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic
from sanic.exceptions import SanicException
from sanic.handlers import ErrorHandler
from sanic.request import Request
from sanic.response import HTTPResponse, json

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
PROTECTED_PATHS = frozenset({"/webhook"})  # /health and /actions (names only) stay open for probes
KEEP_ALIVE_SECONDS = 120  # rasa-sdk's default: the engine reuses its connection


def exposure_error(host: str, token: str | None) -> str | None:
    """Why the server must not start on `host`, or None. Off loopback only with a shared secret."""
    if host in LOOPBACK_HOSTS or host.startswith("127.") or token:
        return None
    return (
        f"动作服务器不能在 {host} 上无认证监听：请设置 ACTION_SERVER_TOKEN（引擎以 Bearer 头发送）。"
        f" Refusing to listen on {host} without ACTION_SERVER_TOKEN."
    )


def bearer_matches(header: str | None, token: str) -> bool:
    scheme, _, value = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


class NoLeakErrorHandler(ErrorHandler):
    """HTTP errors keep their status and short message; anything else is logged here (PII masked by
    the log formatter) and answered with a bare 500, never the traceback or the posted tracker."""

    def response(self, request: Request, exception: BaseException) -> HTTPResponse:
        if isinstance(exception, SanicException):
            return json({"error": str(exception) or "error"}, status=exception.status_code)
        log.error("action server error on %s", getattr(request, "path", "?"), exc_info=exception)
        return json({"error": "internal error"}, status=500)


# What rasa-sdk and our actions read from a webhook call, by path, with the JSON types allowed there (None:
# absent or null). Anything else is the sender's error: 400 with the path, never a 500 (fuzz finding: a
# list body, a string tracker, a number for latest_message… each raised inside rasa-sdk).
_SHAPE: tuple[tuple[tuple[str, ...], tuple[type, ...]], ...] = (
    (("next_action",), (str,)),
    (("sender_id",), (str,)),
    (("version",), (str,)),
    (("domain",), (dict,)),
    (("tracker",), (dict,)),
    (("tracker", "sender_id"), (str,)),
    (("tracker", "slots"), (dict,)),
    (("tracker", "latest_message"), (dict,)),
    (("tracker", "latest_message", "text"), (str,)),
    (("tracker", "latest_message", "intent"), (dict,)),
    (("tracker", "latest_message", "entities"), (list,)),
    (("tracker", "latest_message", "intent_ranking"), (list,)),
    (("tracker", "events"), (list,)),
    (("tracker", "paused"), (bool,)),
    (("tracker", "followup_action"), (str,)),
    (("tracker", "active_loop"), (dict,)),
    (("tracker", "latest_action_name"), (str,)),
)
# Slot values: every slot is `type: any` in domain.yml, but our actions only ever set JSON scalars, except
# the intake's per-question miss counts, a new problem waiting for the switch choice and the knowledge-base
# entry just answered (objects). A list or object elsewhere is not from our engine.
OBJECT_SLOTS = frozenset({"failures", "pending_topic", "faq_entry"})
_SCALARS = (str, int, float, bool)
_LISTS_OF_OBJECTS = (
    ("tracker", "events"),
    ("tracker", "latest_message", "entities"),
    ("tracker", "latest_message", "intent_ranking"),
)


def malformed_call(call: Any) -> str | None:
    """Why a webhook body is not an action call rasa-sdk can run (the first wrong path), or None."""
    if not isinstance(call, dict):
        return "request body must be a JSON object"
    values: dict[tuple[str, ...], Any] = {}
    for path, types in _SHAPE:
        parent = values.get(path[:-1], call) if len(path) > 1 else call
        value = parent.get(path[-1]) if isinstance(parent, dict) else None
        if value is not None and not isinstance(value, types):
            return f"{'.'.join(path)} must be a {types[0].__name__}"
        values[path] = value
    if call.get("next_action") is not None and not isinstance(call.get("tracker"), dict):  # "" included
        return "tracker is required"
    if isinstance(call.get("tracker"), dict) and not isinstance(call["tracker"].get("sender_id"), str):
        return "tracker.sender_id is required"
    for path in _LISTS_OF_OBJECTS:
        if not all(isinstance(item, dict) for item in values.get(path) or ()):
            return f"{'.'.join(path)} must be a list of objects"
    for name, value in (values.get(("tracker", "slots")) or {}).items():
        allowed = (dict,) if name in OBJECT_SLOTS else _SCALARS
        if value is not None and not isinstance(value, allowed):
            return f"tracker.slots.{name} must be {'an object' if name in OBJECT_SLOTS else 'a scalar'}"
    return None


def create_action_app(token: str | None, package: str = "actions") -> Sanic[Any, Any]:
    """rasa-sdk's Sanic app for `package`, with the bearer check and the error handler above."""
    executor = ActionExecutor()
    executor.register_package(package)
    app: Sanic[Any, Any] = create_app(executor, cors_origins=None)
    app.error_handler = NoLeakErrorHandler()
    app.config.KEEP_ALIVE_TIMEOUT = KEEP_ALIVE_SECONDS

    async def require_token(request: Request) -> HTTPResponse | None:
        if token is None or request.path not in PROTECTED_PATHS:
            return None
        if bearer_matches(request.headers.get("authorization"), token):
            return None
        log.warning("refused a webhook request without the shared secret from %s", request.ip)
        return json({"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})

    async def require_action_call(request: Request) -> HTTPResponse | None:
        if request.path not in PROTECTED_PATHS or request.method != "POST":
            return None
        if request.headers.get("Content-Encoding") == "deflate":
            return None  # rasa-sdk decompresses it itself; the engine does not compress
        reason = malformed_call(request.json)
        if reason is None:
            return None
        log.warning("refused a malformed webhook request: %s", reason)
        return json({"error": reason}, status=400)

    app.register_middleware(require_token, "request")
    app.register_middleware(require_action_call, "request")
    return app


def serve(app: Sanic[Any, Any], host: str, port: int, **options: Any) -> None:
    """One process (no Sanic worker manager), so the supervisor's signals reach the server itself."""
    app.run(host=host, port=port, single_process=True, motd=False, access_log=False, **options)
