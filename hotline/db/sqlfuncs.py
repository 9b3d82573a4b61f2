"""SQL expressions the reports need on both SQLite and PostgreSQL, written once (SQLAlchemy constructs
compiled per dialect): whole seconds between two timestamps, the UTC calendar day of a timestamp, and the
duration histogram's bucket.

They are used in three places that must agree to the bit: the ticket's generated duration columns
(models.Ticket), the roll-up triggers (hotline.reports.rollup) and the report queries
(hotline.reports.metrics). Sharing the constructs is what keeps the pre-aggregated figures exact.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Date, Integer, case, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class duration_seconds(FunctionElement[int]):
    """Whole seconds from the first timestamp to the second, rounded half away from zero (a ticket's
    times carry microseconds). NULL when either is NULL."""

    type = BigInteger()
    inherit_cache = True
    name = "duration_seconds"


@compiles(duration_seconds, "sqlite")
def _duration_sqlite(element: duration_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(round((julianday({end}) - julianday({start})) * 86400.0) AS INTEGER)"


@compiles(duration_seconds, "postgresql")
def _duration_postgresql(element: duration_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    # numeric round() is half away from zero like SQLite's (double precision round() is half to even)
    return f"CAST(round(CAST(date_part('epoch', {end} - {start}) AS NUMERIC)) AS BIGINT)"


class utc_day(FunctionElement[Any]):
    """The calendar day of a naive UTC timestamp (a DATE; SQLite's 'YYYY-MM-DD' text)."""

    type = Date()
    inherit_cache = True
    name = "utc_day"


@compiles(utc_day, "sqlite")
def _day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_day, "postgresql")
def _day_postgresql(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS DATE)"


# The duration histogram's buckets: (lower bound in seconds, bucket width) per segment, each segment
# running to the next one's lower bound (a multiple of its width). Fine where durations are short and
# dense, coarse for long ones, so a day × county holds few buckets; negative durations (imports) share
# bucket -1. Changing this needs a migration that rebuilds ticket_rollup_duration.
BUCKET_SEGMENTS: tuple[tuple[int, int], ...] = (
    (0, 300),  # < 1 h: 5 minutes
    (3600, 3600),  # < 1 day: 1 hour
    (86400, 6 * 3600),  # < 7 days: 6 hours
    (7 * 86400, 86400),  # < 90 days: 1 day
    (90 * 86400, 7 * 86400),  # then weeks
)


def _segments() -> list[tuple[int, int, int | None, int]]:
    """(first bucket, lower bound, upper bound or None, width) per segment."""
    out: list[tuple[int, int, int | None, int]] = []
    first = 0
    for i, (lower, width) in enumerate(BUCKET_SEGMENTS):
        upper = BUCKET_SEGMENTS[i + 1][0] if i + 1 < len(BUCKET_SEGMENTS) else None
        out.append((first, lower, upper, width))
        if upper is not None:
            assert (upper - lower) % width == 0, "a segment must hold whole buckets"
            first += (upper - lower) // width
    return out


def duration_bucket(seconds: Any) -> ColumnElement[int]:
    """The bucket of a duration in whole seconds: non-decreasing in the duration, so buckets in order
    are durations in order."""
    whens: list[tuple[Any, Any]] = [(seconds < 0, literal(-1))]
    for first, lower, upper, width in _segments():
        value = literal(first) + (seconds - literal(lower)) // literal(width)
        whens.append((seconds < literal(upper) if upper is not None else literal(True), value))
    return case(*whens).cast(Integer)


def bucket_of(seconds: int) -> int:
    """Python twin of `duration_bucket` (tests)."""
    if seconds < 0:
        return -1
    for first, lower, upper, width in _segments():
        if upper is None or seconds < upper:
            return first + (seconds - lower) // width
    raise AssertionError("unreachable")


def bucket_bounds(bucket: int) -> tuple[int | None, int | None]:
    """[lower, upper) seconds of a bucket (None = unbounded)."""
    if bucket < 0:
        return None, 0
    for first, lower, upper, width in _segments():
        last = first + (upper - lower) // width if upper is not None else None
        if last is None or bucket < last:
            lo = lower + (bucket - first) * width
            return lo, lo + width
    raise AssertionError("unreachable")
