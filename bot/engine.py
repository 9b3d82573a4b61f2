"""Client for the dialog engine's REST channel (`/webhooks/rest/webhook`) and its tracker API.

A request that timed out may have been processed all the same: the engine got the turn and only the answer
was lost. Sending it again would make the engine see the citizen say the same thing twice (a form slot
answered twice, a ticket question skipped). So a failure says whether the engine may have seen the turn,
and before such a turn is resent the gateway asks the engine's tracker (`GET /conversations/{id}/tracker`,
available with `--enable-api`) whether it already was, and takes the answer from there.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

import httpx


class EngineUnavailable(Exception):
    """The engine could not be reached or answered with an error; the message must be retried.

    `maybe_processed` is False only when the request certainly never reached the engine (connection
    refused): then a plain resend is safe. Otherwise the tracker is checked first.
    """

    def __init__(self, message: str, *, maybe_processed: bool = True) -> None:
        super().__init__(message)
        self.maybe_processed = maybe_processed


class DialogEngine(Protocol):
    async def send(self, sender: str, text: str) -> list[dict[str, Any]]: ...


@runtime_checkable
class TurnLookup(Protocol):
    """An engine that can say whether it already processed a turn (see `turn_answer`)."""

    async def turn_answer(
        self, sender: str, text: str, since: dt.datetime, after: dt.datetime | None = None
    ) -> list[dict[str, Any]] | None: ...


# Clocks of gateway and engine (same host or LAN) may differ a little; a turn seen this much before the
# gateway's dispatch time still counts as the dispatched one.
CLOCK_SLACK = dt.timedelta(seconds=2)


class TurnInProgress(EngineUnavailable):
    """The tracker has the turn but the engine has not finished answering it; look again later."""


def answer_from_tracker(
    events: list[dict[str, Any]], text: str, since: dt.datetime, after: dt.datetime | None = None
) -> list[dict[str, Any]] | None:
    """The engine's answer to `text` if its last user turn is that text, sent at or after `since` (the
    gateway's dispatch time, less CLOCK_SLACK) and after `after` (when the citizen's previous turn was
    answered: so the same words said twice in a row are not taken for each other).

    Turns of one citizen reach the engine strictly one at a time, so if the engine saw the dispatched turn
    it is the last user event. Returns the bot messages in REST channel form, None when the turn is not
    there (resend it); raises TurnInProgress when the engine is still working on it.
    """
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=None)
    if last_user is None:
        return None
    event = events[last_user]
    stamp = event.get("timestamp")
    if event.get("text") != text or not isinstance(stamp, int | float):
        return None
    seen_at = dt.datetime.fromtimestamp(stamp, dt.UTC).replace(tzinfo=None)
    if seen_at < since - CLOCK_SLACK or (after is not None and seen_at <= after):
        return None
    later = events[last_user + 1 :]
    done = any(e.get("event") == "action" and e.get("name") == "action_listen" for e in later)
    if not done:
        raise TurnInProgress("the engine is still answering this turn")
    answer: list[dict[str, Any]] = []
    for e in later:
        if e.get("event") == "bot":
            data = e.get("data") or {}
            message = {"text": e.get("text"), "buttons": data.get("buttons") or []}
            if data.get("custom"):  # e.g. an appointment offer (bot/appointments.py)
                message["custom"] = data["custom"]
            answer.append(message)
    return answer


class RasaRestEngine:
    def __init__(self, base_url: str, timeout: float = 15.0, api_token: str | None = None) -> None:
        """`api_token`: the engine's `--auth-token`, needed for the tracker API when it is set."""
        self._base = base_url.rstrip("/")
        self._url = self._base + "/webhooks/rest/webhook"
        self._client = httpx.AsyncClient(timeout=timeout)
        self._token = api_token

    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        try:
            response = await self._client.post(self._url, json={"sender": sender, "message": text})
            response.raise_for_status()
            data = response.json()
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # never reached the engine
            raise EngineUnavailable(f"{type(exc).__name__}: {exc}", maybe_processed=False) from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise EngineUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(data, list):
            raise EngineUnavailable(f"unexpected engine answer: {type(data).__name__}")
        return data

    async def turn_answer(
        self, sender: str, text: str, since: dt.datetime, after: dt.datetime | None = None
    ) -> list[dict[str, Any]] | None:
        """See `answer_from_tracker`. None also when the tracker API is off (404) or refuses us (401/403):
        then the gateway can only resend."""
        params = {"token": self._token} if self._token else None
        url = f"{self._base}/conversations/{quote(sender, safe='')}/tracker"
        try:
            response = await self._client.get(url, params=params)
        except httpx.HTTPError as exc:  # not `exc` itself: its text quotes the URL, token included
            raise EngineUnavailable(f"tracker: {type(exc).__name__}") from exc
        if response.status_code in (401, 403, 404, 405):
            return None
        try:
            response.raise_for_status()
            events = response.json().get("events") or []
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            raise EngineUnavailable(f"tracker: {type(exc).__name__} ({response.status_code})") from exc
        return answer_from_tracker(events, text, since, after)

    async def aclose(self) -> None:
        await self._client.aclose()
