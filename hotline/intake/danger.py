"""Danger now: does a citizen's message say that violence is happening or a person was just detained?

The gateway asks this before the dialog engine so the emergency numbers go out at once, whatever the engine
does (or if it is down). The cues are data with their legal basis (`danger_cues.yaml`); `assess` is pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml

Kind = Literal["domestic_violence", "detention"]
KINDS: tuple[Kind, ...] = ("domestic_violence", "detention")

# Clause boundaries: Chinese and ASCII punctuation, line breaks. Spaces are not boundaries (people type
# "他 现在 在打我").
_CLAUSES = re.compile(r"[，,。.！!？?；;：:、\n\r…~～]+")


class DangerCuesError(ValueError):
    """danger_cues.yaml is malformed; raised at load time, never while answering a citizen."""


@dataclass(frozen=True)
class Cue:
    id: str
    kind: Kind
    basis: tuple[str, ...]
    all_of: tuple[tuple[str, ...], ...]
    none_of: tuple[str, ...]

    def matches(self, clause: str) -> bool:
        return all(any(term in clause for term in terms) for terms in self.all_of) and not any(
            term in clause for term in self.none_of
        )


@dataclass(frozen=True)
class Danger:
    """What fired: the kind decides the emergency reply, the cue and basis go to the log and the audit."""

    kind: Kind
    cue: str
    basis: tuple[str, ...]


def _terms(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
        raise DangerCuesError(f"{where}: 应为非空字符串列表")
    return tuple(value)


def parse_cues(raw: Any) -> tuple[Cue, ...]:
    """Validate the YAML document into cues; every cue needs a kind, a legal basis and a non-empty all_of."""
    if not isinstance(raw, dict) or not isinstance(raw.get("cues"), list) or not raw["cues"]:
        raise DangerCuesError("cues: 缺少提示词列表")
    cues = []
    for i, item in enumerate(raw["cues"]):
        where = f"cues.{i}"
        if not isinstance(item, dict) or item.get("kind") not in KINDS or not item.get("id"):
            raise DangerCuesError(f"{where}: 需要 id 和 kind（{'/'.join(KINDS)}）")
        all_of = item.get("all_of")
        if not isinstance(all_of, list) or not all_of:
            raise DangerCuesError(f"{where}.all_of: 不能为空")
        cues.append(
            Cue(
                id=str(item["id"]),
                kind=item["kind"],
                basis=_terms(item.get("basis"), f"{where}.basis"),
                all_of=tuple(_terms(terms, f"{where}.all_of") for terms in all_of),
                none_of=tuple(item.get("none_of") or ()),
            )
        )
    return tuple(cues)


@lru_cache(maxsize=1)
def default_cues() -> tuple[Cue, ...]:
    text = resources.files("hotline.intake").joinpath("danger_cues.yaml").read_text(encoding="utf-8")
    return parse_cues(yaml.safe_load(text))


def assess(text: str, cues: tuple[Cue, ...] | None = None) -> Danger | None:
    """The first cue that fires on any clause of `text`, or None. Pure: no I/O beyond the cached cue file."""
    if not text:
        return None
    clauses = [c for c in _CLAUSES.split(text) if c.strip()]
    for cue in cues if cues is not None else default_cues():
        if any(cue.matches(clause) for clause in clauses):
            return Danger(cue.kind, cue.id, cue.basis)
    return None
