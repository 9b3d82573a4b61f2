"""Character n-gram intent model: TF-IDF over characters and a class-balanced logistic regression.

Why this and not DIET for intents: on our held-out set DIET memorised the training data (99.8 %
training accuracy) and lost to a plain character n-gram linear model (bench/NLU_RESULTS.md).
Character n-grams need no word segmentation and survive the typos, dialect words and missing
punctuation of messages typed on a phone.

What it adds to that plain model is training-time augmentation, for two failure modes we saw:

* citizens open with where they live ("全椒县的 …", "俺是来安的，…"); the short ``inform`` answers
  are full of county names, so such messages were pulled towards ``inform``. Category examples are
  therefore also trained with a place phrase before or after them;
* one dropped or mistyped character should not change the answer, so long examples are also
  trained with one character left out.

Pure code (numpy, scipy, scikit-learn): the Rasa adapter lives in ``char_ngram_intent.py``;
this module is imported by the engine (Python 3.10) and by the unit tests (Python 3.11).
The fitted model is kept as plain arrays (no pickle), so loading a model file runs no code.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class IntentModelConfig:
    """Hyper-parameters; defaults are the values chosen by cross-validation (bench/NLU_RESULTS.md)."""

    ngram_min: int = 1
    ngram_max: int = 3
    c: float = 10.0
    max_iter: int = 3000
    # Intents whose examples get the augmentations (the legal categories): conversational
    # intents are short and a place phrase would change their meaning.
    augment_intents: tuple[str, ...] = ()
    # Phrases citizens put around their question ("我是{place}的 …", "… 怎么办"); "{place}" is
    # replaced by a place name. One variant per example, before or after it with equal chance.
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    drop_char_min_length: int = 7
    seed: int = 12348

    def __post_init__(self) -> None:
        if not 1 <= self.ngram_min <= self.ngram_max:
            raise ValueError(f"ngram range needs 1 <= min <= max, got {self.ngram_min}-{self.ngram_max}")
        if self.c <= 0:
            raise ValueError(f"C must be positive, got {self.c}")
        for phrase in (*self.prefixes, *self.suffixes):
            try:
                phrase.format(place="")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"context phrase {phrase!r}: only {{place}} may be used ({exc})") from None

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], places: Iterable[str] = ()) -> IntentModelConfig:
        """Build from a Rasa component config (unknown keys are Rasa's own and ignored)."""
        return cls(
            ngram_min=int(raw.get("min_ngram", cls.ngram_min)),
            ngram_max=int(raw.get("max_ngram", cls.ngram_max)),
            c=float(raw.get("C", cls.c)),
            max_iter=int(raw.get("max_iter", cls.max_iter)),
            augment_intents=tuple(raw.get("augment_intents") or ()),
            prefixes=tuple(raw.get("context_prefixes") or ()),
            suffixes=tuple(raw.get("context_suffixes") or ()),
            places=tuple(sorted(set(places))),
            drop_char_min_length=int(raw.get("drop_char_min_length", cls.drop_char_min_length)),
            seed=int(raw.get("random_seed", cls.seed)),
        )


def augment(
    texts: Sequence[str], labels: Sequence[str], config: IntentModelConfig
) -> tuple[list[str], list[str]]:
    """Original examples plus context-phrase and dropped-character variants (deterministic per seed)."""
    phrases = [(p, True) for p in config.prefixes] + [(p, False) for p in config.suffixes]
    if any("{place}" in p for p, _ in phrases) and not config.places:
        raise ValueError("context phrases mention {place} but no place names are known")
    rng = random.Random(config.seed)
    out_texts, out_labels = list(texts), list(labels)
    targets = set(config.augment_intents)
    for text, label in zip(texts, labels, strict=True):
        if label not in targets:
            continue
        if phrases:
            phrase, before = rng.choice(phrases)
            if "{place}" in phrase:
                phrase = phrase.format(place=rng.choice(config.places))
            out_texts.append(phrase + text if before else text + phrase)
            out_labels.append(label)
        if config.drop_char_min_length and len(text) >= config.drop_char_min_length:
            cut = rng.randrange(len(text))
            out_texts.append(text[:cut] + text[cut + 1 :])
            out_labels.append(label)
    return out_texts, out_labels


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


@dataclass
class IntentModel:
    """A fitted vectoriser + classifier, with a plain-array form for storage."""

    config: IntentModelConfig
    vectorizer: TfidfVectorizer = field(init=False)
    classifier: LogisticRegression = field(init=False)

    def __post_init__(self) -> None:
        self.vectorizer = self._vectorizer(self.config)
        self.classifier = LogisticRegression(
            C=self.config.c, max_iter=self.config.max_iter, class_weight="balanced"
        )

    @staticmethod
    def _vectorizer(config: IntentModelConfig, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
        return TfidfVectorizer(
            analyzer="char",
            ngram_range=(config.ngram_min, config.ngram_max),
            sublinear_tf=True,
            preprocessor=_clean,
            vocabulary=vocabulary,
        )

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.classifier.classes_]

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> IntentModel:
        if len(set(labels)) < 2:
            raise ValueError("an intent classifier needs examples of at least two intents")
        train_texts, train_labels = augment(texts, labels, self.config)
        features = self.vectorizer.fit_transform(train_texts)
        self.classifier.fit(features, train_labels)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, columns in the order of ``classes``."""
        result: np.ndarray = self.classifier.predict_proba(self.vectorizer.transform(list(texts)))
        return result

    def rank(self, text: str, top: int = 10) -> list[tuple[str, float]]:
        """The ``top`` intents of one message, most likely first."""
        proba = self.predict_proba([text])[0]
        order = np.argsort(-proba)[:top]
        classes = self.classes
        return [(classes[i], float(proba[i])) for i in order]

    # ------------------------------------------------------------------ storage

    def save(self, target: str | Path | BinaryIO) -> None:
        """Write the fitted model as an ``.npz`` of plain arrays."""
        np.savez(target, **self.to_arrays())  # type: ignore[arg-type]  # numpy stubs vs **arrays

    @classmethod
    def load(cls, config: IntentModelConfig, source: str | Path | BinaryIO) -> IntentModel:
        """Read a model written by ``save``; refuses pickled content."""
        with np.load(source, allow_pickle=False) as stored:
            return cls.from_arrays(config, {key: stored[key] for key in stored.files})

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Everything needed to predict, as arrays ``np.savez`` can store without pickle."""
        vocabulary = self.vectorizer.vocabulary_
        terms = np.empty(len(vocabulary), dtype=object)
        for term, index in vocabulary.items():
            terms[index] = term
        return {
            "terms": terms.astype(str),
            "idf": np.asarray(self.vectorizer.idf_),
            "coef": np.asarray(self.classifier.coef_),
            "intercept": np.asarray(self.classifier.intercept_),
            "classes": np.asarray(self.classes, dtype=str),
        }

    @classmethod
    def from_arrays(cls, config: IntentModelConfig, arrays: Mapping[str, np.ndarray]) -> IntentModel:
        model = cls(config)
        terms = [str(t) for t in arrays["terms"]]
        model.vectorizer = cls._vectorizer(config, {term: i for i, term in enumerate(terms)})
        # A fixed vocabulary still needs fit() to become usable; idf_ is then overwritten.
        model.vectorizer.fit([""] if not terms else terms[:1])
        model.vectorizer.idf_ = np.asarray(arrays["idf"], dtype=float)
        model.classifier.classes_ = np.asarray(arrays["classes"], dtype=str)
        model.classifier.coef_ = np.asarray(arrays["coef"], dtype=float)
        model.classifier.intercept_ = np.asarray(arrays["intercept"], dtype=float)
        return model
