"""Daily roll-ups of the ticket table, kept exact by database triggers (issue 13: annual metrics of a
1M-ticket year in well under the time of six passes over the year).

One spec (`ROLLUPS`: for each roll-up table, the key columns, the summed measures and the condition for a
ticket to count, all as SQLAlchemy expressions over a ticket row) generates everything, for SQLite and
PostgreSQL alike:
- the triggers: AFTER INSERT adds the new row's contribution, AFTER DELETE subtracts the old row's, AFTER
  UPDATE (of the columns the spec reads, and only when a key, measure or condition differs) does both.
  Every writer is covered — ORM, Core bulk UPDATE, imports, erasure and retention, raw SQL, DELETE;
- the backfill of existing tickets (migration 0014; a bulk load without triggers then backfill);
- nothing else: the report queries (hotline.reports.metrics) read the tables with the same columns.

Keys are UTC calendar days, so any time zone's period is answered exactly: its whole UTC days from the
roll-ups plus its two ragged edges (less than a day each) from the ticket table.

Write cost: each ticket insert writes up to four roll-up rows (new, closed, two duration kinds); an update
touching none of the columns read here costs a trigger check only. Concurrent writers of the same
day/county/type serialize on the roll-up row for the rest of their transaction (PostgreSQL row lock).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    case,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import BindParameter, ColumnClause
from sqlalchemy.sql.visitors import iterate

from hotline.db.models import (
    Ticket,
    TicketRollupClosed,
    TicketRollupDuration,
    TicketRollupNew,
)
from hotline.db.sqlfuncs import duration_bucket, utc_day
from hotline.knowledge.outcome import FAQ_FACT

GROUPS = ("migrant_worker", "disabled", "minor", "elderly", "women")
Row = FromClause  # the ticket table, or its alias `new` / `old` inside a trigger
Exprs = Callable[[Row], dict[str, ColumnElement[Any]]]


def _one_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _unknown(column: Any) -> ColumnElement[Any]:
    return func.coalesce(column, "")


@dataclass(frozen=True)
class Rollup:
    """One roll-up table: key columns and summed measures (name → expression over a ticket row), and the
    condition for a ticket row to contribute at all."""

    name: str
    table: Table
    keys: Exprs
    measures: Exprs
    condition: Callable[[Row], ColumnElement[bool]]


def _new_keys(r: Row) -> dict[str, ColumnElement[Any]]:
    return {
        "day": utc_day(r.c.created_at),
        "county_code": _unknown(r.c.county_code),
        "case_type": r.c.case_type,
        "category": r.c.category,
        "eligibility_outcome": _unknown(r.c.eligibility_outcome),
    }


def _new_measures(r: Row) -> dict[str, ColumnElement[Any]]:
    fallbacks = func.coalesce(r.c.facts["fallbacks"].as_integer(), 0)
    return {
        "n": literal(1),
        **{g: _one_if(r.c[g].is_(True)) for g in GROUPS},
        "bot_only": _one_if(r.c.handled_by_bot_only.is_(True)),
        "handoff": _one_if(r.c.handoff_requested.is_(True)),
        "fallback_tickets": _one_if(fallbacks > 0),
        "fallbacks_total": fallbacks,
        "bot_resolved": _one_if(r.c.facts[FAQ_FACT].as_string().is_not(None)),
    }


def _duration(kind: str, done: str, due: str, seconds: str) -> Rollup:
    def keys(r: Row) -> dict[str, ColumnElement[Any]]:
        return {
            "kind": literal(kind),
            "day": utc_day(r.c[done]),
            "county_code": _unknown(r.c.county_code),
            "bucket": duration_bucket(r.c[seconds]),
        }

    def measures(r: Row) -> dict[str, ColumnElement[Any]]:
        return {
            "n": literal(1),
            "within_sla": _one_if(and_(r.c[due].is_not(None), r.c[done] <= r.c[due])),
            "with_due": _one_if(r.c[due].is_not(None)),
        }

    return Rollup(
        f"ticket_rollup_{kind}",
        TicketRollupDuration.__table__,  # type: ignore[arg-type]
        keys,
        measures,
        lambda r: r.c[seconds].is_not(None),
    )


ROLLUPS: tuple[Rollup, ...] = (
    Rollup(
        "ticket_rollup_new",
        TicketRollupNew.__table__,  # type: ignore[arg-type]
        _new_keys,
        _new_measures,
        lambda r: r.c.created_at.is_not(None),
    ),
    Rollup(
        "ticket_rollup_closed",
        TicketRollupClosed.__table__,  # type: ignore[arg-type]
        lambda r: {
            "day": utc_day(r.c.resolved_at),
            "county_code": _unknown(r.c.county_code),
            "case_type": r.c.case_type,
        },
        lambda r: {"n": literal(1)},
        lambda r: r.c.resolved_at.is_not(None),
    ),
    _duration("first_response", "first_response_at", "first_response_due", "first_response_seconds"),
    _duration("resolution", "resolved_at", "resolution_due", "resolution_seconds"),
)


def find_columns(expr: Any) -> list[ColumnClause[Any]]:
    return [e for e in iterate(expr) if isinstance(e, ColumnClause)]


def _sql(expr: ColumnElement[Any], dialect: Dialect) -> str:
    return str(expr.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _read_columns(rollup: Rollup) -> list[str]:
    """Ticket columns the roll-up reads (a generated column stands for the columns it is computed from):
    the UPDATE trigger fires only when one of them is assigned."""
    ticket: Table = Ticket.__table__  # type: ignore[assignment]
    r = ticket
    exprs: list[ColumnElement[Any]] = [
        *rollup.keys(r).values(),
        *rollup.measures(r).values(),
        rollup.condition(r),
    ]
    names: set[str] = set()
    pending: list[ColumnClause[Any]] = [c for e in exprs for c in find_columns(e)]
    while pending:
        col = ticket.c[pending.pop().name]
        if col.computed is not None:
            pending.extend(find_columns(col.computed.sqltext))
        else:
            names.add(col.name)
    return sorted(names)


@dataclass(frozen=True)
class _Compiled:
    """A roll-up's SQL fragments for one dialect, over the trigger rows `new` and `old`."""

    rollup: Rollup
    dialect: Dialect

    def keys(self, row: str) -> dict[str, str]:
        return {k: _sql(v, self.dialect) for k, v in self.rollup.keys(self._row(row)).items()}

    def measures(self, row: str) -> dict[str, str]:
        return {k: _sql(v, self.dialect) for k, v in self.rollup.measures(self._row(row)).items()}

    def condition(self, row: str) -> str:
        return _sql(self.rollup.condition(self._row(row)), self.dialect)

    def changed(self) -> str:
        """Whether an update moves the row's contribution (some key, measure or the condition differs)."""
        olds = [*self.keys("old").values(), *self.measures("old").values(), self.condition("old")]
        news = [*self.keys("new").values(), *self.measures("new").values(), self.condition("new")]
        differ = "IS NOT" if self.dialect.name == "sqlite" else "IS DISTINCT FROM"
        return " OR ".join(f"({a}) {differ} ({b})" for a, b in zip(olds, news, strict=True) if a != b)

    def add(self, row: str) -> str:
        """UPSERT the row's contribution (only when the row counts)."""
        keys, measures = self.keys(row), self.measures(row)
        table = self.rollup.table.name
        columns = ", ".join([*keys, *measures])
        values = ", ".join([*keys.values(), *measures.values()])
        sets = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in measures)
        # INSERT … SELECT … WHERE: SQLite's UPSERT after a SELECT needs the WHERE (parsing ambiguity)
        return (
            f"INSERT INTO {table} ({columns}) SELECT {values} WHERE {self.condition(row)} "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"
        )

    def subtract(self, row: str) -> str:
        keys, measures = self.keys(row), self.measures(row)
        sets = ", ".join(f"{m} = {m} - ({v})" for m, v in measures.items())
        where = " AND ".join([*(f"{k} = {v}" for k, v in keys.items()), f"({self.condition(row)})"])
        return f"UPDATE {self.rollup.table.name} SET {sets} WHERE {where}"

    def _row(self, name: str) -> Row:
        return Ticket.__table__.alias(name)


def trigger_ddl(dialect: Dialect) -> list[str]:
    """CREATE statements of every roll-up trigger (and PostgreSQL trigger function)."""
    statements: list[str] = []
    for rollup in ROLLUPS:
        c = _Compiled(rollup, dialect)
        name = rollup.name
        columns = ", ".join(_read_columns(rollup))
        if dialect.name == "sqlite":
            statements += [
                f"CREATE TRIGGER IF NOT EXISTS {name}_ins AFTER INSERT ON ticket FOR EACH ROW "
                f"BEGIN {c.add('new')}; END",
                f"CREATE TRIGGER IF NOT EXISTS {name}_del AFTER DELETE ON ticket FOR EACH ROW "
                f"BEGIN {c.subtract('old')}; END",
                f"CREATE TRIGGER IF NOT EXISTS {name}_upd AFTER UPDATE OF {columns} ON ticket FOR EACH ROW "
                f"WHEN {c.changed()} BEGIN {c.subtract('old')}; {c.add('new')}; END",
            ]
        elif dialect.name == "postgresql":
            statements += [
                f"CREATE OR REPLACE FUNCTION {name}_sync() RETURNS trigger LANGUAGE plpgsql AS $body$\n"
                "BEGIN\n"
                f"  IF TG_OP <> 'INSERT' THEN {c.subtract('old')}; END IF;\n"
                f"  IF TG_OP <> 'DELETE' THEN {c.add('new')}; END IF;\n"
                "  RETURN NULL;\n"
                "END $body$",
                f"CREATE OR REPLACE TRIGGER {name}_ins_del AFTER INSERT OR DELETE ON ticket "
                f"FOR EACH ROW EXECUTE FUNCTION {name}_sync()",
                f"CREATE OR REPLACE TRIGGER {name}_upd AFTER UPDATE OF {columns} ON ticket "
                f"FOR EACH ROW WHEN ({c.changed()}) EXECUTE FUNCTION {name}_sync()",
            ]
        else:
            raise NotImplementedError(f"roll-up triggers for {dialect.name}")
    return statements


def drop_ddl(dialect: Dialect) -> list[str]:
    statements: list[str] = []
    for rollup in ROLLUPS:
        name = rollup.name
        if dialect.name == "sqlite":
            statements += [f"DROP TRIGGER IF EXISTS {name}_{op}" for op in ("ins", "del", "upd")]
        else:
            statements += [f"DROP TRIGGER IF EXISTS {name}_{op} ON ticket" for op in ("ins_del", "upd")]
            statements.append(f"DROP FUNCTION IF EXISTS {name}_sync()")
    return statements


def install_triggers(connection: Connection) -> None:
    for statement in trigger_ddl(connection.dialect):
        connection.execute(text(statement))


def drop_triggers(connection: Connection) -> None:
    for statement in drop_ddl(connection.dialect):
        connection.execute(text(statement))


def backfill(connection: Connection, rollups: Iterable[Rollup] = ROLLUPS) -> None:
    """Fill the roll-up tables from the ticket table (they must be empty): one GROUP BY per roll-up."""
    ticket: Table = Ticket.__table__  # type: ignore[assignment]
    for rollup in rollups:
        keys, measures = rollup.keys(ticket), rollup.measures(ticket)
        query = (
            select(
                *[v.label(k) for k, v in keys.items()],
                *[func.sum(v).label(k) for k, v in measures.items()],
            )
            .where(rollup.condition(ticket))
            .group_by(*[v for v in keys.values() if not isinstance(v, BindParameter)])
        )
        connection.execute(insert(rollup.table).from_select([*keys, *measures], query))


def rebuild(connection: Connection) -> None:
    """Empty and refill every roll-up (after a bulk load with the triggers dropped)."""
    for table in {r.table for r in ROLLUPS}:
        connection.execute(table.delete())
    backfill(connection)
