"""Latency of the retrieval responder once loaded, and (optionally) P@1,100 of its encoder on all of validation.

    python scripts/bench_retrieval.py                    # index in $ATTUNE_HOME/models/retrieval
    python scripts/bench_retrieval.py --index DIR --messages 200 --p-at-1

Each of the ``--messages`` turns is a validation speaker utterance (never in the index), sent
with the emotion of its conversation as the classifier reading, in a conversation that grows
so the no-repeat rule has history to check. Timed: ``respond`` end to end (query embedding,
scoring, emotion boost, pick) as the worker runs it, after one warm-up call. Wall time suffers
on a shared machine; the process CPU time per answer is what an idle core would take (with
OMP_NUM_THREADS=1 it is the single-core latency).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from attune.contract import ChatTurn, EmotionReading
from training.common.config import load_config
from training.common.paths import attune_home, configs_dir
from training.data.empathetic import load_conversations
from training.recipes import retrieval as recipe
from worker.models.base import GenerationRequest, LoadContext, ModelSpec
from worker.models.retrieval import RetrievalResponder

HISTORY_TURNS = 6  # a conversation restarts after this many user turns


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def bench_latency(responder: RetrievalResponder, count: int) -> tuple[list[float], list[float]]:
    """(wall ms, process CPU ms) per answer."""
    conversations = load_conversations("valid")
    messages = [(c.turns[0].text, c.emotion) for c in conversations][:count]
    responder.respond(GenerationRequest("warm-up", [ChatTurn(role="user", content="hello")]))
    wall, cpu, history = [], [], []
    for i, (text, emotion) in enumerate(messages):
        if i % HISTORY_TURNS == 0:
            history = []
        history.append(ChatTurn(role="user", content=text))
        request = GenerationRequest(
            f"bench-{i}", list(history), user_emotion=EmotionReading(label=emotion, scores={emotion: 1.0})
        )
        start, start_cpu = time.perf_counter(), time.process_time()
        reply = responder.respond(request)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        history.append(ChatTurn(role="assistant", content=reply.text))
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=attune_home() / "models" / "retrieval")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--p-at-1", action="store_true", help="also evaluate P@1,100 on every validation pair")
    args = parser.parse_args()

    responder = RetrievalResponder(
        ModelSpec(name="retrieval", kind="retrieval", weights=str(args.index)), LoadContext(home=attune_home())
    )
    start = time.perf_counter()
    responder.load()
    print(
        f"index {args.index} ({responder.version}): loaded in {time.perf_counter() - start:.1f} s, "
        f"{responder.memory_bytes() / 2**20:.0f} MiB"
    )
    wall, cpu = bench_latency(responder, args.messages)
    for name, timings in (("wall", wall), ("cpu", cpu)):
        print(
            f"respond {name} time over {len(timings)} messages: p50 {percentile(timings, 0.5):.1f} ms, "
            f"p95 {percentile(timings, 0.95):.1f} ms, mean {statistics.fmean(timings):.1f} ms"
        )
    if args.p_at_1:
        config = load_config(
            recipe.Config, configs_dir("retrieval") / f"{recipe.DEFAULT_CONFIG}.toml", ["eval_conversations=none"]
        )
        print(f"validation: {recipe.evaluate(responder.encoder, config)}")


if __name__ == "__main__":
    main()
