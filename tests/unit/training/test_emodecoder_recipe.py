import json
from pathlib import Path

import pytest
import torch

from attune.contract import ChatTurn, EmotionReading
from training.common.config import load_config
from training.common.paths import configs_dir
from training.data.empathetic import EMOTIONS, Conversation, Turn
from training.recipes.emodecoder import Config, build_examples, collate, train_on
from worker.models.base import GenerationRequest, LoadContext, ModelSpec
from worker.models.emodecoder.serving import EmoDecoderModel, load_base

TINY_TOML = configs_dir("emodecoder") / "tiny.toml"


def _conversation(conv_id: str, emotion: str, lines: list[str]) -> Conversation:
    roles = ["speaker", "listener"]
    return Conversation(conv_id, emotion, "situation", [Turn(roles[i % 2], text) for i, text in enumerate(lines)])


TRAIN = [
    _conversation(
        "t1",
        "sad",
        [
            "My cat died this morning.",
            "I am so sorry, that is heartbreaking.",
            "She was with me for years.",
            "It sounds like you loved her very much.",
        ],
    ),
    _conversation("t2", "joyful", ["I got the job!", "Congratulations, that is wonderful news!"]),
]
VALID = [_conversation("v1", "afraid", ["There is a storm coming tonight.", "Stay inside and keep safe."])]


def _tiny_config(base_dir: Path, out_dir: Path, *overrides: str) -> Config:
    return load_config(
        Config,
        TINY_TOML,
        [
            f"base_model={base_dir}",
            "base_gguf_file=none",
            f"out_dir={out_dir}",
            "max_steps=12",
            "lr=1e-2",
            "log_every=1",
            "eval_every=12",
            *overrides,
        ],
    )


@pytest.fixture(scope="module")
def trained(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("emodecoder-run")
    return train_on(_tiny_config(tiny_llama_dir, out), TRAIN, VALID)


def _metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_tiny_config_inherits_the_smollm2_settings():
    config = load_config(Config, TINY_TOML)

    assert config.base_gguf_file == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert config.max_steps < 20 and config.lambda_distil > 0


def test_the_loss_falls_and_every_part_is_logged(trained: Path):
    train = [m for m in _metrics(trained) if m["split"] == "train"]

    assert len(train) == 12
    assert train[-1]["loss"] < train[0]["loss"] - 0.05
    assert {"lm_loss", "cosine_loss", "distillation_kl", "gate_sparsity", "lr"} <= set(train[0])
    evaluation = [m for m in _metrics(trained) if m["split"] == "eval"][-1]
    assert -1.0 <= evaluation["alignment"] <= 1.0 and "base_lm_loss" in evaluation


def test_the_run_writes_a_loadable_artifact_with_its_bookkeeping(trained: Path):
    checkpoint = torch.load(trained / "emo_decoder.pt", weights_only=True)

    assert checkpoint["architecture"]["emotions"] == EMOTIONS
    assert not any(name.startswith("base.") for name in checkpoint["state_dict"])
    assert (trained / "tokenizer" / "tokenizer_config.json").is_file()
    manifest = json.loads((trained / "run_manifest.json").read_text())
    assert manifest["run_id"] == checkpoint["run_id"] and "alignment" in manifest["summary"]
    assert (trained / "loss_curves.png").is_file() and (trained / "README.md").is_file()


async def test_the_artifact_streams_a_reply_with_an_alignment_score(trained: Path):
    model = EmoDecoderModel(
        ModelSpec(name="emodecoder", kind="emodecoder", weights=str(trained)), LoadContext(home=trained)
    )
    request = GenerationRequest(
        request_id="x",
        history=[ChatTurn(role="user", content="My exam went badly.")],
        max_new_tokens=8,
        seed=1,
        user_emotion=EmotionReading(label="fear", scores={"fear": 1.0}),
    )

    chunks = [chunk async for chunk in model.stream(request)]

    assert chunks[-1].finish_reason in ("stop", "length")
    assert chunks[-1].extras["emotion"] == "afraid"
    assert -1.0 <= chunks[-1].extras["emo_alignment_score"] <= 1.0
    assert model.version == json.loads((trained / "run_manifest.json").read_text())["run_id"]


def test_examples_keep_the_last_turns_and_label_only_the_reply(tiny_llama_dir: Path, tmp_path: Path):
    _, tokenizer = load_base(str(tiny_llama_dir), None, tmp_path, "cpu")
    config = _tiny_config(tiny_llama_dir, tmp_path, "history_turns=1")

    examples = build_examples(TRAIN, tokenizer, config, EMOTIONS)

    assert [e.emotion_id for e in examples] == [EMOTIONS.index("sad")] * 2 + [EMOTIONS.index("joyful")]
    last = tokenizer.decode(examples[1].input_ids[: examples[1].prompt_length])
    assert "She was with me for years." in last and "My cat died" not in last
    assert examples[1].input_ids[-1] == tokenizer.eos_token_id
    batch = collate(examples, tokenizer.pad_token_id, torch.device("cpu"))
    reply = batch["labels"][1][batch["labels"][1] != -100].tolist()
    assert tokenizer.decode(reply, skip_special_tokens=True) == "It sounds like you loved her very much."


async def test_an_artifact_shipped_without_its_tokenizer_uses_the_bases(trained: Path, tmp_path: Path):
    import shutil

    shipped = tmp_path / "shipped"
    shutil.copytree(trained, shipped, ignore=shutil.ignore_patterns("tokenizer"))
    model = EmoDecoderModel(
        ModelSpec(name="emodecoder", kind="emodecoder", weights=str(shipped)), LoadContext(home=trained)
    )
    request = GenerationRequest(
        request_id="y", history=[ChatTurn(role="user", content="My exam went badly.")], max_new_tokens=4, seed=1
    )
    chunks = [chunk async for chunk in model.stream(request)]
    assert chunks[-1].finish_reason in ("stop", "length") and chunks[-1].completion_tokens > 0
