"""The llama.cpp engine on the real SmolLM2-135M GGUF: batched greedy equals llama.cpp one sequence
at a time, token for token; cancel, busy, the context limit and the repetition rules."""

from __future__ import annotations

import asyncio

import pytest

from tests.unit.worker.engine_checks import check_busy_beyond_batch_and_queue, collect
from worker.engine import SamplingParams

llama_cpp = pytest.importorskip("llama_cpp")

pytestmark = pytest.mark.slow

QUESTIONS = [
    "hi",
    "I could not sleep at all last night and I keep worrying about work.",
    "My dog died.",
    "My sister moved abroad and the house feels empty; I miss our evening walks a lot.",
    "Thanks for listening to me today, it helped more than I expected.",
]


@pytest.fixture(scope="module")
def smollm2():
    from tests.fixtures.tiny_models import smollm2_gguf, smollm2_tokenizer

    try:
        directory, file_name = smollm2_gguf()
    except FileNotFoundError as error:
        pytest.skip(str(error))
    return directory / file_name, smollm2_tokenizer()


@pytest.fixture(scope="module")
def engine(smollm2):
    from worker.engine.llama_cpp_engine import LlamaCppEngine

    gguf, tokenizer = smollm2
    engine = LlamaCppEngine(gguf, tokenizer, max_batch_size=4, max_queued=2, context_tokens=256, threads=1)
    yield engine
    engine.shutdown()


@pytest.fixture(scope="module")
def single(smollm2):
    """llama.cpp's own high-level API, one sequence at a time: the reference."""
    gguf, _ = smollm2
    return llama_cpp.Llama(str(gguf), n_ctx=512, n_threads=1, n_threads_batch=1, verbose=False)


def prompt_ids(tokenizer, question: str) -> list[int]:
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": question}], tokenize=False, add_generation_prompt=True
    )
    return tokenizer(text, add_special_tokens=False).input_ids


def greedy_alone(llm, ids: list[int], max_new_tokens: int, stop_ids) -> list[int]:
    llm.reset()
    out: list[int] = []
    for token in llm.generate(ids, temp=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0, reset=True):
        out.append(token)
        if token in stop_ids or len(out) >= max_new_tokens:
            return out
    return out


async def test_batched_greedy_equals_llama_cpp_one_sequence_at_a_time(smollm2, engine, single):
    _, tokenizer = smollm2
    prompts = [prompt_ids(tokenizer, q) for q in QUESTIONS]
    lengths = [10, 16, 7, 13, 9]
    steps_before = engine.stats.decode_steps
    peak_before = engine.stats.peak_batch
    tasks = []
    for index, (ids, max_new) in enumerate(zip(prompts, lengths)):
        stream = engine.submit(f"eq{index}", ids, SamplingParams(temperature=0.0, max_new_tokens=max_new))
        tasks.append(asyncio.create_task(collect(stream)))
        # Let the running rows advance a few steps so the next request joins mid-generation.
        while engine.stats.decode_steps < steps_before + 3 * (index + 1) and engine.unfinished:
            await asyncio.sleep(0.001)
    results = await asyncio.gather(*tasks)

    assert max(engine.stats.peak_batch, peak_before) >= 3, "requests were decoded one at a time, not batched"
    for ids, max_new, (text, final) in zip(prompts, lengths, results):
        expected = greedy_alone(single, ids, max_new, engine.stop_token_ids)
        assert list(final.token_ids) == expected
        assert final.finish_reason == ("stop" if expected[-1] in engine.stop_token_ids else "length")
        assert (final.prompt_tokens, final.completion_tokens) == (len(ids), len(expected))
        assert text == tokenizer.decode(expected, skip_special_tokens=True)


async def test_cancel_stops_within_a_step_and_frees_the_sequence(smollm2, engine):
    _, tokenizer = smollm2
    start = engine.stats.decode_steps
    stream = engine.submit(
        "long", prompt_ids(tokenizer, QUESTIONS[1]), SamplingParams(temperature=0.0, max_new_tokens=200)
    )
    other = engine.submit(
        "other", prompt_ids(tokenizer, QUESTIONS[0]), SamplingParams(temperature=0.0, max_new_tokens=30)
    )
    tokens_at_cancel = None
    async for output in stream:
        if tokens_at_cancel is None and output.text:
            tokens_at_cancel = engine.stats.decode_steps - start + 1  # its prefill chose one token too
            engine.cancel("long")
        if output.finish_reason:
            break
    assert output.finish_reason == "cancelled"
    # Deliveries already in flight when cancel arrived, plus at most the one step in progress.
    assert output.completion_tokens <= tokens_at_cancel + 3
    assert (await collect(other))[1].finish_reason in {"stop", "length"}
    assert engine.unfinished == 0 and engine.running == 0
    # The freed sequence serves the next request from clean cells: same reply as a fresh run.
    again = await collect(
        engine.submit("again", prompt_ids(tokenizer, QUESTIONS[0]), SamplingParams(temperature=0.0, max_new_tokens=30))
    )
    first = await collect(
        engine.submit("first", prompt_ids(tokenizer, QUESTIONS[0]), SamplingParams(temperature=0.0, max_new_tokens=30))
    )
    assert again[1].token_ids == first[1].token_ids


async def test_submit_beyond_batch_and_queue_raises_busy(smollm2):
    from worker.engine.llama_cpp_engine import LlamaCppEngine

    gguf, tokenizer = smollm2
    engine = LlamaCppEngine(gguf, tokenizer, max_batch_size=1, max_queued=1, context_tokens=256, threads=1)
    await check_busy_beyond_batch_and_queue(engine, prompt_ids(tokenizer, QUESTIONS[0]))


async def test_a_sequence_ends_with_length_when_its_cells_are_full(smollm2, engine):
    _, tokenizer = smollm2
    ids = prompt_ids(tokenizer, QUESTIONS[2])  # this prompt makes SmolLM2 loop forever
    _, final = await collect(engine.submit("full", ids, SamplingParams(temperature=0.0, max_new_tokens=1000)))
    assert final.finish_reason == "length"
    assert final.prompt_tokens + final.completion_tokens == engine.context_tokens
    with pytest.raises(ValueError, match="tokens"):
        engine.submit("too-long", ids * 10, SamplingParams(temperature=0.0))


def repeated_ngrams(tokens: list[int], n: int) -> int:
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(grams) - len(set(grams))


async def test_repetition_rules_apply_per_row(smollm2, engine):
    _, tokenizer = smollm2
    ids = prompt_ids(tokenizer, QUESTIONS[2])
    plain = SamplingParams(temperature=0.0, max_new_tokens=24)
    guarded = SamplingParams(temperature=0.0, max_new_tokens=24, no_repeat_ngram_size=3)
    penalised = SamplingParams(temperature=0.0, max_new_tokens=24, repetition_penalty=1.5)
    results = await asyncio.gather(
        *(collect(engine.submit(f"rep{i}", ids, params)) for i, params in enumerate([plain, guarded, penalised]))
    )
    loop, no_repeat, penalty = (list(final.token_ids) for _, final in results)
    assert repeated_ngrams(loop, 3) > 5  # without a rule this reply is a loop
    assert repeated_ngrams(no_repeat, 3) == 0
    assert penalty != loop and repeated_ngrams(penalty, 3) < repeated_ngrams(loop, 3)


async def test_seeded_sampling_does_not_depend_on_batch_mates(smollm2, engine):
    _, tokenizer = smollm2
    sampled = SamplingParams(temperature=0.9, top_p=0.9, top_k=50, seed=11, max_new_tokens=15)
    alone = await collect(engine.submit("alone", prompt_ids(tokenizer, QUESTIONS[3]), sampled))
    greedy = SamplingParams(temperature=0.0, max_new_tokens=12)
    mates = [engine.submit(f"mate{i}", prompt_ids(tokenizer, QUESTIONS[i]), greedy) for i in range(2)]
    together = await collect(engine.submit("together", prompt_ids(tokenizer, QUESTIONS[3]), sampled))
    await asyncio.gather(*(collect(m) for m in mates))
    assert together[1].token_ids == alone[1].token_ids
