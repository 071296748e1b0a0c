"""Bridges between the Hugging Face Trainer and ``Run``: its logs become ``metrics.jsonl`` lines,
its steps a first-run build's progress; and the arguments every classifier recipe trains with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from attune import build_progress
from training.common.run import Run


class RunMetricsCallback(TrainerCallback):
    """Each Trainer log (train loss, eval metrics) is appended to the run's ``metrics.jsonl``."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, float] | None = None,
        **kwargs: object,
    ) -> None:
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

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: object
    ) -> None:
        if state.max_steps:
            build_progress.report(
                state.global_step / state.max_steps, f"training, step {state.global_step:,} of {state.max_steps:,}"
            )


def selection_arguments(output_dir: Path, config: Any, *, lr: float, epochs: float, **extra: Any) -> TrainingArguments:
    """The Trainer arguments of a classifier recipe: evaluate on the selection split every epoch (or every
    ``config.eval_steps``), keep the checkpoint with the best ``macro_f1``, log to nothing but the run.

    ``config`` is the recipe's Config (max_steps, batch sizes, warmup, weight_decay, eval_steps,
    logging_steps, seed, progress); ``extra`` adds or overrides arguments.
    """
    strategy = "steps" if config.eval_steps else "epoch"
    arguments: dict[str, Any] = {
        "output_dir": str(output_dir),
        "num_train_epochs": epochs,
        "max_steps": config.max_steps,
        "learning_rate": lr,
        "per_device_train_batch_size": config.batch_size,
        "per_device_eval_batch_size": config.eval_batch_size,
        "warmup_steps": config.warmup,
        "weight_decay": config.weight_decay,
        "eval_strategy": strategy,
        "save_strategy": strategy,
        "eval_steps": config.eval_steps or None,
        "save_steps": config.eval_steps or None,
        "save_total_limit": 2,
        "load_best_model_at_end": True,
        "metric_for_best_model": "macro_f1",
        "greater_is_better": True,
        "logging_steps": config.logging_steps,
        "logging_first_step": True,
        "seed": config.seed,
        "data_seed": config.seed,
        "disable_tqdm": not config.progress,
        "report_to": "none",
        "dataloader_num_workers": 0,
        "dataloader_pin_memory": False,
        "label_names": ["labels"],
    }
    return TrainingArguments(**(arguments | extra))
