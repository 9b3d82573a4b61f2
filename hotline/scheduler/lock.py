"""Leader election with a row in `app_lock`: insert-or-take-over-if-expired, renewed by a heartbeat.

Portable on purpose (no advisory locks): SQLite for a single machine, PostgreSQL for several gateways. A
leader that stops heartbeating loses the lock after `ttl` seconds and another instance takes over.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hotline.db.models import AppLock, utcnow


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaderLock:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        name: str = "scheduler",
        holder: str | None = None,
        ttl: float = 60,
    ) -> None:
        self.sessions = sessions
        self.name = name
        self.holder = holder or default_holder()
        self.ttl = dt.timedelta(seconds=ttl)

    def acquire(self, now: dt.datetime | None = None) -> bool:
        """Take or renew the lock; True while this instance is the leader."""
        at = now or utcnow()
        with self.sessions() as session, session.begin():
            taken = cast(
                CursorResult[Any],
                session.execute(
                    update(AppLock)
                    .where(
                        AppLock.name == self.name, or_(AppLock.holder == self.holder, AppLock.expires_at < at)
                    )
                    .values(holder=self.holder, expires_at=at + self.ttl)
                ),
            ).rowcount
            if taken:
                return True
            try:
                with session.begin_nested():
                    session.add(AppLock(name=self.name, holder=self.holder, expires_at=at + self.ttl))
                return True
            except IntegrityError:
                return False  # someone else holds an unexpired lock

    def release(self) -> None:
        with self.sessions() as session, session.begin():
            session.execute(delete(AppLock).where(AppLock.name == self.name, AppLock.holder == self.holder))

    def current_holder(self) -> str | None:
        with self.sessions() as session:
            lock = session.get(AppLock, self.name)
            return lock.holder if lock is not None else None
