"""The action server refuses forged webhook requests (issue 14, High): a real `python -m actions` process
on loopback with a shared secret, asked by a forger for another citizen's ticket status."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from actions.server import bearer_matches, exposure_error
from hotline.db.migrate import upgrade
from hotline.settings import PROJECT_ROOT, get_settings
from tests.unit.test_actions_services import WAGE, make_ticket

TOKEN = "test-shared-secret-1234567890"
VICTIM = "console-test"  # the sender id of the conversation make_ticket() files its ticket for


@dataclass(frozen=True)
class Server:
    url: str
    ticket_number: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp_path: Path, db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ACTION_SERVER_HOST", "ACTION_SERVER_TOKEN")}
    return {**env, "DATABASE_URL": db_url, "HOTLINE_LOG_DIR": str(tmp_path / "log"), **extra}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module (starting it is most of the time)."""
    tmp_path = tmp_path_factory.mktemp("actions")
    db_url = f"sqlite:///{tmp_path / 'test.db'}"
    upgrade(db_url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", db_url)
        get_settings.cache_clear()
        number = make_ticket(WAGE)  # the victim's ticket, filed in their conversation
    get_settings.cache_clear()
    port = _free_port()
    out = (tmp_path / "actions.out").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "actions", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=_env(tmp_path, db_url, ACTION_SERVER_TOKEN=TOKEN),
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "actions.out").read_text()
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "action server not ready"
            time.sleep(0.2)
        yield Server(url, number)
    finally:
        proc.terminate()
        proc.wait(10)
        out.close()


def status_request(sender: str) -> dict[str, Any]:
    """What the engine posts for "我的工单" — here written by a forger who knows a sender id."""
    message = {
        "text": "我的工单",
        "intent": {"name": "check_ticket_status", "confidence": 1.0},
        "entities": [],
    }
    return {
        "next_action": "action_ticket_status",
        "sender_id": sender,
        "version": "3.6.21",
        "domain": {"responses": {}, "slots": {}, "intents": [], "entities": [], "actions": [], "forms": {}},
        "tracker": {
            "sender_id": sender,
            "slots": {},
            "latest_message": message,
            "events": [{"event": "user", "text": "我的工单", "parse_data": message}],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


def test_forged_request_for_another_citizen_is_refused(server: Server) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"X-Token": TOKEN}):
        response = httpx.post(f"{server.url}/webhook", json=status_request(VICTIM), headers=headers)
        assert response.status_code == 401, headers
        assert server.ticket_number not in response.text and "定远县" not in response.text
    # The engine's request, with the secret, is served: the refusal above is what protects the citizen.
    ok = httpx.post(
        f"{server.url}/webhook",
        json=status_request(VICTIM),
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert ok.status_code == 200
    (message,) = ok.json()["responses"]
    assert message["response"] == "utter_ticket_status" and message["ticket_number"] == server.ticket_number


def test_a_malformed_call_answers_400_without_traceback_or_tracker(server: Server) -> None:
    """Was a bare 500 from inside rasa-sdk; the shape is now checked first (see test_fuzz_action_server)."""
    broken = status_request(VICTIM)
    broken["tracker"]["latest_message"] = "not a message"
    response = httpx.post(f"{server.url}/webhook", json=broken, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 400
    assert response.json() == {"error": "tracker.latest_message must be a dict"}
    not_json = httpx.post(
        f"{server.url}/webhook", content=b"{oops", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert not_json.status_code == 400 and "Traceback" not in not_json.text


def test_probes_stay_open(server: Server) -> None:
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}
    assert "action_ticket_status" in {a["name"] for a in httpx.get(f"{server.url}/actions").json()}


def test_refuses_to_listen_off_loopback_without_a_secret(tmp_path: Path, db_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "actions", "--port", str(_free_port())],
        cwd=PROJECT_ROOT,
        env=_env(tmp_path, db_url, ACTION_SERVER_HOST="0.0.0.0", ACTION_SERVER_TOKEN=""),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "ACTION_SERVER_TOKEN" in result.stderr


def test_exposure_and_bearer_rules() -> None:
    assert exposure_error("127.0.0.1", None) is None and exposure_error("::1", None) is None
    assert exposure_error("0.0.0.0", None) is not None
    assert exposure_error("0.0.0.0", "secret") is None
    assert bearer_matches("Bearer secret", "secret") and bearer_matches("bearer secret", "secret")
    assert not bearer_matches("Bearer secret2", "secret") and not bearer_matches(None, "secret")
    assert not bearer_matches("Basic secret", "secret") and not bearer_matches("secret", "secret")
