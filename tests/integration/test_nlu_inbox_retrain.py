"""From a desk correction to a retrained model (issue 11's NLU inbox), with the real engine's training.

An operator corrects a ticket's category on the desk (real python-telegram-bot handlers, fake Bot API), a
supervisor approves the example in the CLI, `nlu export` writes it into a copy of `nlu/`, Rasa validates that
data and trains an NLU-only model on it with the project's pipeline (without DIET, which only extracts
entities, so that training takes seconds rather than minutes), and the retrained model reads the corrected
message as the corrected category.

The example: a village cooperative's chairman withholding members' dividends. The deployed model read it
as social insurance (a weak 0.19, other_legal second); a cooperative's dividends are a civil matter,
other_legal.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from hotline.cli import main
from hotline.db.models import NluExample, Operator, OperatorRole
from hotline.db.session import session_scope
from hotline.settings import PROJECT_ROOT, Settings
from stack.components import RASA_BIN
from tests.unit.test_desk import GROUP_ID, OPS, Desk, make_ticket, operators

pytestmark = pytest.mark.integration
__all__ = ["operators"]  # the fixture, shared with test_desk

STORY = "俺们村的鸬鹚养殖合作社，理事长把社员去年的分红扣着不发，说要留着扩大规模，俺的电话13812345678"
ASKED = "俺们村的鸬鹚养殖合作社，理事长把社员去年的分红扣着不发，说要留着扩大规模"
RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
PARSE = PROJECT_ROOT / "bench" / "_rasa_parse.py"


def small_config(path: Path) -> Path:
    """The project's pipeline, quick to train: DIET left out while it only extracts entities (the intents
    come from the other classifier), else trained for one epoch."""
    doc = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    pipeline = []
    for item in doc["pipeline"]:
        if item.get("name") == "DIETClassifier":
            if item.get("intent_classification") is False:
                continue
            item["epochs"] = 1
        pipeline.append(item)
    doc["pipeline"] = pipeline
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def rasa(*argv: str, env: dict[str, str]) -> None:
    done = subprocess.run(
        [str(RASA_BIN), *argv], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, (argv[:2], done.stdout[-3000:], done.stderr[-3000:])


def parse(model: Path, texts: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [str(RASA_PYTHON), str(PARSE), str(model)],
        input="".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=PROJECT_ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {row["text"]: row for row in map(json.loads, done.stdout.splitlines())}


async def test_a_desk_correction_reaches_a_retrained_model(
    settings: Settings,
    operators: dict[str, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not RASA_BIN.exists():
        pytest.fail("no engine venv: run `make test` (it sets up the engine first)")
    db = settings.database_url
    _, number = make_ticket(settings, description=STORY)

    # 1. the operator's correction on the desk
    async with Desk(settings, first_id=3000) as desk:
        await desk.group_text(OPS["dingyuan"], f"/category {number} 其他法律问题")
        assert "已更正为其他法律问题" in desk.api.to(GROUP_ID)[-1]["text"]

    # 2. the supervisor's review in the CLI
    monkeypatch.setenv("DATABASE_URL", db)
    monkeypatch.setenv("HOTLINE_CONFIG", str(PROJECT_ROOT / "config" / "hotline.yaml"))
    with session_scope(db) as s:
        [example_id] = s.scalars(select(NluExample.id)).all()
        boss = s.scalars(select(Operator.id).where(Operator.role == OperatorRole.SUPERVISOR)).one()
    assert main(["nlu", "review", "--approve", str(example_id), "--as-operator", str(boss)]) == 0

    # 3. export into a copy of the training data
    data = tmp_path / "nlu"
    shutil.copytree(PROJECT_ROOT / "nlu", data, ignore=shutil.ignore_patterns("learned"))
    learned = data / "learned" / "examples.yml"
    assert main(["nlu", "export", "--out", str(learned)]) == 0
    assert "已导出 1 条" in capsys.readouterr().out
    exported = learned.read_text(encoding="utf-8")
    assert "- intent: other_legal" in exported and "138****5678" in exported and "13812345678" not in exported

    # 4. Rasa accepts the data and trains a small NLU model on it
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "RASA_CACHE_DIRECTORY": str(tmp_path / "cache")}
    config = small_config(tmp_path / "config.yml")
    rasa("data", "validate", "--data", str(data), "--domain", "domain.yml", "--config", str(config),
         "--fail-on-warnings", env=env)  # fmt: skip
    rasa("train", "nlu", "--nlu", str(data), "--config", str(config), "--out", str(tmp_path / "models"),
         "--fixed-model-name", "learned", env=env)  # fmt: skip

    # 5. the retrained model reads the corrected message as corrected, and still reads a plain one
    parsed = parse(tmp_path / "models" / "learned.tar.gz", [ASKED, "老板拖欠我三个月工资"])
    assert parsed[ASKED]["intent"] == "other_legal", parsed[ASKED]["ranking"][:3]
    assert parsed["老板拖欠我三个月工资"]["intent"] == "wage_arrears"
