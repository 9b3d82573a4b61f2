"""Where the learned file goes, and the hand-written training texts it must not repeat."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
NLU_DIR = ROOT / "nlu"
LEARNED_FILE = NLU_DIR / "learned" / "examples.yml"
# [text](entity), [text]{...}, [text][...]: Rasa reads the bracketed text as the example's words.
_ENTITY = re.compile(r"\[([^\]]+?)\](?:\([^)]*\)|\{[^}]*\}|\[[^\]]*\])")


def _texts(examples: Any) -> list[str]:
    if isinstance(examples, str):
        lines = [line.strip() for line in examples.splitlines()]
        return [line[1:].strip() for line in lines if line.startswith("-")]
    if isinstance(examples, list):
        return [str(e.get("text", "") if isinstance(e, dict) else e).strip() for e in examples]
    return []


def known_examples(nlu_dir: Path = NLU_DIR, skip: Path = LEARNED_FILE) -> dict[str, str]:
    """Text → intent of every example under `nlu_dir` except the learned file itself."""
    known: dict[str, str] = {}
    for path in sorted({*nlu_dir.rglob("*.yml"), *nlu_dir.rglob("*.yaml")}):
        if path.resolve() == skip.resolve():
            continue
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        blocks = doc.get("nlu") if isinstance(doc, dict) else None
        for block in blocks if isinstance(blocks, list) else []:
            if isinstance(block, dict) and "intent" in block:
                for text in _texts(block.get("examples")):
                    known[_ENTITY.sub(r"\1", text)] = str(block["intent"])
    return known
