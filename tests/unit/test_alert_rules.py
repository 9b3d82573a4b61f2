"""The shipped Prometheus alert rules name only metrics our processes export, and speak Chinese to staff."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import REGISTRY

from hotline import observability
from hotline.settings import PROJECT_ROOT

RULES = PROJECT_ROOT / "deploy" / "prometheus" / "hotline12348-alerts.yml"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
CJK = re.compile(r"[\u4e00-\u9fff]")


def exported_names() -> set[str]:
    names = {
        observability.QUEUE_DEPTH_NAME,
        observability.OUTBOX_DEPTH_NAME,
        observability.BACKUP_NEWEST_NAME,
    }
    for family in REGISTRY.collect():
        for suffix in SUFFIXES.get(family.type, ("",)):
            names.add(family.name + suffix)
    return names


def rules(path: Path = RULES) -> list[dict[str, Any]]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_every_rule_is_complete_and_explained_in_chinese() -> None:
    found = rules()
    assert len(found) >= 7
    assert len({r["alert"] for r in found}) == len(found)
    for rule in found:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning"}
        assert re.fullmatch(r"\d+[smh]", rule["for"])
        for key in ("summary", "description"):
            assert CJK.search(rule["annotations"][key]), (rule["alert"], key)
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]


def test_every_metric_in_the_rules_is_exported() -> None:
    exported = exported_names()
    assert "hotline_turn_seconds_bucket" in exported and "hotline_fallbacks_total" in exported
    named = {m for rule in rules() for m in re.findall(r"\bhotline_[a-z_]+", rule["expr"])}
    assert named, "the rules name our metrics"
    assert named <= exported, named - exported


def test_a_misspelt_metric_would_be_caught(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(RULES.read_text(encoding="utf-8").replace("hotline_outbox_depth", "hotline_outbox_size"))
    named = {m for rule in rules(bad) for m in re.findall(r"\bhotline_[a-z_]+", rule["expr"])}
    assert named - exported_names() == {"hotline_outbox_size"}
