"""The registry as the repo ships it: ``models.toml`` and ``artifacts/`` on a fresh ATTUNE_HOME, nothing trained."""

from __future__ import annotations

from pathlib import Path

import pytest

from attune.contract import ChatTurn
from worker.models.base import GenerationRequest
from worker.registry import ModelManager, Registry

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "artifacts"
ADAPTER = ARTIFACTS / "psychotherapist-smollm2"
# Each shipped model, the models.toml field that points at its folder, and the files it must hold.
SHIPPED = {
    "psychotherapist-smollm2": ("adapter", {"adapter_model.safetensors", "adapter_config.json"}),
    "qwen-empathetic-smollm2": (
        "adapter",
        {"adapter_model.safetensors", "adapter_config.json", "heads.pt", "head_labels.json"},
    ),
    "emodecoder": ("weights", {"emo_decoder.pt"}),  # the tokenizer is the base's
}


@pytest.fixture
def manager(tmp_path: Path) -> ModelManager:
    registry = Registry.from_file(REPO / "models.toml", tmp_path / "fresh-home")
    return ModelManager(registry, keep_alive_s=60, memory_budget_gb=8)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_shipped_model_is_available_without_training(manager, name):
    status = {s.name: s for s in manager.statuses()}[name]
    assert status.state == "available", status.reason
    field, _ = SHIPPED[name]
    assert Path(getattr(manager.spec(name), field)).parent == ARTIFACTS


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_shipped_artifact_is_small_and_holds_no_base_weights(manager, name):
    field, needed = SHIPPED[name]
    folder = Path(getattr(manager.spec(name), field))
    files = {str(f.relative_to(folder)): f.stat().st_size for f in folder.rglob("*") if f.is_file()}
    assert needed | {"run_manifest.json", "MODEL_CARD.md"} <= set(files)
    assert sum(files.values()) < 8 * 1024**2
    assert not {"model.safetensors", "pytorch_model.bin"} & {Path(f).name for f in files}


@pytest.mark.parametrize(
    ("name", "needs"),
    [
        (
            "psychotherapist",
            [
                "meta-llama/Meta-Llama-3-8B",
                "zementalist/llama-3-8B-chat-psychotherapist",
                "hf download meta-llama/Meta-Llama-3-8B",
                "attune worker --models psychotherapist",
            ],
        ),
        (
            "qwen-empathetic",
            [
                "Qwen/Qwen2.5-3B-Instruct",
                "hf download Qwen/Qwen2.5-3B-Instruct",
                "attune train qwen-empathetic --config training/configs/qwen_empathetic/qwen2.5-3b.toml",
            ],
        ),
    ],
)
def test_gpu_entries_name_the_weights_they_need_and_the_command(manager, name, needs):
    status = {s.name: s for s in manager.statuses()}[name]
    if status.state == "available":
        pytest.skip(f"{name}'s weights are in this machine's Hugging Face cache")
    assert all(need in status.reason for need in needs), status.reason


@pytest.mark.slow
async def test_the_worker_loads_the_committed_adapter_and_answers(manager):
    model = await manager.get("psychotherapist-smollm2")
    try:
        if model._model is None:  # served by llama.cpp: the adapter exported to GGUF is applied
            import gguf

            tensors = gguf.GGUFReader(model._engine.lora_path).tensors
            assert any(abs(t.data).sum() > 0 for t in tensors if t.name.endswith(".lora_b"))  # trained, not zero
        else:
            lora = {n: p for n, p in model._model.named_parameters() if "lora_B" in n}
            assert lora and any(p.abs().sum() > 0 for p in lora.values())  # trained, not a fresh (zero) LoRA
        request = GenerationRequest(
            request_id="shipped",
            temperature=0.0,
            max_new_tokens=48,
            history=[ChatTurn(role="user", content="My dog died yesterday.")],
        )
        chunks = [chunk async for chunk in model.stream(request)]
        text = "".join(chunk.text for chunk in chunks).strip()
        assert text and chunks[-1].completion_tokens > 0
    finally:
        await manager.unload("psychotherapist-smollm2")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["qwen-empathetic-smollm2", "emodecoder"])
async def test_the_worker_loads_the_other_shipped_models_and_answers(manager, name):
    model = await manager.get(name)
    try:
        request = GenerationRequest(
            request_id=f"shipped-{name}",
            temperature=0.0,
            max_new_tokens=32,
            history=[ChatTurn(role="user", content="I failed my driving test again.")],
        )
        chunks = [chunk async for chunk in model.stream(request)]
        assert "".join(chunk.text for chunk in chunks).strip()
        assert chunks[-1].completion_tokens > 0
    finally:
        await manager.unload(name)
