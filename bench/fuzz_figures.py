"""Figures of the fuzz suite (issue 14): examples run per target, seconds, failures found.

Runs `pytest tests/unit/test_fuzz_*.py` once with hypothesis' statistics and pytest's durations, and prints
a Markdown table (per property test: examples generated/replayed, failing examples, seconds of its call;
plus the wall time of the whole suite). `--write` also puts the table under the "Fuzz" heading of
bench/RESULTS.md, leaving the file's other sections alone.

    .venv/bin/python -m bench.fuzz_figures [--write]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## Fuzz"
TARGETS = {
    "test_fuzz_gateway.py": "gateway core (Gateway.handle)",
    "test_fuzz_action_server.py": "action server /webhook (python -m actions)",
    "test_fuzz_telegram.py": "Telegram transport (local Bot API server)",
    "test_fuzz_import.py": "tickets import --dry-run (CSV/XLSX)",
}
# Failures the suite found while it was written (each fixed, each with a regression test in the same file).
FINDINGS = """Failures found while building the suite (all fixed; each has a fixed regression test):

1. Gateway: a button payload (Telegram callback data) was neither sanitised nor capped; a lone surrogate
   in it made the insert of the engine's echo raise (message lost, exception), a NUL would break PostgreSQL.
   Fix: `Gateway.handle` sanitises the payload like the text.
2. Gateway: a transport message id over 64 characters, or with NUL / a lone surrogate, was stored as is
   (PostgreSQL refuses it: String(64)). Fix: `hotline.messages.storable_message_id` keeps a stable digest.
3. Action server: a malformed call (a list body, a string tracker, `latest_message` not an object, events
   not objects, …) answered 500 from inside rasa-sdk. Fix: `actions.server.malformed_call`, a 400 naming
   the wrong part, checked after the token.
4. Action server: a list or object slot value (e.g. `category: [null]`) crashed `action_create_ticket`
   (500). Fix: slot values must be scalars, except the intake's `failures` object (same 400).
5. Import: an XLSX whose sheet is damaged inside an intact archive escaped as `zlib.error` with a
   traceback (read-only openpyxl inflates while iterating). Fix: archive/XML errors while reading rows are
   refused in Chinese (【文件】不是有效的 XLSX 文件（文件已损坏）).

Not a bug, noted: message ids deduplicate per channel, not per citizen, so two citizens sending the same id
would collide; the transports make ids unique per channel ("chat:message", "cb:query id"), and the fuzz
prefixes its random ids with the citizen accordingly."""
_TEST = re.compile(r"^(tests/unit/(test_fuzz_\w+\.py)::(\w+)):\s*$")
_COUNTS = re.compile(r"(\d+) passing, (\d+) failing, and (\d+) invalid")
_DURATION = re.compile(r"^([\d.]+)s (call|setup)\s+(tests/unit/test_fuzz_\w+\.py::\w+)")
_SUMMARY = re.compile(r"(\d+) passed|(\d+) failed")


@dataclass
class Row:
    file: str
    test: str
    examples: int = 0
    failing: int = 0
    seconds: float = 0.0


def parse(output: str) -> tuple[list[Row], dict[str, float]]:
    """Rows for the property tests (from the statistics) and seconds per test id (setup + call)."""
    rows: dict[str, Row] = {}
    current: Row | None = None
    seconds: dict[str, float] = {}
    for line in output.splitlines():
        if match := _TEST.match(line.strip()):
            current = rows.setdefault(match[1], Row(match[2], match[3]))
        elif current is not None and (counts := _COUNTS.search(line)):
            current.examples += int(counts[1]) + int(counts[2])
            current.failing += int(counts[2])
        if duration := _DURATION.match(line.strip()):
            seconds[duration[3]] = seconds.get(duration[3], 0.0) + float(duration[1])
    for test_id, row in rows.items():
        row.seconds = seconds.get(test_id, 0.0)
    return list(rows.values()), seconds


def table(rows: list[Row], seconds: dict[str, float], wall: float, summary: str) -> str:
    lines = [
        "| target | property test | examples | failing | seconds |",
        "|---|---|---:|---:|---:|",
    ]
    for row in rows:
        target = TARGETS.get(row.file, row.file)
        lines.append(f"| {target} | `{row.test}` | {row.examples} | {row.failing} | {row.seconds:.1f} |")
    per_file: dict[str, float] = {}
    for test_id, s in seconds.items():
        name = test_id.split("::")[0].rsplit("/", 1)[-1]
        per_file[name] = per_file.get(name, 0.0) + s
    lines.append("")
    lines.append(
        "Seconds per file (setup + calls, incl. fixed regression cases and server start-up): "
        + ", ".join(f"{name} {s:.1f}" for name, s in sorted(per_file.items()))
        + f". Whole suite: {wall:.1f} s wall ({summary}), pytest start-up and collection included."
        + " Measured on the shared 2-core machine while other jobs ran: the seconds are upper bounds."
    )
    return "\n".join(lines)


def write_section(body: str) -> None:
    """Replace (or append) the "## Fuzz" section of bench/RESULTS.md, up to the next "## " heading."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    section = f"{HEADING}\n\n{body}\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--write", action="store_true", help="update the Fuzz section of bench/RESULTS.md")
    args = parser.parse_args(argv)
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "unit").glob("test_fuzz_*.py"))
    command = [sys.executable, "-m", "pytest", *files, "-q", "-p", "no:cacheprovider"]
    command += ["--hypothesis-show-statistics", "--durations=0", "--durations-min=0"]
    start = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - start
    rows, seconds = parse(result.stdout)
    counts = _SUMMARY.findall(result.stdout)
    summary = ", ".join(f"{p} passed" if p else f"{f} failed" for p, f in counts) or "no summary"
    body = table(rows, seconds, wall, summary) + "\n\n" + FINDINGS
    print(body)
    if args.write:
        write_section(body)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
