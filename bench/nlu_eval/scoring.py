"""Figures for one system over the eval set, all from ``sklearn.metrics``.

Macro averages are over the intents present in the eval set (``labels=``), so an intent the
system never predicts (e.g. missing from training) counts as F1 = 0 rather than silently
disappearing from the average.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    recall_score,
)

from bench.nlu_eval.data import CATEGORY_INTENTS, CONVERSATIONAL_INTENTS, Example
from bench.nlu_eval.systems import Predictions


@dataclass
class Scores:
    """Everything reported for one system."""

    accuracy: float
    macro_f1: float
    macro_f1_categories: float | None
    macro_f1_conversational: float | None
    accuracy_mixed: float | None
    accuracy_unmixed: float | None
    accuracy_unseen: float | None
    macro_f1_unseen: float | None
    per_intent: dict[str, dict[str, float]]
    confusions: list[dict[str, Any]]
    matrix_labels: list[str]
    matrix: list[list[int]]
    latency_ms: dict[str, float | None]
    latency_note: str
    errors: list[str]


def macro_f1(
    gold: Sequence[str] | np.ndarray, predicted: Sequence[str] | np.ndarray, labels: list[str]
) -> float:
    """Unweighted mean F1 over ``labels``; a label never predicted counts as 0."""
    return float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0))


def macro_recall(
    gold: Sequence[str] | np.ndarray, predicted: Sequence[str] | np.ndarray, labels: list[str]
) -> float:
    """Unweighted mean recall over ``labels`` (issue 11's headline figure); a fallback is a miss."""
    return float(recall_score(gold, predicted, labels=labels, average="macro", zero_division=0))


def percentile(values: Sequence[float], q: float) -> float | None:
    """Latency percentile; ``None`` when nothing was timed."""
    return float(np.percentile(values, q)) if values else None


def per_intent_table(
    gold: Sequence[str], predicted: Sequence[str], labels: list[str]
) -> dict[str, dict[str, float]]:
    """Intent → precision, recall, F1 and support."""
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=labels, zero_division=0
    )
    return {
        intent: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, intent in enumerate(labels)
    }


def confusions(eval_set: Sequence[Example], predicted: Sequence[str]) -> list[dict[str, Any]]:
    """Gold → predicted mistakes, most frequent first, with one example text each (what went wrong)."""
    pair_counts: Counter[tuple[str, str]] = Counter()
    pair_example: dict[tuple[str, str], str] = {}
    for ex, p in zip(eval_set, predicted, strict=True):
        if ex.intent != p:
            pair_counts[(ex.intent, p)] += 1
            pair_example.setdefault((ex.intent, p), ex.text)
    return [
        {"gold": g, "predicted": p, "count": c, "example": pair_example[(g, p)]}
        for (g, p), c in pair_counts.most_common()
    ]


def score(
    eval_set: Sequence[Example],
    pred: Predictions,
    eval_intents: list[str],
    seen_in_training: frozenset[int] = frozenset(),
) -> Scores:
    """Per-intent and summary metrics for one system over the eval set.

    ``seen_in_training`` holds the indices of eval messages whose text also occurs in the
    training data (short ones like 你好 inevitably do); the "unseen" figures leave them out,
    which is the honest number.
    """
    gold = [ex.intent for ex in eval_set]
    predicted = pred.labels

    def macro(group: Iterable[str]) -> float | None:
        labels = [i for i in group if i in eval_intents]
        return macro_f1(gold, predicted, labels) if labels else None

    def subset_accuracy(keep: Callable[[int], bool]) -> float | None:
        rows = [k for k in range(len(eval_set)) if keep(k)]
        return float(accuracy_score([gold[k] for k in rows], [predicted[k] for k in rows])) if rows else None

    unseen_gold = [g for k, g in enumerate(gold) if k not in seen_in_training]
    unseen_pred = [p for k, p in enumerate(predicted) if k not in seen_in_training]
    unseen_intents = sorted(set(unseen_gold), key=eval_intents.index)
    labels = eval_intents + sorted(set(predicted) - set(eval_intents))
    return Scores(
        accuracy=float(accuracy_score(gold, predicted)),
        macro_f1=macro_f1(gold, predicted, eval_intents),
        macro_f1_categories=macro(CATEGORY_INTENTS),
        macro_f1_conversational=macro(CONVERSATIONAL_INTENTS),
        accuracy_mixed=subset_accuracy(lambda k: eval_set[k].mixed),
        accuracy_unmixed=subset_accuracy(lambda k: not eval_set[k].mixed),
        accuracy_unseen=subset_accuracy(lambda k: k not in seen_in_training),
        macro_f1_unseen=macro_f1(unseen_gold, unseen_pred, unseen_intents) if unseen_gold else None,
        per_intent=per_intent_table(gold, predicted, eval_intents),
        confusions=confusions(eval_set, predicted),
        matrix_labels=labels,
        matrix=confusion_matrix(gold, predicted, labels=labels).tolist(),
        latency_ms={
            "p50": percentile(pred.latencies_ms, 50),
            "p90": percentile(pred.latencies_ms, 90),
            "mean": float(statistics.fmean(pred.latencies_ms)) if pred.latencies_ms else None,
        },
        latency_note=pred.latency_note,
        errors=pred.errors,
    )
