"""The report queries rewritten for province scale (issue 13) give the figures of their definitions exactly.

Random tickets (durations on both sides of an hour, negative ones from imports, ties, several duration
buckets, missing due dates, cancelled and reopened tickets, JSON facts) checked against the definitions
computed naively in Python, for periods whose whole UTC days come from the daily roll-ups and whose
ragged edges from the ticket table (hotline.reports.rollup), city-wide and for two counties:
nearest-rank median/p90 from the histogram-then-bucket query, backlog from its two resolved_at ranges,
the new-ticket and facts figures.
"""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest
from sqlalchemy.orm import Session

from hotline.reports.metrics import compute_metrics
from hotline.reports.periods import Period, parse_period
from hotline.settings import Settings
from tests.unit.reports_fixtures import COUNTY_CODES, bulk_tickets

START = dt.datetime(2025, 12, 31, 16, 0)  # 2026-01-01 00:00 in Asia/Shanghai, as naive UTC
END = dt.datetime(2026, 12, 31, 16, 0)


def nearest_rank_hours(seconds: list[int], p: float) -> float:
    ordered = sorted(seconds)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)] / 3600


def random_tickets(rnd: random.Random, n: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for _ in range(n):
        created = START + dt.timedelta(seconds=rnd.randint(-30 * 86400, 400 * 86400))
        # Whole seconds, some negative (an import's resolved_at before created_at), many ties.
        resolved = None
        if rnd.random() < 0.8:
            resolved = created + dt.timedelta(
                seconds=rnd.choice([rnd.randint(-5000, 5000), 3600 * rnd.randint(0, 9)])
            )
        first = created + dt.timedelta(seconds=rnd.randint(-100, 20000)) if rnd.random() < 0.9 else None
        status = rnd.choice(["new", "assigned", "closed", "cancelled", "resolved"])
        rows.append(
            {
                "created_at": created,
                "resolved_at": resolved,
                "first_response_at": first,
                "resolution_due": created + dt.timedelta(hours=rnd.randint(0, 3))
                if rnd.random() < 0.7
                else None,
                "first_response_due": created + dt.timedelta(hours=1) if rnd.random() < 0.7 else None,
                "status": status,
                "county_code": rnd.choice(COUNTY_CODES),
                "case_type": rnd.choice(["civil", "criminal", "consultation"]),
                "facts": rnd.choice([{}, {"fallbacks": rnd.randint(0, 3)}, {"faq_id": "wage_1"}]),
                "migrant_worker": rnd.random() < 0.3,
            }
        )
    return rows


PERIODS = {
    "annual": (parse_period("annual", "2026"), None),
    # ragged edges of another length (UTC-5/-4), two counties: roll-up days + edges, filtered by county
    "new-york-two-counties": (
        Period("annual", dt.date(2026, 1, 1), dt.date(2027, 1, 1), timezone="America/New_York"),
        COUNTY_CODES[:2],
    ),
    "month": (parse_period("monthly", "2026-06"), None),
}


@pytest.mark.parametrize("case", list(PERIODS))
def test_durations_backlog_and_facts_match_their_definitions(
    session: Session, settings: Settings, case: str
) -> None:
    period, counties = PERIODS[case]
    start, end = period.start_utc, period.end_utc
    rnd = random.Random(13)
    all_rows = random_tickets(rnd, 1500)
    bulk_tickets(session, all_rows)
    m = compute_metrics(session, settings, period, counties, with_previous=False)
    rows = [r for r in all_rows if counties is None or r["county_code"] in counties]

    def within(at: object) -> bool:
        return isinstance(at, dt.datetime) and start <= at < end

    for done, due, figure in (
        ("resolved_at", "resolution_due", m.resolution),
        ("first_response_at", "first_response_due", m.first_response),
    ):
        # An import's placeholder first response (at its creation time) is left out of the durations.
        placeholder = done == "first_response_at"
        rows_done = [r for r in rows if not (placeholder and r[done] == r["created_at"])]
        seconds = [
            round((r[done] - r["created_at"]).total_seconds())  # type: ignore[operator]
            for r in rows_done
            if within(r[done])
        ]
        assert figure.count == len(seconds)
        assert figure.median_hours == nearest_rank_hours(seconds, 0.5)
        assert figure.p90_hours == nearest_rank_hours(seconds, 0.9)
        assert figure.with_due == len([r for r in rows_done if within(r[done]) and r[due] is not None])
        sla = [r for r in rows_done if within(r[done]) and r[due] is not None and r[done] <= r[due]]  # type: ignore[operator]
        assert figure.within_sla == len(sla)
    backlog = [
        r
        for r in rows
        if r["created_at"] < end  # type: ignore[operator]
        and r["status"] != "cancelled"
        and (r["resolved_at"] is None or r["resolved_at"] >= end)  # type: ignore[operator]
    ]
    assert m.backlog == len(backlog)
    new = [r for r in rows if within(r["created_at"])]
    fallbacks = [int(r["facts"].get("fallbacks", 0)) for r in new]  # type: ignore[attr-defined]
    assert m.new == len(new)
    assert (m.fallback_tickets, m.fallbacks_total) == (sum(f > 0 for f in fallbacks), sum(fallbacks))
    assert m.bot_resolved == len([r for r in new if "faq_id" in r["facts"]])  # type: ignore[operator]
    assert m.groups["migrant_worker"] == len([r for r in new if r["migrant_worker"]])
