"""Bridges between the Hugging Face Trainer and ``Run``: its logs become ``metrics.jsonl`` lines,
its steps a first-run build's progress."""

from __future__ import annotations

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from attune import build_progress
from training.common.run import Run


class RunMetricsCallback(TrainerCallback):
    """Each Trainer log (train loss, eval metrics) is appended to the run's ``metrics.jsonl``."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
               logs: dict[str, float] | None = None, **kwargs: object) -> None:
        if not logs:
            return
        numeric = {k: v for k, v in logs.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        evals = {k.removeprefix("eval_"): v for k, v in numeric.items() if k.startswith("eval_")}
        if evals:
            self.run.log("eval", state.global_step, **evals)
        elif "loss" in numeric:
            self.run.log("train", state.global_step, **numeric)


class BuildProgressCallback(TrainerCallback):
    """Each optimizer step moves the tracked build's progress (``attune.build_progress``), if any."""

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                    **kwargs: object) -> None:
        if state.max_steps:
            build_progress.report(state.global_step / state.max_steps,
                                  f"training, step {state.global_step:,} of {state.max_steps:,}")
