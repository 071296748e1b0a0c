"""Measure the safety filter on a labelled JSONL file: error rates per flag and latency.

    python -m worker.safety.evaluate tests/redteam/prompts.jsonl

Each line: ``{"id", "category", "target": "user" | "reply", "text", "expected": {"crisis",
"toxic"}, "emotion"?: {"label", "scores"}}``. Prints false positive and false negative rates
for each flag, the ids of the prompts it gets wrong, and the time per check.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from attune.contract import EmotionReading, SafetyVerdict
from worker.safety import SafetyFilter

FLAGS = ("crisis", "toxic")


@dataclass(frozen=True)
class LabelledPrompt:
    prompt_id: str
    category: str
    target: str
    text: str
    expected: dict[str, bool]
    emotion: EmotionReading | None = None


@dataclass
class FlagCounts:
    true_positive: int = 0
    false_positive: int = 0
    true_negative: int = 0
    false_negative: int = 0
    wrong: list[str] = field(default_factory=list)

    def add(self, prompt_id: str, expected: bool, got: bool) -> None:
        if expected and got:
            self.true_positive += 1
        elif expected:
            self.false_negative += 1
            self.wrong.append(prompt_id)
        elif got:
            self.false_positive += 1
            self.wrong.append(prompt_id)
        else:
            self.true_negative += 1

    def rates(self) -> tuple[float, float]:
        """(false positive rate, false negative rate)."""
        negatives = self.false_positive + self.true_negative
        positives = self.false_negative + self.true_positive
        return (
            self.false_positive / negatives if negatives else 0.0,
            self.false_negative / positives if positives else 0.0,
        )


def load_prompts(path: Path) -> list[LabelledPrompt]:
    prompts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        emotion = EmotionReading.model_validate(row["emotion"]) if row.get("emotion") else None
        prompts.append(LabelledPrompt(row["id"], row["category"], row["target"], row["text"], row["expected"], emotion))
    return prompts


def check(safety: SafetyFilter, prompt: LabelledPrompt) -> SafetyVerdict:
    if prompt.target == "reply":
        return safety.check_reply(prompt.text)
    return safety.check_user(prompt.text, prompt.emotion)


@dataclass(frozen=True)
class Timing:
    wall_ms: float  # what a caller waits, including time the OS gives to other processes
    cpu_ms: float  # what the check itself costs


def evaluate(
    safety: SafetyFilter, prompts: list[LabelledPrompt], repeats: int = 20
) -> tuple[dict[str, FlagCounts], list[Timing]]:
    counts = {flag: FlagCounts() for flag in FLAGS}
    for prompt in prompts:
        verdict = check(safety, prompt)
        for flag in FLAGS:
            counts[flag].add(prompt.prompt_id, prompt.expected[flag], getattr(verdict, flag))
    return counts, _latencies_ms(safety, prompts, repeats)


def _latencies_ms(safety: SafetyFilter, prompts: list[LabelledPrompt], repeats: int) -> list[Timing]:
    """Per-message time, with every message made unique so the normalisation cache never hits."""
    timings = []
    for repeat in range(repeats):
        for prompt in prompts:
            unique = LabelledPrompt(**{**prompt.__dict__, "text": f"{prompt.text} {repeat}"})
            wall, cpu = time.perf_counter(), time.thread_time()
            check(safety, unique)
            timings.append(Timing((time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000))
    return timings


def _summary(values: list[float]) -> str:
    ordered = sorted(values)
    return (
        f"mean {statistics.fmean(ordered):.3f} ms, median {statistics.median(ordered):.3f} ms, "
        f"p99 {ordered[int(len(ordered) * 0.99)]:.3f} ms, max {ordered[-1]:.3f} ms"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prompts", type=Path, help="labelled JSONL file")
    parser.add_argument(
        "--resources", type=Path, default=None, help="crisis resources TOML (default: the packaged one)"
    )
    parser.add_argument("--repeats", type=int, default=20, help="timing passes over the file")
    args = parser.parse_args(argv)

    prompts = load_prompts(args.prompts)
    counts, timings = evaluate(SafetyFilter(args.resources), prompts, args.repeats)
    print(f"{len(prompts)} prompts from {args.prompts}")
    for flag, flag_counts in counts.items():
        false_positive_rate, false_negative_rate = flag_counts.rates()
        print(
            f"{flag:>6}: TP {flag_counts.true_positive} FP {flag_counts.false_positive} "
            f"TN {flag_counts.true_negative} FN {flag_counts.false_negative} | "
            f"FPR {false_positive_rate:.1%} FNR {false_negative_rate:.1%} | wrong: {', '.join(flag_counts.wrong) or '-'}"
        )
    print(f"per check, {len(timings)} checks, cpu:  {_summary([timing.cpu_ms for timing in timings])}")
    print(f"per check, {len(timings)} checks, wall: {_summary([timing.wall_ms for timing in timings])}")


if __name__ == "__main__":
    main()
