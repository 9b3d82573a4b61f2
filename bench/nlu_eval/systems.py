"""The two systems scored on the eval set: the TF-IDF baseline (in process) and the Rasa model.

The Rasa model is parsed either by one subprocess in the engine venv (``bench/_rasa_parse.py``) or by
a running server's ``/model/parse``; both give the same row format, collected into ``Predictions``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from bench.nlu_eval.data import REPO_ROOT, Example

PARSE_HELPER = REPO_ROOT / "bench" / "_rasa_parse.py"
NO_INTENT = "<none>"


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
