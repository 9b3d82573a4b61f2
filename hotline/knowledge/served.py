"""The retriever over the base the bot serves (faq.yaml + approved proposals), rebuilt only when an
approval changes it.

A long-running action server answers many questions between approvals: each question costs one small
query (the approvals' count and latest time); the TF-IDF matrix is fitted again only when that changes.
"""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from hotline.knowledge.proposals import approved_stamp, served_kb
from hotline.knowledge.search import Retriever

_lock = threading.Lock()
_cache: dict[tuple[float, tuple[int, str]], Retriever] = {}


def served_retriever(session: Session, threshold: float) -> Retriever:
    """The retriever over faq.yaml and the approved entries, for this threshold."""
    key = (threshold, approved_stamp(session))
    with _lock:
        found = _cache.get(key)
    if found is not None:
        return found
    built = Retriever(served_kb(session), threshold)
    with _lock:
        _cache.clear()  # only the current base is worth keeping
        _cache[key] = built
    return built
