"""`/metrics`, `/readyz` and `/healthz` on the action server's Sanic app (hotline.observability).

rasa-sdk's own `/health` only says the process answers; `/readyz` also checks the application database,
without which every action that opens or reads a ticket fails. The checks run in a thread: a slow
database must not stall the server's event loop, which the engine's webhook calls share.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json, raw

from hotline import observability


def add_probe_routes(app: Sanic[Any, Any], database_url: str) -> Sanic[Any, Any]:
    """Register the three routes on `app` and return it."""
    checks = {"database": observability.database_check(database_url)}

    async def metrics(_request: Request) -> HTTPResponse:
        body, content_type = observability.metrics_payload()
        return raw(body, content_type=content_type)

    async def readyz(_request: Request) -> HTTPResponse:
        status, body = await asyncio.to_thread(observability.readiness_body, checks)
        return raw(body, status=status, content_type="application/json; charset=utf-8")

    async def healthz(_request: Request) -> HTTPResponse:
        return json({"status": "ok"})

    app.add_route(metrics, "/metrics", methods=["GET"], name="hotline_metrics")
    app.add_route(readyz, "/readyz", methods=["GET"], name="hotline_readyz")
    app.add_route(healthz, "/healthz", methods=["GET"], name="hotline_healthz")
    return app
