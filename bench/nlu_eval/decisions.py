"""What the bot does with a ranking: the FallbackClassifier's rule replayed, so one run answers
"what if the threshold were different" and "is the baseline really behind once the bot may abstain".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.metrics import accuracy_score

from bench.nlu_eval.data import CATEGORY_INTENTS, Example
from bench.nlu_eval.scoring import macro_f1, macro_recall
from bench.nlu_eval.systems import NO_INTENT

FALLBACK_INTENT = "nlu_fallback"
SWEEP_THRESHOLDS: tuple[float, ...] = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.45)


# Legal categories the fallback action offers as buttons (out_of_scope is not offered).
OFFERED_CATEGORIES = frozenset(CATEGORY_INTENTS) - {"out_of_scope"}


def fallback_settings(config: Path) -> tuple[float, float]:
    """(threshold, ambiguity_threshold) of the FallbackClassifier in a Rasa config; (0, 0) if none."""
    try:
        doc = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return 0.0, 0.0
    for item in doc.get("pipeline") or []:
        if isinstance(item, dict) and item.get("name") == "FallbackClassifier":
            return float(item.get("threshold", 0.3)), float(item.get("ambiguity_threshold", 0.1))
    return 0.0, 0.0


def decide(ranking: Sequence[Sequence[Any]], threshold: float, ambiguity: float) -> tuple[str, list[str]]:
    """What the bot does with one ranking: (intent or nlu_fallback, categories offered on fallback)."""
    ranked = [(str(n), float(c)) for n, c in ranking if n != FALLBACK_INTENT]
    if not ranked:
        return NO_INTENT, []
    top = ranked[0][1]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if threshold > 0 and (top < threshold or top - second < ambiguity):
        return FALLBACK_INTENT, [n for n, _ in ranked if n in OFFERED_CATEGORIES][:2]
    return ranked[0][0], []


def fallback_sweep(
    eval_set: Sequence[Example],
    rankings: Sequence[Sequence[Sequence[Any]]],
    eval_intents: list[str],
    ambiguity: float,
) -> list[dict[str, float]]:
    """What macro-F1/accuracy would be with other FallbackClassifier thresholds, from one run.

    Rasa's FallbackClassifier puts ``nlu_fallback`` in front of the classifier's ranking,
    so the classifier's own ranking is what remains without it. A message falls back when
    its top confidence is below the threshold or the top two are closer than
    ``ambiguity`` (as the component does); a fallback counts as a wrong prediction.
    """
    gold = [ex.intent for ex in eval_set]
    rows: list[dict[str, float]] = []
    for threshold in SWEEP_THRESHOLDS:
        predicted = [decide(ranking, threshold, ambiguity)[0] for ranking in rankings]
        rows.append(
            {
                "threshold": threshold,
                "macro_f1": macro_f1(gold, predicted, eval_intents),
                "accuracy": float(accuracy_score(gold, predicted)),
                "fallbacks": float(sum(p == FALLBACK_INTENT for p in predicted)),
            }
        )
    return rows


@dataclass
class View:
    """One way of scoring a system's rankings; see ``decision_views``."""

    system: str
    view: str
    labels: list[str]
    macro_f1: float
    accuracy: float
    fallbacks: int
    # Issue 11's figures: mean recall over all eval intents and over the legal categories (a fallback is
    # a miss unless the view credits the buttons), and the share of messages that fell back.
    macro_recall: float = 0.0
    macro_recall_categories: float = 0.0
    fallback_rate: float = 0.0


def decision_views(
    eval_set: Sequence[Example],
    rankings: Mapping[str, Sequence[Sequence[Sequence[Any]]]],
    eval_intents: list[str],
    threshold: float,
    ambiguity: float,
) -> list[View]:
    """Score each system three ways, so an abstaining bot and a never-abstaining baseline compare fairly.

    * ``top-1``: the classifier's best intent, no fallback step (what the baseline always does);
    * ``as deployed``: with the FallbackClassifier's rule; a fallback counts as wrong;
    * ``after clarification``: a fallback counts as right when the gold intent is one of the two
      category buttons the bot then offers (what happens when the citizen taps the right one).
    The same rule is applied to the baseline's probabilities for the last two.
    """
    gold = [ex.intent for ex in eval_set]
    views: list[View] = []
    for system, ranks in rankings.items():
        top1 = [decide(r, 0.0, 0.0)[0] for r in ranks]
        decided = [decide(r, threshold, ambiguity) for r in ranks]
        deployed = [d[0] for d in decided]
        clarified = [
            g if (d[0] == FALLBACK_INTENT and g in d[1]) else d[0] for g, d in zip(gold, decided, strict=True)
        ]
        n_fallback = sum(d == FALLBACK_INTENT for d in deployed)
        categories = [i for i in eval_intents if i in OFFERED_CATEGORIES]
        for name, labels, falls in (
            ("top-1 (no fallback step)", top1, 0),
            ("as deployed (fallback = wrong)", deployed, n_fallback),
            ("after clarification buttons", clarified, n_fallback),
        ):
            views.append(
                View(
                    system,
                    name,
                    labels,
                    macro_f1(gold, labels, eval_intents),
                    float(accuracy_score(gold, labels)),
                    falls,
                    macro_recall(gold, labels, eval_intents),
                    macro_recall(gold, labels, categories) if categories else 0.0,
                    falls / len(gold) if gold else 0.0,
                )
            )
    return views


def paired_bootstrap(
    gold: Sequence[str],
    a: Sequence[str],
    b: Sequence[str],
    eval_intents: list[str],
    rounds: int = 1000,
    seed: int = 12348,
) -> tuple[float, float, float, float]:
    """Macro-F1(a) - macro-F1(b): observed, 2.5 % and 97.5 % quantiles, share of resamples where a > b."""
    rng = np.random.default_rng(seed)
    g, pa, pb = np.asarray(gold), np.asarray(a), np.asarray(b)
    diffs = np.empty(rounds)
    for k in range(rounds):
        idx = rng.integers(0, len(g), len(g))
        diffs[k] = macro_f1(g[idx], pa[idx], eval_intents) - macro_f1(g[idx], pb[idx], eval_intents)
    observed = macro_f1(g, pa, eval_intents) - macro_f1(g, pb, eval_intents)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return observed, float(low), float(high), float(np.mean(diffs > 0))
