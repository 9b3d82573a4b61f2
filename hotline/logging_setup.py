"""Logging for every app process, with personal data masked before any handler sees it.

Citizens type phone numbers and ID-card numbers into the chat; those must never reach a log file
(PIPL). The formatter masks the fully formatted text, so %-args and tracebacks are covered too. The
masking itself lives in `hotline.privacy.masking`; `mask_pii` is re-exported here for existing callers.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from hotline.privacy.masking import mask_pii
from hotline.settings import LoggingSettings

__all__ = ["PiiMaskingFormatter", "mask_pii", "rotate_if_large", "setup_logging"]


class PiiMaskingFormatter(logging.Formatter):
    """Masks the final text, tracebacks included (a filter runs before exc_text exists)."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_pii(super().format(record))


MB = 1024 * 1024
DEFAULT_FILES = LoggingSettings()  # the `logging:` section's defaults


def setup_logging(
    process: str,
    log_dir: str | Path | None = None,
    level: int = logging.INFO,
    *,
    files: LoggingSettings = DEFAULT_FILES,
) -> None:
    """Root logger to stderr (and a per-process file when log_dir is given, rotated by size so a busy
    year does not fill the disk), PII masked."""
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_dir is not None:
        path = Path(log_dir)
        path.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                path / f"{process}.log",
                maxBytes=files.max_mb * MB,
                backupCount=files.backups,
                encoding="utf-8",
            )
        )
    fmt = PiiMaskingFormatter(f"%(asctime)s {process} %(levelname)s %(name)s: %(message)s")
    for handler in handlers:
        handler.setFormatter(fmt)
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def rotate_if_large(path: Path, files: LoggingSettings = DEFAULT_FILES) -> bool:
    """Shift `path` to `path.1` (… `.backups`, the oldest dropped) when it has reached `max_mb`.

    For output files another program writes (the engine's `rasa.out`): they are rotated when the stack
    starts that program, since its open descriptor cannot be swapped under it.
    """
    if not path.exists() or path.stat().st_size < files.max_mb * MB:
        return False
    for n in range(files.backups - 1, 0, -1):
        older = path.with_name(f"{path.name}.{n}")
        if older.exists():
            older.replace(path.with_name(f"{path.name}.{n + 1}"))
    path.replace(path.with_name(f"{path.name}.1"))
    return True
