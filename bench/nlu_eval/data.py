"""The labelled messages: Rasa NLU YAML read the way Rasa reads it, and the intent groups reported."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hotline.categories import INTAKE_CATEGORIES

REPO_ROOT = Path(__file__).resolve().parents[2]

# The legal categories (hotline.categories, the one list), then out_of_scope: reported with them.
CATEGORY_INTENTS: tuple[str, ...] = (*INTAKE_CATEGORIES, "out_of_scope")
CONVERSATIONAL_INTENTS: tuple[str, ...] = (
    "greet",
    "goodbye",
    "thanks",
    "affirm",
    "deny",
    "request_human",
    "check_ticket_status",
    "complain",
    "ask_eligibility",
    "ask_contact",
    "bot_challenge",
    "chitchat",
)
KNOWN_INTENTS = CATEGORY_INTENTS + CONVERSATIONAL_INTENTS

# Same grammar as rasa.shared.nlu.training_data.entities_parser.ENTITY_REGEX:
# [text](entity), [text](entity:value), [text]{"entity": ...}, [text][{...}, {...}]
ENTITY_MARKUP = re.compile(
    r"\[(?P<text>[^\]]+?)\]"
    r"(\((?P<entity>[^:)]+?)(?::(?P<value>[^)]+))?\)|\{(?P<dict>[^}]+?)\}|\[(?P<list>.*?)\])"
)
STRIP_SYMBOLS = "\n\r "  # what Rasa strips around each example


@dataclass(frozen=True)
class Example:
    """One labelled message. ``mixed`` marks eval messages touching two categories."""

    text: str
    intent: str
    source: str
    mixed: bool = False


@dataclass
class LoadReport:
    """What a YAML walk found, so silent skips become visible."""

    files_with_nlu: list[str] = field(default_factory=list)
    files_skipped: list[str] = field(default_factory=list)
    retrieval_intents_folded: set[str] = field(default_factory=set)


def strip_entities(text: str) -> str:
    """Turn Rasa entity markup into the plain text a user would have typed."""
    return ENTITY_MARKUP.sub(lambda m: m.group("text"), text)


def _iter_example_texts(examples: Any) -> Iterable[str]:
    """Yield raw example strings from either Rasa layout.

    Rasa accepts ``examples: |`` (a block of ``- text`` lines) and a list of
    ``{text: ..., metadata: ...}`` mappings; training authors may use either.
    """
    if isinstance(examples, str):
        for line in examples.splitlines():
            line = line.strip()
            if line.startswith("-"):  # Rasa skips (and warns about) other lines too
                yield line[1:].strip(STRIP_SYMBOLS)
    elif isinstance(examples, list):
        for item in examples:
            if isinstance(item, dict):
                yield str(item.get("text", "")).strip(STRIP_SYMBOLS)
            elif isinstance(item, str):
                yield item.strip(STRIP_SYMBOLS)


def load_nlu_dir(directory: Path, report: LoadReport) -> list[Example]:
    """Load every ``intent`` block from the ``*.yml``/``*.yaml`` files under ``directory``.

    Non-NLU content (rules, stories, domain files, ``synonym``/``lookup``/``regex``
    items) is ignored. Retrieval intents (``chitchat/ask_name``) are folded into
    their base intent, because that is what Rasa's intent classifier predicts.
    """
    examples: list[Example] = []
    files = sorted({*directory.rglob("*.yml"), *directory.rglob("*.yaml")})
    for path in files:
        shown = display_path(path)
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            report.files_skipped.append(f"{shown} (unreadable: {exc.__class__.__name__})")
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("nlu"), list):
            report.files_skipped.append(f"{shown} (no nlu: section)")
            continue
        report.files_with_nlu.append(shown)
        for block in doc["nlu"]:
            if not isinstance(block, dict) or "intent" not in block:
                continue
            intent = str(block["intent"])
            if "/" in intent:
                report.retrieval_intents_folded.add(intent)
                intent = intent.split("/", 1)[0]
            metadata = block.get("metadata") or {}
            mixed = bool(isinstance(metadata, dict) and metadata.get("mixed"))
            for raw in _iter_example_texts(block.get("examples")):
                text = strip_entities(raw).strip()
                if text:
                    examples.append(Example(text, intent, shown, mixed))
    return examples


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def normalise(text: str) -> str:
    """Key for leakage checks: ignore whitespace and common punctuation."""
    return re.sub(r"[\s，。！？、,.!?~～…]+", "", text).lower()


def intent_order(intents: Iterable[str]) -> list[str]:
    """The report's row order: categories, then conversational intents, then the rest by name."""
    return sorted(
        intents,
        key=lambda i: (KNOWN_INTENTS.index(i) if i in KNOWN_INTENTS else 999, i),
    )
