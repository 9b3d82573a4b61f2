"""Runs the Rasa conversation tests (tests/conversations/*.yml) with the real model and action server."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hotline.settings import PROJECT_ROOT
from stack.components import CURRENT_MODEL, RASA_BIN
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration


def test_rasa_test_stories_pass(stack: Stack, tmp_path: Path) -> None:
    endpoints = tmp_path / "endpoints.yml"
    token = stack.env["ACTION_SERVER_TOKEN"]
    endpoints.write_text(
        f'action_endpoint:\n  url: "{stack.action_url}/webhook"\n'
        f'  headers:\n    Authorization: "Bearer {token}"\n',
        encoding="utf-8",
    )
    out = tmp_path / "results"
    result = subprocess.run(
        [
            str(RASA_BIN),
            "test",
            "core",
            "--model",
            str(CURRENT_MODEL),
            "--stories",
            str(PROJECT_ROOT / "tests" / "conversations"),
            "--endpoints",
            str(endpoints),
            "--out",
            str(out),
            "--fail-on-prediction-errors",
        ],
        cwd=PROJECT_ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    failed = out / "failed_test_stories.yml"
    detail = failed.read_text(encoding="utf-8") if failed.exists() else ""
    assert result.returncode == 0, f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}\n{detail}"
    assert "Failed Stories" not in detail or "none" in detail.lower()
