"""The continuous batching engine on a tiny random Llama: exactness, streaming, cancel, limits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from tests.unit.worker.engine_checks import QUESTIONS, check_busy_beyond_batch_and_queue, collect
from worker.engine import BatchEngine, SamplingParams
from worker.engine.reference import greedy_generate

GREEDY = SamplingParams(temperature=0.0, max_new_tokens=12)


@pytest.fixture(scope="module")
def llama(tiny_llama_dir: Path):
    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(tiny_llama_dir)


@pytest.fixture
def engine(llama):
    model, tokenizer = llama
    engine = BatchEngine(model, tokenizer, max_batch_size=4, max_queued=2)
    yield engine
    engine.shutdown()


def prompt_ids(tokenizer, question: str) -> list[int]:
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": question}], tokenize=False, add_generation_prompt=True
    )
    return tokenizer(text, add_special_tokens=False).input_ids


async def test_continuous_batch_equals_sequential_greedy_generate(llama, engine):
    model, tokenizer = llama
    prompts = [prompt_ids(tokenizer, q) for q in QUESTIONS]
    lengths = [10, 16, 7, 13, 9]
    assert len({len(p) for p in prompts}) == len(prompts)

    tasks = []
    for index, (ids, max_new) in enumerate(zip(prompts, lengths)):
        stream = engine.submit(f"r{index}", ids, SamplingParams(temperature=0.0, max_new_tokens=max_new))
        tasks.append(asyncio.create_task(collect(stream)))
        # Let the running rows advance a few steps so the next request joins mid-generation.
        while engine.stats.decode_steps < 3 * (index + 1) and engine.unfinished:
            await asyncio.sleep(0.001)
    results = await asyncio.gather(*tasks)

    assert engine.stats.peak_batch >= 3, "requests were decoded one at a time, not batched"
    for ids, max_new, (text, final) in zip(prompts, lengths, results):
        expected = greedy_generate(model, ids, max_new, engine.stop_token_ids)
        assert list(final.token_ids) == expected
        assert final.finish_reason == ("stop" if expected[-1] in engine.stop_token_ids else "length")
        assert final.prompt_tokens == len(ids)
        assert final.completion_tokens == len(expected)
        assert text == tokenizer.decode(expected, skip_special_tokens=True)


async def test_stream_deltas_concatenate_to_the_decoded_reply(llama, engine):
    _, tokenizer = llama
    stream = engine.submit(
        "s", prompt_ids(tokenizer, QUESTIONS[1]), SamplingParams(temperature=1.0, seed=3, max_new_tokens=40)
    )
    deltas = []
    async for output in stream:
        deltas.append(output.text)
    final = output
    assert final.finish_reason in {"stop", "length"}
    assert sum(1 for d in deltas if d) > 5, "the reply arrived in one piece instead of streaming"
    generated = [t for t in final.token_ids if t not in engine.stop_token_ids]
    assert "".join(deltas) == tokenizer.decode(generated, skip_special_tokens=True)


async def test_seeded_sampling_does_not_depend_on_batch_mates(llama, engine):
    _, tokenizer = llama
    sampled = SamplingParams(temperature=0.9, top_p=0.9, top_k=50, seed=11, max_new_tokens=15)
    alone = await collect(engine.submit("alone", prompt_ids(tokenizer, QUESTIONS[3]), sampled))
    mates = [engine.submit(f"mate{i}", prompt_ids(tokenizer, QUESTIONS[i]), GREEDY) for i in range(2)]
    together = await collect(engine.submit("together", prompt_ids(tokenizer, QUESTIONS[3]), sampled))
    await asyncio.gather(*(collect(m) for m in mates))
    assert together[1].token_ids == alone[1].token_ids


async def test_cancel_stops_within_a_step_and_frees_the_slot(llama, engine):
    _, tokenizer = llama
    long_reply = SamplingParams(temperature=0.0, max_new_tokens=400)
    stream = engine.submit("long", prompt_ids(tokenizer, QUESTIONS[1]), long_reply)
    other = engine.submit(
        "other", prompt_ids(tokenizer, QUESTIONS[0]), SamplingParams(temperature=0.0, max_new_tokens=60)
    )
    steps_at_cancel = None
    async for output in stream:
        if steps_at_cancel is None and engine.stats.decode_steps >= 4:
            steps_at_cancel = engine.stats.decode_steps
            engine.cancel("long")
        if output.finish_reason:
            break
    assert output.finish_reason == "cancelled"
    # Deliveries already in flight when cancel arrived, plus at most the one step in progress.
    assert output.completion_tokens <= steps_at_cancel + 3
    _, other_final = await collect(other)
    assert other_final.finish_reason in {"stop", "length"}
    assert engine.unfinished == 0 and engine.running == 0


async def test_submit_beyond_batch_and_queue_raises_busy(llama):
    model, tokenizer = llama
    engine = BatchEngine(model, tokenizer, max_batch_size=1, max_queued=1)
    await check_busy_beyond_batch_and_queue(engine, prompt_ids(tokenizer, QUESTIONS[0]))


async def test_stop_token_ends_the_reply_with_stop(llama):
    model, tokenizer = llama
    ids = prompt_ids(tokenizer, QUESTIONS[2])
    reference = greedy_generate(model, ids, 6, {tokenizer.eos_token_id})
    engine = BatchEngine(model, tokenizer, stop_token_ids={reference[3]})
    try:
        _, final = await collect(engine.submit("s", ids, GREEDY))
    finally:
        engine.shutdown()
    assert final.finish_reason == "stop"
    assert list(final.token_ids) == reference[: reference.index(reference[3]) + 1]


async def test_shutdown_cancels_pending_requests(llama):
    model, tokenizer = llama
    engine = BatchEngine(model, tokenizer, max_batch_size=1)
    ids = prompt_ids(tokenizer, QUESTIONS[0])
    streams = [engine.submit(f"r{i}", ids, SamplingParams(temperature=0.0, max_new_tokens=2000)) for i in range(2)]
    await asyncio.sleep(0.05)
    await asyncio.to_thread(engine.shutdown)
    finals = [(await collect(s))[1] for s in streams]
    assert [f.finish_reason for f in finals] == ["cancelled", "cancelled"]
    with pytest.raises(RuntimeError):
        engine.submit("late", ids, GREEDY)


def test_suppressed_tokens_are_never_chosen_greedy_or_sampled() -> None:
    from worker.engine.sampling import SamplingParams, choose_next_token, new_generator

    logits = torch.tensor([0.0, 9.0, 8.0, 1.0])
    assert choose_next_token(logits, SamplingParams(temperature=0.0, suppressed_ids=(1,)), None) == 2
    params = SamplingParams(temperature=1.0, seed=3, suppressed_ids=(1, 2))
    generator = new_generator(params, "cpu")
    assert {choose_next_token(logits, params, generator) for _ in range(50)} <= {0, 3}
