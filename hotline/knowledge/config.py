"""The `knowledge:` section of config/hotline.yaml: when the bot may answer from the knowledge base."""

from __future__ import annotations

from pydantic import Field

from hotline.config_model import Strict


class KnowledgeConfig(Strict):
    """`threshold`: the least cosine similarity (0–1) between a question and an entry's best phrasing for
    the bot to answer; chosen on bench/kb_dev/dev.yaml with bench/bench_kb.py (0.40: 90 % right, 4 % wrong,
    no personal story answered). `enabled: false` sends every message to the intake as before.
    `review_days`: an entry a supervisor approves from an operator's proposal is due for review this many
    days after the approval (its review_due; the weekly report flags it then). The law changes with each
    new regulation, so a year by default; the bureau's own review cycle is not known to us."""

    enabled: bool = True
    threshold: float = Field(default=0.4, gt=0, le=1)
    review_days: int = Field(default=365, ge=1, le=3650)
