"""The 低保 table behind the means test: how old its newest row is, and adding a row (audited).

The rows live in the deployment's configuration file (`eligibility.means_test.dibao` in
config/hotline.yaml): one city-wide row per effective date with the urban and rural standard and the
document it comes from. A city publishes a new standard about once a year (usually 1 July); when the
newest row is older than `reports.dibao_stale_months` (13 by default) every means test may be judged against
an outdated line, so start-up, the weekly summary and every report say so.

`add_row` is what `python -m hotline dibao add` runs: it inserts the row into the configuration file as one
more line (the file's comments and layout are kept), refuses the change unless the whole file still
validates, and appends an audit record (who, when, the row, its source) to `<log_dir>/audit.jsonl`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from hotline.eligibility.config import DibaoRow, EligibilityConfig

log = logging.getLogger(__name__)

# Supervisor/operator-facing wording (Simplified Chinese), here: the one module that knows the table.
STALE_WARNING = (
    "注意：经济困难审查所用的低保标准最新一条自{since}起执行，已超过{months}个月未更新，"
    "请核实本市现行低保标准并用 python -m hotline dibao add 补充。"
)
AUDIT_FILE = "audit.jsonl"


class DibaoEditError(Exception):
    """The row cannot be added; the message is Chinese and says what to do."""


def months_between(earlier: dt.date, later: dt.date) -> int:
    """Whole months from `earlier` to `later` (2022-07-01 → 2023-08-01 is 13)."""
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    return months - 1 if later.day < earlier.day else months


def newest_row(config: EligibilityConfig) -> DibaoRow | None:
    rows = config.means_test.dibao
    return rows[-1] if rows else None  # sorted by effective_from (MeansTest validator)


def stale_warning(config: EligibilityConfig, today: dt.date, stale_months: int) -> str | None:
    """The Chinese warning when the newest 低保 row is more than `stale_months` months old, else None."""
    row = newest_row(config)
    if row is None:
        return STALE_WARNING.format(since="（无）", months=stale_months)
    if months_between(row.effective_from, today) <= stale_months:
        return None
    since = f"{row.effective_from.year}年{row.effective_from.month}月{row.effective_from.day}日"
    return STALE_WARNING.format(since=since, months=stale_months)


def log_if_stale(config: EligibilityConfig, today: dt.date, stale_months: int) -> str | None:
    """Start-up check: log the warning (once per process start) and return it."""
    warning = stale_warning(config, today, stale_months)
    if warning:
        log.warning(warning)
    return warning


def parse_from(text: str) -> dt.date:
    """`2023-07` or `2023-07-01` → the date the row takes effect."""
    for fmt in ("%Y-%m", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise DibaoEditError(f"起始日期应为 YYYY-MM 或 YYYY-MM-DD：{text}")


_DIBAO_KEY = re.compile(r"^(?P<indent>\s*)dibao:\s*(#.*)?$")
_ROW = re.compile(r"^(?P<indent>\s*)-\s")


def _insert_row(text: str, row: DibaoRow) -> str:
    """The configuration text with `row` as one more flow-style line at the end of the dibao list."""
    lines = text.splitlines(keepends=True)
    key = next((i for i, line in enumerate(lines) if _DIBAO_KEY.match(line)), None)
    if key is None:
        raise DibaoEditError(
            "配置文件中没有 eligibility.means_test.dibao 列表，请先按 config/hotline.yaml 的格式手工添加。"
        )
    key_indent = len(_DIBAO_KEY.match(lines[key]).group("indent"))  # type: ignore[union-attr]
    last, row_indent = key, None
    for i in range(key + 1, len(lines)):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(lines[i]) - len(lines[i].lstrip())
        if indent <= key_indent and not _ROW.match(lines[i]):
            break
        if _ROW.match(lines[i]):
            if not stripped.startswith("- {"):
                raise DibaoEditError("dibao 列表不是每行一条 {…} 的格式，请手工添加这一行。")
            row_indent = indent
        last = i
    source = json.dumps(row.source, ensure_ascii=False)  # a JSON string is a valid YAML scalar
    pad = " " * (row_indent if row_indent is not None else key_indent + 2)
    new = (
        f"{pad}- {{effective_from: {row.effective_from.isoformat()}, urban: {row.urban:g}, "
        f"rural: {row.rural:g}, source: {source}}}\n"
    )
    if not lines[last].endswith("\n"):
        lines[last] += "\n"
    return "".join([*lines[: last + 1], new, *lines[last + 1 :]])


@dataclass(frozen=True)
class Added:
    row: DibaoRow
    config_path: Path
    audit_path: Path


def add_row(
    config_path: Path, row: DibaoRow, actor: str, log_dir: Path, now: dt.datetime | None = None
) -> Added:
    """Insert `row` into the configuration file (validated first, written atomically) and audit it."""
    from hotline.settings import ConfigError, load_settings

    if not row.source.strip():
        raise DibaoEditError('必须写明来源（文件名称和文号），例如 --source "滁州市民政局2023-06-28通知"')
    current = load_settings(config_path).eligibility.means_test.dibao
    if any(r.effective_from == row.effective_from for r in current):
        raise DibaoEditError(f"已有自{row.effective_from.isoformat()}起执行的低保标准，不能重复添加。")
    text = config_path.read_text(encoding="utf-8")
    candidate = config_path.with_name(f".{config_path.name}.new")
    candidate.write_text(_insert_row(text, row), encoding="utf-8")
    try:
        rows = load_settings(candidate).eligibility.means_test.dibao
    except ConfigError as exc:
        candidate.unlink(missing_ok=True)
        raise DibaoEditError(f"添加后配置文件无法通过校验，未修改：{exc}") from exc
    if row not in rows:
        candidate.unlink(missing_ok=True)
        raise DibaoEditError("添加的这一行没有生效（是否被环境变量 HOTLINE_ELIGIBILITY__… 覆盖？），未修改。")
    os.replace(candidate, config_path)
    log_dir.mkdir(parents=True, exist_ok=True)
    audit = log_dir / AUDIT_FILE
    record = {
        "at": (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        "actor": actor,
        "action": "dibao_add",
        "config": str(config_path),
        "row": row.model_dump(mode="json"),
    }
    with audit.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    log.warning("低保标准已添加（%s）：%s", actor, record["row"])
    return Added(row, config_path, audit)
