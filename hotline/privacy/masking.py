"""Mask phone, ID-card and bank-card numbers in free text before it reaches a log, a group chat or a file.

Citizens write these numbers in many shapes: `138 1234 5678`, `138-1234-5678`, `+86 138…`, `0086…`,
full-width digits from a Chinese IME (`１３８…`), landlines with an area code (`0550-3028148`), ID numbers
in groups (`341122 19800101 123X`), bank cards in fours. One function, `mask_pii`, serves every surface
(logs, desk cards, relays, supervisors' alerts, the outbox, exports), so they cannot drift apart.

Masking must not eat ordinary numbers (amounts, dates, ticket and order numbers), so candidates are
validated: resident ID numbers with python-stdnum (GB 11643 check digit and a real birth date for 18
digits; a 15-digit number has no check digit, so its birth date and region code are checked), bank cards
with the Luhn check digit. Mobile and landline numbers are recognised by their numbering plan alone.

Masked digits become `*`, separators and the kept digits stay as written (`138 **** 5678`); a card keeps
its first and last four digits only (`6222****0123`), which hides its length too. `mask_pii` never raises
and is idempotent: masking masked text changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from stdnum import luhn, numdb
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

# One character for one character, so positions found in the folded text are positions in the original.
_FOLD = str.maketrans(
    {
        **dict.fromkeys("\u00a0\u2002\u2003\u2009\u202f\u3000", " "),
        **dict.fromkeys("\uff0d\u2010\u2011\u2012\u2013\u2014\u2212\ufe63", "-"),
        "\uff0b": "+",
        "\uff08": "(",
        "\uff09": ")",
        "\uff38": "X",
        "\uff58": "x",
    }
)
_NON_ASCII_DIGIT = re.compile(r"(?![0-9])\d")  # full-width ０-９ and every other Unicode decimal digit
_ANY_DIGIT = re.compile(r"\d")


def _fold(text: str) -> str:
    if text.isascii():  # the table only maps non-ASCII characters
        return text
    text = text.translate(_FOLD)
    return _NON_ASCII_DIGIT.sub(lambda m: str(unicodedata.decimal(m.group())), text)


_DIGITS = frozenset("0123456789")
_ID_CHARS = frozenset("0123456789Xx")


def _compact(folded: str) -> str:
    return "".join(c for c in folded if c in _ID_CHARS).upper()


def _stars(original: str, folded: str, head: int, tail: int, chars: frozenset[str] = _DIGITS) -> str:
    """Replace the counted characters between the first `head` and the last `tail` with `*`."""
    total = sum(c in chars for c in folded)
    out: list[str] = []
    index = 0
    for orig, fold in zip(original, folded, strict=True):
        if fold in chars:
            out.append("*" if head <= index < total - tail else orig)
            index += 1
        else:
            out.append(orig)
    return "".join(out)


Replacement = tuple[int, int, str]  # start, end, masked text


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    mask: Callable[[str, str, re.Match[str]], Replacement | None]


_SEPARATORS = re.compile(r"[ \-]")


def _grouped_plausibly(folded: str) -> bool:
    """People group digits in threes or more (138 1234 5678, 341122 19800101 1234, 6222 0212 …); only the
    last group may be shorter. Rejects runs like “1 2 3 4 …” before any checksum work."""
    groups = _SEPARATORS.split(folded)
    return all(len(group) >= 3 for group in groups[:-1])


def _valid_id18(number: str) -> bool:
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        ric.get_birth_date(number)
    except ValidationError:
        return False
    return ric.calc_check_digit(number) == number[-1]


def _mask_id18(text: str, folded: str, m: re.Match[str]) -> Replacement | None:
    start, end = m.span()
    if not _grouped_plausibly(m.group()) or not _valid_id18(_compact(m.group())):
        return None
    return start, end, _stars(text[start:end], folded[start:end], 6, 4, _ID_CHARS)


def _valid_id15(number: str) -> bool:
    """A first-generation number (issued until 1999) has no check digit: stdnum checks its birth date
    (19YYMMDD) and that its region code is one that existed (the code of issue, not of birth)."""
    if len(number) != 15 or not number.isdigit():
        return False
    try:
        ric.get_birth_date(number[:6] + "19" + number[6:12] + "0000")
    except ValidationError:
        return False
    known = numdb.get("cn/loc").info(number[:6])
    return sum(len(part) for part, props in known if props) == 6


def _mask_id15(text: str, folded: str, m: re.Match[str]) -> Replacement | None:
    start, end = m.span()
    if not _grouped_plausibly(m.group()) or not _valid_id15(_compact(m.group())):
        return None
    return start, end, _stars(text[start:end], folded[start:end], 6, 3)


_CARD_MIN, _CARD_MAX = 16, 19


def _mask_card(text: str, folded: str, m: re.Match[str]) -> Replacement | None:
    """The longest Luhn-valid prefix ending at a group boundary (`6222 0212 3456 7890 第二笔…`)."""
    start = m.start()
    ends = [i for i in range(m.end(), start, -1) if i == m.end() or folded[i] in " -"]
    for end in ends:
        digits = _compact(folded[start:end])
        if not _CARD_MIN <= len(digits) <= _CARD_MAX or not _grouped_plausibly(folded[start:end]):
            continue
        if luhn.is_valid(digits):
            kept = [c for c, f in zip(text[start:end], folded[start:end], strict=True) if f in _DIGITS]
            return start, end, "".join(kept[:4]) + "****" + "".join(kept[-4:])
    return None


def _mask_phone(text: str, folded: str, m: re.Match[str]) -> Replacement | None:
    """Keep the country prefix and the first three digits of a mobile number, or the area code."""
    start, end = m.span()
    keep = m.group("keep")
    head = sum(c in _DIGITS for c in folded[start : m.start("keep")]) + sum(c in _DIGITS for c in keep)
    return start, end, _stars(text[start:end], folded[start:end], head, 4)


_SEP = r"[ \-]?"
_RULES: tuple[_Rule, ...] = (
    # 18-digit resident ID, plain or in groups (6-8-4, fours…); last character may be X.
    _Rule(re.compile(rf"(?<![0-9])[0-9](?:{_SEP}[0-9]){{16}}{_SEP}[0-9Xx](?![0-9Xx])", re.ASCII), _mask_id18),
    # 15-digit resident ID issued before 1999.
    _Rule(re.compile(rf"(?<![0-9])[0-9](?:{_SEP}[0-9]){{14}}(?![0-9Xx])", re.ASCII), _mask_id15),
    # Bank cards: UnionPay 62…, 9558…, Visa, Mastercard, JCB/Amex; 16-19 digits, plain or grouped.
    _Rule(
        re.compile(rf"(?<![0-9])[3-69](?:{_SEP}[0-9]){{{_CARD_MIN - 1},{_CARD_MAX - 1}}}(?![0-9])", re.ASCII),
        _mask_card,
    ),
    # Mobile numbers 1[3-9]x xxxx xxxx, optionally +86 / 0086 / 86 / (+86).
    _Rule(
        re.compile(
            rf"(?<![0-9+])(?:\(?(?:\+|00)?86\)?{_SEP})?(?P<keep>1[3-9][0-9]){_SEP}[0-9]{{4}}{_SEP}[0-9]{{4}}"
            r"(?![0-9])",
            re.ASCII,
        ),
        _mask_phone,
    ),
    # Landlines with an area code: 0550-3028148, (021) 6123 4567, 01061234567.
    _Rule(
        re.compile(
            rf"(?<![0-9])(?P<keep>\(0[1-9][0-9]{{1,2}}\)|0[1-9][0-9]{{1,2}}){_SEP}[2-9][0-9]{{2,3}}{_SEP}[0-9]{{4}}"
            r"(?![0-9])",
            re.ASCII,
        ),
        _mask_phone,
    ),
)
_MAX_PASSES = 8
# Every rule matches inside a run of these characters only. Searching such windows (a fast character-class
# scan) instead of trying each rule at every position keeps ordinary log lines cheap; the characters right
# outside a window are none of these, so the rules' look-arounds see the same as in the whole text.
_WINDOW = re.compile(r"[0-9(+][0-9Xx \-()+]{5,}", re.ASCII)
# Rejected candidates are retried one character later (a valid number may start inside one); past this
# many in one text, the search moves on past them, so a megabyte of "1 1 1 …" stays linear.
_MAX_RETRIES = 200


def _apply(text: str, folded: str, rule: _Rule) -> tuple[str, str]:
    """`text` with the rule's numbers masked, and its folded form (kept in step, not folded again)."""
    out: list[str] = []
    out_folded: list[str] = []
    last = 0
    retries = 0
    for window in _WINDOW.finditer(folded):
        pos, end_of_window = window.span()
        while (m := rule.pattern.search(folded, pos, end_of_window)) is not None:
            found = rule.mask(text, folded, m)
            if found is None:
                retries += 1
                pos = m.start() + 1 if retries <= _MAX_RETRIES else m.end()
                continue
            start, end, masked = found
            out += [text[last:start], masked]
            out_folded += [folded[last:start], _fold(masked)]
            last = pos = end
    if not out:
        return text, folded
    out.append(text[last:])
    out_folded.append(folded[last:])
    return "".join(out), "".join(out_folded)


def mask_pii(text: str) -> str:
    """`text` with phone, ID-card and bank-card numbers masked; anything else unchanged."""
    for _ in range(_MAX_PASSES):
        if not _ANY_DIGIT.search(text):
            return text
        masked, folded = text, _fold(text)
        for rule in _RULES:
            masked, folded = _apply(masked, folded, rule)
        if masked == text:
            return text
        text = masked  # masking can expose a number that a longer digit run hid: look once more
    return text
