"""rasa_components.intent_model: the engine's intent classifier, without Rasa."""

from __future__ import annotations

import io

import numpy as np
import pytest

from rasa_components.intent_model import IntentModel, IntentModelConfig, augment

TEXTS = [
    "老板拖欠工资三个月",
    "包工头跑了工钱没给",
    "干了半年没拿到工资",
    "厂里不发工资怎么办",
    "在工地上摔伤了算工伤吗",
    "上班时机器把手压伤了",
    "工伤认定去哪里申请",
    "干活的时候被砸伤了",
    "你好",
    "您好",
    "在吗",
    "有人吗",
]
LABELS = ["wage"] * 4 + ["injury"] * 4 + ["greet"] * 4
CONFIG = IntentModelConfig(
    augment_intents=("wage", "injury"),
    prefixes=("我是{place}的 ",),
    suffixes=(" 怎么办",),
    places=("定远县", "凤阳县"),
    drop_char_min_length=7,
)


def test_augment_adds_context_and_typo_variants_only_for_listed_intents() -> None:
    texts, labels = augment(TEXTS, LABELS, CONFIG)
    originals = len(TEXTS)
    assert texts[:originals] == TEXTS  # originals kept, in order
    added = list(zip(texts[originals:], labels[originals:], strict=True))
    assert {label for _, label in added} == {"wage", "injury"}
    # one context variant per category example, one dropped-character variant per long one
    long_ones = sum(1 for t, lab in zip(TEXTS, LABELS, strict=True) if lab != "greet" and len(t) >= 7)
    assert len(added) == 8 + long_ones
    context = [t for t, _ in added if t.startswith("我是") or t.endswith(" 怎么办")]
    assert len(context) == 8
    assert all(("定远县" in t or "凤阳县" in t) for t in context if t.startswith("我是"))
    dropped = [t for t, _ in added if t not in context]
    assert all(any(len(t) == len(o) - 1 for o in TEXTS) for t in dropped)


def test_augment_is_deterministic_per_seed() -> None:
    assert augment(TEXTS, LABELS, CONFIG) == augment(TEXTS, LABELS, CONFIG)
    other = IntentModelConfig(**{**CONFIG.__dict__, "seed": 7})
    assert augment(TEXTS, LABELS, other) != augment(TEXTS, LABELS, CONFIG)


def test_augment_without_places_for_a_place_phrase_is_an_error() -> None:
    config = IntentModelConfig(augment_intents=("wage",), prefixes=("我是{place}的 ",))
    with pytest.raises(ValueError, match="no place names"):
        augment(TEXTS, LABELS, config)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ngram_min": 3, "ngram_max": 2}, "ngram range"),
        ({"ngram_min": 0}, "ngram range"),
        ({"c": 0.0}, "C must be positive"),
        ({"prefixes": ("我是{county}的",)}, "only {place}"),
    ],
)
def test_bad_config_is_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        IntentModelConfig(**kwargs)  # type: ignore[arg-type]


def test_from_mapping_reads_rasa_keys_and_ignores_others() -> None:
    config = IntentModelConfig.from_mapping(
        {"name": "x", "C": 3, "max_ngram": 4, "context_prefixes": ["{place} "], "random_seed": 5},
        places=["凤阳县", "定远县", "凤阳县"],
    )
    assert (config.c, config.ngram_max, config.seed) == (3.0, 4, 5)
    assert config.prefixes == ("{place} ",)
    assert config.places == ("凤阳县", "定远县")


def test_fit_predicts_unseen_phrasings_and_ranks_all_intents() -> None:
    model = IntentModel(CONFIG).fit(TEXTS, LABELS)
    assert model.rank("老板一直不给工资")[0][0] == "wage"
    assert model.rank("我在工地摔伤了")[0][0] == "injury"
    assert model.rank("你好啊")[0][0] == "greet"
    ranking = model.rank("定远县的 工资拖欠", top=10)
    assert ranking[0][0] == "wage"
    assert len(ranking) == 3
    assert sum(conf for _, conf in ranking) == pytest.approx(1.0)
    assert ranking == sorted(ranking, key=lambda r: -r[1])


def test_fit_needs_two_intents() -> None:
    with pytest.raises(ValueError, match="at least two intents"):
        IntentModel(CONFIG).fit(TEXTS[:4], LABELS[:4])


def test_arrays_round_trip_without_pickle_gives_identical_probabilities() -> None:
    model = IntentModel(CONFIG).fit(TEXTS, LABELS)
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    restored = IntentModel.load(CONFIG, buffer)
    probes = ["老板不给钱", "摔伤", "喂 在吗", "", "完全无关的句子"]
    assert restored.classes == model.classes
    np.testing.assert_allclose(restored.predict_proba(probes), model.predict_proba(probes))
