"""The deployment's eligibility numbers (section `eligibility:` of config/hotline.yaml).

Everything docs/legal_basis.md marks UNKNOWN or as locally set (低保 table, multiplier, "<" vs "<=", day
type of the 7-day decision) lives here, not in the rules and not in code, so a justice bureau can correct a
number without a release. Defaults make an empty section valid and reproduce the Chuzhou reference
deployment (docs/legal_basis.md §4.3 threshold, §2.7 deadlines, §8 the open questions).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from hotline.config_model import Strict


class DibaoRow(Strict):
    """One 低保 standard (yuan per person per month) valid from `effective_from` until the next row."""

    effective_from: dt.date
    urban: float = Field(gt=0)
    rural: float = Field(gt=0)
    source: str = ""


class MeansTest(Strict):
    """Anhui 2016 Art 17: household income per person per month below `multiplier` x the city's 低保."""

    multiplier: float = Field(default=2.0, gt=0)
    # UNKNOWN whether "below" is strict; "<" follows the wording "低于…2倍" (Tongling 2022).
    comparator: Literal["<", "<="] = "<"
    # UNKNOWN Chuzhou values after 2022-07-01: add rows when the city publishes them (usually 1 July).
    dibao: tuple[DibaoRow, ...] = (
        DibaoRow(
            effective_from=dt.date(2022, 7, 1),
            urban=727,
            rural=717,
            source="滁州市2022-08-31通知",
        ),
    )
    # A date before the first row: "review" (a human checks the standard) or "use_earliest" (apply the
    # earliest row and say so). Default review: guessing a threshold could wrongly refuse someone.
    before_first_row: Literal["review", "use_earliest"] = "review"

    @field_validator("dibao")
    @classmethod
    def _sorted_unique(cls, rows: tuple[DibaoRow, ...]) -> tuple[DibaoRow, ...]:
        dates = [r.effective_from for r in rows]
        if len(set(dates)) != len(dates):
            raise ValueError("dibao: effective_from dates must be unique")
        return tuple(sorted(rows, key=lambda r: r.effective_from))


class Deadlines(Strict):
    """Statutory time limits (LAL Art 36, 39, 43, 49); day type of Art 43 is UNKNOWN -> calendar."""

    decision_days: int = Field(default=7, ge=1)  # Art 43: decide within 7 days of receipt
    decision_day_type: Literal["calendar", "working"] = "calendar"
    assign_days: int = Field(default=3, ge=1)  # Art 43: assign within 3 days of granting
    criminal_notice_days: int = Field(default=3, ge=1)  # Art 36: case organ notifies the LAO
    criminal_assign_days: int = Field(default=3, ge=1)  # Art 36: LAO assigns after the notice
    custody_forward_hours: int = Field(default=24, ge=1)  # Art 39
    objection_review_days: int = Field(default=5, ge=1)  # Art 49


class EligibilityConfig(Strict):
    """`settings.eligibility`, checked at start-up; `EligibilityConfig()` is the Chuzhou reference."""

    means_test: MeansTest = MeansTest()
    deadlines: Deadlines = Deadlines()
    urgent_days: int = Field(default=7, ge=0)  # Art 44(1): "fewer than 7 days" before a deadline
    minor_age: int = Field(default=18, ge=1)  # under this age = minor (未成年人保护法 Art 2)
    elderly_age: int = Field(default=60, ge=1)  # from this age = elderly (老年人权益保障法 Art 2)
    # Optional path to a replacement rules file; empty = the rules.yaml shipped in this package.
    rules_path: str | None = None

    def fingerprint(self) -> str:
        """Short stable hash of every value, stored with each decision so a replay can tell what changed."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:12]

    def dibao_on(self, on: dt.date) -> tuple[DibaoRow | None, bool]:
        """The 低保 row in force on `on`, and whether it is the earliest-row fallback."""
        rows = self.means_test.dibao
        current = None
        for row in rows:
            if row.effective_from <= on:
                current = row
        if current is not None:
            return current, False
        if rows and self.means_test.before_first_row == "use_earliest":
            return rows[0], True
        return None, False


def config_paths() -> frozenset[str]:
    """Dotted names a rule may reference with {config: ...}; checked when rules load."""
    out: set[str] = set()

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            ann = info.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, f"{prefix}{name}.")
            else:
                out.add(f"{prefix}{name}")

    walk(EligibilityConfig, "")
    return frozenset(out)


def config_value(config: EligibilityConfig, path: str) -> Any:
    node: Any = config
    for part in path.split("."):
        node = getattr(node, part)
    return node
