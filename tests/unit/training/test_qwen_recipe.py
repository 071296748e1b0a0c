import dataclasses
import json
from pathlib import Path

import pytest

from tests.fixtures.recipe_runs import assert_train_loss_fell, greedy_adapter_spec, tiny_recipe_config, user_request
from training.common.config import load_config
from training.common.paths import CONFIGS_DIR
from training.common.run import read_metrics
from training.data import esconv
from training.recipes import qwen_empathetic as recipe
from worker.models.base import LoadContext
from worker.models.qwen_heads import QwenHeadsModel

CONFIGS = CONFIGS_DIR / "qwen_empathetic"


@pytest.fixture(scope="module")
def artifact(tiny_qwen2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return recipe.run(tiny_recipe_config(recipe, tiny_qwen2_dir, tmp_path_factory.mktemp("qwen-empathetic-tiny")))


def test_tiny_recipe_loss_falls_and_metrics_are_written(artifact):
    assert_train_loss_fell(artifact)
    terms = [r for r in read_metrics(artifact / "metrics.jsonl") if r["split"] == "train_terms"]
    assert {"lm_loss", "emotion_loss", "strategy_loss"} <= set(terms[0])
    summary = json.loads((artifact / "run_manifest.json").read_text())["summary"]
    assert summary["loss_weights"] == {"lm": 1.0, "emotion": 0.2, "strategy": 0.2, "safety": 0.0}
    assert "strategy_context_acc" in summary["final"]
    for name in (
        "adapter_config.json",
        "adapter_model.safetensors",
        "tokenizer_config.json",
        "heads.pt",
        "head_labels.json",
        "loss_curves.png",
        "README.md",
    ):
        assert (artifact / name).is_file(), name


async def test_artifact_serves_through_the_qwen_heads_kind(artifact, tiny_qwen2_dir, tmp_path):
    spec = greedy_adapter_spec("qwen-empathetic", "qwen_heads", tiny_qwen2_dir, artifact, max_new_tokens=6)
    model = QwenHeadsModel(spec, LoadContext(home=tmp_path, device="cpu"))
    request = user_request("I feel so alone lately.", "t")
    chunks = [chunk async for chunk in model.stream(request)]
    labels = json.loads((artifact / "head_labels.json").read_text())
    assert chunks[-1].extras["emotion"] in labels["emotions"]
    assert chunks[-1].extras["strategy"] in labels["strategies"]
    model.unload()


async def test_an_artifact_shipped_without_its_tokenizer_adds_the_style_tokens_to_the_bases(
    artifact, tiny_qwen2_dir, tmp_path
):
    import shutil

    shipped = tmp_path / "shipped"
    shutil.copytree(
        artifact,
        shipped,
        ignore=shutil.ignore_patterns(
            "tokenizer*",
            "vocab.json",
            "merges.txt",
            "special_tokens_map.json",
            "added_tokens.json",
            "chat_template.jinja",
        ),
    )
    assert not (shipped / "tokenizer_config.json").exists()
    spec = greedy_adapter_spec("qwen-empathetic", "qwen_heads", tiny_qwen2_dir, shipped, max_new_tokens=4)
    shipped_model = QwenHeadsModel(spec, LoadContext(home=tmp_path, device="cpu"))
    reference = QwenHeadsModel(
        dataclasses.replace(spec, adapter=str(artifact)), LoadContext(home=tmp_path, device="cpu")
    )
    request = user_request("I feel so alone lately.", "s", temperature=0.0, max_new_tokens=4, seed=3)
    shipped_text = "".join([c.text async for c in shipped_model.stream(request)])
    reference_text = "".join([c.text async for c in reference.stream(request)])
    assert shipped_text == reference_text
    shipped_model.unload()
    reference.unload()


def test_safety_weight_adds_the_kl_term(tiny_qwen2_dir, tmp_path):
    config = tiny_recipe_config(
        recipe,
        tiny_qwen2_dir,
        tmp_path,
        "max_steps=2",
        "logging_steps=1",
        "lambda_safety=0.5",
        "lambda_emotion=0",
        "esconv_limit=1",
        "empathetic_limit=2",
    )
    recipe.run(config)
    terms = [r for r in read_metrics(tmp_path / "metrics.jsonl") if r["split"] == "train_terms"]
    assert all("kl" in r and r["kl"] >= 0 and "emotion_loss" not in r for r in terms)


def test_heads_only_refits_the_heads_and_keeps_the_adapter(artifact, tiny_qwen2_dir, tmp_path):
    import shutil

    out = tmp_path / "refit"
    shutil.copytree(artifact, out)
    adapter_before = (out / "adapter_model.safetensors").read_bytes()
    heads_before = (out / "heads.pt").read_bytes()
    recipe.run(tiny_recipe_config(recipe, tiny_qwen2_dir, out, "heads_only=true", "head_fit_examples=40", "head_c=1.0"))
    manifest = json.loads((out / "run_manifest.json").read_text())
    refit = manifest["summary"]["heads_refit"]
    assert refit["emotion_fit_rows"] > 0 and refit["strategy_fit_rows"] > 0
    assert "emotion_context_acc" in refit and "emotion_context_acc" in refit["before"]
    assert manifest["summary"]["lm_run_id"] == json.loads((artifact / "run_manifest.json").read_text())["run_id"]
    assert (out / "adapter_model.safetensors").read_bytes() == adapter_before
    assert (out / "heads.pt").read_bytes() != heads_before
    assert "refitted" in (out / "README.md").read_text()


async def test_refit_plans_from_the_chosen_layer_and_reflects_with_its_own_heads(artifact, tiny_qwen2_dir, tmp_path):
    import shutil

    from worker.models.heads import Heads

    out = tmp_path / "refit-layer"
    shutil.copytree(artifact, out)
    assert Heads.load(out).reply_emotion is None  # what the joint loss wrote: one pair for both views
    recipe.run(
        tiny_recipe_config(recipe, tiny_qwen2_dir, out, "heads_only=true", "head_fit_examples=40", "head_layer=1")
    )
    refit = json.loads((out / "run_manifest.json").read_text())["summary"]["heads_refit"]
    assert refit["emotion_c"] in (0.01, 0.03, 0.1, 0.3, 1.0)  # chosen by CV folds split by conversation
    assert refit["reply_emotion_fit_rows"] > 0
    heads = Heads.load(out)
    assert (heads.emotion.layer, heads.strategy.layer) == (1, 1)
    assert heads.reply_emotion is not None and heads.reply_strategy is not None
    assert heads.reply_emotion.layer == -1
    assert not heads.reply_emotion.classifier.weight.equal(heads.emotion.classifier.weight)
    spec = greedy_adapter_spec("qwen-refit", "qwen_heads", tiny_qwen2_dir, out, max_new_tokens=6)
    model = QwenHeadsModel(spec, LoadContext(home=tmp_path, device="cpu"))
    chunks = [chunk async for chunk in model.stream(user_request("I feel so alone lately.", "t"))]
    assert chunks[-1].extras["emotion"] in heads.labels.emotions  # planned and reflected with the new heads
    model.unload()


def test_head_fit_rows_know_their_conversation(tiny_qwen2_dir, tmp_path):
    from transformers import AutoTokenizer

    config = tiny_recipe_config(recipe, tiny_qwen2_dir, tmp_path, "head_fit_examples=20")
    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen2_dir)
    features = recipe.head_fit_features(config, tokenizer, recipe.head_labels())
    groups = [f["group"] for f in features]
    assert len(set(groups)) < len(groups)  # several replies of one conversation share a group


@pytest.mark.parametrize(
    "name",
    [
        "qwen2.5-3b",
        "smollm2-135m-cpu",
        "smollm2-no-emotion",
        "smollm2-no-strategy",
        "cpu_smoke",
        "no_emotion",
        "no_strategy",
        "safety_enabled",
        "tiny",
    ],
)
def test_every_config_parses(name):
    config = load_config(recipe.Config, CONFIGS / f"{name}.toml")
    assert config.lora_r > 0 and config.out_dir


def test_ablation_configs_override_one_weight():
    founding = load_config(recipe.Config, CONFIGS / "qwen2.5-3b.toml")
    assert (founding.base_model, founding.quantization) == ("Qwen/Qwen2.5-3B-Instruct", "nf4")
    assert (founding.lora_r, founding.lora_alpha, founding.lora_dropout) == (16, 32, 0.05)
    assert load_config(recipe.Config, CONFIGS / "no_emotion.toml").loss_weights.emotion == 0.0
    assert load_config(recipe.Config, CONFIGS / "no_strategy.toml").loss_weights.strategy == 0.0
    assert load_config(recipe.Config, CONFIGS / "safety_enabled.toml").loss_weights.safety > 0.0
    cpu = load_config(recipe.Config, CONFIGS / "smollm2-135m-cpu.toml")
    for name, changed in (("smollm2-no-emotion", "lambda_emotion"), ("smollm2-no-strategy", "lambda_strategy")):
        ablation = load_config(recipe.Config, CONFIGS / f"{name}.toml")
        differs = {k for k, v in dataclasses.asdict(ablation).items() if dataclasses.asdict(cpu)[k] != v}
        assert differs == {changed, "out_dir"} and getattr(ablation, changed) == 0.0


def test_esconv_splits_by_dialogue_with_known_strategies():
    train, valid = esconv.load_dialogues("train"), esconv.load_dialogues("valid")
    assert (len(train), len(valid)) == (1053, 117)
    situations = {d.situation + d.turns[0].text for d in train}
    assert not any(d.situation + d.turns[0].text in situations for d in valid)
    strategies = {t.strategy for d in valid for t in d.turns if t.role == "supporter"}
    assert strategies == set(esconv.STRATEGIES)
    assert esconv.normalise_strategy("[Other]") == "Others"
    with pytest.raises(ValueError):
        esconv.load_dialogues("test")
