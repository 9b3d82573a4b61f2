"""Fuzz: the action server's /webhook, a real `python -m actions` on loopback with its token (issue 14).

Random JSON (wrong types, missing keys, huge strings, nested junk, unknown action names, forged sender ids,
random slot values) posted to /webhook: never a 500, never a traceback, never a hang; a 4xx or a
well-formed answer; the process stays up. Without the token, whatever the body: 401.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from actions.server import malformed_call
from tests.unit.test_action_server_auth import TOKEN, VICTIM, Server, server, status_request

__all__ = ["server"]  # the module-scoped fixture: one real action server for this file

AUTH = {"Authorization": f"Bearer {TOKEN}"}
TIMEOUT = 20.0  # a hang fails the example (httpx raises), it is not a timing assertion
SLOT_NAMES = [
    "county",
    "category",
    "ticket_number",
    "urgent",
    "requested_slot",
    "monthly_income",
    "disabled",
    "complaint_detail",
    "fallback_stage",
    "confirmed",
    "awaiting_change",
    "failures",
    "rating",
    "x",
]
ACTIONS = [  # domain.yml's custom actions, and two it does not have
    "action_start_intake",
    "validate_intake_form",
    "action_ask_confirmed",
    "action_explain_why",
    "action_cancel_intake",
    "action_contact",
    "action_check_eligibility",
    "action_create_ticket",
    "action_request_human",
    "action_fallback",
    "action_reset_misses",
    "action_ask_rephrase",
    "action_ticket_status",
    "validate_rating_form",
    "action_record_rating",
    "action_start_complaint",
    "validate_complaint_form",
    "action_file_complaint",
    "action_listen",
    "nope",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["\x00", "\ud800", "\u202e", "😀", "1²", "unknown", "定远县", "滁-2026-0001"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
)
huge = st.sampled_from(["字", "\x00", "a"]).map(lambda ch: ch * (1 << 20))
# Where a malformed value goes in an otherwise good request (path of keys).
PATHS = [
    ("next_action",),
    ("sender_id",),
    ("version",),
    ("domain",),
    ("domain", "slots"),
    ("domain", "responses"),
    ("tracker",),
    ("tracker", "sender_id"),
    ("tracker", "slots"),
    ("tracker", "latest_message"),
    ("tracker", "latest_message", "text"),
    ("tracker", "latest_message", "intent"),
    ("tracker", "latest_message", "entities"),
    ("tracker", "latest_message", "intent_ranking"),
    ("tracker", "events"),
    ("tracker", "paused"),
    ("tracker", "active_loop"),
    ("tracker", "followup_action"),
    ("tracker", "latest_action_name"),
]


def _set(request: dict[str, Any], path: tuple[str, ...], value: Any, delete: bool) -> dict[str, Any]:
    target = request
    for key in path[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    if delete:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return request


@st.composite
def requests(draw: st.DrawFn) -> Any:
    """A good request with one to three parts broken, random slots, a random action and sender; or junk."""
    if draw(st.integers(0, 5)) == 0:
        return draw(json_values)
    request = copy.deepcopy(status_request(draw(st.sampled_from([VICTIM, "telegram-1", "", "x" * 300]))))
    request["next_action"] = draw(st.one_of(st.sampled_from(ACTIONS), st.text(max_size=30)))
    request["tracker"]["slots"] = draw(st.dictionaries(st.sampled_from(SLOT_NAMES), json_values, max_size=4))
    for _ in range(draw(st.integers(0, 3))):
        value = draw(st.one_of(json_values, huge)) if draw(st.integers(0, 9)) else draw(huge)
        _set(request, draw(st.sampled_from(PATHS)), value, delete=draw(st.booleans()))
    return request


def _post(server: Server, body: Any, headers: dict[str, str]) -> httpx.Response:
    """As JSON with escapes (ensure_ascii), so NUL and lone surrogates reach the server as JSON allows."""
    content = json.dumps(body, ensure_ascii=True).encode()
    headers = {**headers, "Content-Type": "application/json"}
    return httpx.post(f"{server.url}/webhook", content=content, headers=headers, timeout=TIMEOUT)


def _well_formed(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text and 'File "' not in response.text
    body = response.json()  # always JSON, also for a refusal
    if response.status_code == 200 and body is not None:
        assert isinstance(body.get("events"), list) and isinstance(body.get("responses"), list)


FUZZ = settings(
    max_examples=30,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(body=requests())
def test_webhook_answers_every_malformed_request_cleanly(server: Server, body: Any) -> None:
    response = _post(server, body, AUTH)
    event(f"HTTP {response.status_code}")  # the mix, in --hypothesis-show-statistics
    _well_formed(response)
    assert httpx.get(f"{server.url}/health", timeout=TIMEOUT).status_code == 200  # still up


@settings(FUZZ, max_examples=20)
@given(body=requests(), auth=st.sampled_from([{}, {"Authorization": "Bearer"}, {"Authorization": TOKEN}]))
def test_webhook_without_the_token_is_refused_whatever_the_body(
    server: Server, body: Any, auth: dict[str, str]
) -> None:
    response = _post(server, body, auth)
    assert response.status_code == 401 and response.json() == {"error": "unauthorized"}


@pytest.mark.parametrize(
    "raw", [b"", b"{oops", b"\xff\xfe", b"[]", b"null", b'"x"', b"1e999999", b"{" * 10000]
)
def test_webhook_bytes_that_are_not_a_request(server: Server, raw: bytes) -> None:
    response = httpx.post(f"{server.url}/webhook", content=raw, headers=AUTH, timeout=TIMEOUT)
    _well_formed(response)


# ---- regressions found by the fuzzing above (each was a 500 from inside rasa-sdk) ----------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "request body must be a JSON object"),
        ({"next_action": "action_ticket_status"}, "tracker is required"),
        ({"next_action": "", "tracker": None}, "tracker is required"),  # was a 500
        ({"next_action": "action_ticket_status", "tracker": "x"}, "tracker must be a dict"),
        ({"next_action": "x", "tracker": {"slots": {}}}, "tracker.sender_id is required"),
        ({"next_action": 1, "tracker": {"sender_id": "a"}}, "next_action must be a str"),
        ({"tracker": {"sender_id": "a", "events": [1]}}, "tracker.events must be a list of objects"),
        (
            {"tracker": {"sender_id": "a", "latest_message": {"intent": "x"}}},
            "tracker.latest_message.intent must be a dict",
        ),
        ({"tracker": {"sender_id": "a", "paused": "no"}}, "tracker.paused must be a bool"),
        ({"domain": [], "tracker": {"sender_id": "a"}}, "domain must be a dict"),
        (
            {"tracker": {"sender_id": "a", "slots": {"category": [None]}}},
            "tracker.slots.category must be a scalar",
        ),
        (
            {"tracker": {"sender_id": "a", "slots": {"failures": [1]}}},
            "tracker.slots.failures must be an object",
        ),
    ],
)
def test_malformed_call_names_the_wrong_part(body: Any, reason: str) -> None:
    assert malformed_call(body) == reason


def test_the_engines_own_call_is_not_malformed() -> None:
    assert malformed_call(status_request(VICTIM)) is None
    assert malformed_call({"next_action": None, "tracker": None}) is None  # rasa-sdk answers these itself
    intake = status_request(VICTIM)
    intake["tracker"]["slots"] = {"failures": {"county": 2}, "age": 30, "urgent": True, "county": "定远县"}
    assert malformed_call(intake) is None
    # The knowledge-base answer's entry (actions/faq.py): refusing it broke every turn after an FAQ answer.
    intake["tracker"]["slots"] = {"faq_entry": {"id": "wage_arbitration_time_limit", "score": 0.9}}
    assert malformed_call(intake) is None
