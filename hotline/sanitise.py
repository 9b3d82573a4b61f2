"""Make untrusted text safe to store and to hand to a spreadsheet.

`sanitise_text` is applied to a citizen's message before it is persisted: PostgreSQL rejects a NUL byte
and a lone surrogate (UTF-8 cannot encode either), which lost the message and its reply. Other control
characters are dropped too (they only hide text from operators), the text is put in NFC so the same
characters always compare equal, and its length is capped so one message cannot fill the database or
exceed what Telegram can relay. The result says whether it was cut, so the caller can tell the citizen.

`neutralise_cell` keeps exported text from being run as a spreadsheet formula (CSV/formula injection):
Excel and LibreOffice evaluate a cell starting with `=`, `+`, `-` or `@` (and tab or carriage return
before one). Such a cell gets a leading apostrophe, the usual "this is text" mark; `restore_cell` takes it
off again when an exported file is re-imported.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

DEFAULT_MAX_CHARS = 4000

# C0 and C1 control characters and DEL, except tab and newline; \r is turned into \n first.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_NEWLINES = re.compile(r"\r\n?")


@dataclass(frozen=True)
class SanitisedText:
    text: str
    truncated: bool  # the original was longer than max_chars: tell the citizen what was kept


def sanitise_text(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> SanitisedText:
    """Storable text: no NUL or control characters (newline and tab kept), no lone surrogates (each
    becomes U+FFFD), NFC, at most `max_chars` characters. Never raises; sanitising twice changes nothing."""
    # A valid surrogate pair inside a str becomes its character; a lone surrogate becomes U+FFFD.
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = _CONTROL.sub("", _NEWLINES.sub("\n", text))
    text = unicodedata.normalize("NFC", text)
    if len(text) <= max_chars:
        return SanitisedText(text, truncated=False)
    cut = unicodedata.normalize("NFC", text[: max(max_chars, 0)])[: max(max_chars, 0)]
    return SanitisedText(cut, truncated=True)


FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: str) -> str:
    """A cell a spreadsheet would evaluate, prefixed with an apostrophe; anything else unchanged."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def restore_cell(value: str) -> str:
    """Undo `neutralise_cell` (for re-importing an export)."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_TRIGGERS) else value
