"""``attune eval generation --model A --model B``: reply quality of registry chat models, one table.

Held-out data (``--split valid``, the default): the opening speaker turn of EmpatheticDialogues
validation conversations, and one supporter turn from the middle of each held-out ESConv
dialogue (``training.data.esconv``'s ``valid`` slice, which no recipe trains on), answered with the
dialogue so far as history. ``--split dev`` carves the same kinds of exchanges from the *train*
splits (a seeded sample): that is where decoding settings are tuned, never on ``valid``.

Each model answers the way the worker would serve it: the request is built by the registry
(``worker.registry.generation_request``: the model's ``generation`` settings from models.toml,
its system prompt, the user's emotion read by the same classifiers), each request with its own
seed; a reply that hits the token limit is cut back to its last sentence as the worker cuts it.
Per dataset: corpus BLEU-4 (sacrebleu), ROUGE-L F, distinct-1/2, loop rate, mean words, share
of replies hitting the token limit, reference perplexity (causal and seq2seq kinds: teacher-forced NLL of the
real reply given the same prompt), mean emotion alignment between the user's message and the
reply (n/a without an emotion classifier artifact), and for kind ``qwen_heads`` the accuracy of
its emotion head (32 ED labels, ED) and strategy head (8 strategies, ESConv).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.common.paths import REPO_ROOT, attune_home
from training.data import empathetic, esconv
from training.eval.text_metrics import corpus_bleu, distinct_n, loops, mean_rouge_l

CONCURRENT_REQUESTS = 8  # below the engine's batch + queue limits, so no request is refused as busy
DEV_SEED = 13  # the seeded sample of train conversations that forms the dev split
ESCONV_HISTORY_TURNS = 8  # the dialogue so far, at most this many turns (the service sends 12 messages)
DATASETS = ("ed", "esconv")


@dataclass(frozen=True)
class Exchange:
    """A conversation so far (ending with the person's turn) and the real reply to it."""

    dataset: str  # "ed" | "esconv"
    conv_id: str
    history: tuple[tuple[str, str], ...]  # (role, text), role "user" | "assistant"
    reference: str
    emotion: str | None = None  # ED: the conversation's emotion (one of 32)
    strategy: str | None = None  # ESConv: the reference turn's support strategy (one of 8)

    @property
    def prompt(self) -> str:
        return self.history[-1][1]


@dataclass
class Reply:
    text: str
    finish_reason: str | None


def add_model_arguments(parser: argparse.ArgumentParser, several: bool = False) -> None:
    """The options every registry-backed eval target shares."""
    if several:
        parser.add_argument(
            "--model", action="append", required=True, help="a model name from the registry; repeat to compare several"
        )
    else:
        parser.add_argument("--model", required=True, help="a model name from the registry")
    parser.add_argument("--models-file", type=Path, default=REPO_ROOT / "models.toml")
    parser.add_argument("--home", type=Path, default=attune_home(), help="ATTUNE_HOME (default: %(default)s)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))


def _manager(models_file: Path, home: Path, device: str) -> Any:
    from worker.registry import ModelManager, Registry
    from worker.safety import SafetyFilter

    manager = ModelManager(
        Registry.from_file(models_file, home, device=device), keep_alive_s=math.inf, memory_budget_gb=1024
    )
    manager.check_drafts_with(SafetyFilter())  # as the worker does: qwen_heads' reflection checks its drafts
    return manager


async def load_registry_model(models_file: Path, home: Path, name: str, device: str = "cpu") -> Any:
    """The named chat model, loaded exactly as the worker loads it."""
    manager = _manager(models_file, home, device)
    if not manager.spec(name).chat:
        raise SystemExit(f"{name!r} is not a chat model")
    return await manager.get(name)


async def generate_replies(model: Any, prompts: Sequence[str], max_new_tokens: int) -> list[str]:
    """Greedy replies, one per single-turn prompt, in order (EQ-Bench's fixed decoding)."""
    from attune.contract import ChatTurn
    from worker.models.base import GenerationRequest

    requests = [
        GenerationRequest(
            request_id=f"eval-{i}",
            history=[ChatTurn(role="user", content=prompt)],
            temperature=0.0,
            top_p=1.0,
            top_k=0,
            max_new_tokens=max_new_tokens,
            seed=0,
        )
        for i, prompt in enumerate(prompts)
    ]
    return [reply.text for reply in await stream_all(model, requests)]


async def stream_all(model: Any, requests: Sequence[Any]) -> list[Reply]:
    """Every request's reply and finish reason, in order; run concurrently so the engine batches them."""
    gate = asyncio.Semaphore(CONCURRENT_REQUESTS)

    async def one(request: Any) -> Reply:
        async with gate:
            text, finish = "", None
            async for chunk in model.stream(request):
                text += chunk.text
                finish = chunk.finish_reason or finish
            return Reply(text.strip(), finish)

    return list(await asyncio.gather(*(one(request) for request in requests)))


# --- the held-out exchanges --------------------------------------------------------------------


def _ed_conversations(split: str, limit: int | None) -> list[empathetic.Conversation]:
    if split == "valid":
        return empathetic.load_conversations("valid", limit)
    conversations = empathetic.load_conversations("train")
    random.Random(DEV_SEED).shuffle(conversations)
    return conversations[:limit]


def ed_openings(split: str = "valid", limit: int | None = None) -> list[Exchange]:
    """The opening speaker turn and the listener's reply of each conversation (``valid``: file order)."""
    exchanges = []
    for conversation in _ed_conversations(split, None if limit is None else limit + limit // 10 + 5):
        turns = conversation.turns
        if len(turns) >= 2 and turns[0].role == "speaker" and turns[1].role == "listener":
            exchanges.append(
                Exchange(
                    "ed", conversation.conv_id, (("user", turns[0].text),), turns[1].text, emotion=conversation.emotion
                )
            )
    return exchanges[:limit]


def esconv_exchange(dialogue: esconv.Dialogue, conv_id: str) -> Exchange | None:
    """The supporter turn in the middle of a dialogue, with the dialogue before it as history.

    Consecutive turns of one speaker are joined (the chat template alternates roles); a joined
    supporter turn keeps its first strategy. History starts at the seeker's first turn kept.
    """
    merged: list[list[Any]] = []  # [role, text, strategy]
    for turn in dialogue.turns:
        role = "user" if turn.role == "seeker" else "assistant"
        if merged and merged[-1][0] == role:
            merged[-1][1] += " " + turn.text
        else:
            merged.append([role, turn.text, turn.strategy])
    candidates = [i for i, (role, _, _) in enumerate(merged) if role == "assistant" and i >= 2]
    if not candidates:
        return None
    index = candidates[len(candidates) // 2]
    history = merged[max(0, index - ESCONV_HISTORY_TURNS) : index]
    while history and history[0][0] != "user":
        history.pop(0)
    if not history:
        return None
    return Exchange(
        "esconv", conv_id, tuple((role, text) for role, text, _ in history), merged[index][1], strategy=merged[index][2]
    )


def esconv_exchanges(split: str = "valid", limit: int | None = None) -> list[Exchange]:
    """One exchange per held-out ESConv dialogue (``dev``: a seeded sample of the train dialogues)."""
    dialogues = esconv.load_dialogues("valid" if split == "valid" else "train")
    order = list(range(len(dialogues)))
    if split == "dev":
        random.Random(DEV_SEED).shuffle(order)
    exchanges = [e for i in order if (e := esconv_exchange(dialogues[i], f"esconv-{split}-{i}")) is not None]
    return exchanges[:limit]


# --- scoring -----------------------------------------------------------------------------------


def _turns(exchange: Exchange) -> list[Any]:
    from attune.contract import ChatTurn

    return [ChatTurn(role=role, content=text) for role, text in exchange.history]  # type: ignore[arg-type]


def reference_perplexity(model: Any, requests: Sequence[Any], references: Sequence[str]) -> float | None:
    """exp(mean NLL per reply token) of the references given each rendered prompt; None unless a causal LM
    or an encoder-decoder (whose encoder reads the prompt while its decoder is scored on the reply)."""
    from worker.models.causal_lm import CausalLM
    from worker.models.seq2seq import Seq2SeqLM

    if not isinstance(model, CausalLM) or model._model is None:
        return None
    import torch

    network, tokenizer = model._model, model._tokenizer
    total_nll, total_tokens = 0.0, 0
    with torch.no_grad():
        for request, reference in zip(requests, references, strict=True):
            prompt = model.prompt_ids(request, request.max_new_tokens)
            reply = tokenizer(reference, add_special_tokens=False).input_ids
            if not reply:
                continue
            if isinstance(model, Seq2SeqLM):
                target = torch.tensor([reply], device=network.device)
                prompt_ids = torch.tensor([prompt], device=network.device)
                logits = network(input_ids=prompt_ids, labels=target).logits[0].float()
            else:
                ids = torch.tensor([prompt + reply], device=network.device)
                logits, target = network(input_ids=ids).logits[0, len(prompt) - 1 : -1].float(), ids[:, len(prompt) :]
            total_nll += torch.nn.functional.cross_entropy(logits, target[0], reduction="sum").item()
            total_tokens += len(reply)
    return math.exp(total_nll / total_tokens) if total_tokens else None


def perplexity_twin(model: Any) -> Any:
    """For an entry served by llama.cpp, the same weights loaded on the PyTorch engine, which
    ``reference_perplexity`` can score (llama.cpp gives the engine no network); None otherwise."""
    from worker.models.causal_lm import CausalLM

    if not isinstance(model, CausalLM) or model._model is not None or model.spec.options.get("engine") != "llama_cpp":
        return None
    twin = type(model)(
        dataclasses.replace(model.spec, options={**model.spec.options, "engine": "torch"}), model.context
    )
    twin.load()
    return twin


def head_accuracy(model: Any, requests: Sequence[Any], exchanges: Sequence[Exchange]) -> dict[str, float | None]:
    """For kind ``qwen_heads``: how often the emotion head names the ED emotion and the strategy
    head names the ESConv strategy of the real reply, reading the prompt alone."""
    from worker.models.qwen_heads import QwenHeadsModel

    if not isinstance(model, QwenHeadsModel) or model._heads is None:
        return {"emotion_head_accuracy": None, "strategy_head_accuracy": None}
    labels = model._heads.labels
    hits = {"emotion": [], "strategy": []}
    for request, exchange in zip(requests, exchanges, strict=True):
        emotion_probs, strategy_probs = model.planning_probabilities(model.prompt_ids(request, request.max_new_tokens))
        if exchange.emotion in labels.emotions:
            hits["emotion"].append(labels.emotions[_argmax(emotion_probs)] == exchange.emotion)
        if exchange.strategy in labels.strategies:
            hits["strategy"].append(labels.strategies[_argmax(strategy_probs)] == exchange.strategy)
    return {f"{name}_head_accuracy": round(sum(h) / len(h), 4) if h else None for name, h in hits.items()}


def _argmax(values: Sequence[float]) -> int:
    return max(range(len(values)), key=values.__getitem__)


@dataclass
class Evaluation:
    """What one model did on one dataset."""

    metrics: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)


async def evaluate_dataset(
    model: Any, spec: Any, exchanges: Sequence[Exchange], reader: Any, decoding: dict[str, Any], scorer: Any = None
) -> Evaluation:
    """``scorer`` scores reference perplexity in ``model``'s place (its PyTorch twin), if given."""
    from worker.emotion import alignment
    from worker.registry import generation_request
    from worker.reply_text import cut_at_sentence

    user_emotions = await reader.read([e.prompt for e in exchanges]) if exchanges else []
    requests = []
    for index, (exchange, user_emotion) in enumerate(zip(exchanges, user_emotions, strict=True)):
        request = generation_request(spec, f"eval-{exchange.dataset}-{index}", _turns(exchange), None, user_emotion)
        for name, value in decoding.items():
            setattr(request, name, value)
        if request.seed is None:
            request.seed = index  # sampled replies, reproducible
        requests.append(request)
    started = time.perf_counter()
    replies = await stream_all(model, requests)
    seconds = time.perf_counter() - started
    # The worker ends a reply cut by the token limit at its last complete sentence; so does this.
    texts = [cut_at_sentence(r.text) if r.finish_reason == "length" else r.text for r in replies]
    reply_emotions = await reader.read(texts) if texts else []
    alignments = [a for u, r in zip(user_emotions, reply_emotions) if (a := alignment(u, r)) is not None]
    references = [e.reference for e in exchanges]
    perplexity = await asyncio.to_thread(reference_perplexity, scorer or model, requests, references)
    heads = await asyncio.to_thread(head_accuracy, model, requests, exchanges)
    count = max(len(texts), 1)
    metrics = {
        "examples": len(exchanges),
        "bleu4": round(corpus_bleu(texts, references), 2),
        "rouge_l_f": round(mean_rouge_l(texts, references), 4),
        "distinct_1": round(distinct_n(texts, 1), 4),
        "distinct_2": round(distinct_n(texts, 2), 4),
        "loop_rate": round(sum(map(loops, texts)) / count, 4),
        "mean_words": round(sum(len(t.split()) for t in texts) / count, 1),
        "length_limit_rate": round(sum(r.finish_reason == "length" for r in replies) / count, 4),
        "reference_perplexity": None if perplexity is None else round(perplexity, 2),
        "emotion_alignment": round(sum(alignments) / len(alignments), 4) if alignments else None,
        **heads,
        "generation_seconds": round(seconds, 1),
    }
    rows = [
        {
            "dataset": e.dataset,
            "conv_id": e.conv_id,
            "history": e.history,
            "reference": e.reference,
            "reply": text,
            "finish_reason": r.finish_reason,
            "loops": loops(text),
            "user_emotion": user.label if user else None,
            "reply_emotion": own.label if own else None,
        }
        for e, r, text, user, own in zip(exchanges, replies, texts, user_emotions, reply_emotions)
    ]
    return Evaluation(metrics, rows)


async def evaluate_model(
    manager: Any, name: str, datasets: dict[str, list[Exchange]], decoding: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from worker.emotion import EmotionReader
    from worker.registry import resolve_decoding

    spec = manager.spec(name)
    if not spec.chat:
        raise SystemExit(f"{name!r} is not a chat model")
    model = await manager.get(name)
    reader = EmotionReader(manager, "text-emotion", "journal-mood")
    resolved = {**vars(resolve_decoding(spec)), **decoding}
    result: dict[str, Any] = {
        "model": name,
        "kind": spec.kind,
        "version": manager.version(name),
        "decoding": resolved,
        "datasets": {},
    }
    rows: list[dict[str, Any]] = []
    scorer = None
    try:
        scorer = await asyncio.to_thread(perplexity_twin, model)  # loaded once for every dataset
        for dataset, exchanges in datasets.items():
            evaluation = await evaluate_dataset(model, spec, exchanges, reader, decoding, scorer)
            result["datasets"][dataset] = evaluation.metrics
            rows += evaluation.rows
    finally:
        if scorer is not None:
            scorer.unload()
        await manager.unload(name)
    return result, rows


async def evaluate_heads(manager: Any, name: str, datasets: dict[str, list[Exchange]]) -> dict[str, Any]:
    """Only the heads' accuracy (kind ``qwen_heads``), no generation: one forward pass per row, so the
    heads can be scored on far more held-out rows than a full evaluation affords on a CPU."""
    from worker.registry import generation_request

    spec = manager.spec(name)
    model = await manager.get(name)
    result: dict[str, Any] = {"model": name, "kind": spec.kind, "version": manager.version(name), "datasets": {}}
    try:
        for dataset, exchanges in datasets.items():
            requests = [generation_request(spec, f"heads-{e.dataset}-{i}", _turns(e)) for i, e in enumerate(exchanges)]
            started = time.perf_counter()
            heads = await asyncio.to_thread(head_accuracy, model, requests, exchanges)
            if all(value is None for value in heads.values()):
                raise SystemExit(f"{name!r} has no heads to score (kind {spec.kind})")
            result["datasets"][dataset] = {
                "examples": len(exchanges),
                **heads,
                "generation_seconds": round(time.perf_counter() - started, 1),
            }
    finally:
        await manager.unload(name)
    return result


COLUMNS = [  # (metric, header)
    ("examples", "n"),
    ("bleu4", "BLEU-4"),
    ("rouge_l_f", "ROUGE-L"),
    ("distinct_1", "dist-1"),
    ("distinct_2", "dist-2"),
    ("loop_rate", "loops"),
    ("mean_words", "words"),
    ("length_limit_rate", "at-limit"),
    ("reference_perplexity", "ref-ppl"),
    ("emotion_alignment", "align"),
    ("emotion_head_accuracy", "emo-head"),
    ("strategy_head_accuracy", "strat-head"),
    ("generation_seconds", "gen-s"),
]


def format_table(results: Sequence[dict[str, Any]]) -> str:
    """One row per model and dataset, one column per metric; n/a where a metric does not apply."""
    header = ["model", "dataset", *(title for _, title in COLUMNS)]
    body = [
        [result["model"], dataset, *("n/a" if metrics.get(key) is None else str(metrics[key]) for key, _ in COLUMNS)]
        for result in results
        for dataset, metrics in result["datasets"].items()
    ]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *body]
    )


def print_table(metrics: dict) -> None:
    width = max(len(key) for key in metrics)
    for key, value in metrics.items():
        print(f"{key:<{width}}  {'n/a' if value is None else value}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="attune eval generation", description=__doc__.splitlines()[0])
    add_model_arguments(parser, several=True)
    parser.add_argument(
        "--split",
        choices=("valid", "dev"),
        default="valid",
        help="valid: held-out ED validation + ESConv validation; dev: carved from the train splits",
    )
    parser.add_argument("--ed-limit", type=int, default=100, help="ED openings (0: skip ED)")
    parser.add_argument("--esconv-limit", type=int, default=50, help="ESConv dialogues (0: skip ESConv)")
    parser.add_argument("--greedy", action="store_true", help="temperature 0 instead of the model's own sampling")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a decoding setting for this run, e.g. repetition_penalty=1.2",
    )
    parser.add_argument(
        "--heads-only",
        action="store_true",
        help="score only the emotion/strategy heads of a qwen_heads model (no generation: one forward pass per row)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for <model>/metrics.json, replies.jsonl and table.txt (default: <home>/eval/generation)",
    )
    args = parser.parse_args(argv)
    decoding = _overrides(args.set, args.greedy)

    datasets = {}
    if args.ed_limit:
        datasets[f"ed_{args.split}"] = ed_openings(args.split, args.ed_limit)
    if args.esconv_limit:
        datasets[f"esconv_{args.split}"] = esconv_exchanges(args.split, args.esconv_limit)
    out = args.out or args.home / "eval" / "generation"

    from worker.models.base import ModelUnavailable

    async def run() -> list[dict[str, Any]]:
        manager = _manager(args.models_file, args.home, args.device)
        results = []
        for name in args.model:
            started = time.perf_counter()
            try:
                if args.heads_only:
                    result, rows = await evaluate_heads(manager, name, datasets), []
                else:
                    result, rows = await evaluate_model(manager, name, datasets, decoding)
            except ModelUnavailable as error:
                print(f"{name}: unavailable: {error}", file=sys.stderr)
                continue
            result["wall_seconds"] = round(time.perf_counter() - started, 1)
            folder = out / name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
            (folder / "replies.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
            results.append(result)
        return results

    results = asyncio.run(run())
    if not results:
        return 3
    table = format_table(results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.txt").write_text(table + "\n")
    print(table)
    print(f"written: {', '.join(str(out / r['model'] / 'metrics.json') for r in results)}")
    return 0 if len(results) == len(args.model) else 3


def _overrides(settings: Sequence[str], greedy: bool) -> dict[str, Any]:
    from worker.models.base import DECODING_FIELDS, Decoding

    chosen: dict[str, Any] = {"temperature": 0.0} if greedy else {}
    for setting in settings:
        name, _, value = setting.partition("=")
        if name not in DECODING_FIELDS or not value:
            raise SystemExit(f"--set {setting!r}: expected NAME=VALUE with NAME one of {', '.join(DECODING_FIELDS)}")
        chosen[name] = json.loads(value)
    Decoding(**chosen)  # fail now, not after the model has loaded
    return chosen
