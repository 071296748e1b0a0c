"""The emotibot-responder recipe, smoke-run on a tiny random T5: loss falls, metrics and run written, adapter serves."""

import json
from pathlib import Path

import pytest

from attune.contract import EmotionReading
from tests.fixtures.recipe_runs import assert_train_loss_fell, tiny_recipe_config, user_request
from tests.fixtures.tiny_t5 import build_tiny_t5
from training.cli import main as cli_main
from training.common.run import read_metrics
from training.recipes import emotibot_responder as recipe
from worker.models.base import LoadContext, ModelSpec
from worker.models.seq2seq import Seq2SeqLM


@pytest.fixture(scope="module")
def base_t5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """T5's own initialisation: the engine tests' wide one gives a loss near 30 that a dozen LoRA
    steps need not move (it rose on one CPU and fell on another)."""
    return build_tiny_t5(tmp_path_factory.mktemp("tiny-t5-trainable"), initializer_factor=1.0)


@pytest.fixture(scope="module")
def artifact(base_t5: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return recipe.run(tiny_recipe_config(recipe, base_t5, tmp_path_factory.mktemp("emotibot-tiny")))


def test_tiny_recipe_loss_falls_and_writes_its_run(artifact):
    assert_train_loss_fell(artifact)
    records = read_metrics(artifact / "metrics.jsonl")
    manifest = json.loads((artifact / "run_manifest.json").read_text())
    summary = manifest["summary"]
    assert summary["train_examples"] > 0 and summary["dev_examples"] > 0 and summary["held_out_examples"] > 0
    assert summary["dev_loss"] < summary["initial_dev_loss"]
    for name in ("rouge_l", "bleu", "ed_rouge_l", "esconv_bleu"):
        assert f"held_out_{name}" in summary
    assert 0 <= summary["held_out_rouge_l"] <= 1 and 0 <= summary["held_out_bleu"] <= 100
    assert manifest["config"]["target_modules"] == ["q", "v"] and manifest["config"]["lora_r"] == 8
    (valid,) = [r for r in records if r["split"] == "valid"]
    assert valid["rouge_l"] == summary["held_out_rouge_l"]
    replies = [json.loads(line) for line in (artifact / recipe.REPLIES_FILE).read_text().splitlines()]
    assert len(replies) == summary["held_out_examples"]
    assert replies[0]["source"].startswith("Respond empathetically to a person feeling ")
    assert (artifact / "loss_curves.png").is_file() and "ROUGE-L" in (artifact / "README.md").read_text()


async def test_adapter_is_what_the_seq2seq_kind_serves(artifact, base_t5, tmp_path):
    from peft import PeftConfig

    assert PeftConfig.from_pretrained(artifact).target_modules == {"q", "v"}
    spec = ModelSpec(name="emotibot", kind="seq2seq", weights=str(base_t5), adapter=str(artifact))
    model = Seq2SeqLM(spec, LoadContext(home=tmp_path, device="cpu"))
    fear = EmotionReading(label="fear", scores={"fear": 0.7})
    request = user_request("I can't sleep.", "e", temperature=0.0, max_new_tokens=6, user_emotion=fear)
    try:
        chunks = [chunk async for chunk in model.stream(request)]
    finally:
        model.unload()
    assert chunks[-1].finish_reason in ("stop", "length") and chunks[-1].completion_tokens > 0


def test_dev_is_carved_by_conversation_and_held_out_comes_from_valid():
    config = recipe.Config(empathetic_limit=40, valid_limit=2, dev_fraction=0.1)
    splits = recipe.load_pairs(config)
    assert not {p.source for p in splits["dev"]} & {p.source for p in splits["train"]}
    assert {p.dataset for p in splits["valid"]} == {"ed"}
    from training.data import empathetic

    valid_messages = {t.text for c in empathetic.load_conversations("valid", 2) for t in c.turns}
    assert all(p.source.split(": ", 1)[1] in valid_messages for p in splits["valid"])
    train, dev = recipe.carve_dev(list(range(40)), 0.1, seed=13)
    assert len(dev) == 4 and sorted(train + dev) == list(range(40))
    assert recipe.carve_dev(list(range(40)), 0.1, seed=13) == (train, dev)


def test_pairs_frame_the_message_with_its_emotion():
    from training.recipes.psychotherapist import ReplyExample

    example = ReplyExample(history=[{"role": "user", "content": "My cat is sick."}], reply="Oh no!", emotion="sad")
    (pair,) = recipe.pairs([example], "ed", recipe.EMOTIBOT_PROMPT)
    assert pair.source == "Respond empathetically to a person feeling sad: My cat is sick."
    assert pair.target == "Oh no!"


def test_missing_base_weights_are_reported_not_a_crash(tmp_path, capsys):
    code = cli_main(
        [
            "train",
            "emotibot-responder",
            "--config",
            "tiny",
            "--set",
            "base_model=google/flan-t5-base",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 3
    assert "hf download google/flan-t5-base" in capsys.readouterr().err
