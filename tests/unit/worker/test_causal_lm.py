"""Loading causal LMs the real way (local dirs, NF4, PEFT, GGUF) and chatting with them through the engine."""

from __future__ import annotations

import gc
import os
import shutil
import weakref
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from attune.contract import ChatTurn, EmotionReading
from tests.unit.worker.engine_checks import check_cancel_mid_reply
from worker.models.base import ChatModel, GenerationRequest, LoadContext, ModelSpec, ModelUnavailable
from worker.models.causal_lm import CausalLM, load_pretrained

GREEDY = {"temperature": 0.0, "max_new_tokens": 12}
HISTORY = [ChatTurn(role="user", content="I failed my driving test again and I feel stupid.")]


def chat_request(request_id: str = "r1", **fields) -> GenerationRequest:
    """Greedy unless a test asks otherwise (the worker resolves these from the registry in production)."""
    return GenerationRequest(request_id=request_id, history=list(HISTORY), **{**GREEDY, **fields})


def tiny_causal_lm(weights: Path, home: LoadContext, name: str = "tiny", **spec: Any) -> CausalLM:
    """A ``causal_lm`` entry serving ``weights``; ``spec`` sets the rest of its fields."""
    return CausalLM(ModelSpec(name=name, kind="causal_lm", weights=str(weights), **spec), home)


async def reply(model: CausalLM, request: GenerationRequest):
    chunks = [chunk async for chunk in model.stream(request)]
    return "".join(c.text for c in chunks), chunks


@pytest.fixture
def home(tmp_path: Path) -> LoadContext:
    return LoadContext(home=tmp_path / "home")


@pytest.fixture
def tiny_chat(tiny_llama_dir: Path, home: LoadContext):
    model = tiny_causal_lm(tiny_llama_dir, home, generation={**GREEDY, "system_prompt": "You are a kind listener."})
    model.load()
    yield model
    model.unload()


async def test_streamed_reply_is_the_greedy_continuation_of_the_chat_template(tiny_chat, tiny_llama_dir):
    assert isinstance(tiny_chat, ChatModel)
    text, chunks = await reply(tiny_chat, chat_request())

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama_dir)
    reference = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, dtype=torch.float32)
    messages = [
        {"role": "system", "content": "You are a kind listener."},
        {"role": "user", "content": HISTORY[0].content},
    ]
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    expected = reference.generate(**prompt, do_sample=False, max_new_tokens=12, eos_token_id=[0, 2], pad_token_id=2)
    new_tokens = expected[0, prompt["input_ids"].shape[1] :]

    assert text == tokenizer.decode(new_tokens, skip_special_tokens=True)
    assert len([c for c in chunks if c.text]) > 1
    final = chunks[-1]
    assert final.finish_reason in {"stop", "length"}
    assert final.prompt_tokens == prompt["input_ids"].shape[1]
    assert final.completion_tokens == len(new_tokens)


def test_user_emotion_adds_a_conditioning_sentence_to_the_system_prompt(tiny_chat):
    sad = EmotionReading(label="sadness", scores={"sadness": 0.82, "joy": 0.05})
    messages = tiny_chat.messages(chat_request(user_emotion=sad))
    assert messages[0] == {
        "role": "system",
        "content": "You are a kind listener. The person seems to feel sadness (0.82); "
        "respond with warmth that fits that feeling.",
    }
    assert messages[1:] == [{"role": "user", "content": HISTORY[0].content}]
    prompt = tiny_chat._tokenizer.decode(tiny_chat.prompt_ids(chat_request(user_emotion=sad), 16))
    assert "sadness (0.82)" in prompt and prompt.rstrip().endswith("assistant")


def test_sampling_follows_the_request(home, tiny_llama_dir):
    therapist = tiny_causal_lm(
        tiny_llama_dir, home, "psychotherapist", generation={"temperature": 0.7, "top_p": 0.9, "max_new_tokens": 256}
    )
    params = therapist.sampling_params(chat_request(temperature=1.3, top_p=0.5, top_k=40, max_new_tokens=9, seed=4))
    assert (params.temperature, params.top_p, params.top_k, params.max_new_tokens, params.seed) == (1.3, 0.5, 40, 9, 4)


def test_a_continued_reply_resumes_after_the_text_already_streamed(tiny_chat):
    request = chat_request(prefix="I hear you")
    ids = tiny_chat.prompt_ids(request, 16)
    prefix_ids = tiny_chat.prefix_ids(request)
    assert prefix_ids and ids[-len(prefix_ids) :] == prefix_ids
    assert tiny_chat._tokenizer.decode(ids).endswith("assistant\nI hear you")


def test_long_history_keeps_the_newest_turns_that_fit(home, tiny_llama_dir):
    model = tiny_causal_lm(tiny_llama_dir, home, options={"max_context_tokens": 120})
    model.load()
    try:
        history = [
            ChatTurn(role="user" if i % 2 == 0 else "assistant", content=f"turn {i} " + "word " * 15) for i in range(9)
        ]
        ids = model.prompt_ids(GenerationRequest(request_id="long", history=history), 30)
        prompt = model._tokenizer.decode(ids)
    finally:
        model.unload()
    assert len(ids) + 30 <= 120
    assert "turn 8" in prompt and "turn 0" not in prompt


async def test_cancel_ends_the_stream_with_cancelled(tiny_llama_dir, home):
    chat = tiny_causal_lm(tiny_llama_dir, home)
    try:
        await check_cancel_mid_reply(chat, chat_request("long", temperature=0.0, max_new_tokens=500), after_chunks=3)
        assert chat._engine.unfinished == 0
    finally:
        chat.unload()


@pytest.mark.parametrize("build", ["tiny_llama_dir", "tiny_qwen2_dir"])
async def test_nf4_4bit_model_loads_and_generates_on_cpu(build, request, home):
    weights = request.getfixturevalue(build)
    full = CausalLM(ModelSpec(name="full", kind="causal_lm", weights=str(weights)), home)
    nf4 = CausalLM(
        ModelSpec(name="nf4", kind="causal_lm", weights=str(weights), quantization="nf4", generation=GREEDY), home
    )
    full.load()
    nf4.load()
    try:
        import bitsandbytes as bnb

        assert any(isinstance(m, bnb.nn.Linear4bit) for m in nf4._model.modules())
        assert nf4.memory_bytes() < full.memory_bytes() / 2
        text, chunks = await reply(nf4, chat_request())
    finally:
        full.unload()
        nf4.unload()
    assert chunks[-1].finish_reason in {"stop", "length"} and chunks[-1].completion_tokens > 0
    assert text.strip()


async def test_peft_adapter_loads_over_the_base_its_config_names(tiny_llama_adapter_dir, tiny_llama_dir, home):
    from peft import PeftModel

    spec = ModelSpec(name="therapist", kind="peft_causal_lm", adapter=str(tiny_llama_adapter_dir), generation=GREEDY)
    model, tokenizer = load_pretrained(spec, home)
    assert isinstance(model, PeftModel)
    base = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, dtype=torch.float32)
    ids = tokenizer("How are you feeling today?", return_tensors="pt").input_ids
    with torch.no_grad():
        assert not torch.allclose(model(ids).logits, base(ids).logits, atol=1e-3), "the adapter changed nothing"

    chat = CausalLM(spec, home)
    try:
        _, chunks = await reply(chat, chat_request())  # loads lazily on first use
    finally:
        chat.unload()
    assert chunks[-1].finish_reason in {"stop", "length"} and chunks[-1].completion_tokens > 0


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        (
            ModelSpec(name="gone", kind="causal_lm", weights="/nonexistent/llama-3-8b"),
            "/nonexistent/llama-3-8b does not exist",
        ),
        (
            ModelSpec(name="gone", kind="peft_causal_lm", adapter="/nonexistent/adapter"),
            "/nonexistent/adapter does not exist",
        ),
        (ModelSpec(name="gone", kind="causal_lm"), "no weights configured"),
        (ModelSpec(name="gone", kind="causal_lm", weights="/tmp", device="cuda"), "CUDA"),
    ],
)
def test_missing_weights_raise_model_unavailable_with_a_reason(spec, reason, home):
    if reason == "CUDA" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ModelUnavailable, match=reason):
        CausalLM(spec, home).load()


def test_unreachable_hub_id_is_unavailable_not_a_crash(home, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = ModelSpec(name="psychotherapist", kind="causal_lm", weights="meta-llama/Meta-Llama-3-8B", quantization="nf4")
    with pytest.raises(ModelUnavailable, match="cannot load weights"):
        load_pretrained(spec, home)


def test_unload_releases_the_model(tiny_llama_dir, home):
    chat = tiny_causal_lm(tiny_llama_dir, home)
    chat.load()
    loaded_bytes = chat.memory_bytes()
    model_ref = weakref.ref(chat._model)
    chat.unload()
    gc.collect()
    assert loaded_bytes > 3_000_000 * 4
    assert chat.memory_bytes() == 0
    assert model_ref() is None, "something still holds the unloaded model"


def test_version_changes_when_the_weights_change(tiny_llama_dir, tmp_path, home):
    weights = shutil.copytree(tiny_llama_dir, tmp_path / "copy")
    spec = ModelSpec(name="tiny", kind="causal_lm", weights=str(weights))
    before = CausalLM(spec, home).version
    assert CausalLM(spec, home).version == before
    stat = (weights / "model.safetensors").stat()
    os.utime(weights / "model.safetensors", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert CausalLM(spec, home).version != before


async def reply_from_a_fresh_load(spec: ModelSpec, home: LoadContext):
    """The reply to ``chat_request()`` of a new ``CausalLM`` of ``spec``, loaded for it and unloaded after."""
    model = CausalLM(spec, home)
    model.load()
    try:
        return await reply(model, chat_request())
    finally:
        model.unload()


@pytest.mark.slow
async def test_real_smollm2_gguf_is_converted_once_and_chats(home):
    from tests.fixtures.tiny_models import smollm2_gguf

    directory, file_name = smollm2_gguf()
    spec = ModelSpec(
        name="smollm2",
        kind="causal_lm",
        weights=str(directory),
        options={"gguf_file": file_name},
        generation={"temperature": 0.0, "max_new_tokens": 8},
    )
    text, chunks = await reply_from_a_fresh_load(spec, home)
    converted = [path for path in (home.home / "cache" / "gguf").iterdir() if path.is_dir()]
    assert len(converted) == 1 and (converted[0] / "conversion.json").is_file()
    assert text.strip() and chunks[-1].completion_tokens > 0

    marker_time = (converted[0] / "conversion.json").stat().st_mtime_ns
    again, _ = await reply_from_a_fresh_load(spec, home)
    assert (converted[0] / "conversion.json").stat().st_mtime_ns == marker_time, "converted twice"
    assert again == text


def test_the_whole_conversation_goes_through_the_chat_template_and_counts_for_repetition(tiny_chat):
    history = [ChatTurn(role="user" if i % 2 == 0 else "assistant", content=f"turn number {i} here") for i in range(11)]
    request = GenerationRequest(request_id="h", history=history, temperature=0.0, repetition_penalty=1.2)
    prompt = tiny_chat._tokenizer.decode(tiny_chat.prompt_ids(request, 16))
    positions = [prompt.index(f"turn number {i} here") for i in range(11)]
    assert positions == sorted(positions)  # every turn, oldest first
    said = tiny_chat.sampling_params(request).said_before
    assert [tiny_chat._tokenizer.decode(ids) for ids in said] == [f"turn number {i} here" for i in range(1, 11, 2)]
