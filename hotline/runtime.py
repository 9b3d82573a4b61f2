"""Process-wide wiring for the app runtime: settings, database URL and one-time schema upgrade."""

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
    return url
