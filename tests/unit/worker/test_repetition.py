"""Per-row repetition penalty and no-repeat n-gram rule, checked token for token against transformers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    ExponentialDecayLengthPenalty,
    MinNewTokensLengthLogitsProcessor,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
)

from worker.engine import BatchEngine, SamplingParams
from worker.engine.sampling import RepetitionGuard

QUESTIONS = [
    "I could not sleep at all last night and I keep worrying about work.",
    "hi",
    "My sister moved abroad and the house feels empty.",
    "Thanks for listening to me today.",
]
# One batch, four rows, four different settings: (repetition_penalty, no_repeat_ngram_size, end of turn).
SETTINGS = [(1.0, 3, None), (1.3, 0, None), (1.8, 2, None), (1.0, 0, None)]
NEW_TOKENS = 24


@pytest.fixture(scope="module")
def llama(tiny_llama_dir: Path):
    """The tiny random Llama made to loop like a small chat model: eight tokens' logits are scaled up,
    so greedy decoding repeats one of them forever unless a repetition rule steps in."""
    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, dtype=torch.float32).eval()
    with torch.no_grad():
        model.lm_head.weight[1000:1008] *= 30
    return model, AutoTokenizer.from_pretrained(tiny_llama_dir)


def prompt_ids(tokenizer, question: str) -> list[int]:
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": question}], tokenize=False, add_generation_prompt=True
    )
    return tokenizer(text, add_special_tokens=False).input_ids


def reference_greedy(
    model, prompt: list[int], penalty: float, ngram: int, stop_ids, steps: int, end_of_turn=None
) -> list[int]:
    """Full forward passes, transformers' own processors over the reply's tokens, argmax."""
    processors = [RepetitionPenaltyLogitsProcessor(penalty)] if penalty != 1.0 else []
    processors += [NoRepeatNGramLogitsProcessor(ngram)] if ngram else []
    if end_of_turn:
        processors.append(ExponentialDecayLengthPenalty(end_of_turn, sorted(stop_ids), 0))
    generated: list[int] = []
    with torch.no_grad():
        for _ in range(steps):
            scores = model(input_ids=torch.tensor([prompt + generated])).logits[:, -1].float()
            reply = torch.tensor([generated], dtype=torch.long)
            for processor in processors:
                scores = processor(reply, scores)
            token = int(scores[0].argmax())
            generated.append(token)
            if token in stop_ids:
                break
    return generated


async def _generated(stream) -> list[int]:
    async for output in stream:
        if output.finish_reason:
            return list(output.token_ids)
    raise AssertionError("no finish reason")


async def test_rows_with_different_settings_match_transformers_token_for_token(llama):
    model, tokenizer = llama
    engine = BatchEngine(model, tokenizer, max_batch_size=4, max_queued=0)
    try:
        prompts = [prompt_ids(tokenizer, q) for q in QUESTIONS]
        streams = []
        for index, (ids, (penalty, ngram, end_of_turn)) in enumerate(zip(prompts, SETTINGS)):
            after, factor = end_of_turn or (0, 1.0)
            params = SamplingParams(
                temperature=0.0,
                max_new_tokens=NEW_TOKENS,
                repetition_penalty=penalty,
                no_repeat_ngram_size=ngram,
                end_of_turn_after=after,
                end_of_turn_factor=factor,
            )
            streams.append(engine.submit(f"r{index}", ids, params))
        replies = await asyncio.gather(*(_generated(s) for s in streams))
    finally:
        engine.shutdown()
    assert engine.stats.peak_batch == 4  # the rows really were decoded together

    for ids, (penalty, ngram, end_of_turn), reply in zip(prompts, SETTINGS, replies):
        assert reply == reference_greedy(model, ids, penalty, ngram, engine.stop_token_ids, NEW_TOKENS, end_of_turn)
        if ngram:
            grams = [tuple(reply[i : i + ngram]) for i in range(len(reply) - ngram + 1)]
            assert len(grams) == len(set(grams))
    # Plain greedy loops on one token; each rule breaks the loop.
    plain = [reference_greedy(model, ids, 1.0, 0, engine.stop_token_ids, NEW_TOKENS) for ids in prompts]
    assert all(len(set(reply)) <= 2 for reply in plain)
    assert all(reply != loop for reply, loop in zip(replies[:3], plain[:3]))


def test_guard_equals_the_processors_on_random_logits():
    torch.manual_seed(0)
    guard = RepetitionGuard(penalty=1.4, ngram_size=2)
    penalty, ngram = RepetitionPenaltyLogitsProcessor(1.4), NoRepeatNGramLogitsProcessor(2)
    seen: list[int] = []
    for token in [3, 5, 3, 7, 3, 5, 1, 3]:
        logits = torch.randn(10)
        reply = torch.tensor([seen], dtype=torch.long)
        expected = ngram(reply, penalty(reply, logits[None].clone()))[0]
        assert torch.equal(guard.apply(logits), expected)
        guard.observe(token)
        seen.append(token)


def test_end_of_turn_decay_equals_transformers_and_can_wait_for_a_sentence_end():
    torch.manual_seed(1)
    stop = frozenset({0})
    exact = RepetitionGuard(end_of_turn=(2, 1.3), stop_ids=stop)
    gated = RepetitionGuard(end_of_turn=(2, 1.3), stop_ids=stop, sentence_end_ids=frozenset({5}))
    processor = ExponentialDecayLengthPenalty((2, 1.3), [0], 0)
    seen: list[int] = []
    for token in [3, 4, 6, 5, 7]:
        logits = torch.randn(8)
        expected = processor(torch.tensor([seen], dtype=torch.long), logits[None].clone())[0]
        assert torch.allclose(exact.apply(logits), expected)
        # Gated: the stop token is boosted only right after token 5, which ends a sentence.
        assert torch.equal(gated.apply(logits), expected if seen[-1:] == [5] else logits)
        for guard in (exact, gated):
            guard.observe(token)
        seen.append(token)


def test_minimum_length_equals_transformers():
    torch.manual_seed(2)
    guard = RepetitionGuard(stop_ids=frozenset({0, 2}), min_new_tokens=3)
    processor = MinNewTokensLengthLogitsProcessor(prompt_length_to_skip=0, min_new_tokens=3, eos_token_id=[0, 2])
    seen: list[int] = []
    for token in [3, 4, 6, 5]:
        logits = torch.randn(8)
        expected = processor(torch.tensor([seen], dtype=torch.long), logits[None].clone())[0]
        assert torch.equal(guard.apply(logits), expected)
        assert (guard.apply(logits)[[0, 2]] == float("-inf")).all() == (len(seen) < 3)
        guard.observe(token)
        seen.append(token)


async def test_a_minimum_length_keeps_the_engine_from_ending_early(llama):
    model, tokenizer = llama
    engine = BatchEngine(model, tokenizer, max_batch_size=2, max_queued=0)
    stop = sorted(engine.stop_token_ids)
    try:
        with torch.no_grad():  # make the stop token the greedy choice at once
            saved = model.lm_head.weight[stop].clone()
            model.lm_head.weight[stop] = model.lm_head.weight[1007] * 5  # 1007 is the looping greedy choice
        ids = prompt_ids(tokenizer, QUESTIONS[0])
        early = await _generated(engine.submit("early", ids, SamplingParams(temperature=0.0, max_new_tokens=12)))
        held = await _generated(
            engine.submit("held", ids, SamplingParams(temperature=0.0, max_new_tokens=12, min_new_tokens=5))
        )
    finally:
        with torch.no_grad():
            model.lm_head.weight[stop] = saved
        engine.shutdown()
    assert len([t for t in early if t not in stop]) < 5
    assert len([t for t in held if t not in stop]) >= 5


def test_earlier_replies_count_as_already_said():
    guard = RepetitionGuard(penalty=2.0, ngram_size=3, said_before=((4, 5, 6), (8, 9)))
    logits = torch.full((12,), 1.0)
    # Penalised: every token of an earlier reply; nothing is banned before two tokens of context.
    assert guard.apply(logits).tolist() == [1.0] * 4 + [0.5] * 3 + [1.0] + [0.5] * 2 + [1.0] * 2
    guard.observe(4)
    guard.observe(5)
    assert guard.banned() == {6}  # "4 5 6" was said before: the reply may not copy it
    guard.observe(9)
    assert guard.banned() == set()  # "8 9" is two tokens only, and "5 9 ?" was never said


def test_greedy_without_rules_has_no_guard():
    assert RepetitionGuard.for_params(SamplingParams(temperature=0.0)) is None
    assert RepetitionGuard.for_params(SamplingParams(temperature=0.0, no_repeat_ngram_size=3)) is not None
