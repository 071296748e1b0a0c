"""The registry as the repo ships it: ``models.toml`` and ``artifacts/`` on a fresh ATTUNE_HOME, nothing trained."""

from __future__ import annotations

from pathlib import Path

import pytest

from attune.contract import ChatTurn
from worker.models.base import GenerationRequest
from worker.registry import ModelManager, Registry

REPO = Path(__file__).resolve().parents[3]
ADAPTER = REPO / "artifacts" / "psychotherapist-smollm2"


@pytest.fixture
def manager(tmp_path: Path) -> ModelManager:
    registry = Registry.from_file(REPO / "models.toml", tmp_path / "fresh-home")
    return ModelManager(registry, keep_alive_s=60, memory_budget_gb=8)


def test_the_committed_adapter_is_available_without_training(manager):
    status = {s.name: s for s in manager.statuses()}["psychotherapist-smollm2"]
    assert status.state == "available", status.reason
    assert Path(manager.spec("psychotherapist-smollm2").adapter) == ADAPTER


def test_the_committed_adapter_is_small_and_holds_no_base_weights():
    files = {f.name: f.stat().st_size for f in ADAPTER.iterdir() if f.is_file()}
    assert {"adapter_model.safetensors", "adapter_config.json", "run_manifest.json", "MODEL_CARD.md"} <= set(files)
    assert sum(files.values()) < 8 * 1024**2
    assert not {"model.safetensors", "pytorch_model.bin"} & set(files)


@pytest.mark.parametrize(("name", "needs"), [
    ("psychotherapist", ["meta-llama/Meta-Llama-3-8B", "zementalist/llama-3-8B-chat-psychotherapist",
                         "hf download meta-llama/Meta-Llama-3-8B", "attune worker --models psychotherapist"]),
    ("qwen-empathetic", ["Qwen/Qwen2.5-3B-Instruct", "hf download Qwen/Qwen2.5-3B-Instruct",
                         "attune train qwen-empathetic --config training/configs/qwen_empathetic/qwen2.5-3b.toml"]),
])
def test_gpu_entries_name_the_weights_they_need_and_the_command(manager, name, needs):
    status = {s.name: s for s in manager.statuses()}[name]
    if status.state == "available":
        pytest.skip(f"{name}'s weights are in this machine's Hugging Face cache")
    assert all(need in status.reason for need in needs), status.reason


@pytest.mark.slow
async def test_the_worker_loads_the_committed_adapter_and_answers(manager):
    model = await manager.get("psychotherapist-smollm2")
    try:
        lora = {n: p for n, p in model._model.named_parameters() if "lora_B" in n}
        assert lora and any(p.abs().sum() > 0 for p in lora.values())  # trained, not a fresh (zero) LoRA
        request = GenerationRequest(request_id="shipped", temperature=0.0, max_new_tokens=48,
                                    history=[ChatTurn(role="user", content="My dog died yesterday.")])
        chunks = [chunk async for chunk in model.stream(request)]
        text = "".join(chunk.text for chunk in chunks).strip()
        assert text and chunks[-1].completion_tokens > 0
    finally:
        await manager.unload("psychotherapist-smollm2")
