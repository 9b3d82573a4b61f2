"""Process-wide wiring for the app runtime: settings, database URL, one-time schema upgrade and the
start-up checks every process runs once (today: a 低保 table that is out of date)."""

from __future__ import annotations

import threading

from hotline.db.migrate import upgrade
from hotline.settings import Settings, get_settings

_upgraded: set[str] = set()
_lock = threading.Lock()


def ready_database(settings: Settings | None = None) -> str:
    """Return the database URL after making sure its schema is current (once per process)."""
    settings = settings or get_settings()
    url = settings.database_url
    with _lock:
        if url not in _upgraded:
            upgrade(url)
            _upgraded.add(url)
            startup_checks(settings)
    return url


def startup_checks(settings: Settings) -> list[str]:
    """Warnings an operator must see in the log at start-up (gateway, action server, scheduler)."""
    from hotline.eligibility.dibao import log_if_stale
    from hotline.settings import today_in

    warning = log_if_stale(settings.eligibility, today_in(settings), settings.reports.dibao_stale_months)
    return [warning] if warning else []
