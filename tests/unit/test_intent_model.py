"""rasa_components.intent_model: the engine's intent classifier, without Rasa."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest

from rasa_components.intent_model import IntentModel, IntentModelConfig, augment
from rasa_components.topic_first import TopicFirstConfig, han_count, reread, strip_polite

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


# --- topic before dialog act (rasa_components/topic_first.py) ----------------------------------------

TOPIC = TopicFirstConfig(
    dialog_acts=("greet", "inform", "complain"),
    legal_intents=("minors", "elderly", "other_legal"),
    polite_phrases=("你好", "请问一下", "谢谢"),
    cues=("告他", "赡养"),
    min_chars=12,
    min_legal_mass=0.5,
    mass_only=("complain",),
)


def _ranker(table: dict[str, list[tuple[str, float]]]) -> Any:
    def rank(text: str) -> list[tuple[str, float]]:
        return table[text]

    return rank


def test_a_story_behind_a_greeting_is_read_as_its_legal_category() -> None:
    text = "你好你好，请问一下，俺娃十三岁，被邻居家大人摸了，俺们想告他"
    rest = strip_polite(text, TOPIC.polite_phrases)
    assert "你好" not in rest and han_count(rest) >= 12
    first = [("greet", 0.5), ("minors", 0.2), ("other_legal", 0.2), ("inform", 0.1)]
    after = [("minors", 0.6), ("other_legal", 0.2), ("greet", 0.15), ("elderly", 0.05)]
    got = reread(text, first, _ranker({rest: after}), TOPIC)
    assert got is not None and got[0][0] == "minors"
    assert [name for name, _ in got] == ["minors", "other_legal", "elderly"]
    assert sum(p for _, p in got) == pytest.approx(1.0)


def test_short_answers_and_non_legal_messages_stay_dialog_acts() -> None:
    ranking = [("inform", 0.9), ("elderly", 0.1)]
    assert reread("凤阳县农村 每人每月八百", ranking, _ranker({}), TOPIC) is None  # short: a form answer
    assert (
        reread(
            "真是太谢谢了俺都不晓得咋说好了真的", [("inform", 0.95), ("elderly", 0.05)], _ranker({}), TOPIC
        )
        is None
    )
    assert (
        reread("我妈七十五岁了三个儿子都不给赡养费她一个人住", [("elderly", 0.6)], _ranker({}), TOPIC) is None
    )


def test_a_cue_word_is_enough_except_for_acts_that_name_legal_matters_themselves() -> None:
    text = "我妈七十五岁了三个儿子都不给赡养费她一个人住"
    informed = [("inform", 0.6), ("elderly", 0.3), ("minors", 0.1)]
    got = reread(text, informed, _ranker({}), TOPIC)
    assert got is not None and got[0][0] == "elderly" and got[0][1] == pytest.approx(0.75)
    complaint = [("complain", 0.8), ("elderly", 0.1), ("other_legal", 0.1)]
    assert reread("派给我的律师根本不管赡养费的事一直拖着不办", complaint, _ranker({}), TOPIC) is None
    strong = [("complain", 0.4), ("elderly", 0.35), ("other_legal", 0.25)]
    assert reread("派给我的律师根本不管赡养费的事一直拖着不办", strong, _ranker({}), TOPIC) is not None


def test_topic_first_config_from_the_component_config() -> None:
    config = TopicFirstConfig.from_mapping(
        {"dialog_acts": ["greet"], "legal_intents": ["minors"], "min_chars": 8}
    )
    assert config.enabled and config.min_chars == 8 and config.dialog_acts == ("greet",)
    assert not TopicFirstConfig.from_mapping(None).enabled
