"""``attune eval eqbench --model NAME``: EQ-Bench v2 (Paech 2023) on a registry chat model.

Each question is a short dialogue; the model rates how strongly a character feels each of four
emotions (0-10). As in EQ-Bench since v2.1, the critique-and-revise step is off: the prompt's
revision instructions are removed and one set of scores is read. Scoring follows
``data/eqbench/SCORING.md`` (v2 "fullscale"): an answer counts only with exactly four
``Emotion: score`` pairs naming the four reference emotions; the benchmark score is 100 x the
mean question score / 10 over the parseable answers (100 = every answer exact, ~0 = chance), and
is reported next to the parse rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import lzma
import math
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.common.paths import DATA_DIR
from training.eval.generation import add_model_arguments, generate_replies, load_registry_model, print_table

DEFAULT_QUESTIONS = DATA_DIR / "eqbench" / "eq_bench_v2_questions_sample15.json.xz"

# What the v2 prompts ask for when revision is on, and is dropped when it is off.
_REVISION_SENTENCE = (
    " Then critique your answer by thinking it through step by step. Finally, give your revised scores."
)
_FIRST_PASS_HEADING = "First pass scores:\n"
_REVISION_BLOCK = re.compile(
    r"\n\nCritique: <your critique here>\n\nRevised scores:\n.*?(?=\n\n\[End of answer\])", re.DOTALL
)
# "Word: 7", also "**Word**: 7", "Word : 7.5" and "Self-conscious: 2"; decimals are kept as given.
_SCORE_PAIR = re.compile(r"([A-Za-z][A-Za-z'-]*)\s*:\s*(\d+(?:\.\d+)?)")

# v2 fullscale constants (SCORING.md): an S-curve for small differences and the scale factor
# that puts random answers near 0 and exact answers at 10.
_S_CURVE_HEIGHT, _S_CURVE_SLOPE, _S_CURVE_MIDPOINT = 6.5, 1.2, 4.0
_SCALE = 0.7477


@dataclass(frozen=True)
class Question:
    qid: str
    prompt: str
    reference: dict[str, float]  # the four emotions in prompt order -> fullscale 0-10 score


def load_questions(path: Path, limit: int | None = None) -> list[Question]:
    """EQ-Bench questions from a .json or .json.xz file, in file order; fullscale scores cast to numbers."""
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        raw: dict[str, dict[str, Any]] = json.load(handle)
    questions = []
    for qid, entry in list(raw.items())[:limit]:
        key = entry["reference_answer_fullscale"]
        reference = {str(key[f"emotion{i}"]): float(key[f"emotion{i}_score"]) for i in range(1, 5)}
        questions.append(Question(qid, entry["prompt"], reference))
    return questions


def without_revision(prompt: str) -> str:
    """The prompt with its critique / revised-scores instructions removed (EQ-Bench v2.1 default)."""
    prompt = prompt.replace(_REVISION_SENTENCE, "").replace(_FIRST_PASS_HEADING, "")
    return _REVISION_BLOCK.sub("", prompt)


def parse_scores(answer: str, emotions: list[str]) -> dict[str, float] | None:
    """The four ``Emotion: score`` ratings in ``answer``, or None unless there are exactly four naming ``emotions``.

    Markdown emphasis is ignored and names compare case-insensitively; beyond that the rule is
    the benchmark's: a fifth pair, a missing emotion or an unknown name makes the answer unparseable.
    """
    pairs = _SCORE_PAIR.findall(answer.replace("*", "").replace("_", ""))
    if len(pairs) != 4:
        return None
    wanted = {emotion.lower(): emotion for emotion in emotions}
    parsed = {wanted.get(name.lower()): float(score) for name, score in pairs}
    if set(parsed) != set(emotions):
        return None
    return parsed


def question_score(predicted: dict[str, float], reference: dict[str, float]) -> float:
    """v2 fullscale score of one parsed answer: 10 when exact, about 0 for a random answer, can be negative."""
    penalty = 0.0
    for emotion, truth in reference.items():
        difference = abs(predicted[emotion] - truth)
        if difference == 0:
            continue
        if difference <= 5:
            penalty += _S_CURVE_HEIGHT / (1 + math.exp(-_S_CURVE_SLOPE * (difference - _S_CURVE_MIDPOINT)))
        else:
            penalty += difference
    return 10 - _SCALE * penalty


def benchmark(answers: list[str], questions: list[Question]) -> dict[str, Any]:
    """The benchmark score (mean over parseable answers, x10) and the parse rate; score is None when nothing parsed."""
    scores = []
    for answer, question in zip(answers, questions, strict=True):
        parsed = parse_scores(answer, list(question.reference))
        if parsed is not None:
            scores.append(question_score(parsed, question.reference))
    return {
        "questions": len(questions),
        "parseable": len(scores),
        "parse_rate": round(len(scores) / len(questions), 4) if questions else 0.0,
        "eqbench_v2_score": round(10 * sum(scores) / len(scores), 2) if scores else None,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="attune eval eqbench", description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument(
        "--questions", type=Path, default=DEFAULT_QUESTIONS, help="EQ-Bench v2 questions (.json or .json.xz)"
    )
    parser.add_argument("--limit", type=int, default=None, help="answer only the first N questions")
    # Four "Emotion: n" lines take about 25 tokens; the rest is room for a preamble the model may add.
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument(
        "--out", type=Path, default=None, help="where metrics.json goes (default: <home>/eval/eqbench/<model>)"
    )
    args = parser.parse_args(argv)

    questions = load_questions(args.questions, args.limit)
    prompts = [without_revision(q.prompt) for q in questions]

    async def answer_all() -> list[str]:
        model = await load_registry_model(args.models_file, args.home, args.model, args.device)
        try:
            return await generate_replies(model, prompts, args.max_new_tokens)
        finally:
            model.unload()

    from worker.models.base import ModelUnavailable

    started = time.perf_counter()
    try:
        answers = asyncio.run(answer_all())
    except ModelUnavailable as error:
        print(f"unavailable: {error}", file=sys.stderr)
        return 3
    metrics = {
        "model": args.model,
        "question_file": args.questions.name,
        **benchmark(answers, questions),
        "max_new_tokens": args.max_new_tokens,
        "seconds": round(time.perf_counter() - started, 1),
    }
    out = args.out or args.home / "eval" / "eqbench" / args.model
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    answers_log = [
        {"qid": q.qid, "reference": q.reference, "answer": a, "parsed": parse_scores(a, list(q.reference))}
        for q, a in zip(questions, answers)
    ]
    (out / "answers.jsonl").write_text("".join(json.dumps(row) + "\n" for row in answers_log))
    print_table(metrics)
    print(f"written: {out / 'metrics.json'}")
    return 0
