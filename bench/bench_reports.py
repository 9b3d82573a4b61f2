"""Report generation time vs. the bare SQL aggregate, for 10k/100k/1M tickets on SQLite and PostgreSQL.

    python bench/bench_reports.py --sizes 10k,100k,1M [--pg-url postgresql://user@127.0.0.1:5433/bench]

PostgreSQL is skipped without --pg-url (or BENCH_PG_URL), or --start-pg (a throwaway cluster through
tests/integration/services.py). The PostgreSQL database is wiped (schema public); after the load it is
VACUUM ANALYZEd, as autovacuum would do (index-only scans need the visibility map).
The schema is made by the migrations (hotline.db.migrate.upgrade), as in production. Tickets are spread
over 2026 and generated with executemany (SQLite) or COPY (PostgreSQL) with the roll-up triggers dropped,
then the roll-ups are rebuilt in one GROUP BY each and the triggers reinstalled, as migration 0014 does
for existing tickets ("load s" includes that; "backfill s" is that part alone).
Columns: bare = one GROUP BY over the year; annual metrics = every figure of the annual report (incl. the
previous year) from the daily roll-ups; from tickets = the same figures read from the ticket table alone
(use_rollups=False, once); weekly full = metrics + text + PNG + XLSX (one row per ticket) for one ISO week.
Then the write cost of the triggers: single-row INSERTs and UPDATEs (of rolled-up columns, and of other
columns only) on the loaded table, µs per row, with and without the triggers (rolled back).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session
from tqdm import tqdm

from hotline.db.migrate import upgrade
from hotline.reports import rollup
from hotline.reports.metrics import bare_aggregate, compute_metrics
from hotline.reports.periods import parse_period
from hotline.reports.service import produce_report
from hotline.settings import load_settings

COUNTIES = ["341102", "341103", "341122", "341124", "341125", "341126", "341181", "341182"]
CATEGORIES = [
    "wage_arrears",
    "work_injury",
    "marriage_family",
    "criminal_defence",
    "social_insurance",
    "other_legal",
]
# Enum columns store member names (SQLAlchemy Enum, native_enum=False).
TYPES = ["CIVIL", "CIVIL", "CIVIL", "CRIMINAL", "ADMINISTRATIVE", "CONSULTATION"]
COLUMNS = [
    "id",
    "number",
    "source",
    "category",
    "case_type",
    "county_code",
    "status",
    "priority",
    "description",
    "facts",
    "eligibility_reasons",
    "eligibility_articles",
    "migrant_worker",
    "disabled",
    "minor",
    "elderly",
    "women",
    "handled_by_bot_only",
    "handoff_requested",
    "created_at",
    "updated_at",
    "first_response_due",
    "resolution_due",
    "first_response_at",
    "resolved_at",
]


def parse_size(text_: str) -> int:
    text_ = text_.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text_[-1], 1)
    return int(float(text_.rstrip("km")) * factor)


def rows(n: int, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    rnd = random.Random(seed)
    start = dt.datetime(2025, 12, 31, 16, 0)
    span = 365 * 86400
    for i in range(1, n + 1):
        created = start + dt.timedelta(seconds=int(span * i / (n + 1)))
        cat = rnd.randrange(6)
        resolved = created + dt.timedelta(hours=rnd.randint(1, 300)) if rnd.random() < 0.9 else None
        fr = created + dt.timedelta(minutes=rnd.randint(5, 600))
        yield (
            i,
            f"B-{i:08d}",
            "bot",
            CATEGORIES[cat],
            TYPES[cat],
            COUNTIES[i % 8],
            "CLOSED" if resolved else "ASSIGNED",
            "normal",
            "",
            json.dumps({"fallbacks": rnd.randint(0, 2)}),
            "[]",
            "[]",
            rnd.random() < 0.3,
            rnd.random() < 0.05,
            rnd.random() < 0.05,
            rnd.random() < 0.1,
            rnd.random() < 0.4,
            rnd.random() < 0.6,
            rnd.random() < 0.3,
            created,
            created,
            created + dt.timedelta(hours=4),
            created + dt.timedelta(hours=120),
            fr,
            resolved,
        )


def load_sqlite(engine: Engine, n: int) -> None:
    raw = engine.raw_connection()
    cur = raw.cursor()
    placeholders = ",".join("?" * len(COLUMNS))
    sql = f"INSERT INTO ticket ({','.join(COLUMNS)}) VALUES ({placeholders})"
    batch: list[tuple[Any, ...]] = []
    for row in tqdm(rows(n), total=n, desc="  sqlite insert", unit="行", leave=False):
        batch.append(row)
        if len(batch) == 50_000:
            cur.executemany(sql, batch)
            batch.clear()
    if batch:
        cur.executemany(sql, batch)
    raw.commit()
    raw.close()


def load_postgres(engine: Engine, n: int) -> None:
    raw = engine.raw_connection()
    cur = raw.cursor()
    with cur.copy(f"COPY ticket ({','.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
        for row in tqdm(rows(n), total=n, desc="  postgres COPY", unit="行", leave=False):
            copy.write_row(row)
    raw.commit()
    raw.close()


def fresh_engine(backend: str, pg_url: str | None, workdir: Path, n: int) -> Engine:
    if backend == "sqlite":
        path = workdir / f"bench_{n}.db"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        assert pg_url
        url = pg_url.replace("postgresql://", "postgresql+psycopg://", 1)
        with create_engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(url)
    return create_engine(url)


def load(engine: Engine, backend: str, n: int) -> float:
    """Bulk load without the roll-up triggers, then rebuild the roll-ups and reinstall the triggers;
    returns the seconds of the rebuild."""
    with engine.begin() as conn:
        rollup.drop_triggers(conn)
    (load_sqlite if backend == "sqlite" else load_postgres)(engine, n)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        rollup.rebuild(conn)
        rollup.install_triggers(conn)
    return time.perf_counter() - t0


def write_cost(engine: Engine, n: int, rows_: int = 2000) -> dict[str, tuple[float, float]]:
    """µs per single-row statement (with triggers, without), on the loaded table; rolled back."""
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    insert_sql = f"INSERT INTO ticket ({','.join(COLUMNS)}) VALUES ({','.join([mark] * len(COLUMNS))})"
    new_rows = [(n + 1 + i, f"W-{i:08d}", *row[2:]) for i, row in enumerate(rows(rows_, seed=9))]
    rnd = random.Random(3)
    ids = [rnd.randint(1, n) for _ in range(rows_)]
    done = dt.datetime(2026, 7, 1, 8, 30)
    statements = {
        "insert": [(insert_sql, r) for r in new_rows],
        "update rolled-up columns": [
            (
                f"UPDATE ticket SET category = {mark}, resolved_at = {mark}, updated_at = {mark} "
                f"WHERE id = {mark}",
                (CATEGORIES[i % 6], done, done, i),
            )
            for i in ids
        ],
        "update other columns": [
            (f"UPDATE ticket SET description = {mark}, updated_at = {mark} WHERE id = {mark}", ("x", done, i))
            for i in ids
        ],
    }
    out: dict[tuple[str, bool], float] = {}
    for with_triggers in (False, True, False, True):  # twice each, alternating: the best of two
        raw = engine.raw_connection()
        cur = raw.cursor()
        try:
            if engine.dialect.name == "sqlite":
                # pysqlite opens a transaction only before DML: DROP TRIGGER would commit on its own
                cur.execute("BEGIN")
            if not with_triggers:
                for ddl in rollup.drop_ddl(engine.dialect):
                    cur.execute(ddl)
            for name, batch in statements.items():
                t0 = time.perf_counter()
                for sql, params in batch:
                    cur.execute(sql, params)
                us = (time.perf_counter() - t0) / len(batch) * 1e6
                out[name, with_triggers] = min(us, out.get((name, with_triggers), us))
        finally:
            raw.rollback()  # also restores the dropped triggers (transactional DDL)
            raw.close()
    return {k: (out[k, True], out[k, False]) for k in statements}


def timed(fn: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10k,100k,1M")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL"))
    parser.add_argument("--workdir", default=tempfile.gettempdir())
    parser.add_argument("--start-pg", action="store_true", help="start a throwaway PostgreSQL cluster")
    args = parser.parse_args()
    pg = None
    if args.start_pg:
        from tests.integration.services import Postgres

        pg = Postgres().start()
        args.pg_url = pg.create_database("bench")
    try:
        return run(args)
    finally:
        if pg is not None:
            pg.stop()


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    year, week = parse_period("annual", "2026"), parse_period("weekly", "2026-W26")
    workdir = Path(args.workdir)
    out = workdir / "bench_reports_out"
    results: list[tuple[str, int, float, float, float, float, float, float, float]] = []
    costs: list[tuple[str, int, dict[str, tuple[float, float]]]] = []
    for backend in args.backends.split(","):
        if backend == "postgresql" and not args.pg_url:
            print("跳过 PostgreSQL（未提供 --pg-url / BENCH_PG_URL）", file=sys.stderr)
            continue
        for n in (parse_size(s) for s in args.sizes.split(",")):
            print(f"[{backend}] 生成 {n} 条工单…", file=sys.stderr)
            engine = fresh_engine(backend, args.pg_url, workdir, n)
            t0 = time.perf_counter()
            backfill_s = load(engine, backend, n)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE" if backend == "sqlite" else "VACUUM ANALYZE"))
            load_s = time.perf_counter() - t0
            with Session(engine) as session:
                bare = timed(partial(bare_aggregate, session, year))
                annual = timed(partial(compute_metrics, session, settings, year))
                slow = partial(compute_metrics, session, settings, year, use_rollups=False)
                from_tickets = timed(slow, repeat=1)
                formats = ("txt", "png", "xlsx")
                full = partial(produce_report, session, settings, week, None, out, formats=formats)
                weekly = timed(full, repeat=1)
                weekly_metrics = timed(partial(compute_metrics, session, settings, week))
            costs.append((backend, n, write_cost(engine, n)))
            results.append(
                (backend, n, load_s, backfill_s, bare, annual, from_tickets, weekly_metrics, weekly)
            )
            engine.dispose()
    print()
    print(
        f"{'backend':<11}{'tickets':>9}{'load s':>9}{'backfill s':>12}{'bare agg s':>12}"
        f"{'annual metrics s':>18}{'overhead x':>12}{'from tickets s':>16}{'week metrics s':>16}"
        f"{'week full s':>13}"
    )
    for backend, n, load_s, backfill_s, bare, annual, tickets_s, wm, weekly in results:
        print(
            f"{backend:<11}{n:>9}{load_s:>9.2f}{backfill_s:>12.2f}{bare:>12.3f}{annual:>18.3f}"
            f"{annual / bare:>12.1f}{tickets_s:>16.3f}{wm:>16.3f}{weekly:>13.2f}"
        )
    print()
    print(f"{'backend':<11}{'tickets':>9}  {'statement':<26}{'µs triggers':>13}{'µs none':>10}")
    for backend, n, cost in costs:
        for name, (with_t, without) in cost.items():
            print(f"{backend:<11}{n:>9}  {name:<26}{with_t:>13.1f}{without:>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
