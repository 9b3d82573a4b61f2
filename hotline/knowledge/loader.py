"""Load and validate the knowledge base (faq.yaml) strictly, like the eligibility rules.

Every entry is checked at start-up (the action server imports the packaged base): unknown keys, a category
that is not an intake category, an answer over 300 characters, a duplicate id or phrasing, or an article
without its law all stop the start, with the entry's id (or index) and key in the message.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator

from hotline.categories import BY_CODE
from hotline.config_model import Strict, key_path

log = logging.getLogger(__name__)

MAX_ANSWER_CHARS = 300
# Intake categories a general question can belong to (complaint and handoff are not legal topics).
FAQ_CATEGORIES = frozenset(code for code in BY_CODE if code not in {"complaint", "handoff"})


class KnowledgeError(ValueError):
    """A knowledge-base file that cannot be used; the message names the entry and key."""


class Article(Strict):
    """One statute article an answer rests on: the law's full name and the article number as written."""

    law: str = Field(min_length=2)
    article: str = Field(pattern=r"^第[零一二三四五六七八九十百千]+条")

    def cite(self) -> str:
        return f"《{self.law}》{self.article}"


class FaqEntry(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    category: str
    questions: tuple[str, ...] = Field(min_length=2)
    answer: str = Field(min_length=10, max_length=MAX_ANSWER_CHARS)
    details: str = ""
    articles: tuple[Article, ...] = ()
    last_checked: dt.date
    checked_by: str = Field(min_length=2)
    review_due: dt.date

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        if value not in FAQ_CATEGORIES:
            raise ValueError(f"unknown category {value!r}; one of {sorted(FAQ_CATEGORIES)}")
        return value

    @field_validator("questions")
    @classmethod
    def _non_empty_questions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not q.strip() for q in value):
            raise ValueError("empty phrasing")
        return tuple(q.strip() for q in value)

    def citations(self) -> str:
        """The articles as one line for citizens, e.g. 《中华人民共和国法律援助法》第二条."""
        return "；".join(a.cite() for a in self.articles)

    def review_overdue(self, today: dt.date) -> bool:
        return self.review_due <= today


class _Defaults(Strict):
    last_checked: dt.date | None = None
    checked_by: str | None = None
    review_due: dt.date | None = None


class _FileSpec(Strict):
    version: int = Field(ge=1)
    defaults: _Defaults = _Defaults()
    entries: list[dict[str, Any]] = Field(min_length=1)


class KnowledgeBase:
    """The validated entries, by id, in file order."""

    def __init__(self, entries: tuple[FaqEntry, ...], source: str) -> None:
        self.entries = entries
        self.source = source
        self.by_id = {e.id: e for e in entries}

    def __len__(self) -> int:
        return len(self.entries)

    def overdue(self, today: dt.date) -> list[FaqEntry]:
        """Entries whose review date has come (flagged in the weekly report)."""
        return [e for e in self.entries if e.review_overdue(today)]


def parse_kb(text: str, source: str = "<faq>") -> KnowledgeBase:
    """Parse and check a knowledge-base document; raise KnowledgeError naming the entry and key."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{source}: not valid YAML: {exc}") from exc
    try:
        spec = _FileSpec.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{key_path(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise KnowledgeError(f"{source}: {problems}") from exc
    defaults = {k: v for k, v in spec.defaults.model_dump().items() if v is not None}
    entries: list[FaqEntry] = []
    for index, raw_entry in enumerate(spec.entries):
        name = str(raw_entry.get("id") or f"entries.{index}") if isinstance(raw_entry, dict) else f"#{index}"
        entries.append(_checked(entries, {**defaults, **raw_entry}, f"{source}: entry {name}"))
    return KnowledgeBase(tuple(entries), source)


def validate_entry(raw: dict[str, Any], name: str, others: Iterable[FaqEntry] = ()) -> FaqEntry:
    """One entry checked as in the file, also against `others` (duplicate id or phrasing)."""
    return _checked(list(others), raw, name)


def _checked(earlier: list[FaqEntry], raw: dict[str, Any], name: str) -> FaqEntry:
    try:
        entry = FaqEntry.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{key_path(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise KnowledgeError(f"{name}: {problems}") from exc
    if any(other.id == entry.id for other in earlier):
        raise KnowledgeError(f"{name}: duplicate id")
    owners = {q: other.id for other in reversed(earlier) for q in other.questions}  # the first owner wins
    for question in entry.questions:
        if (owner := owners.get(question)) is not None:
            raise KnowledgeError(f"{name}: questions: {question!r} also in {owner}")
    return entry


def with_extra(base: KnowledgeBase, extra: Iterable[tuple[str, dict[str, Any]]]) -> KnowledgeBase:
    """The base plus entries kept outside the file (approved proposals in the database: (name, raw)),
    each checked like a file entry. One that fails is skipped with a warning instead of stopping the
    bot: the file is the curated, strict part; a bad row must not take the whole knowledge base down."""
    entries = list(base.entries)
    for name, raw in extra:
        try:
            entries.append(_checked(entries, raw, name))
        except KnowledgeError as exc:
            log.warning("knowledge-base entry skipped: %s", exc)
    return KnowledgeBase(tuple(entries), base.source)


def load_kb(path: str | Path) -> KnowledgeBase:
    p = Path(path)
    return parse_kb(p.read_text(encoding="utf-8"), str(p))


@lru_cache(maxsize=1)
def packaged_kb() -> KnowledgeBase:
    """The faq.yaml shipped with this package, parsed once per process."""
    text = resources.files("hotline.knowledge").joinpath("faq.yaml").read_text(encoding="utf-8")
    return parse_kb(text, "hotline/knowledge/faq.yaml")
