"""Command line: load both data sets, run the systems, score, print, optionally write JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.nlu_eval.data import (
    REPO_ROOT,
    Example,
    LoadReport,
    display_path,
    intent_order,
    load_nlu_dir,
    normalise,
)
from bench.nlu_eval.decisions import View, decision_views, fallback_settings, fallback_sweep, paired_bootstrap
from bench.nlu_eval.report import print_confusions, print_matrix, print_sweep, print_table, print_views
from bench.nlu_eval.scoring import Scores, score
from bench.nlu_eval.systems import (
    Predictions,
    build_baseline,
    predict_baseline,
    predict_rasa_http,
    predict_rasa_subprocess,
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.nlu_eval",
        description=(
            "Score intent classification on the held-out set tests/nlu_eval/ for a "
            "TF-IDF char-n-gram baseline (always) and the trained Rasa model "
            "(optional), side by side."
        ),
        epilog=(
            "examples:\n"
            "  baseline only:\n"
            "    python -m bench.nlu_eval\n"
            "  Rasa model via the engine venv (no server needed):\n"
            "    python -m bench.nlu_eval --model models/nlu.tar.gz "
            "--rasa-python .venv-rasa/bin/python\n"
            "  Rasa server you started yourself (rasa run --enable-api):\n"
            "    python -m bench.nlu_eval --rasa-url http://127.0.0.1:5005\n"
            "  write figures + predictions for diffing:\n"
            "    python -m bench.nlu_eval --json results/nlu_eval.json\n"
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


@dataclass
class Data:
    """Training and eval messages, with what loading them found."""

    train: list[Example]
    eval_set: list[Example]
    train_report: LoadReport
    eval_report: LoadReport
    train_counts: Counter[str]
    eval_counts: Counter[str]
    eval_intents: list[str]
    seen: frozenset[int]  # indices of eval messages whose text also occurs in training
    warnings: list[str] = field(default_factory=list)


def load(train_dir: Path, eval_dir: Path) -> Data:
    """Read both sets and note what a reader must know (missing intents, overlap, skipped files)."""
    warnings: list[str] = []
    train_report, eval_report = LoadReport(), LoadReport()
    train = load_nlu_dir(train_dir, train_report) if train_dir.is_dir() else []
    if not train_dir.is_dir():
        warnings.append(f"training dir {train_dir} does not exist")
    eval_set = load_nlu_dir(eval_dir, eval_report) if eval_dir.is_dir() else []
    train_counts: Counter[str] = Counter(ex.intent for ex in train)
    eval_counts: Counter[str] = Counter(ex.intent for ex in eval_set)
    eval_intents = intent_order(eval_counts)

    missing = [i for i in eval_intents if train_counts[i] == 0]
    if missing:
        warnings.append(f"intents with no training examples: {', '.join(missing)}")
    train_only = sorted(set(train_counts) - set(eval_counts))
    if train_only:
        warnings.append(f"training intents not in the eval set: {', '.join(train_only)}")
    train_keys = {normalise(ex.text) for ex in train}
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
    return Data(
        train, eval_set, train_report, eval_report, train_counts, eval_counts, eval_intents, seen, warnings
    )


def predict(args: argparse.Namespace, data: Data) -> tuple[dict[str, Predictions], dict[str, str]]:
    """(predictions by system, reason by skipped system)."""
    texts = [ex.text for ex in data.eval_set]
    predictions: dict[str, Predictions] = {}
    skipped: dict[str, str] = {}
    if len(data.train_counts) >= 2:
        predictions["baseline"] = predict_baseline(build_baseline(data.train), texts)
    else:
        skipped["baseline"] = (
            f"needs >= 2 intents in training data, found {len(data.train_counts)} under {args.train_dir}"
        )
    if args.rasa_python:
        predictions["rasa"] = predict_rasa_subprocess(args.rasa_python, args.model, texts, args.timeout)
    elif args.rasa_url:
        predictions["rasa"] = predict_rasa_http(args.rasa_url, texts, args.timeout)
    else:
        skipped["rasa"] = "not requested (give --model with --rasa-python, or --rasa-url)"
    return predictions, skipped


def score_systems(
    data: Data, predictions: dict[str, Predictions], skipped: dict[str, str]
) -> dict[str, Scores | None]:
    """Scores for rasa and baseline; a system without predictions is None (and its reason in skipped)."""
    systems: dict[str, Scores | None] = {}
    for name in ("rasa", "baseline"):
        if name in predictions and predictions[name].labels:
            systems[name] = score(data.eval_set, predictions[name], data.eval_intents, data.seen)
        else:
            systems[name] = None
            if name in predictions:
                skipped[name] = "FAILED: " + "; ".join(predictions[name].errors)
    return systems


@dataclass
class Comparison:
    """The fallback sweep, decision views and bootstrap (empty when Rasa gave no rankings)."""

    sweep: list[dict[str, float]] = field(default_factory=list)
    views: list[View] = field(default_factory=list)
    bootstrap: dict[str, float] = field(default_factory=dict)


def compare(
    args: argparse.Namespace,
    data: Data,
    predictions: dict[str, Predictions],
    systems: dict[str, Scores | None],
) -> Comparison:
    """Replay the deployed fallback rule on both systems' rankings and print what it changes."""
    result = Comparison()
    threshold, ambiguity = fallback_settings(args.config)
    if args.ambiguity is not None:
        ambiguity = args.ambiguity
    rasa_pred = predictions.get("rasa")
    if not (systems.get("rasa") and rasa_pred and rasa_pred.rankings and any(rasa_pred.rankings)):
        return result
    result.sweep = fallback_sweep(data.eval_set, rasa_pred.rankings, data.eval_intents, ambiguity)
    print_sweep(result.sweep, ambiguity)
    base_pred = predictions.get("baseline")
    ranks = {"rasa": rasa_pred.rankings}
    if base_pred and base_pred.rankings:
        ranks["baseline"] = base_pred.rankings
    result.views = decision_views(data.eval_set, ranks, data.eval_intents, threshold, ambiguity)
    print_views(result.views, threshold, ambiguity)
    if "baseline" in ranks:
        gold = [ex.intent for ex in data.eval_set]
        by = {(v.system, v.view): v.labels for v in result.views}
        top1 = result.views[0].view
        observed, low, high, share = paired_bootstrap(
            gold, by[("rasa", top1)], by[("baseline", top1)], data.eval_intents
        )
        result.bootstrap = {"observed": observed, "ci_low": low, "ci_high": high, "share_rasa_ahead": share}
        print(
            f"\nPaired bootstrap (1000 resamples of the eval set), macro-F1 rasa - baseline, top-1: "
            f"{observed:+.3f}, 95 % interval [{low:+.3f}, {high:+.3f}], rasa ahead in {share:.0%}"
        )
    return result


def json_report(
    args: argparse.Namespace,
    data: Data,
    predictions: dict[str, Predictions],
    systems: dict[str, Scores | None],
    skipped: dict[str, str],
    comparison: Comparison,
) -> dict[str, Any]:
    """Every figure and every per-message prediction, for diffing runs."""
    return {
        "fallback_sweep": comparison.sweep,
        "decision_views": [
            {k: v for k, v in asdict(view).items() if k != "labels"} for view in comparison.views
        ],
        "bootstrap_top1": comparison.bootstrap,
        "generated_at": datetime.now(UTC).isoformat(),
        "train": {
            "dir": str(args.train_dir),
            "files": data.train_report.files_with_nlu,
            "examples": len(data.train),
            "per_intent": dict(data.train_counts),
        },
        "eval": {
            "dir": str(args.eval_dir),
            "files": data.eval_report.files_with_nlu,
            "examples": len(data.eval_set),
            "per_intent": dict(data.eval_counts),
            "mixed": sum(ex.mixed for ex in data.eval_set),
            "seen_in_training": len(data.seen),
        },
        "warnings": data.warnings,
        "skipped": skipped,
        "systems": {n: asdict(s) if s else None for n, s in systems.items()},
        "predictions": [
            {
                "text": ex.text,
                "gold": ex.intent,
                "mixed": ex.mixed,
                "source": ex.source,
                "seen_in_training": k in data.seen,
                **{
                    n: {"intent": p.labels[k], "confidence": p.confidences[k]}
                    for n, p in predictions.items()
                    if p.labels
                },
            }
            for k, ex in enumerate(data.eval_set)
        ],
    }


def print_header(args: argparse.Namespace, data: Data) -> None:
    print(f"NLU held-out evaluation  ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")
    print(
        f"training: {len(data.train)} examples, {len(data.train_counts)} intents, "
        f"{len(data.train_report.files_with_nlu)} files under {display_path(args.train_dir)}"
    )
    print(
        f"eval:     {len(data.eval_set)} messages, {len(data.eval_counts)} intents, "
        f"{sum(ex.mixed for ex in data.eval_set)} flagged mixed, "
        f"{len(data.eval_report.files_with_nlu)} files under {display_path(args.eval_dir)}"
    )
    for w in data.warnings:
        print(f"WARNING: {w}")
    print()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    data = load(args.train_dir, args.eval_dir)
    if not data.eval_set:
        print(f"error: no evaluation examples found under {args.eval_dir}", file=sys.stderr)
        return 2
    predictions, skipped = predict(args, data)
    systems = score_systems(data, predictions, skipped)

    print_header(args, data)
    print_table(data.eval_intents, data.train_counts, systems, skipped)
    for name, s in systems.items():
        if s is None:
            continue
        if s.errors:
            print(f"[{name}] {len(s.errors)} messages failed to parse, e.g. {s.errors[0]}")
        print_confusions(name, s, args.top_confusions)
        if args.full_matrix:
            print_matrix(name, s)
    comparison = compare(args, data, predictions, systems)

    if args.json:
        report = json_report(args, data, predictions, systems, skipped, comparison)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"\nwrote {args.json}")

    rasa_requested = bool(args.rasa_python or args.rasa_url)
    return 1 if rasa_requested and systems.get("rasa") is None else 0
