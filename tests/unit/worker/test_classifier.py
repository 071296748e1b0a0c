"""TextClassifier serves what the training recipes build: batched, in input order, thresholds applied."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.tiny_encoder import build_tiny_encoder
from training.common.config import load_config
from training.common.paths import configs_dir
from training.recipes import journal_mood, text_emotion
from worker.models.base import Classifier, LoadContext, ModelSpec, ModelUnavailable
from worker.models.classifier import TextClassifier

TEXTS = [
    "i feel so happy and grateful today",
    "i am terrified of tomorrow",
    "why would you do that",
    "ok",
    "i feel a little lonely and sad tonight, nobody called",
]


def _train(recipe, name: str, encoder: Path, home: Path, pooling: str) -> Path:
    out = home / "models" / name
    overrides = [
        f"model={encoder}",
        f"out_dir={out}",
        "max_steps=4",
        "eval_steps=4",
        "train_limit=200",
        "report_limit=50",
        f"pooling={pooling}",
    ]
    return recipe.run(load_config(recipe.Config, configs_dir(name) / "tiny.toml", overrides))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    encoder = build_tiny_encoder(tmp_path_factory.mktemp("encoder"))
    home = tmp_path_factory.mktemp("home")
    # Both heads are served: the [CLS] head of AutoModelForSequenceClassification and the mean-pooled one.
    _train(journal_mood, "journal-mood", encoder, home, pooling="cls")
    _train(text_emotion, "text-emotion", encoder, home, pooling="mean")
    return home


def _classifier(name: str, home: Path, **options: object) -> TextClassifier:
    spec = ModelSpec(name=name, kind="classifier", chat=False, options=dict(options))
    return TextClassifier(spec, LoadContext(home=home))


def test_single_label_readings_are_distributions_over_the_six_moods(home: Path) -> None:
    classifier = _classifier("journal-mood", home, batch_size=2)
    assert isinstance(classifier, Classifier)
    readings = classifier.classify(TEXTS)
    assert len(readings) == len(TEXTS)
    for reading in readings:
        assert list(reading.scores) == journal_mood.LABELS
        assert sum(reading.scores.values()) == pytest.approx(1.0, abs=1e-4)
        assert reading.label == max(reading.scores, key=reading.scores.get)
        assert reading.model == "journal-mood"
    assert classifier.classify([]) == []


@pytest.mark.parametrize("name", ["journal-mood", "text-emotion"])
def test_batching_and_length_sorting_keep_input_order(home: Path, name: str) -> None:
    batched = _classifier(name, home, batch_size=2).classify(TEXTS)
    one_by_one = [_classifier(name, home, batch_size=1).classify([t])[0] for t in TEXTS]
    for together, alone in zip(batched, one_by_one):
        assert together.label == alone.label
        assert together.scores == pytest.approx(alone.scores, abs=1e-4)


def test_multi_label_scores_every_emotion_and_label_honours_thresholds(home: Path) -> None:
    classifier = _classifier("text-emotion", home)
    readings = classifier.classify(TEXTS)
    thresholds = json.loads((home / "models" / "text-emotion" / "thresholds.json").read_text())
    for reading, carried in zip(readings, classifier.predict_labels(TEXTS)):
        assert len(reading.scores) == 28 and all(0.0 <= s <= 1.0 for s in reading.scores.values())
        assert carried == [label for label, score in reading.scores.items() if score >= thresholds[label]]
        expected_pool = carried or list(reading.scores)
        assert reading.label == max(expected_pool, key=reading.scores.get)


def test_mean_pooled_artifact_serves_the_trained_head(home: Path) -> None:
    import torch
    from safetensors.torch import load_file

    artifact = home / "models" / "text-emotion"
    assert json.loads((artifact / "labels.json").read_text())["pooling"] == "mean"
    classifier = _classifier("text-emotion", home)
    classifier.load()
    head = load_file(str(artifact / "classifier_head.safetensors"))
    assert torch.equal(classifier._model.classifier.weight, head["weight"])
    assert not classifier._model.training  # dropout off: the same text always reads the same


def test_version_is_the_run_id_and_memory_is_reported(home: Path) -> None:
    classifier = _classifier("journal-mood", home)
    manifest = json.loads((home / "models" / "journal-mood" / "run_manifest.json").read_text())
    assert classifier.version == manifest["run_id"]
    assert classifier.memory_bytes() == 0
    classifier.load()
    assert classifier.memory_bytes() > 0
    classifier.unload()
    assert classifier.memory_bytes() == 0


def test_missing_artifact_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="attune prepare"):
        _classifier("journal-mood", tmp_path).classify(["hello"])


async def test_chat_turns_switch_to_text_emotion_once_its_build_lands(home: Path, tmp_path: Path) -> None:
    """The first run serves before text-emotion is built: journal moods until it lands, then 28 labels."""
    import shutil

    from worker.emotion import EmotionReader
    from worker.registry import ModelManager, Registry

    shutil.copytree(home / "models" / "journal-mood", tmp_path / "models" / "journal-mood")
    registry_file = tmp_path / "models.toml"
    registry_file.write_text(
        '[models.journal-mood]\nkind = "classifier"\nweights = "{home}/models/journal-mood"\n'
        '[models.text-emotion]\nkind = "classifier"\nweights = "{home}/models/text-emotion"\n'
    )
    manager = ModelManager(Registry.from_file(registry_file, tmp_path), keep_alive_s=600, memory_budget_gb=1)
    reader = EmotionReader(manager, preferred="text-emotion", fallback="journal-mood")

    before = await reader.read(["i feel so alone tonight"])
    assert before[0].model == "journal-mood" and set(before[0].scores) == set(journal_mood.LABELS)

    shutil.copytree(home / "models" / "text-emotion", tmp_path / "models" / "text-emotion")  # the build lands
    after = await reader.read(["i feel so alone tonight"])
    assert after[0].model == "text-emotion" and set(after[0].scores) == set(text_emotion.LABELS)
