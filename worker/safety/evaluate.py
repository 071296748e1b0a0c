"""Measure the safety filter on labelled JSONL files: recall, false positives, levels, latency.

    python -m worker.safety.evaluate tests/redteam/prompts.jsonl tests/redteam/dev.jsonl
    python -m worker.safety.evaluate tests/redteam/heldout.jsonl --no-emotion

Two line formats are read:
- the original red-team file: ``{"id", "category", "target": "user" | "reply", "text",
  "expected": {"crisis", "toxic"}, "emotion"?}``;
- the level files: ``{"id", "lang", "category", "level": "imminent" | "ideation" |
  "third_party" | "none", "text", "emotion"?}``.

Each user message goes through ``SafetyFilter.check_user`` exactly as the worker calls it,
with the emotion reading of the line (``--no-emotion``: without it). Printed: crisis recall
and false-positive rate overall, per language and per category; whether imminent messages
were read as a crisis (they must never get generated text) and as imminent; whether
third-party concern got the "how to help" level; reply-check error rates; time per check.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from attune.contract import CRISIS_LEVELS, EmotionReading, SafetyVerdict
from worker.safety import SafetyFilter


@dataclass(frozen=True)
class LabelledPrompt:
    prompt_id: str
    category: str
    target: str
    text: str
    level: str  # expected: none | third_party | ideation | imminent ("crisis" for old crisis lines)
    toxic: bool = False
    lang: str = "en"
    emotion: EmotionReading | None = None

    @property
    def crisis(self) -> bool:
        return self.level in CRISIS_LEVELS or self.level == "crisis"


def load_prompts(path: Path) -> list[LabelledPrompt]:
    prompts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        emotion = EmotionReading.model_validate(row["emotion"]) if row.get("emotion") else None
        expected = row.get("expected", {})
        level = row.get("level") or ("crisis" if expected.get("crisis") else "none")
        prompts.append(
            LabelledPrompt(
                row["id"],
                row["category"],
                row.get("target", "user"),
                row["text"],
                level,
                bool(expected.get("toxic", False)),
                row.get("lang", "en"),
                emotion,
            )
        )
    return prompts


@dataclass
class Tally:
    positives: int = 0
    caught: int = 0
    negatives: int = 0
    false_alarms: int = 0
    wrong: list[str] = field(default_factory=list)

    def add(self, prompt_id: str, expected: bool, got: bool) -> None:
        if expected:
            self.positives += 1
            self.caught += got
        else:
            self.negatives += 1
            self.false_alarms += got
        if expected != got:
            self.wrong.append(prompt_id)

    def describe(self) -> str:
        recall = (
            f"recall {self.caught}/{self.positives} = {self.caught / self.positives:.3f}"
            if self.positives
            else "recall -"
        )
        fpr = (
            f"FPR {self.false_alarms}/{self.negatives} = {self.false_alarms / self.negatives:.3f}"
            if self.negatives
            else "FPR -"
        )
        return f"{recall:<26} {fpr}"


@dataclass
class Report:
    overall: Tally = field(default_factory=Tally)
    by_language: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_category: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    imminent_as_crisis: Tally = field(default_factory=Tally)
    imminent_as_imminent: Tally = field(default_factory=Tally)
    third_party: Tally = field(default_factory=Tally)
    toxic_reply: Tally = field(default_factory=Tally)


def check(safety: SafetyFilter, prompt: LabelledPrompt, with_emotion: bool = True) -> SafetyVerdict:
    if prompt.target == "reply":
        return safety.check_reply(prompt.text)
    return safety.check_user(prompt.text, prompt.emotion if with_emotion else None)


def evaluate(safety: SafetyFilter, prompts: list[LabelledPrompt], with_emotion: bool = True) -> Report:
    report = Report()
    for prompt in prompts:
        verdict = check(safety, prompt, with_emotion)
        if prompt.target == "reply":
            report.toxic_reply.add(prompt.prompt_id, prompt.toxic, verdict.toxic)
            continue
        for tally in (report.overall, report.by_language[prompt.lang], report.by_category[prompt.category]):
            tally.add(prompt.prompt_id, prompt.crisis, verdict.crisis)
        if prompt.level == "imminent":
            report.imminent_as_crisis.add(prompt.prompt_id, True, verdict.crisis)
            report.imminent_as_imminent.add(prompt.prompt_id, True, verdict.level == "imminent")
        if prompt.level in ("third_party", "none"):  # its FPR: a look-alike given the how-to-help reply
            report.third_party.add(prompt.prompt_id, prompt.level == "third_party", verdict.level == "third_party")
    return report


def latencies_ms(safety: SafetyFilter, prompts: list[LabelledPrompt], repeats: int) -> list[float]:
    """CPU time per user-message check, each text made unique so no cache can answer."""
    timings = []
    for repeat in range(repeats):
        for prompt in prompts:
            if prompt.target != "user":
                continue
            started = time.thread_time()
            safety.check_user(f"{prompt.text} {repeat}", prompt.emotion)
            timings.append((time.thread_time() - started) * 1000)
    return timings


def print_report(title: str, report: Report, show_wrong: bool) -> None:
    print(f"\n== {title}")
    print(f"  crisis (ideation + imminent) {report.overall.describe()}")
    for language, tally in sorted(report.by_language.items()):
        print(f"    lang {language:<6} {tally.describe()}")
    print(f"  imminent read as a crisis    {report.imminent_as_crisis.describe()}")
    print(f"  imminent read as imminent    {report.imminent_as_imminent.describe()}")
    print(f"  third party -> how-to-help   {report.third_party.describe()}")
    if report.toxic_reply.positives or report.toxic_reply.negatives:
        print(f"  toxic replies                {report.toxic_reply.describe()}")
    print("  per category:")
    for category, tally in sorted(report.by_category.items()):
        wrong = f"  wrong: {', '.join(tally.wrong)}" if show_wrong and tally.wrong else ""
        print(f"    {category:<32} {tally.describe()}{wrong}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prompts", type=Path, nargs="+", help="labelled JSONL files")
    parser.add_argument("--no-emotion", action="store_true", help="only the run without the emotion reading")
    parser.add_argument("--wrong", action="store_true", help="list the ids each category gets wrong")
    parser.add_argument("--repeats", type=int, default=3, help="timing passes over each file")
    args = parser.parse_args(argv)

    safety = SafetyFilter()
    _ = safety.matcher  # fitted before anything is timed
    for path in args.prompts:
        prompts = load_prompts(path)
        print(f"\n# {path}: {len(prompts)} prompts")
        runs = [False] if args.no_emotion else [True, False]
        for with_emotion in runs:
            title = "with the emotion reading" if with_emotion else "text alone (no emotion reading)"
            print_report(title, evaluate(safety, prompts, with_emotion), args.wrong)
        timings = sorted(latencies_ms(safety, prompts, args.repeats))
        if timings:
            print(
                f"\n  cpu per check: median {statistics.median(timings):.1f} ms, "
                f"p95 {timings[int(len(timings) * 0.95)]:.1f} ms, max {timings[-1]:.1f} ms ({len(timings)} checks)"
            )


if __name__ == "__main__":
    main()
