import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer

from tests.fixtures.recipe_runs import assert_train_loss_fell, greedy_adapter_spec, tiny_recipe_config, user_request
from training.common.config import load_config
from training.common.paths import CONFIGS_DIR
from training.common.run import read_metrics
from training.recipes import psychotherapist as recipe
from worker.models.base import LoadContext
from worker.models.causal_lm import CausalLM

CONFIGS = CONFIGS_DIR / "psychotherapist"


@pytest.fixture(scope="module")
def artifact(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return recipe.run(tiny_recipe_config(recipe, tiny_llama_dir, tmp_path_factory.mktemp("psychotherapist-tiny")))


def test_tiny_recipe_loss_falls_and_writes_its_run(artifact):
    assert_train_loss_fell(artifact)
    manifest = json.loads((artifact / "run_manifest.json").read_text())
    assert manifest["summary"]["train_examples"] > 0
    assert (artifact / "loss_curves.png").is_file() and (artifact / "README.md").is_file()


async def test_adapter_is_what_peft_causal_lm_loads(artifact, tiny_llama_dir, tmp_path):
    spec = greedy_adapter_spec("psychotherapist", "peft_causal_lm", tiny_llama_dir, artifact, max_new_tokens=5)
    model = CausalLM(spec, LoadContext(home=tmp_path, device="cpu"))
    request = user_request("I can't sleep.", "p")
    chunks = [chunk async for chunk in model.stream(request)]
    assert chunks[-1].finish_reason in ("stop", "length") and chunks[-1].completion_tokens > 0
    model.unload()


def test_loss_covers_only_the_assistant_reply(tiny_llama_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama_dir)
    history = [{"role": "user", "content": "My dog died."}]
    encoded = recipe.encode_reply(tokenizer, "Be kind.", history, "I am so sorry.", max_length=256)
    labels = recipe.lm_labels(encoded)
    scored = tokenizer.decode([t for t, label in zip(encoded.input_ids, labels) if label != recipe.IGNORE_INDEX])
    assert scored.startswith("I am so sorry.") and "My dog died" not in scored and "Be kind" not in scored


def test_old_history_is_dropped_to_fit(tiny_llama_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama_dir)
    history = [
        {"role": "user", "content": "word " * 200},
        {"role": "assistant", "content": "I see."},
        {"role": "user", "content": "Still here?"},
    ]
    encoded = recipe.encode_reply(tokenizer, "Be kind.", history, "Yes.", max_length=64)
    assert encoded is not None and len(encoded.input_ids) <= 64
    assert "Still here?" in tokenizer.decode(encoded.input_ids)


@pytest.mark.parametrize("name", ["llama3-8b", "smollm2-135m", "smollm2-135m-cpu", "smollm2-135m-cpu-stage2", "tiny"])
def test_every_config_parses(name):
    assert load_config(recipe.Config, CONFIGS / f"{name}.toml").lora_r > 0


def test_an_interrupted_run_resumes_from_its_last_checkpoint(tiny_llama_dir, tmp_path, monkeypatch):
    out = tmp_path / "run"
    overrides = [f"base_model={tiny_llama_dir}", f"out_dir={out}", "max_steps=8", "save_steps=4"]
    # The first run "dies" after step 8 with its checkpoints on disk (a finished run removes them).
    monkeypatch.setattr(recipe.shutil, "rmtree", lambda *args, **kwargs: None)
    recipe.run(load_config(recipe.Config, CONFIGS / "tiny.toml", overrides))
    monkeypatch.undo()
    checkpoints = out / "trainer"
    shutil.rmtree(checkpoints / "checkpoint-8")
    assert recipe.last_checkpoint(out) == checkpoints / "checkpoint-4"

    resumed = recipe.run(
        load_config(recipe.Config, CONFIGS / "tiny.toml", [*overrides, "resume=true", "adapter_dtype=float16"])
    )
    manifest = json.loads((resumed / "run_manifest.json").read_text())
    assert manifest["summary"]["resumed_from"] == "checkpoint-4" and manifest["summary"]["steps"] == 8
    records = read_metrics(resumed / "metrics.jsonl")
    assert next(r["step"] for r in records if r["split"] == "eval") == 0  # the first run's step-0 evaluation is kept
    train_steps = [r["step"] for r in records if r["split"] == "train"]
    assert train_steps == sorted(set(train_steps))  # what the dead run logged after its checkpoint is dropped
    assert not checkpoints.exists()
    tensors = load_file(resumed / "adapter_model.safetensors")
    assert tensors and all(t.dtype == torch.float16 for t in tensors.values())


async def test_a_float16_adapter_loads_and_generates(tiny_llama_dir, tmp_path):
    out = tmp_path / "half"
    artifact = recipe.run(tiny_recipe_config(recipe, tiny_llama_dir, out, "adapter_dtype=float16", "lora_layers=1"))
    saved = load_file(artifact / "adapter_model.safetensors")
    assert saved and all(".layers.1." in name for name in saved)  # LoRA only in the top block
    spec = greedy_adapter_spec("half", "peft_causal_lm", tiny_llama_dir, artifact, max_new_tokens=5)
    model = CausalLM(spec, LoadContext(home=tmp_path, device="cpu"))
    model.load()
    loaded = dict(model._model.named_parameters())
    name = next(n for n in saved if "lora_B" in n)
    served = next(p for n, p in loaded.items() if n.replace(".default", "") == name)
    assert served.dtype == torch.float32 and torch.equal(served, saved[name].float())
    request = user_request("I feel alone.", "h")
    chunks = [chunk async for chunk in model.stream(request)]
    assert chunks[-1].completion_tokens > 0
    model.unload()


def test_a_second_stage_starts_from_the_first_stages_adapter(artifact, tiny_llama_dir, tmp_path):
    out = tmp_path / "stage2"
    recipe.run(tiny_recipe_config(recipe, tiny_llama_dir, out, f"init_adapter={artifact}", "seed=14"))
    first = json.loads((artifact / "run_manifest.json").read_text())["summary"]
    second = json.loads((out / "run_manifest.json").read_text())["summary"]
    # stage 2's first evaluation is stage 1's last one: it really starts from the trained adapter
    assert second["initial_eval_loss"] == pytest.approx(first["eval_loss"], rel=1e-3)
    assert "started from the adapter" in (out / "README.md").read_text()
