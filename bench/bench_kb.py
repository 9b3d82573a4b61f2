"""Knowledge-base benchmark (issue 10): general questions answered right, personal stories wrongly answered.

    .venv/bin/python -m bench.bench_kb --eval bench/kb_dev/dev.yaml [--threshold 0.45] [--show]

The file: `general: [{text, expected_id | category}]`, `personal: [text]`. A general question counts as
answered right when the retriever (hotline.knowledge.search, the same code and threshold as the dialog)
answers with the expected entry (or, given only a category, an entry of that category). A personal story
counts as wrongly answered when it gets any answer (target 0). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from hotline.knowledge.loader import packaged_kb
from hotline.knowledge.search import DEFAULT_THRESHOLD, Retriever


def evaluate(spec: dict[str, Any], retriever: Retriever) -> dict[str, Any]:
    """Counts and the misses, for one eval document."""
    general = spec.get("general") or []
    personal = spec.get("personal") or []
    right, wrong, unanswered, misses = 0, 0, 0, []
    for item in general:
        match = retriever.answer(str(item["text"]))
        expected_id, category = item.get("expected_id"), item.get("category")
        if match is None:
            unanswered += 1
            misses.append(f"unanswered: {item['text']}")
        elif (expected_id and match.entry.id == expected_id) or (
            not expected_id and match.entry.category == category
        ):
            right += 1
        else:
            wrong += 1
            misses.append(f"wrong: {item['text']} -> {match.entry.id} ({match.score:.2f})")
    answered_personal = []
    for text in personal:
        match = retriever.answer(str(text))
        if match is not None:
            answered_personal.append(f"story answered: {text} -> {match.entry.id}")
    return {
        "general": len(general),
        "right": right,
        "wrong": wrong,
        "unanswered": unanswered,
        "personal": len(personal),
        "personal_answered": len(answered_personal),
        "misses": misses + answered_personal,
    }


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_kb", description=__doc__.split("\n")[0])
    parser.add_argument("--eval", required=True, type=Path, help="YAML file with general/personal lists")
    parser.add_argument("--threshold", type=float, default=None, help="default: configuration")
    parser.add_argument("--show", action="store_true", help="list the misses")
    args = parser.parse_args(argv)
    spec = yaml.safe_load(args.eval.read_text(encoding="utf-8")) or {}
    threshold = args.threshold if args.threshold is not None else _configured_threshold()
    r = evaluate(spec, Retriever(packaged_kb(), threshold))
    print(f"knowledge base: {len(packaged_kb())} entries; eval: {args.eval}; threshold {threshold}\n")
    print("| measure | value |\n|---|---|")
    print(
        f"| general questions answered with the right entry | {r['right']}/{r['general']} = "
        f"{_pct(r['right'], r['general'])} |"
    )
    print(
        f"| general questions answered with a wrong entry | {r['wrong']}/{r['general']} = "
        f"{_pct(r['wrong'], r['general'])} |"
    )
    print(f"| general questions left to the intake | {r['unanswered']}/{r['general']} |")
    print(
        f"| personal stories wrongly answered with a FAQ (target 0) | {r['personal_answered']}/"
        f"{r['personal']} = {_pct(r['personal_answered'], r['personal'])} |"
    )
    if args.show:
        print("\n" + "\n".join(r["misses"]))
    return 0


def _configured_threshold() -> float:
    try:
        from hotline.settings import get_settings

        return float(get_settings().knowledge.threshold)
    except Exception:  # no deployment configuration here: the code default
        return DEFAULT_THRESHOLD


if __name__ == "__main__":
    sys.exit(main())
