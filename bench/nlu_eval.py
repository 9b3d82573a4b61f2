"""Held-out NLU benchmark: our Rasa pipeline vs. a TF-IDF baseline, on the same data.

Why this exists: intent errors are the bot's most expensive failure (a citizen whose
unpaid-wage message is read as "other_legal" is routed to the wrong legal-aid queue).
We need one number we can trust when the pipeline or the training data changes, and
a yardstick telling us whether the neural pipeline earns its cost at all. So:

* training data = every Rasa NLU YAML under ``--train-dir`` (default ``nlu/``);
* evaluation data = ``--eval-dir`` (default ``tests/nlu_eval/``), written separately
  and NEVER used for training (see its README). Exact text overlap between the two
  is reported as leakage;
* system (b), always run: scikit-learn TF-IDF over character 1-3-grams + logistic
  regression, trained here on the training data -- cheap, no segmentation, robust
  to typos, and a hard baseline for short Chinese messages;
* system (a), optional: the trained Rasa model, parsed either by a subprocess in
  the engine venv (``--rasa-python`` + ``--model``; runs ``bench/_rasa_parse.py``,
  nothing to start first) or by an already running Rasa server's
  ``/model/parse`` (``--rasa-url``; this script starts nothing).

Printed: per-intent precision/recall/F1/support for both systems side by side,
macro-F1 and accuracy (overall, legal categories, conversational intents, and
messages flagged ``mixed`` in the eval set), top confusions, optional full
confusion matrices, and per-message latency p50/p90. ``--json`` writes all of it,
plus every prediction, to a file so runs can be diffed.

Exit codes: 0 when the evaluation ran (whatever the scores); 1 when a requested Rasa
run produced no predictions (so CI notices a broken model instead of a silent
baseline-only report); 2 for usage errors.

Runs in the app venv (Python 3.11: scikit-learn, numpy, PyYAML, httpx). The engine
venv is only ever used through the subprocess.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, precision_recall_fscore_support
from sklearn.pipeline import Pipeline, make_pipeline

REPO_ROOT = Path(__file__).resolve().parent.parent
PARSE_HELPER = Path(__file__).resolve().parent / "_rasa_parse.py"

CATEGORY_INTENTS: tuple[str, ...] = (
    "wage_arrears",
    "work_injury",
    "disability_rights",
    "minors",
    "elderly",
    "domestic_violence",
    "marriage_family",
    "personal_injury",
    "criminal_defence",
    "social_insurance",
    "other_legal",
    "out_of_scope",
)
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
NO_INTENT = "<none>"

# Same grammar as rasa.shared.nlu.training_data.entities_parser.ENTITY_REGEX:
# [text](entity), [text](entity:value), [text]{"entity": ...}, [text][{...}, {...}]
ENTITY_MARKUP = re.compile(
    r"\[(?P<text>[^\]]+?)\]"
    r"(\((?P<entity>[^:)]+?)(?::(?P<value>[^)]+))?\)|\{(?P<dict>[^}]+?)\}|\[(?P<list>.*?)\])"
)
STRIP_SYMBOLS = "\n\r "  # what Rasa strips around each example


# --------------------------------------------------------------------------- data


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
        shown = _display_path(path)
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


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def normalise(text: str) -> str:
    """Key for leakage checks: ignore whitespace and common punctuation."""
    return re.sub(r"[\s，。！？、,.!?~～…]+", "", text).lower()


# ---------------------------------------------------------------------- systems


@dataclass
class Predictions:
    """Output of one system on the eval set, aligned with the eval examples."""

    name: str
    labels: list[str]
    latencies_ms: list[float]
    latency_note: str
    confidences: list[float | None]
    errors: list[str] = field(default_factory=list)
    # Rasa only: top intents as [[name, confidence], ...] (with nlu_fallback when it fired).
    rankings: list[list[list[Any]]] | None = None


def build_baseline(train: Sequence[Example]) -> Pipeline:
    """TF-IDF char 1-3-grams + logistic regression.

    Character n-grams need no word segmentation and degrade gracefully on typos and
    homophones (工姿/工资 still share 工), which is exactly the noise our users produce.
    ``class_weight="balanced"`` keeps small intents from being drowned by big ones.
    """
    model = make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1),
        LogisticRegression(max_iter=3000, C=10.0, class_weight="balanced"),
    )
    model.fit([ex.text for ex in train], [ex.intent for ex in train])
    return model


def predict_baseline(model: Pipeline, texts: Sequence[str]) -> Predictions:
    """Predict one message at a time so latency is comparable to Rasa's per-message parse."""
    labels: list[str] = []
    latencies: list[float] = []
    confidences: list[float | None] = []
    rankings: list[list[list[Any]]] = []
    for text in texts:
        start = time.perf_counter()
        proba = model.predict_proba([text])[0]
        latencies.append((time.perf_counter() - start) * 1000.0)
        best = int(np.argmax(proba))
        labels.append(str(model.classes_[best]))
        confidences.append(float(proba[best]))
        order = np.argsort(-proba)[:10]
        rankings.append([[str(model.classes_[i]), float(proba[i])] for i in order])
    return Predictions(
        "baseline", labels, latencies, "in-process, one message per call", confidences, rankings=rankings
    )


def predict_rasa_subprocess(python: Path, model: Path, texts: Sequence[str], timeout: float) -> Predictions:
    """Parse all texts in one engine-venv subprocess running ``bench/_rasa_parse.py``.

    One process for the whole set: loading a Rasa model costs about a minute, parsing
    costs milliseconds. Latency comes from the helper (around ``parse_message`` only).
    """
    payload = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts)
    print(f"[rasa] loading {model} with {python} (model load can take a minute)...", file=sys.stderr)
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as err:
        try:
            proc = subprocess.run(
                [str(python), str(PARSE_HELPER), str(model)],
                input=payload,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                encoding="utf-8",
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return _failed("rasa", len(texts), f"could not run engine helper: {exc}")
        err.seek(0)
        stderr_tail = "\n".join(err.read().splitlines()[-15:])
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or len(rows) != len(texts):
        return _failed(
            "rasa",
            len(texts),
            f"engine helper exited {proc.returncode} after {len(rows)}/{len(texts)} "
            f"messages; stderr tail:\n{stderr_tail}",
        )
    return _collect_rows("rasa", rows, "parse_message only, measured in engine process")


def predict_rasa_http(url: str, texts: Sequence[str], timeout: float) -> Predictions:
    """Call a running Rasa server's ``/model/parse``; this script starts nothing."""
    import httpx  # only needed for this mode

    endpoint = url.rstrip("/") + "/model/parse"
    rows: list[dict[str, Any]] = []
    try:
        with httpx.Client(timeout=timeout) as client:
            for text in texts:
                start = time.perf_counter()
                resp = client.post(endpoint, json={"text": text})
                latency = (time.perf_counter() - start) * 1000.0
                if resp.status_code != 200:
                    rows.append({"text": text, "error": f"HTTP {resp.status_code}"})
                    continue
                body = resp.json()
                intent = body.get("intent") or {}
                rows.append(
                    {
                        "text": text,
                        "intent": intent.get("name"),
                        "confidence": intent.get("confidence"),
                        "latency_ms": latency,
                    }
                )
    except httpx.HTTPError as exc:
        return _failed("rasa", len(texts), f"Rasa server at {endpoint} unreachable: {exc}")
    return _collect_rows("rasa", rows, "HTTP round trip to /model/parse")


def _collect_rows(name: str, rows: list[dict[str, Any]], note: str) -> Predictions:
    labels: list[str] = []
    latencies: list[float] = []
    confidences: list[float | None] = []
    errors: list[str] = []
    rankings: list[list[list[Any]]] = []
    for row in rows:
        rankings.append(list(row.get("ranking") or []))
        if "error" in row:
            errors.append(f"{row.get('text')!r}: {row['error']}")
            labels.append(NO_INTENT)
            confidences.append(None)
            continue
        labels.append(str(row.get("intent") or NO_INTENT))
        confidences.append(row.get("confidence"))
        if row.get("latency_ms") is not None:
            latencies.append(float(row["latency_ms"]))
    if errors and len(errors) == len(rows):
        return _failed(name, len(rows), "every message failed: " + errors[0])
    return Predictions(name, labels, latencies, note, confidences, errors, rankings)


def _failed(name: str, n: int, message: str) -> Predictions:
    """An empty result that carries its reason, so the report can say why."""
    return Predictions(name, [], [], "", [None] * n, [message])


# ---------------------------------------------------------------------- scoring


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


def percentile(values: Sequence[float], q: float) -> float | None:
    """Latency percentile; ``None`` when nothing was timed."""
    return float(np.percentile(values, q)) if values else None


def score(
    eval_set: Sequence[Example],
    pred: Predictions,
    eval_intents: list[str],
    seen_in_training: frozenset[int] = frozenset(),
) -> Scores:
    """Per-intent and summary metrics for one system over the eval set.

    Macro averages are over the intents present in the eval set, so an intent the
    system never predicts (e.g. missing from training) counts as F1 = 0 rather than
    silently disappearing from the average. ``seen_in_training`` holds the indices of
    eval messages whose text also occurs in the training data (short ones like 你好
    inevitably do); the "unseen" figures leave them out, which is the honest number.
    """
    gold = [ex.intent for ex in eval_set]
    predicted = pred.labels
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=eval_intents, zero_division=0
    )
    per_intent = {
        intent: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, intent in enumerate(eval_intents)
    }

    def macro(group: Iterable[str]) -> float | None:
        values = [per_intent[i]["f1"] for i in group if i in per_intent]
        return float(statistics.fmean(values)) if values else None

    def subset_accuracy(keep: Callable[[Example], bool]) -> float | None:
        pairs = [(g, p) for ex, g, p in zip(eval_set, gold, predicted, strict=True) if keep(ex)]
        return sum(g == p for g, p in pairs) / len(pairs) if pairs else None

    unseen = [k for k in range(len(eval_set)) if k not in seen_in_training]
    unseen_gold = [gold[k] for k in unseen]
    unseen_pred = [predicted[k] for k in unseen]
    unseen_intents = sorted(set(unseen_gold), key=eval_intents.index)
    macro_f1_unseen = (
        float(
            np.mean(
                precision_recall_fscore_support(
                    unseen_gold, unseen_pred, labels=unseen_intents, zero_division=0
                )[2]
            )
        )
        if unseen
        else None
    )

    # Confusions, with one example text each so a reader sees *what* went wrong.
    pair_counts: Counter[tuple[str, str]] = Counter()
    pair_example: dict[tuple[str, str], str] = {}
    for ex, p in zip(eval_set, predicted, strict=True):
        if ex.intent != p:
            pair_counts[(ex.intent, p)] += 1
            pair_example.setdefault((ex.intent, p), ex.text)
    confusions = [
        {"gold": g, "predicted": p, "count": c, "example": pair_example[(g, p)]}
        for (g, p), c in pair_counts.most_common()
    ]

    labels = eval_intents + sorted(set(predicted) - set(eval_intents))
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for g, p in zip(gold, predicted, strict=True):
        matrix[index[g], index[p]] += 1

    return Scores(
        accuracy=float(accuracy_score(gold, predicted)),
        macro_f1=float(statistics.fmean(per_intent[i]["f1"] for i in eval_intents)),
        macro_f1_categories=macro(CATEGORY_INTENTS),
        macro_f1_conversational=macro(CONVERSATIONAL_INTENTS),
        accuracy_mixed=subset_accuracy(lambda ex: ex.mixed),
        accuracy_unmixed=subset_accuracy(lambda ex: not ex.mixed),
        accuracy_unseen=(float(accuracy_score(unseen_gold, unseen_pred)) if unseen else None),
        macro_f1_unseen=macro_f1_unseen,
        per_intent=per_intent,
        confusions=confusions,
        matrix_labels=labels,
        matrix=matrix.tolist(),
        latency_ms={
            "p50": percentile(pred.latencies_ms, 50),
            "p90": percentile(pred.latencies_ms, 90),
            "mean": float(statistics.fmean(pred.latencies_ms)) if pred.latencies_ms else None,
        },
        latency_note=pred.latency_note,
        errors=pred.errors,
    )


FALLBACK_INTENT = "nlu_fallback"
SWEEP_THRESHOLDS: tuple[float, ...] = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.45)


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


def print_sweep(rows: list[dict[str, float]], ambiguity: float) -> None:
    print(f"\nFallback threshold sweep -- rasa (ambiguity {ambiguity}; 0 = no fallback; fallback = wrong):")
    for r in rows:
        print(
            f"  threshold {r['threshold']:.2f}: macro-F1 {r['macro_f1']:.3f}  "
            f"accuracy {r['accuracy']:.3f}  fallbacks {int(r['fallbacks'])}"
        )


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


def macro_f1(
    gold: Sequence[str] | np.ndarray, predicted: Sequence[str] | np.ndarray, labels: list[str]
) -> float:
    f1 = precision_recall_fscore_support(gold, predicted, labels=labels, zero_division=0)[2]
    return float(np.mean(f1))


@dataclass
class View:
    """One way of scoring a system's rankings; see ``decision_views``."""

    system: str
    view: str
    labels: list[str]
    macro_f1: float
    accuracy: float
    fallbacks: int


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


def print_views(views: list[View], threshold: float, ambiguity: float) -> None:
    print(f"\nDecision views (fallback rule from config: threshold {threshold}, ambiguity {ambiguity}):")
    print(f"  {'system':9s} {'view':34s} {'macro-F1':>8s} {'accuracy':>8s} {'fallbacks':>9s}")
    for v in views:
        print(f"  {v.system:9s} {v.view:34s} {v.macro_f1:8.3f} {v.accuracy:8.3f} {v.fallbacks:9d}")


# ---------------------------------------------------------------------- printing


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


# ---------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/nlu_eval.py",
        description=(
            "Score intent classification on the held-out set tests/nlu_eval/ for a "
            "TF-IDF char-n-gram baseline (always) and the trained Rasa model "
            "(optional), side by side."
        ),
        epilog=(
            "examples:\n"
            "  baseline only:\n"
            "    python bench/nlu_eval.py\n"
            "  Rasa model via the engine venv (no server needed):\n"
            "    python bench/nlu_eval.py --model models/nlu.tar.gz "
            "--rasa-python .venv-rasa/bin/python\n"
            "  Rasa server you started yourself (rasa run --enable-api):\n"
            "    python bench/nlu_eval.py --rasa-url http://127.0.0.1:5005\n"
            "  write figures + predictions for diffing:\n"
            "    python bench/nlu_eval.py --json results/nlu_eval.json\n"
            "exit codes: 0 evaluated; 1 requested Rasa run produced nothing; 2 usage."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--train-dir",
        type=Path,
        default=REPO_ROOT / "nlu",
        help="Rasa NLU YAML training data, searched recursively (default: nlu/)",
    )
    parser.add_argument(
        "--eval-dir",
        type=Path,
        default=REPO_ROOT / "tests" / "nlu_eval",
        help="held-out evaluation set (default: tests/nlu_eval/)",
    )
    parser.add_argument("--model", type=Path, help="trained Rasa model (.tar.gz); used with --rasa-python")
    parser.add_argument(
        "--rasa-python",
        type=Path,
        help="python of the engine venv (e.g. .venv-rasa/bin/python); runs "
        "bench/_rasa_parse.py there to parse with --model",
    )
    parser.add_argument(
        "--rasa-url",
        nargs="?",
        const="http://127.0.0.1:5005",
        help="instead of a subprocess, call a RUNNING Rasa server's "
        "/model/parse (default URL if given bare: http://127.0.0.1:5005)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        help="seconds allowed for the whole Rasa subprocess, or per HTTP request (default: 900)",
    )
    parser.add_argument(
        "--top-confusions",
        type=int,
        default=12,
        metavar="N",
        help="confusion pairs listed per system (default: 12)",
    )
    parser.add_argument(
        "--full-matrix", action="store_true", help="also print the full confusion matrix of each system"
    )
    parser.add_argument(
        "--json", type=Path, metavar="OUT", help="write all figures and per-message predictions to OUT"
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=REPO_ROOT / "config.yml",
        help="Rasa config whose FallbackClassifier rule the decision views apply (default: config.yml)",
    )
    parser.add_argument(
        "--ambiguity",
        type=float,
        default=None,
        help="ambiguity_threshold for the fallback sweep and views (default: the one in --config)",
    )
    args = parser.parse_args(argv)
    if args.rasa_python and not args.model:
        parser.error("--rasa-python needs --model PATH")
    if args.rasa_python and args.rasa_url:
        parser.error("choose one of --rasa-python (subprocess) or --rasa-url (server)")
    if args.model and not args.rasa_python and not args.rasa_url:
        args.rasa_url = "http://127.0.0.1:5005"  # --model alone: talk to the server
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    warnings: list[str] = []

    train_report, eval_report = LoadReport(), LoadReport()
    train = load_nlu_dir(args.train_dir, train_report) if args.train_dir.is_dir() else []
    if not args.train_dir.is_dir():
        warnings.append(f"training dir {args.train_dir} does not exist")
    eval_set = load_nlu_dir(args.eval_dir, eval_report) if args.eval_dir.is_dir() else []
    if not eval_set:
        print(f"error: no evaluation examples found under {args.eval_dir}", file=sys.stderr)
        return 2

    train_counts: Counter[str] = Counter(ex.intent for ex in train)
    eval_counts: Counter[str] = Counter(ex.intent for ex in eval_set)
    eval_intents = sorted(
        eval_counts,
        key=lambda i: (
            (CATEGORY_INTENTS + CONVERSATIONAL_INTENTS).index(i)
            if i in CATEGORY_INTENTS + CONVERSATIONAL_INTENTS
            else 999,
            i,
        ),
    )

    missing = [i for i in eval_intents if train_counts[i] == 0]
    if missing:
        warnings.append(f"intents with no training examples: {', '.join(missing)}")
    train_only = sorted(set(train_counts) - set(eval_counts))
    if train_only:
        warnings.append(f"training intents not in the eval set: {', '.join(train_only)}")
    train_keys = {normalise(ex.text): ex for ex in train}
    seen = frozenset(k for k, ex in enumerate(eval_set) if normalise(ex.text) in train_keys)
    if seen:
        leaked = [eval_set[k] for k in sorted(seen)]
        warnings.append(
            f"overlap: {len(seen)} eval messages also occur verbatim in the training data "
            "(mostly unavoidable short ones); see the 'unseen in training' rows. E.g. "
            + "; ".join(f"{e.text!r}" for e in leaked[:8])
            + (" ..." if len(leaked) > 8 else "")
        )
    if train_report.retrieval_intents_folded:
        warnings.append(
            "retrieval intents folded into their base intent: "
            + ", ".join(sorted(train_report.retrieval_intents_folded))
        )
    warnings += [f"skipped training file {f}" for f in train_report.files_skipped]

    texts = [ex.text for ex in eval_set]
    predictions: dict[str, Predictions] = {}
    skipped: dict[str, str] = {}

    if len(train_counts) >= 2:
        baseline = build_baseline(train)
        predictions["baseline"] = predict_baseline(baseline, texts)
    else:
        skipped["baseline"] = (
            f"needs >= 2 intents in training data, found {len(train_counts)} under {args.train_dir}"
        )

    rasa_requested = bool(args.rasa_python or args.rasa_url)
    if args.rasa_python:
        predictions["rasa"] = predict_rasa_subprocess(args.rasa_python, args.model, texts, args.timeout)
    elif args.rasa_url:
        predictions["rasa"] = predict_rasa_http(args.rasa_url, texts, args.timeout)
    else:
        skipped["rasa"] = "not requested (give --model with --rasa-python, or --rasa-url)"

    systems: dict[str, Scores | None] = {}
    for name in ("rasa", "baseline"):
        if name in predictions and predictions[name].labels:
            systems[name] = score(eval_set, predictions[name], eval_intents, seen)
        else:
            systems[name] = None
            if name in predictions:
                skipped[name] = "FAILED: " + "; ".join(predictions[name].errors)

    print(f"NLU held-out evaluation  ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")
    print(
        f"training: {len(train)} examples, {len(train_counts)} intents, "
        f"{len(train_report.files_with_nlu)} files under {_display_path(args.train_dir)}"
    )
    print(
        f"eval:     {len(eval_set)} messages, {len(eval_counts)} intents, "
        f"{sum(ex.mixed for ex in eval_set)} flagged mixed, "
        f"{len(eval_report.files_with_nlu)} files under {_display_path(args.eval_dir)}"
    )
    for w in warnings:
        print(f"WARNING: {w}")
    print()
    print_table(eval_intents, train_counts, systems, skipped)
    for name, s in systems.items():
        if s is None:
            continue
        if s.errors:
            print(f"[{name}] {len(s.errors)} messages failed to parse, e.g. {s.errors[0]}")
        print_confusions(name, s, args.top_confusions)
        if args.full_matrix:
            print_matrix(name, s)

    sweep: list[dict[str, float]] = []
    views: list[View] = []
    bootstrap: dict[str, float] = {}
    threshold, ambiguity = fallback_settings(args.config)
    if args.ambiguity is not None:
        ambiguity = args.ambiguity
    rasa_pred = predictions.get("rasa")
    if systems.get("rasa") and rasa_pred and rasa_pred.rankings and any(rasa_pred.rankings):
        sweep = fallback_sweep(eval_set, rasa_pred.rankings, eval_intents, ambiguity)
        print_sweep(sweep, ambiguity)
        base_pred = predictions.get("baseline")
        ranks = {"rasa": rasa_pred.rankings}
        if base_pred and base_pred.rankings:
            ranks["baseline"] = base_pred.rankings
        views = decision_views(eval_set, ranks, eval_intents, threshold, ambiguity)
        print_views(views, threshold, ambiguity)
        if "baseline" in ranks:
            gold = [ex.intent for ex in eval_set]
            by = {(v.system, v.view): v.labels for v in views}
            observed, low, high, share = paired_bootstrap(
                gold, by[("rasa", views[0].view)], by[("baseline", views[0].view)], eval_intents
            )
            bootstrap = {"observed": observed, "ci_low": low, "ci_high": high, "share_rasa_ahead": share}
            print(
                f"\nPaired bootstrap (1000 resamples of the eval set), macro-F1 rasa - baseline, top-1: "
                f"{observed:+.3f}, 95 % interval [{low:+.3f}, {high:+.3f}], rasa ahead in {share:.0%}"
            )

    if args.json:
        report = {
            "fallback_sweep": sweep,
            "decision_views": [{k: v for k, v in asdict(view).items() if k != "labels"} for view in views],
            "bootstrap_top1": bootstrap,
            "generated_at": datetime.now(UTC).isoformat(),
            "train": {
                "dir": str(args.train_dir),
                "files": train_report.files_with_nlu,
                "examples": len(train),
                "per_intent": dict(train_counts),
            },
            "eval": {
                "dir": str(args.eval_dir),
                "files": eval_report.files_with_nlu,
                "examples": len(eval_set),
                "per_intent": dict(eval_counts),
                "mixed": sum(ex.mixed for ex in eval_set),
                "seen_in_training": len(seen),
            },
            "warnings": warnings,
            "skipped": skipped,
            "systems": {n: asdict(s) if s else None for n, s in systems.items()},
            "predictions": [
                {
                    "text": ex.text,
                    "gold": ex.intent,
                    "mixed": ex.mixed,
                    "source": ex.source,
                    "seen_in_training": k in seen,
                    **{
                        n: {"intent": p.labels[k], "confidence": p.confidences[k]}
                        for n, p in predictions.items()
                        if p.labels
                    },
                }
                for k, ex in enumerate(eval_set)
            ],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"\nwrote {args.json}")

    return 1 if rasa_requested and systems.get("rasa") is None else 0


if __name__ == "__main__":
    sys.exit(main())
