"""bench.nlu_eval as a package: a whole run on a tiny data set, with the Rasa side replaced by a stub."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from bench.nlu_eval import cli
from bench.nlu_eval.data import Example, LoadReport, load_nlu_dir
from bench.nlu_eval.decisions import FALLBACK_INTENT, decide, decision_views, paired_bootstrap
from bench.nlu_eval.scoring import score
from bench.nlu_eval.systems import Predictions

TRAIN = """version: "3.1"
nlu:
- intent: wage_arrears
  examples: |
    - 老板拖欠工资
    - 工资三个月没发
    - 包工头欠我工钱
- intent: greet
  examples: |
    - 你好
    - 您好啊
    - 在吗
"""
EVAL = """version: "3.1"
nlu:
- intent: wage_arrears
  examples: |
    - 公司拖欠我[两个月](duration)工资
    - 工钱一直不给
- intent: greet
  examples: |
    - 你好
    - 哈喽
"""


def _sets(tmp_path: Path) -> tuple[Path, Path]:
    train, held_out = tmp_path / "train", tmp_path / "eval"
    train.mkdir()
    held_out.mkdir()
    (train / "nlu.yml").write_text(TRAIN, encoding="utf-8")
    (held_out / "nlu.yml").write_text(EVAL, encoding="utf-8")
    return train, held_out


def test_loading_strips_entity_markup(tmp_path: Path) -> None:
    _, held_out = _sets(tmp_path)
    examples = load_nlu_dir(held_out, LoadReport())
    assert examples[0] == Example("公司拖欠我两个月工资", "wage_arrears", str(held_out / "nlu.yml"))


def test_scores_come_from_sklearn_metrics() -> None:
    eval_set = [Example(t, g, "x") for t, g in [("a", "greet"), ("b", "greet"), ("c", "wage_arrears")]]
    pred = Predictions("rasa", ["greet", "wage_arrears", "wage_arrears"], [1.0, 2.0, 3.0], "", [None] * 3)
    s = score(eval_set, pred, ["wage_arrears", "greet"])
    assert s.accuracy == pytest.approx(2 / 3)
    assert s.per_intent["greet"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": pytest.approx(2 / 3),
        "support": 2,
    }
    assert s.per_intent["wage_arrears"]["f1"] == pytest.approx(2 / 3)
    assert s.macro_f1 == pytest.approx(2 / 3)
    assert s.matrix_labels == ["wage_arrears", "greet"] and s.matrix == [[1, 0], [1, 1]]
    assert s.confusions == [{"gold": "greet", "predicted": "wage_arrears", "count": 1, "example": "b"}]


def test_decide_falls_back_below_threshold_and_offers_categories() -> None:
    ranking = [["wage_arrears", 0.12], ["work_injury", 0.10], ["greet", 0.05]]
    assert decide(ranking, 0.15, 0.05) == (FALLBACK_INTENT, ["wage_arrears", "work_injury"])
    assert decide(ranking, 0.0, 0.0) == ("wage_arrears", [])


def test_whole_run_with_a_stubbed_rasa(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    train, held_out = _sets(tmp_path)

    def fake_rasa(url: str, texts: list[str], timeout: float) -> Predictions:
        labels = ["wage_arrears", "wage_arrears", "greet", "wage_arrears"]
        rankings: list[list[list[Any]]] = [
            [[label, 0.9], ["greet" if label != "greet" else "wage_arrears", 0.1]] for label in labels
        ]
        return Predictions("rasa", labels, [1.0] * 4, "stub", [0.9] * 4, rankings=rankings)

    monkeypatch.setattr(cli, "predict_rasa_http", fake_rasa)
    monkeypatch.setattr(cli, "paired_bootstrap", partial(paired_bootstrap, rounds=20))  # 1000 in a real run
    out = tmp_path / "out.json"
    code = cli.main(
        [
            "--train-dir",
            str(train),
            "--eval-dir",
            str(held_out),
            "--rasa-url",
            "http://stub",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "Fallback threshold sweep" in printed and "Paired bootstrap" in printed
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["systems"]["rasa"]["accuracy"] == pytest.approx(0.75)
    assert report["eval"]["seen_in_training"] == 1  # 你好
    assert {v["system"] for v in report["decision_views"]} == {"rasa", "baseline"}
    assert len(report["predictions"]) == 4


def test_requested_rasa_run_without_predictions_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    train, held_out = _sets(tmp_path)
    monkeypatch.setattr(
        cli, "predict_rasa_http", lambda url, texts, timeout: Predictions("rasa", [], [], "", [], ["down"])
    )
    assert (
        cli.main(["--train-dir", str(train), "--eval-dir", str(held_out), "--rasa-url", "http://stub"]) == 1
    )


def test_decision_views_report_macro_recall_and_fallback_rate() -> None:
    """Issue 11's figures: a fallback is a miss as deployed and a hit after the buttons when offered."""
    eval_set = [Example("a", "wage_arrears", "x"), Example("b", "minors", "x"), Example("c", "greet", "x")]
    rankings = [
        [["wage_arrears", 0.9], ["minors", 0.1]],
        [["elderly", 0.40], ["minors", 0.38]],  # ambiguous: falls back, buttons elderly + minors
        [["greet", 0.8], ["thanks", 0.2]],
    ]
    views = decision_views(eval_set, {"rasa": rankings}, ["wage_arrears", "minors", "greet"], 0.15, 0.05)
    by_view = {v.view: v for v in views}
    deployed = by_view["as deployed (fallback = wrong)"]
    clarified = by_view["after clarification buttons"]
    assert deployed.macro_recall == pytest.approx(2 / 3)
    assert deployed.macro_recall_categories == pytest.approx(0.5)
    assert deployed.fallback_rate == pytest.approx(1 / 3)
    assert clarified.macro_recall == pytest.approx(1.0)
    assert by_view["top-1 (no fallback step)"].fallback_rate == 0.0
