"""Kind ``seq2seq``: a tiny random T5 (and a LoRA adapter on it) loaded the real way and served by the engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

from attune.contract import ChatTurn, EmotionReading
from tests.unit.worker.engine_checks import check_cancel_mid_reply, check_model_busy_when_full
from worker.engine import SamplingParams
from worker.engine.seq2seq import Seq2SeqBatchEngine
from worker.models.base import ChatModel, GenerationRequest, LoadContext, ModelSpec
from worker.models.seq2seq import EMOTIBOT_PROMPT, Seq2SeqLM, emotibot_prompt
from worker.registry import Registry, availability

REPO = Path(__file__).resolve().parents[3]
MESSAGE = "I lost my dog yesterday and the house feels empty."
SADNESS = EmotionReading(label="sadness", scores={"sadness": 0.81, "neutral": 0.1})


def chat_request(request_id: str = "r1", text: str = MESSAGE, **fields) -> GenerationRequest:
    settings = {"temperature": 0.0, "max_new_tokens": 12, "user_emotion": SADNESS, **fields}
    history = [
        ChatTurn(role="user", content="hello"),
        ChatTurn(role="assistant", content="Hi, how are you?"),
        ChatTurn(role="user", content=text),
    ]
    return GenerationRequest(request_id=request_id, history=history, **settings)


async def reply(model, request: GenerationRequest):
    chunks = [chunk async for chunk in model.stream(request)]
    return "".join(c.text for c in chunks), chunks


def reference_ids(model, tokenizer, prompt: str, max_new_tokens: int, decoder_prefix: list[int] = ()) -> list[int]:
    """``model.generate``'s greedy reply to ``prompt``, without the decoder start token and padding."""
    kwargs = {}
    if decoder_prefix:
        kwargs["decoder_input_ids"] = torch.tensor([[model.config.decoder_start_token_id, *decoder_prefix]])
    input_ids = torch.tensor([tokenizer(prompt).input_ids])
    with torch.no_grad():
        out = model.generate(input_ids=input_ids, max_new_tokens=max_new_tokens, do_sample=False, **kwargs)
    ids = out[0, 1 + len(decoder_prefix) :].tolist()
    return [i for i in ids if i != tokenizer.pad_token_id]


@pytest.fixture
def home(tmp_path: Path) -> LoadContext:
    return LoadContext(home=tmp_path / "home")


@pytest.fixture
def t5_chat(tiny_t5_dir: Path, home: LoadContext):
    model = Seq2SeqLM(ModelSpec(name="emotibot", kind="seq2seq", weights=str(tiny_t5_dir)), home)
    model.load()
    yield model
    model.unload()


@pytest.fixture(scope="module")
def reference(tiny_t5_dir: Path):
    return (
        AutoModelForSeq2SeqLM.from_pretrained(tiny_t5_dir, dtype=torch.float32).eval(),
        AutoTokenizer.from_pretrained(tiny_t5_dir),
    )


async def test_greedy_stream_is_model_generate_token_for_token(t5_chat, reference):
    assert isinstance(t5_chat, ChatModel)
    model, tokenizer = reference
    text, chunks = await reply(t5_chat, chat_request(max_new_tokens=16))

    expected = reference_ids(model, tokenizer, emotibot_prompt("sadness", MESSAGE), 16)
    assert chunks[-1].completion_tokens == len(expected)
    assert text == tokenizer.decode(expected, skip_special_tokens=True)
    assert len([c for c in chunks if c.text]) > 1  # streamed as deltas, not in one piece
    assert chunks[-1].finish_reason == ("stop" if expected[-1] == tokenizer.eos_token_id else "length")
    assert chunks[-1].prompt_tokens == len(tokenizer(emotibot_prompt("sadness", MESSAGE)).input_ids)


async def test_rows_joining_and_leaving_the_batch_each_match_generate(tiny_t5_dir, reference):
    model, tokenizer = reference
    messages = ["Work is awful", MESSAGE, "My sister got married and I am so happy for her, it was the best day!"]
    lengths = [18, 11, 6]
    engine = Seq2SeqBatchEngine(model, tokenizer, max_batch_size=3)
    started = [asyncio.Event() for _ in messages]
    try:

        async def one(i: int) -> tuple[int, ...]:
            if i:  # join while the one before is decoding: after its first token, not after a fixed sleep
                await started[i - 1].wait()
            ids = tokenizer(emotibot_prompt("joy", messages[i])).input_ids
            stream = engine.submit(f"r{i}", ids, SamplingParams(temperature=0.0, max_new_tokens=lengths[i]))
            outputs = []
            async for output in stream:
                outputs.append(output)
                started[i].set()
            return outputs[-1].token_ids

        got = await asyncio.gather(*(one(i) for i in range(3)))
    finally:
        engine.shutdown()
    for i, ids in enumerate(got):
        assert list(ids) == reference_ids(model, tokenizer, emotibot_prompt("joy", messages[i]), lengths[i])
    assert engine.stats.peak_batch >= 2


async def test_a_row_that_meets_a_stop_token_leaves_while_the_others_decode_on(reference):
    model, tokenizer = reference
    prompts = [tokenizer(emotibot_prompt("sadness", text)).input_ids for text in (MESSAGE, "Work is awful")]
    first_reply = reference_ids(model, tokenizer, emotibot_prompt("sadness", MESSAGE), 12)
    stop = first_reply[2]  # the random T5 never says </s> early: make its third word the stop token
    assert stop not in reference_ids(model, tokenizer, emotibot_prompt("sadness", "Work is awful"), 12)
    engine = Seq2SeqBatchEngine(model, tokenizer, stop_token_ids={stop})
    try:
        streams = [
            engine.submit(f"r{i}", ids, SamplingParams(temperature=0.0, max_new_tokens=12))
            for i, ids in enumerate(prompts)
        ]
        finals = [[output async for output in stream][-1] for stream in streams]
    finally:
        engine.shutdown()
    assert (finals[0].finish_reason, list(finals[0].token_ids)) == ("stop", first_reply[:3])
    assert finals[1].finish_reason == "length"
    assert list(finals[1].token_ids) == reference_ids(model, tokenizer, emotibot_prompt("sadness", "Work is awful"), 12)


@pytest.mark.parametrize("rules", [{"repetition_penalty": 1.5}, {"no_repeat_ngram_size": 2}])
async def test_the_engines_row_rules_match_generates_logits_processors(tiny_t5_dir, reference, rules):
    model, tokenizer = reference
    prompt_ids = tokenizer(emotibot_prompt("joy", "hi")).input_ids  # greedy, the tiny T5 repeats one word here
    engine = Seq2SeqBatchEngine(model, tokenizer)
    try:
        stream = engine.submit("r", prompt_ids, SamplingParams(temperature=0.0, max_new_tokens=14, **rules))
        got = list([output async for output in stream][-1].token_ids)
    finally:
        engine.shutdown()

    def generate(**settings) -> list[int]:
        with torch.no_grad():
            out = model.generate(input_ids=torch.tensor([prompt_ids]), max_new_tokens=14, do_sample=False, **settings)
        return [i for i in out[0, 1:].tolist() if i != tokenizer.pad_token_id]

    assert got == generate(**rules)
    assert got != generate()  # the rule changed the reply
    assert len(set(generate())) < len(generate())


def test_the_users_emotion_and_newest_message_make_the_founding_prompt(t5_chat, tiny_t5_dir):
    request = chat_request()
    assert t5_chat.prompt_text(request) == f"Respond empathetically to a person feeling sadness: {MESSAGE}"
    tokenizer = AutoTokenizer.from_pretrained(tiny_t5_dir)
    ids = t5_chat.prompt_ids(request, 12)
    assert tokenizer.decode(ids, skip_special_tokens=True) == t5_chat.prompt_text(request)
    assert ids[-1] == tokenizer.eos_token_id

    assert "feeling neutral:" in t5_chat.prompt_text(chat_request(user_emotion=None))
    joyful = chat_request(user_emotion=EmotionReading(label="joy", scores={"joy": 0.9}))
    assert t5_chat.prompt_ids(joyful, 12) != ids  # the emotion changes what the encoder reads


def test_prompt_template_and_input_limit_come_from_the_entry(tiny_t5_dir, home):
    model = Seq2SeqLM(
        ModelSpec(
            name="e",
            kind="seq2seq",
            weights=str(tiny_t5_dir),
            options={"prompt_template": "{emotion} | {text}", "max_input_tokens": 8},
        ),
        home,
    )
    model.load()
    try:
        request = chat_request()
        assert model.prompt_text(request) == f"sadness | {MESSAGE}"
        assert len(model.prompt_ids(request, 12)) == 8
    finally:
        model.unload()
    assert EMOTIBOT_PROMPT.format(emotion="e", text="t") == "Respond empathetically to a person feeling e: t"


async def test_different_emotions_give_different_greedy_replies(t5_chat):
    sad, _ = await reply(t5_chat, chat_request("a"))
    angry, _ = await reply(t5_chat, chat_request("b", user_emotion=EmotionReading(label="anger", scores={})))
    assert sad != angry


async def test_cancel_ends_the_stream_with_cancelled(t5_chat):
    await check_cancel_mid_reply(t5_chat, chat_request("long", max_new_tokens=400), after_chunks=3)
    assert t5_chat._engine.unfinished == 0


async def test_a_full_batch_and_queue_is_busy(tiny_t5_dir, home):
    model = Seq2SeqLM(
        ModelSpec(name="e", kind="seq2seq", weights=str(tiny_t5_dir), options={"max_batch_size": 1, "max_queued": 0}),
        home,
    )
    model.load()
    try:
        await check_model_busy_when_full(model, chat_request)
    finally:
        model.unload()


async def test_seeded_sampling_repeats_and_follows_the_request(t5_chat):
    sampled = {"temperature": 2.0, "top_p": 1.0, "max_new_tokens": 10}
    first, _ = await reply(t5_chat, chat_request("s1", seed=7, **sampled))
    again, _ = await reply(t5_chat, chat_request("s2", seed=7, **sampled))
    assert first == again
    greedy, _ = await reply(t5_chat, chat_request("g", max_new_tokens=10))
    others = {(await reply(t5_chat, chat_request(f"s{seed}", seed=seed, **sampled)))[0] for seed in range(4)}
    assert others - {greedy}  # sampling, not greedy decoding, at temperature 2


async def test_a_resumed_reply_continues_in_the_decoder_after_the_streamed_text(t5_chat, reference):
    model, tokenizer = reference
    prefix = "I am so sorry"
    prefix_ids = tokenizer(prefix, add_special_tokens=False).input_ids
    text, chunks = await reply(t5_chat, chat_request(prefix=prefix, max_new_tokens=10))

    # The streamed prefix counts against the token budget, as for the causal kinds.
    expected = reference_ids(model, tokenizer, emotibot_prompt("sadness", MESSAGE), 10 - len(prefix_ids), prefix_ids)
    assert chunks[-1].completion_tokens == len(expected) == 10 - len(prefix_ids)
    assert text == tokenizer.decode(expected, skip_special_tokens=True)
    assert prefix not in t5_chat.prompt_text(chat_request(prefix=prefix))  # the encoder reads only the message


async def test_lora_adapter_loads_over_its_base_and_changes_the_reply(
    tiny_t5_dir, tiny_t5_adapter_dir, home, reference
):
    from peft import PeftModel

    spec = ModelSpec(name="emotibot", kind="seq2seq", weights=str(tiny_t5_dir), adapter=str(tiny_t5_adapter_dir))
    model = Seq2SeqLM(spec, home)
    model.load()
    try:
        assert isinstance(model._model, PeftModel)
        text, _ = await reply(model, chat_request(max_new_tokens=12))
    finally:
        model.unload()
    base, tokenizer = reference
    adapted = PeftModel.from_pretrained(AutoModelForSeq2SeqLM.from_pretrained(tiny_t5_dir), tiny_t5_adapter_dir).eval()
    prompt = emotibot_prompt("sadness", MESSAGE)
    expected = reference_ids(adapted, tokenizer, prompt, 12)
    assert text == tokenizer.decode(expected, skip_special_tokens=True)
    assert expected != reference_ids(base, tokenizer, prompt, 12)


def test_emotibot_is_listed_unavailable_on_a_fresh_install_with_its_setup(tmp_path):
    registry = Registry.from_file(REPO / "models.toml", tmp_path / "fresh-home")
    spec = registry.specs["emotibot"]
    assert (spec.kind, spec.weights, spec.chat) == ("seq2seq", "google/flan-t5-base", True)
    reason = availability(spec)
    assert reason is not None and "google/flan-t5-base" in reason
    assert "hf download google/flan-t5-base" in reason and "attune train emotibot-responder" in reason


async def test_a_chat_turn_through_the_worker_conditions_the_t5_on_the_classified_emotion(
    tiny_t5_dir, classifier_dirs, tmp_path, reference
):
    from attune.broker.memory import MemoryBroker
    from attune.contract import DoneEvent, EmotionEvent, GenerateJob, TokenEvent
    from tests.fixtures.classifiers import registry_entries
    from worker.config import WorkerSettings
    from worker.registry import ModelManager
    from worker.runner import Runner

    registry_file = tmp_path / "models.toml"
    registry_file.write_text(
        f'default_chat = "emotibot"\n[models.emotibot]\nkind = "seq2seq"\nweights = "{tiny_t5_dir}"\n'
        "generation = { temperature = 0.0, max_new_tokens = 64 }\n\n" + registry_entries(classifier_dirs)
    )
    manager = ModelManager(Registry.from_file(registry_file, tmp_path), keep_alive_s=600, memory_budget_gb=2)
    broker = MemoryBroker()
    service = Runner(WorkerSettings(home=tmp_path, models_file=registry_file), broker, manager)
    job = GenerateJob(
        session_id="s", user_message_id=1, model="emotibot", history=[ChatTurn(role="user", content=MESSAGE)]
    )
    try:
        await service.process(job, resumed=False)
        events = [event for _, event in await broker.read_events(job.job_id, "0", block_ms=0)]
    finally:
        await manager.unload("emotibot")
    (emotion,) = [e.emotion for e in events if isinstance(e, EmotionEvent)]
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.finish_reason in ("stop", "length")
    assert "".join(e.text for e in events if isinstance(e, TokenEvent)) == done.content
    model, tokenizer = reference
    prompt = emotibot_prompt(emotion.label, MESSAGE)  # the label the worker's classifier read
    assert done.prompt_tokens == len(tokenizer(prompt).input_ids)
    expected = tokenizer.decode(reference_ids(model, tokenizer, prompt, 64), skip_special_tokens=True)
    assert expected.startswith(done.content)  # the worker may end a reply at the token limit on a sentence
    assert done.content and done.user_emotion.label == emotion.label
