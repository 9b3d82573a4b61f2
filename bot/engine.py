"""Client for the dialog engine's REST channel (`/webhooks/rest/webhook`)."""

from __future__ import annotations

from typing import Any, Protocol

import httpx


class EngineUnavailable(Exception):
    """The engine could not be reached or answered with an error; the message must be retried."""


class DialogEngine(Protocol):
    async def send(self, sender: str, text: str) -> list[dict[str, Any]]: ...


class RasaRestEngine:
    def __init__(self, base_url: str, timeout: float = 15.0, token: str | None = None) -> None:
        self._url = base_url.rstrip("/") + "/webhooks/rest/webhook"
        self._client = httpx.AsyncClient(timeout=timeout)
        # `?token=` for the engine's HTTP API (`rasa run --auth-token`, RASA_AUTH_TOKEN), e.g. a tracker
        # lookup. Not sent to the REST channel, which ignores it: error texts quote the URL into logs.
        self.api_params: dict[str, str] = {"token": token} if token else {}

    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        try:
            response = await self._client.post(self._url, json={"sender": sender, "message": text})
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise EngineUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(data, list):
            raise EngineUnavailable(f"unexpected engine answer: {type(data).__name__}")
        return data

    async def aclose(self) -> None:
        await self._client.aclose()
