"""Logging for every app process, with personal data masked before any handler sees it.

Citizens type phone numbers and ID-card numbers into the chat; those must never reach a log file
(PIPL). The formatter masks the fully formatted text, so %-args and tracebacks are covered too. The
masking itself lives in `hotline.privacy.masking`; `mask_pii` is re-exported here for existing callers.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hotline.privacy.masking import mask_pii

__all__ = ["PiiMaskingFormatter", "mask_pii", "setup_logging"]


class PiiMaskingFormatter(logging.Formatter):
    """Masks the final text, tracebacks included (a filter runs before exc_text exists)."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_pii(super().format(record))


def setup_logging(process: str, log_dir: str | Path | None = None, level: int = logging.INFO) -> None:
    """Root logger to stderr (and a per-process file when log_dir is given), PII masked."""
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_dir is not None:
        path = Path(log_dir)
        path.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path / f"{process}.log", encoding="utf-8"))
    fmt = PiiMaskingFormatter(f"%(asctime)s {process} %(levelname)s %(name)s: %(message)s")
    for handler in handlers:
        handler.setFormatter(fmt)
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
