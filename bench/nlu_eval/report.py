"""What a run prints: the side-by-side table, confusions, matrices, the sweep and the decision views."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from bench.nlu_eval.data import CATEGORY_INTENTS, CONVERSATIONAL_INTENTS
from bench.nlu_eval.decisions import View
from bench.nlu_eval.scoring import Scores


def _fmt(value: float | None, digits: int = 3) -> str:
    return "  n/a" if value is None else f"{value:.{digits}f}"


def print_table(
    eval_intents: list[str],
    train_counts: Counter[str],
    systems: dict[str, Scores | None],
    skipped: dict[str, str],
) -> None:
    """Per-intent P/R/F1 for every system side by side, then the summary rows."""
    names = list(systems)
    width = max(len(i) for i in eval_intents) + 2
    header = f"{'intent':<{width}}{'train':>6}{'eval':>5} "
    header += "".join(f"| {n:^20} " for n in names)
    sub = f"{'':<{width}}{'':>6}{'':>5} " + "".join(f"| {'P':>6}{'R':>7}{'F1':>7} " for _ in names)
    print(header)
    print(sub)
    print("-" * len(sub))
    for group_name, group in (
        ("legal categories", CATEGORY_INTENTS),
        ("conversational", CONVERSATIONAL_INTENTS),
        ("other (not in the fixed intent list)", ()),
    ):
        rows = [
            i
            for i in eval_intents
            if (i in group) or (not group and i not in CATEGORY_INTENTS + CONVERSATIONAL_INTENTS)
        ]
        if not rows:
            continue
        print(f"# {group_name}")
        for intent in rows:
            support = next((int(s.per_intent[intent]["support"]) for s in systems.values() if s), 0)
            mark = "!" if train_counts[intent] == 0 else " "
            line = f"{intent:<{width}}{train_counts[intent]:>5}{mark}{support:>5} "
            for name in names:
                s = systems[name]
                if s is None:
                    line += f"| {'skipped':^20} "
                    continue
                r = s.per_intent[intent]
                line += f"| {r['precision']:>6.2f}{r['recall']:>7.2f}{r['f1']:>7.2f} "
            print(line)
    print("-" * len(sub))

    def summary(label: str, getter: Callable[[Scores], float | None]) -> None:
        line = f"{label:<{width + 12}}"
        for name in names:
            s = systems[name]
            line += f"| {'':>6}{'':>7}{_fmt(getter(s)) if s else '  n/a':>7} "
        print(line)

    summary("macro-F1 (all eval intents)", lambda s: s.macro_f1)
    summary("macro-F1 legal categories", lambda s: s.macro_f1_categories)
    summary("macro-F1 conversational", lambda s: s.macro_f1_conversational)
    summary("accuracy (all)", lambda s: s.accuracy)
    summary("accuracy mixed messages", lambda s: s.accuracy_mixed)
    summary("accuracy single-topic", lambda s: s.accuracy_unmixed)
    summary("macro-F1 unseen in training", lambda s: s.macro_f1_unseen)
    summary("accuracy unseen in training", lambda s: s.accuracy_unseen)
    summary("latency p50 ms/message", lambda s: s.latency_ms["p50"])
    summary("latency p90 ms/message", lambda s: s.latency_ms["p90"])
    if any(train_counts[i] == 0 for i in eval_intents):
        print("! = intent has NO training examples; its recall is necessarily 0.")
    for name, reason in skipped.items():
        print(f"[{name}] skipped: {reason}")
    for name, s in systems.items():
        if s is not None:
            print(f"[{name}] latency: {s.latency_note}")
    if systems.get("rasa") is not None:
        print(
            "[rasa] note: the 'train' column counts --train-dir; the Rasa model scores "
            "whatever data it was trained on (retrain it after nlu/ changes)."
        )


def print_confusions(name: str, scores: Scores, top: int) -> None:
    """The most frequent gold->predicted mistakes, with one message each."""
    print(f"\nTop confusions -- {name} (gold -> predicted, count, example):")
    if not scores.confusions:
        print("  none")
    for c in scores.confusions[:top]:
        example = c["example"] if len(c["example"]) <= 36 else c["example"][:35] + "…"
        print(f"  {c['gold']:>20} -> {c['predicted']:<20} {c['count']:>3}  {example}")
    remaining = len(scores.confusions) - top
    if remaining > 0:
        print(f"  ... {remaining} more pairs (--top-confusions N, or --json)")


def print_matrix(name: str, scores: Scores) -> None:
    """Full confusion matrix; columns are numbered to keep it narrow."""
    labels = scores.matrix_labels
    print(f"\nConfusion matrix -- {name} (rows = gold, columns = predicted #):")
    width = max(len(label) for label in labels) + 5
    print(" " * width + "".join(f"{i:>4}" for i in range(len(labels))))
    for i, (label, row) in enumerate(zip(labels, scores.matrix, strict=True)):
        cells = "".join(f"{v:>4}" if v else "   ." for v in row)
        print(f"{i:>3} {label:<{width - 4}}{cells}")


def print_sweep(rows: list[dict[str, float]], ambiguity: float) -> None:
    print(f"\nFallback threshold sweep -- rasa (ambiguity {ambiguity}; 0 = no fallback; fallback = wrong):")
    for r in rows:
        print(
            f"  threshold {r['threshold']:.2f}: macro-F1 {r['macro_f1']:.3f}  "
            f"accuracy {r['accuracy']:.3f}  fallbacks {int(r['fallbacks'])}"
        )


def print_views(views: list[View], threshold: float, ambiguity: float) -> None:
    print(f"\nDecision views (fallback rule from config: threshold {threshold}, ambiguity {ambiguity}):")
    print(
        f"  {'system':9s} {'view':34s} {'macro-F1':>8s} {'accuracy':>8s} {'macro-R':>8s} "
        f"{'macro-R legal':>13s} {'fallbacks':>9s} {'rate':>6s}"
    )
    for v in views:
        print(
            f"  {v.system:9s} {v.view:34s} {v.macro_f1:8.3f} {v.accuracy:8.3f} {v.macro_recall:8.3f} "
            f"{v.macro_recall_categories:13.3f} {v.fallbacks:9d} {v.fallback_rate:6.1%}"
        )
