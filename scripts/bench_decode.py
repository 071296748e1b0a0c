"""Decode speed, one run, one GGUF, one thread count: llama.cpp one request at a time against the engines.

On the real SmolLM2-135M-Instruct (the packaged Q4_1 GGUF), greedy, every reply exactly
``--max-new-tokens`` long (stop tokens ignored, so every path does the same work):

- llama.cpp's high-level ``Llama``, one request after another: the baseline;
- ``LlamaCppEngine`` (what ``options.engine = "llama_cpp"`` serves) with N requests at once;
- the PyTorch ``BatchEngine`` (fp32, the GGUF de-quantized through the conversion cache).

With ``--quant q4_0`` the engine serves the GGUF re-quantized by llama.cpp
(``options.llama_cpp_quant``, ``worker.models.gguf_quantize``), and the baseline runs twice: on
the packaged file (what a person running llama.cpp or Ollama on it gets) and on the re-quantized
one (like for like). ``--quality N`` adds, per GGUF, the perplexity of the first listener reply
of N EmpatheticDialogues validation conversations after its opening (llama.cpp, teacher-forced),
so the cost of the second rounding is measured in the same run.

For each: aggregate tok/s (all tokens / wall time), per-session tok/s (a session's tokens / its
time from submit to last token, averaged), p50/p95 gap between a session's consecutive tokens,
and aggregate tok/s as a ratio of the baseline's.

    python scripts/bench_decode.py --threads 1 --concurrency 1 4 16 64 --torch-concurrency 1 16
    python scripts/bench_decode.py --threads 2 --quant q4_0 --quality 200 --torch-concurrency
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batching import chat_prompts, smollm2_spec

from worker.engine import SamplingParams
from worker.models.gguf_quantize import QUANT_TYPES


@dataclass
class Result:
    label: str
    sessions: int
    tokens: int
    seconds: float
    per_session: list[float]  # tok/s of each session
    gaps: list[float]  # seconds between consecutive tokens of a session

    def row(self, baseline: float | None) -> str:
        gaps = sorted(self.gaps)
        p50 = gaps[len(gaps) // 2] * 1e3
        p95 = gaps[min(len(gaps) - 1, int(len(gaps) * 0.95))] * 1e3
        rate = self.tokens / self.seconds
        ratio = f"{rate / baseline:.2f}x" if baseline else "1.00x"
        return (
            f"| {self.label} | {self.sessions} | {self.tokens} | {rate:.1f} | "
            f"{statistics.mean(self.per_session):.1f} | {p50:.1f} | {p95:.1f} | {ratio} |"
        )


def run_llama_one_at_a_time(gguf: Path, threads: int, prompts: list[list[int]], max_new_tokens: int) -> Result:
    import llama_cpp

    llm = llama_cpp.Llama(str(gguf), n_ctx=512, n_threads=threads, n_threads_batch=threads, verbose=False)
    per_session, gaps, tokens = [], [], 0
    started = time.perf_counter()
    for ids in prompts:
        llm.reset()
        begun = last = time.perf_counter()
        count = 0
        for _ in llm.generate(ids, temp=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0, reset=True):
            now = time.perf_counter()
            if count:
                gaps.append(now - last)
            last, count = now, count + 1
            if count >= max_new_tokens:
                break
        tokens += count
        per_session.append(count / (last - begun))
    return Result(
        f"llama.cpp `Llama` ({gguf_label(gguf)}), one at a time",
        1,
        tokens,
        time.perf_counter() - started,
        per_session,
        gaps,
    )


def gguf_label(gguf: Path) -> str:
    return gguf.name.rsplit(".", 2)[-2].upper() if gguf.name.count(".") >= 2 else gguf.name


def reply_perplexity(gguf: Path, threads: int, pairs: list[tuple[list[int], list[int]]]) -> float:
    """exp(mean NLL) of each reply's tokens after its prompt, teacher-forced, under ``gguf``."""
    import llama_cpp
    import numpy as np

    llm = llama_cpp.Llama(
        str(gguf), n_ctx=512, n_threads=threads, n_threads_batch=threads, logits_all=True, verbose=False
    )
    total, count = 0.0, 0
    for prompt, reply in pairs:
        llm.reset()
        llm.eval(prompt + reply)
        logits = np.asarray(llm.scores[len(prompt) - 1 : len(prompt) + len(reply) - 1], dtype=np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        total -= float(log_probs[np.arange(len(reply)), reply].sum())
        count += len(reply)
    return float(np.exp(total / count))


def reply_pairs(tokenizer, count: int) -> list[tuple[list[int], list[int]]]:
    """(chat prompt of the opening, the real listener reply) of the first ``count`` ED validation conversations."""
    from training.data.empathetic import load_conversations

    pairs = []
    for conversation in load_conversations("valid", limit=count):
        if len(conversation.turns) < 2:
            continue
        messages = [{"role": "user", "content": conversation.turns[0].text}]
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        prompt = tokenizer(text, add_special_tokens=False).input_ids
        reply = tokenizer(conversation.turns[1].text, add_special_tokens=False).input_ids
        pairs.append((prompt, reply[:128]))
    return pairs


async def run_engine(label: str, engine, prompts: list[list[int]], max_new_tokens: int) -> Result:
    params = SamplingParams(temperature=0.0, max_new_tokens=max_new_tokens)

    async def one(index: int, ids: list[int]) -> tuple[int, float, list[float]]:
        begun = last = time.perf_counter()
        stamps = []
        async for output in engine.submit(f"bench-{index}-{begun}", ids, params):
            last = time.perf_counter()
            stamps.append(last)
            if output.finish_reason:
                return output.completion_tokens, last - begun, [b - a for a, b in itertools.pairwise(stamps)]
        raise RuntimeError("stream ended without finishing")

    started = time.perf_counter()
    results = await asyncio.gather(*(one(i, ids) for i, ids in enumerate(prompts)))
    seconds = time.perf_counter() - started
    return Result(
        label,
        len(prompts),
        sum(r[0] for r in results),
        seconds,
        [r[0] / r[1] for r in results],
        [gap for r in results for gap in r[2]],
    )


async def run_series(label: str, engine, tokenizer, counts: list[int], max_new_tokens: int, baseline: float) -> None:
    """Warm ``engine`` up, print one row per N, shut it down."""
    try:
        await run_engine("warm-up", engine, chat_prompts(tokenizer, 1), 4)
        for count in counts:
            result = await run_engine(label, engine, chat_prompts(tokenizer, count), max_new_tokens)
            print(result.row(baseline), flush=True)
    finally:
        engine.shutdown()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)), help="CPU threads for every path")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 64], help="N for the llama.cpp engine")
    parser.add_argument("--torch-concurrency", type=int, nargs="*", default=[1, 16], help="N for the PyTorch engine")
    parser.add_argument("--baseline-requests", type=int, default=4, help="requests the one-at-a-time baseline runs")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--home", type=Path, default=Path("var"), help="ATTUNE_HOME holding the GGUF caches")
    parser.add_argument("--quant", choices=QUANT_TYPES, help="serve the GGUF re-quantized to this type")
    parser.add_argument("--quality", type=int, default=0, help="ED validation replies to score perplexity on")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)

    from transformers import AutoTokenizer

    from worker.engine.llama_cpp_engine import LlamaCppEngine
    from worker.models.gguf import gguf_file_path, tokenizer_checkpoint

    spec = smollm2_spec()
    home = args.home.resolve()
    gguf = gguf_file_path(spec.weights, spec.options["gguf_file"])
    tokenizer = AutoTokenizer.from_pretrained(
        tokenizer_checkpoint(spec.weights, spec.options["gguf_file"], home / "cache" / "gguf")
    )
    n = args.max_new_tokens
    served = gguf
    if args.quant:
        from worker.models.gguf_quantize import requantized_gguf

        served = requantized_gguf(gguf, args.quant, home / "cache" / "gguf-quant", args.threads)
    print(
        f"SmolLM2-135M-Instruct {gguf_label(gguf)} GGUF (engine: {gguf_label(served)}), {args.threads} threads, {os.cpu_count()} cores, greedy, {n} new tokens, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    print("| path | N | tokens | aggregate tok/s | per-session tok/s | p50 gap ms | p95 gap ms | vs llama.cpp |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    # The baseline runs in a process of its own: llama.cpp's OpenMP thread team, once used from this
    # process's main thread, slowed the engine's decode thread measured after it to about half
    # (66 against 120 tok/s single-stream on 2 idle cores), which a worker never sees.
    baselines = [gguf] if served == gguf else [gguf, served]
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        rate = 0.0
        for path in baselines:
            pool.submit(run_llama_one_at_a_time, path, args.threads, chat_prompts(tokenizer, 1), 4).result()  # warm-up
            baseline = pool.submit(
                run_llama_one_at_a_time, path, args.threads, chat_prompts(tokenizer, args.baseline_requests), n
            ).result()
            rate = rate or baseline.tokens / baseline.seconds  # every ratio is against the packaged file's
            print(baseline.row(rate), flush=True)
        if args.quality:
            pairs = reply_pairs(tokenizer, args.quality)
            for path in baselines:
                perplexity = pool.submit(reply_perplexity, path, args.threads, pairs).result()
                print(f"quality: {gguf_label(path)} perplexity {perplexity:.3f} on {len(pairs)} ED validation replies")

    engine = LlamaCppEngine(
        served,
        tokenizer,
        max_batch_size=max(args.concurrency),
        max_queued=0,
        context_tokens=256,
        threads=args.threads,
        stop_token_ids=(),
    )
    await run_series(f"`LlamaCppEngine` ({gguf_label(served)})", engine, tokenizer, args.concurrency, n, rate)

    if args.torch_concurrency:
        import torch

        from worker.engine import BatchEngine
        from worker.models.base import LoadContext
        from worker.models.causal_lm import load_pretrained

        model, torch_tokenizer = load_pretrained(spec, LoadContext(home=home))
        torch.set_num_threads(args.threads)
        engine = BatchEngine(
            model, torch_tokenizer, max_batch_size=max(args.torch_concurrency), max_queued=0, stop_token_ids=()
        )
        await run_series("PyTorch `BatchEngine` (fp32)", engine, tokenizer, args.torch_concurrency, n, rate)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    asyncio.run(main())
