"""How reports and alerts leave the system.

The Telegram gateway implements `Notifier`; the core only knows this protocol, so the scheduler and the
follow-up logic run (and are tested) without a bot. `FileNotifier` is the local default: it appends texts to
an outbox file and copies files next to it, which is also what an operator can inspect after a test run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from hotline.privacy import mask_pii

if TYPE_CHECKING:
    from hotline.followup.service import OutboundMessage

log = logging.getLogger(__name__)

# Files a chat shows inline as a picture: sent with sendPhoto so a chart is readable on a phone without
# opening it. Workbooks and the DOCX draft stay documents (a photo is an image only, and is recompressed).
PHOTO_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})


def sends_as_photo(path: Path) -> bool:
    """True for a chart (sent as a photo), False for a workbook, a draft or a text (sent as a document)."""
    return Path(path).suffix.lower() in PHOTO_SUFFIXES


@runtime_checkable
class Notifier(Protocol):
    def send_text(self, chat: str, text: str) -> None: ...

    def send_file(self, chat: str, path: Path, caption: str = "") -> None: ...


@runtime_checkable
class CitizenNotifier(Protocol):
    """A notifier that can reach citizens with interactive messages (e.g. rating buttons).

    Jobs hand such a notifier the whole follow-up message (kind + ticket number) instead of plain text,
    so the gateway can attach 1–5 buttons to a rating request.
    """

    def send_to_citizen(self, message: OutboundMessage) -> None: ...


class FileNotifier:
    """Writes deliveries to `<outbox>/outbox.jsonl` and copies files into `<outbox>/files/`."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = Path(outbox)

    def _record(self, entry: dict[str, str]) -> None:
        self.outbox.mkdir(parents=True, exist_ok=True)
        for key in ("text", "caption"):  # alerts quote citizens: no phone or ID numbers in the file
            if key in entry:
                entry[key] = mask_pii(entry[key])
        entry["at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with (self.outbox / "outbox.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def send_text(self, chat: str, text: str) -> None:
        self._record({"chat": chat, "type": "text", "text": text})

    def send_file(self, chat: str, path: Path, caption: str = "") -> None:
        target = self.outbox / "files" / Path(path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        if Path(path).resolve() != target.resolve():
            shutil.copyfile(path, target)
        self._record({"chat": chat, "type": "file", "path": str(target), "caption": caption})


class LogNotifier:
    """Logs deliveries; for dry runs."""

    def send_text(self, chat: str, text: str) -> None:
        log.info("→ %s: %s", chat, text)

    def send_file(self, chat: str, path: Path, caption: str = "") -> None:
        log.info("→ %s: 文件 %s %s", chat, path, caption)


@dataclass
class RecordingNotifier:
    """Keeps deliveries in memory (tests, on-demand CLI runs)."""

    texts: list[tuple[str, str]] = field(default_factory=list)
    files: list[tuple[str, Path, str]] = field(default_factory=list)

    def send_text(self, chat: str, text: str) -> None:
        self.texts.append((chat, text))

    def send_file(self, chat: str, path: Path, caption: str = "") -> None:
        self.files.append((chat, Path(path), caption))
