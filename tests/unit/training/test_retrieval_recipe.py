"""Recipe 3 end to end on tiny data: the EmpatheticDialogues loader, the index build, P@1,N and fine-tuning."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from attune import build_progress
from training.cli import main as cli_main
from training.common.run import read_metrics
from training.data.empathetic import EMOTIONS, load_conversations
from training.recipes.retrieval import (
    Config,
    embedding_steps,
    encode_unique,
    listener_entries,
    pass_weights,
    precision_at_1,
)
from worker.models.base import LoadContext, ModelSpec
from worker.models.retrieval import RetrievalIndex, RetrievalResponder


def test_loader_gives_whole_conversations_with_alternating_roles() -> None:
    conversations = load_conversations("valid", limit=5)
    assert len(conversations) == 5 and len(EMOTIONS) == 32
    for conversation in conversations:
        assert conversation.emotion in EMOTIONS and conversation.situation
        roles = [turn.role for turn in conversation.turns]
        assert roles[:2] == ["speaker", "listener"]
        assert all(a != b for a, b in itertools.pairwise(roles))
    assert "_comma_" not in " ".join(turn.text for c in conversations for turn in c.turns)


def test_listener_entries_pair_each_reply_with_what_it_answered() -> None:
    conversation = load_conversations("train", limit=1)[0]
    every = listener_entries([conversation])
    first = listener_entries([conversation], "first")
    assert [e.reply for e in every] == [t.text for t in conversation.turns if t.role == "listener"]
    assert every[0].context == conversation.turns[0].text and first == every[:1]


def test_precision_at_1_is_perfect_for_matching_pairs_and_near_chance_for_noise() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(200, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert precision_at_1(vectors, vectors, candidates=100, seed=0) == 1.0
    shuffled = vectors[rng.permutation(200)]
    assert precision_at_1(vectors, shuffled, candidates=100, seed=0) < 0.1


class _RecordingEncoder:
    def __init__(self) -> None:
        self.labels: list[str] = []

    def encode(
        self,
        texts: list[str],
        batch_size: int = 64,
        progress: bool = False,
        label: str = "",
        on_batch: Callable[[float], None] | None = None,
    ) -> np.ndarray:
        self.labels.append(label)
        if on_batch is not None:
            on_batch(0.5)
        return np.zeros((len(texts), 4), dtype=np.float32)


def test_each_embedding_bar_says_what_it_embeds_and_which_pass_of_how_many_it_is() -> None:
    encoder = _RecordingEncoder()
    config = Config()
    total = embedding_steps(config)
    vectors = encode_unique(
        encoder,
        ["That's great!", "That's great!", "Oh no."],
        config,  # type: ignore[arg-type]
        "listener replies",
        (total - 1, total),
    )
    assert vectors.shape == (3, 4)
    assert encoder.labels == [f"embedding 2 listener replies ({total - 1}/{total})"]
    assert (total, embedding_steps(Config(eval_conversations=0))) == (4, 2)


def test_the_build_progress_weighs_each_pass_by_what_it_embeds(tmp_path: Path) -> None:
    config = Config(eval_conversations=1000)
    weights = pass_weights(config, 19_000)
    assert weights == [1000, 1000, 19_000, 19_000]
    target = tmp_path / "retrieval"
    with build_progress.tracking(target, expected_s=420) as reporter:
        encode_unique(_RecordingEncoder(), ["Oh no."], config, "listener replies", (3, 4), weights)  # type: ignore[arg-type]
        reporter.update(0, "flush", force=True)
        seen = build_progress.read(target)
    assert seen is not None and round(seen.fraction, 3) == round((2000 + 9500) / 40_000, 3)


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("retrieval-recipe") / "index"
    assert cli_main(["train", "retrieval", "--config", "tiny", "--out", str(out)]) == 0
    return out


def test_tiny_run_writes_a_loadable_index_with_its_manifest_and_score(tiny_index: Path) -> None:
    index = RetrievalIndex.load(tiny_index)
    assert len(index.entries) == index.info["count"] > 100
    assert index.reply_vectors.shape == (len(index.entries), 384)
    assert np.load(tiny_index / "reply_vectors.npy").dtype == np.float16
    assert {entry.emotion for entry in index.entries} <= set(EMOTIONS)
    manifest = json.loads((tiny_index / "run_manifest.json").read_text())
    assert manifest["summary"]["p_at_1_20"] > 25  # chance is 5
    assert (tiny_index / "README.md").is_file() and (tiny_index / "loss_curves.png").is_file()


def test_finetuning_lowers_the_in_batch_loss_and_the_worker_serves_the_tuned_encoder(tmp_path: Path) -> None:
    out = tmp_path / "tuned"
    overrides = [
        "finetune=true",
        "finetune_pairs=64",
        "train_batch_size=16",
        "epochs=3",
        "lr=1e-4",
        "log_every=1",
        "eval_conversations=0",
        "train_conversations=40",
    ]
    argv = ["train", "retrieval", "--config", "tiny", "--out", str(out)]
    assert cli_main(argv + [arg for override in overrides for arg in ("--set", override)]) == 0
    losses = [record["loss"] for record in read_metrics(out / "metrics.jsonl") if record["split"] == "train"]
    assert len(losses) == 12 and np.mean(losses[-4:]) < np.mean(losses[:4])
    assert json.loads((out / "index.json").read_text())["encoder"] == "encoder"
    responder = RetrievalResponder(
        ModelSpec(name="retrieval", kind="retrieval", weights=str(out)), LoadContext(home=tmp_path)
    )
    responder.load()
    assert responder.encoder.path == out / "encoder"
