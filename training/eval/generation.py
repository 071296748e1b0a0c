"""``attune eval generation --model NAME``: reply quality of a registry model on EmpatheticDialogues.

For each validation conversation the model answers the speaker's opening turn, greedily; its
replies are scored against the listener's real reply with corpus BLEU-4 and ROUGE-L F. When the
model is a causal LM, the perplexity of the reference replies given the same prompt is reported
too (teacher-forced NLL over the reply's tokens only). Models load through the worker's registry,
so anything ``models.toml`` lists can be scored the way the service would serve it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.common.paths import REPO_ROOT, attune_home
from training.data import empathetic
from training.eval.text_metrics import corpus_bleu, mean_rouge_l

CONCURRENT_REQUESTS = 8  # below the engine's batch + queue limits, so no request is refused as busy


@dataclass(frozen=True)
class Exchange:
    """One speaker turn and the listener's reply to it."""

    conv_id: str
    prompt: str
    reference: str


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every registry-backed eval target shares."""
    parser.add_argument("--model", required=True, help="a model name from the registry")
    parser.add_argument("--models-file", type=Path, default=REPO_ROOT / "models.toml")
    parser.add_argument("--home", type=Path, default=attune_home(), help="ATTUNE_HOME (default: %(default)s)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))


async def load_registry_model(models_file: Path, home: Path, name: str, device: str = "cpu") -> Any:
    """The named chat model, loaded exactly as the worker loads it."""
    from worker.registry import ModelManager, Registry

    registry = Registry.from_file(models_file, home, device=device)
    manager = ModelManager(registry, keep_alive_s=math.inf, memory_budget_gb=1024)
    if not manager.spec(name).chat:
        raise SystemExit(f"{name!r} is not a chat model")
    return await manager.get(name)


async def generate_replies(model: Any, prompts: Sequence[str], max_new_tokens: int) -> list[str]:
    """Greedy replies, one per single-turn prompt, in order; requests run concurrently so the engine batches them."""
    from attune.contract import ChatTurn
    from worker.models.base import GenerationRequest

    gate = asyncio.Semaphore(CONCURRENT_REQUESTS)

    async def reply(index: int, prompt: str) -> str:
        request = GenerationRequest(
            request_id=f"eval-{index}",
            history=[ChatTurn(role="user", content=prompt)],
            temperature=0.0,
            top_p=1.0,
            top_k=0,
            max_new_tokens=max_new_tokens,
            seed=0,
        )
        async with gate:
            return "".join([chunk.text async for chunk in model.stream(request)]).strip()

    return list(await asyncio.gather(*(reply(i, p) for i, p in enumerate(prompts))))


def first_exchanges(limit: int | None) -> list[Exchange]:
    """The opening speaker turn and the first listener reply of each validation conversation."""
    exchanges = []
    for conversation in empathetic.load_conversations("valid", limit):
        turns = conversation.turns
        if len(turns) >= 2 and turns[0].role == "speaker" and turns[1].role == "listener":
            exchanges.append(Exchange(conversation.conv_id, turns[0].text, turns[1].text))
    return exchanges


def reference_perplexity(model: Any, exchanges: Sequence[Exchange], max_new_tokens: int) -> float | None:
    """exp(mean NLL per reply token) of the references given the rendered prompt; None unless a causal LM."""
    from worker.models.causal_lm import CausalLM

    if not isinstance(model, CausalLM) or model._model is None:
        return None
    import torch

    from attune.contract import ChatTurn
    from worker.models.base import GenerationRequest

    network, tokenizer = model._model, model._tokenizer
    total_nll, total_tokens = 0.0, 0
    with torch.no_grad():
        for exchange in exchanges:
            request = GenerationRequest("ppl", history=[ChatTurn(role="user", content=exchange.prompt)])
            prompt = model.prompt_ids(request, max_new_tokens)
            reply = tokenizer(exchange.reference, add_special_tokens=False).input_ids
            if not reply:
                continue
            ids = torch.tensor([prompt + reply], device=network.device)
            logits = network(input_ids=ids).logits[0, len(prompt) - 1 : -1].float()
            targets = ids[0, len(prompt) :]
            total_nll += torch.nn.functional.cross_entropy(logits, targets, reduction="sum").item()
            total_tokens += len(reply)
    return math.exp(total_nll / total_tokens) if total_tokens else None


async def evaluate(model: Any, exchanges: Sequence[Exchange], max_new_tokens: int) -> tuple[dict, list[str]]:
    started = time.perf_counter()
    replies = await generate_replies(model, [e.prompt for e in exchanges], max_new_tokens)
    generation_seconds = time.perf_counter() - started
    references = [e.reference for e in exchanges]
    perplexity = await asyncio.to_thread(reference_perplexity, model, exchanges, max_new_tokens)
    metrics = {
        "dataset": "empatheticdialogues/valid (first speaker turn -> listener reply)",
        "examples": len(exchanges),
        "bleu4": round(corpus_bleu(replies, references), 4),
        "rouge_l_f": round(mean_rouge_l(replies, references), 4),
        "reference_perplexity": None if perplexity is None else round(perplexity, 3),
        "mean_reply_words": round(sum(len(r.split()) for r in replies) / max(len(replies), 1), 1),
        "generation_seconds": round(generation_seconds, 1),
    }
    return metrics, replies


def print_table(metrics: dict) -> None:
    width = max(len(key) for key in metrics)
    for key, value in metrics.items():
        print(f"{key:<{width}}  {'n/a' if value is None else value}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="attune eval generation", description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument("--limit", type=int, default=200, help="validation conversations to use")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument(
        "--out", type=Path, default=None, help="where metrics.json goes (default: <home>/eval/generation/<model>)"
    )
    args = parser.parse_args(argv)

    exchanges = first_exchanges(args.limit)

    async def run() -> tuple[dict, list[str]]:
        model = await load_registry_model(args.models_file, args.home, args.model, args.device)
        try:
            return await evaluate(model, exchanges, args.max_new_tokens)
        finally:
            model.unload()

    from worker.models.base import ModelUnavailable

    try:
        metrics, replies = asyncio.run(run())
    except ModelUnavailable as error:
        print(f"unavailable: {error}", file=sys.stderr)
        return 3
    metrics = {"model": args.model, **metrics}
    out = args.out or args.home / "eval" / "generation" / args.model
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    samples = [
        {"conv_id": e.conv_id, "prompt": e.prompt, "reference": e.reference, "reply": r}
        for e, r in zip(exchanges, replies)
    ]
    (out / "replies.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples))
    print_table(metrics)
    print(f"written: {out / 'metrics.json'}")
    return 0
