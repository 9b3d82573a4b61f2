"""Engine-side helper for ``python -m bench.nlu_eval``: parse messages with a trained Rasa model.

Why a separate file: the Rasa engine lives in its own Python 3.10 venv (TensorFlow
2.12 pins) and must never share an interpreter with the app (Python 3.11). The
benchmark therefore runs this file as a subprocess *inside the engine venv*; it
imports only the standard library and ``rasa`` so it works there unchanged.

Protocol (one JSON object per line, UTF-8):

* stdin:  ``{"text": "..."}``  (a bare JSON string is accepted too)
* stdout: ``{"text": ..., "intent": ..., "confidence": ..., "ranking": [[name, conf], ...],
  "latency_ms": ...}``; or ``{"text": ..., "error": "..."}`` if one message failed.

``latency_ms`` is measured around ``Agent.parse_message`` only (no process start,
model load or pipe overhead), after one warm-up parse, so it is the number a
running server would add per message.

Usage: ``.venv-rasa/bin/python bench/_rasa_parse.py models/xyz.tar.gz < in.jsonl``
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from typing import Any, TextIO


def _claim_stdout() -> TextIO:
    """Keep the real stdout for our JSON and send everything else to stderr.

    Rasa, TensorFlow and (unconfigured) structlog print to stdout; one stray line
    would corrupt the JSON-lines protocol, so fd 1 is redirected to fd 2 for the
    rest of the process and our results go to a private duplicate of fd 1.
    """
    sys.stdout.flush()
    private = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return private


def _quiet_logging() -> None:
    """Silence debug chatter (structlog prints every parse at DEBUG by default)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        import structlog

        structlog.configure(
            wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
            logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        )
    except Exception:  # logging set-up must never stop the benchmark
        pass


def _summarise(parsed: dict[str, Any], latency_ms: float) -> dict[str, Any]:
    """Reduce Rasa's parse result to what the benchmark scores."""
    intent = parsed.get("intent") or {}
    ranking = [
        [item.get("name"), float(item.get("confidence") or 0.0)]
        for item in (parsed.get("intent_ranking") or [])[:5]
    ]
    return {
        "text": parsed.get("text"),
        "intent": intent.get("name"),
        "confidence": float(intent.get("confidence") or 0.0),
        "ranking": ranking,
        "latency_ms": latency_ms,
    }


def main(argv: list[str]) -> int:
    """Load the model once, then parse every stdin line in order."""
    if len(argv) != 2 or argv[1] in {"-h", "--help"}:
        print(__doc__, file=sys.stderr)
        return 2
    out = _claim_stdout()
    _quiet_logging()

    # The model names our own engine components (rasa_components.*); `rasa run` finds them
    # through its working directory, this helper through the repository root.
    sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from rasa.core.agent import Agent  # imported late: heavy, and must log to stderr

    agent = Agent.load(argv[1])
    if not agent.is_ready():
        print(f"model at {argv[1]} did not load", file=sys.stderr)
        return 1
    # One event loop for the whole run: cheaper and closer to a long-lived server
    # than asyncio.run() per message.
    loop = asyncio.new_event_loop()
    loop.run_until_complete(agent.parse_message("你好"))  # warm-up (graph/TF init)

    for raw in sys.stdin:
        raw = raw.strip()
        if not raw:
            continue
        payload = json.loads(raw)
        text = payload["text"] if isinstance(payload, dict) else str(payload)
        try:
            start = time.perf_counter()
            parsed = loop.run_until_complete(agent.parse_message(text))
            latency_ms = (time.perf_counter() - start) * 1000.0
            result = _summarise(parsed, latency_ms)
            result["text"] = text
        except Exception as exc:  # report per message, keep going
            result = {"text": text, "error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    out.flush()
    loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
