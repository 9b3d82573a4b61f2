"""Topic before dialog act: a legal story is never swallowed by a greeting, an "inform" or a "thanks".

Why: citizens open with a greeting, a "是的" or a "谢谢" around their question, or tell their story with
the facts the intake asks for (age, county, income). The intent classifier, trained mostly on short
dialog answers for those intents, then reads the whole story as ``greet`` or ``inform`` and the bot never
starts the intake ("你好你好，请问一下，俺娃十三岁，被邻居家大人摸了，俺们想告他" → greet).

The rule, applied after the classifier and using its own ranking: when the top intent is a dialog act
(``dialog_acts``), take away the polite phrases around the message (``polite_phrases``); if what is left is
a substantive message (at least ``min_chars`` Chinese characters) about a legal matter (one of ``cues``
occurs in it, or the legal intents together get at least ``min_legal_mass`` of the probability of the
whole message; only the latter for the acts in ``mass_only``, e.g. complaints about a lawyer), the
message is re-read as the best legal category of the classifier's ranking of the remaining text,
renormalised over the legal intents. Short answers ("凤阳县农村", "是的", "谢谢") stay dialog acts, so
answers inside a form are unaffected. Everything is configuration (``config.yml``); this module is pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_HAN = re.compile(r"[\u4e00-\u9fff]")

Ranking = list[tuple[str, float]]


@dataclass(frozen=True)
class TopicFirstConfig:
    """Which intents are dialog acts, which are legal categories, and what makes a message substantive."""

    dialog_acts: tuple[str, ...] = ()
    legal_intents: tuple[str, ...] = ()
    polite_phrases: tuple[str, ...] = ()
    cues: tuple[str, ...] = ()
    min_chars: int = 12
    min_legal_mass: float = 0.5
    # Dialog acts whose own messages name legal matters (a complaint about a lawyer mentions the trial):
    # for these a cue word is not enough, only the classifier's legal probability mass counts.
    mass_only: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.dialog_acts and self.legal_intents)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> TopicFirstConfig:
        raw = raw or {}
        return cls(
            dialog_acts=tuple(raw.get("dialog_acts") or ()),
            legal_intents=tuple(raw.get("legal_intents") or ()),
            polite_phrases=tuple(raw.get("polite_phrases") or ()),
            cues=tuple(raw.get("cues") or ()),
            min_chars=int(raw.get("min_chars", cls.min_chars)),
            min_legal_mass=float(raw.get("min_legal_mass", cls.min_legal_mass)),
            mass_only=tuple(raw.get("mass_only") or ()),
        )


def strip_polite(text: str, phrases: Sequence[str]) -> str:
    """The message without greetings and thanks ("你好你好，请问一下，…" → "…"), longest phrase first."""
    for phrase in sorted(phrases, key=len, reverse=True):
        text = text.replace(phrase, " ")
    return text


def han_count(text: str) -> int:
    return len(_HAN.findall(text))


def reread(
    text: str, ranking: Ranking, rank: Callable[[str], Ranking], config: TopicFirstConfig
) -> Ranking | None:
    """A legal-category ranking for a substantive legal message classified as a dialog act, else None.

    ``ranking`` is the classifier's ranking of ``text`` (all intents, most likely first); ``rank`` ranks
    another text with the same classifier (used on the message without its polite phrases).
    """
    if not config.enabled or not ranking or ranking[0][0] not in config.dialog_acts:
        return None
    rest = strip_polite(text, config.polite_phrases)
    if han_count(rest) < config.min_chars:
        return None
    act = ranking[0][0]
    mass = sum(p for name, p in ranking if name in config.legal_intents)
    cue = act not in config.mass_only and any(c in rest for c in config.cues)
    if not cue and mass < config.min_legal_mass:
        return None
    rest_ranking = rank(rest) if rest != text else ranking
    legal = [(name, p) for name, p in rest_ranking if name in config.legal_intents]
    total = sum(p for _, p in legal)
    if total <= 0:
        return None
    return [(name, p / total) for name, p in sorted(legal, key=lambda item: -item[1])]
