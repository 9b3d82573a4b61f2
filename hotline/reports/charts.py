"""PNG charts with Chinese labels.

`mplfonts.use_font()` alone does not make matplotlib find the CJK font (measured, see docs/architecture.md
§7); the bundled Noto Sans CJK SC file has to be registered with the font manager and selected by family
name.
"""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.axes import Axes

from hotline.reports import texts as T
from hotline.reports.metrics import ReportMetrics

log = logging.getLogger(__name__)

CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"
CJK_FONT_FAMILY = "Noto Sans CJK SC"


def cjk_font_path() -> Path | None:
    try:
        import mplfonts
    except ImportError:  # pragma: no cover - listed in requirements.txt
        return None
    path = Path(mplfonts.__file__).resolve().parent / "fonts" / CJK_FONT_FILE
    return path if path.exists() else None


def register_cjk_font() -> str:
    """Register the bundled CJK font once and make it the default family; returns the family in use."""
    path = cjk_font_path()
    if path is None:
        log.warning("未找到中文字体 %s，图表中文可能显示为方框", CJK_FONT_FILE)
        return str(matplotlib.rcParams["font.family"][0])
    if CJK_FONT_FAMILY not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(path))
    matplotlib.rcParams["font.family"] = CJK_FONT_FAMILY
    matplotlib.rcParams["axes.unicode_minus"] = False
    return CJK_FONT_FAMILY


def _bar(ax: Axes, labels: list[str], values: list[int], title: str, horizontal: bool = False) -> None:
    if horizontal:
        ax.barh(labels[::-1], values[::-1], color="#3b7dd8")
        ax.set_xlabel(T.CHART_AXIS_COUNT)
    else:
        ax.bar(labels, values, color="#3b7dd8")
        ax.set_ylabel(T.CHART_AXIS_COUNT)
        ax.tick_params(axis="x", labelrotation=30)
    ax.set_title(title, fontsize=11)
    if not any(values):
        ax.text(0.5, 0.5, "本期无数据", transform=ax.transAxes, ha="center", va="center", color="#888")


def dashboard_png(m: ReportMetrics, path: Path, county_names: dict[str, str] | None = None) -> Path:
    """One 2×2 figure: categories, counties (or case types for a county), special groups, ratings."""
    register_cjk_font()
    names = county_names or {}
    ctx = {"scope": m.scope_name, "period": m.period.label}
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), dpi=110)
    cats = sorted(m.by_category.items(), key=lambda kv: -kv[1])[:8]
    _bar(
        axes[0][0],
        [T.category_label(k) for k, _ in cats],
        [v for _, v in cats],
        T.CHART_TITLES["category"].format(**ctx),
        horizontal=True,
    )
    if m.scope == "city":
        counties = sorted(m.by_county.items(), key=lambda kv: -kv[1])
        _bar(
            axes[0][1],
            [names.get(k, k) for k, _ in counties],
            [v for _, v in counties],
            T.CHART_TITLES["county"].format(**ctx),
        )
    else:
        _bar(
            axes[0][1],
            list(T.CASE_TYPES.values()),
            [m.by_case_type.get(k, 0) for k in T.CASE_TYPES],
            f"{m.scope_name}{m.period.label} 案件类型",
        )
    _bar(
        axes[1][0],
        list(T.GROUPS.values()),
        [m.groups.get(g, 0) for g in T.GROUPS],
        T.CHART_TITLES["groups"].format(**ctx),
    )
    _bar(
        axes[1][1],
        [T.CHART_RATING_LABEL.format(score=s) for s in range(1, 6)],
        [m.rating_distribution.get(s, 0) for s in range(1, 6)],
        T.CHART_TITLES["rating"].format(**ctx),
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
