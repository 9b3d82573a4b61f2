"""Engines and sessions; SQLite gets WAL and a busy timeout so the gateway and action server can share it.

Async callers (the gateway) run their units of work in worker threads (`in_thread`): a commit waits for
the disk or for another writer's lock, and on the event loop that wait would stall every other citizen.
SQLAlchemy opens file-based SQLite with `check_same_thread=False` and a connection pool, so a connection
may serve any thread (one at a time); concurrent writers queue on SQLite's lock for up to busy_timeout.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from hotline.settings import PROJECT_ROOT

T = TypeVar("T")


def normalise_url(url: str) -> str:
    """Relative SQLite paths are relative to the project root, so every process finds the same file."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)  # type: ignore[arg-type]
        if not path.is_absolute():
            path = PROJECT_ROOT / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return parsed.set(database=str(path)).render_as_string(hide_password=False)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    url = normalise_url(url)
    sqlite = make_url(url).drivername.startswith("sqlite")
    # A pre-ping finds server connections dropped by a restart or a firewall (PostgreSQL); a SQLite file
    # cannot drop its connection, and the ping would cost one more statement per unit of work.
    engine = create_engine(url, pool_pre_ping=not sqlite)
    if sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


@lru_cache(maxsize=8)
def get_sessionmaker(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(database: str | sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error (a database URL or a session factory)."""
    session = (get_sessionmaker(database) if isinstance(database, str) else database)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


async def in_thread(database: str | sessionmaker[Session], work: Callable[[Session], T]) -> T:
    """Run `work` in one unit of work (as `session_scope`) in a worker thread; return what it returns.

    `work` must not hand ORM objects back (they belong to the closed session): return ids and values.
    """

    def unit() -> T:
        with session_scope(database) as session:
            return work(session)

    factory = get_sessionmaker(database) if isinstance(database, str) else database
    executor = _sqlite_writer(factory.kw.get("bind"))
    if executor is None:
        return await asyncio.to_thread(unit)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor, contextvars.copy_context().run, unit)


_WRITERS: dict[int, ThreadPoolExecutor] = {}
_WRITERS_LOCK = threading.Lock()


def _sqlite_writer(bind: Any) -> ThreadPoolExecutor | None:
    """One worker thread per SQLite engine: its units of work run one after another.

    SQLite has one writer at a time. Units in several threads queue on the file lock through SQLite's busy
    handler, which sleeps in steps of up to 100 ms; under a burst most of a turn was spent there (py-spy
    of the capacity benchmark: do_execute/do_commit waiting). One thread takes them in turn without
    sleeping; the GIL allowed no more parallelism anyway. Other processes (action server) still wait on
    the lock through busy_timeout. PostgreSQL keeps the default pool of threads.
    """
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return None
    with _WRITERS_LOCK:
        executor = _WRITERS.get(id(bind))
        if executor is None:
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-unit")
            _WRITERS[id(bind)] = executor
        return executor
