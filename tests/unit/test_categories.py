"""hotline.categories is the one list of legal categories: the engine's config and the domain follow it."""

from __future__ import annotations

from typing import Any

import yaml

from hotline import categories
from hotline.categories import INTAKE_CATEGORIES
from hotline.settings import PROJECT_ROOT


def _classifier(name: str) -> dict[str, Any]:
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    return next(c for c in config["pipeline"] if c["name"].endswith(name))


def test_the_classifier_augments_exactly_the_intake_categories() -> None:
    assert tuple(_classifier("CharNgramIntentClassifier")["augment_intents"]) == INTAKE_CATEGORIES


def test_topic_first_rereads_as_exactly_the_intake_categories() -> None:
    topic_first = _classifier("CharNgramIntentClassifier")["topic_first"]
    assert tuple(topic_first["legal_intents"]) == INTAKE_CATEGORIES


def test_every_intake_category_is_an_intent_of_the_domain() -> None:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    intents = {i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]}
    assert set(INTAKE_CATEGORIES) <= intents


def test_intake_categories_are_the_legal_ones_with_a_question_family() -> None:
    assert INTAKE_CATEGORIES[0] == "wage_arrears" and INTAKE_CATEGORIES[-1] == "other_legal"
    assert "complaint" not in INTAKE_CATEGORIES and "handoff" not in INTAKE_CATEGORIES
    assert categories.family("wage_arrears") == "labour"
    assert categories.family("criminal_defence") == "criminal"
    assert categories.family("domestic_violence") == "dv"
    assert {categories.family(c) for c in ("minors", "elderly", "disability_rights")} == {"group"}
    assert categories.family("complaint") == categories.family(None) == "general"
