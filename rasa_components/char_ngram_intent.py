"""Rasa adapter for the character n-gram intent model (``intent_model.py``).

Loaded by the engine from ``config.yml`` as ``rasa_components.char_ngram_intent.CharNgramIntentClassifier``
(``rasa`` puts its working directory, the repository root, on ``sys.path``). It replaces DIET's intent
head; DIET keeps extracting entities. Place names for the augmentation come from a lookup table of the
training data (``places_lookup``, default the ``county`` table), so a new city needs no code change.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_components.intent_model import IntentModel, IntentModelConfig
from rasa_components.topic_first import TopicFirstConfig, reread

logger = logging.getLogger(__name__)

_FILE = "intent_model.npz"
_SOURCES = (
    Path(__file__),
    Path(__file__).with_name("intent_model.py"),
    Path(__file__).with_name("topic_first.py"),
)
# Output key naming the dialog act a message was re-read from (topic_first.py), for the actions and logs.
REREAD_KEY = "topic_first_from"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class CharNgramIntentClassifier(GraphComponent, IntentClassifier):  # type: ignore[misc]
    """Intent classifier: TF-IDF character n-grams + balanced logistic regression, with augmentation."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "min_ngram": 1,
            "max_ngram": 3,
            "C": 10.0,
            "max_iter": 3000,
            "augment_intents": [],
            "context_prefixes": [],
            "context_suffixes": [],
            "places_lookup": "county",
            "drop_char_min_length": 7,
            "random_seed": 12348,
            "ranking_length": 10,
            "topic_first": {},
        }

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Retrain when the model code changes, not only its config (Rasa caches by fingerprint)."""
        digest = hashlib.sha256()
        for source in _SOURCES:
            digest.update(source.read_bytes())
        return digest.hexdigest()

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn"]

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: IntentModel | None = None,
    ) -> None:
        self.component_config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._model = model
        self._topic_first = TopicFirstConfig.from_mapping(self.component_config.get("topic_first"))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CharNgramIntentClassifier:
        return cls(config, model_storage, resource)

    def _model_config(self, places: list[str]) -> IntentModelConfig:
        return IntentModelConfig.from_mapping(self.component_config, places)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [ex for ex in training_data.intent_examples if ex.get(TEXT) and ex.get(INTENT)]
        if not examples:
            logger.warning("%s: no intent examples, nothing to train", type(self).__name__)
            return self._resource
        table = self.component_config["places_lookup"]
        places = [
            str(element)
            for lookup in training_data.lookup_tables
            if lookup.get("name") == table
            for element in lookup.get("elements") or []
        ]
        model = IntentModel(self._model_config(places))
        model.fit([ex.get(TEXT) for ex in examples], [ex.get(INTENT) for ex in examples])
        self._model = model
        with self._model_storage.write_to(self._resource) as directory:
            model.save(directory / _FILE)
        logger.info(
            "%s trained on %d examples of %d intents (%d places for augmentation)",
            type(self).__name__,
            len(examples),
            len(model.classes),
            len(set(places)),
        )
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CharNgramIntentClassifier:
        merged = {**cls.get_default_config(), **config}
        try:
            with model_storage.read_from(resource) as directory:
                model = IntentModel.load(IntentModelConfig.from_mapping(merged), directory / _FILE)
        except (ValueError, FileNotFoundError):
            logger.warning("%s: no trained model in storage; predicting nothing", cls.__name__)
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, model)

    def process(self, messages: list[Message]) -> list[Message]:
        if self._model is None:
            return messages
        model = self._model
        top = int(self.component_config["ranking_length"])
        every = len(model.classes)
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            full = model.rank(text, every)
            legal = reread(text, full, lambda other: model.rank(other, every), self._topic_first)
            if legal is not None:
                message.set(REREAD_KEY, full[0][0], add_to_output=True)
            ranking = [
                {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
                for name, confidence in (legal or full)[:top]
            ]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages
