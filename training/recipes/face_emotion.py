"""Recipe ``face-emotion``: the emotion of the face in a chat message's photo (the founding EmotiBot plan).

``google/vit-base-patch16-224-in21k`` gets a new 7-class head (FER2013's classes) and is fine-tuned
in the founding project's two stages: stage ``head`` trains the head alone (backbone frozen, lr 5e-4,
2 epochs), stage ``full`` every layer (lr 2e-5, 3 epochs), at 224x224: the checkpoint's own image
processor makes the 48x48 grey faces RGB, resizes and normalises them; training faces are mirrored
at random. Each stage keeps its best checkpoint by macro-F1 on ``val`` (FER2013's PublicTest, or a
stratified slice of train for an image folder without one); we report on ``test`` (PrivateTest),
never trained on or selected with: accuracy, macro-F1, ``classification_report.txt`` and
``confusion_matrix.png``. The founding project reports macro-F1 0.55-0.65 (on a GPU).

    attune train face-emotion --config vit-base --set data=/path/to/fer2013.csv

The artifact (a ``save_pretrained`` ViTForImageClassification + image processor) is what the
worker's ``image_emotion`` kind serves (``worker/models/image_classifier.py``).
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import (
    AutoImageProcessor,
    Trainer,
    ViTForImageClassification,
)

from training.common.classification_metrics import (
    plot_confusion_matrix,
    single_label_scores,
    single_label_selection_metrics,
)
from training.common.config import ConfigError
from training.common.hf import RunMetricsCallback, selection_arguments
from training.common.paths import MissingWeights, expand_placeholders
from training.common.run import Run
from training.common.text_classification import finish_with_results, holdout_split
from training.data import fer2013

DEFAULT_CONFIG = "vit-base"
LABELS = fer2013.LABELS
CHECKPOINTS_DIR = "checkpoints"
FOUNDING_MACRO_F1 = (0.55, 0.65)


@dataclass
class Config:
    model: str = field(
        default="google/vit-base-patch16-224-in21k",
        metadata={"help": "base ViT: a hub id (in the local Hugging Face cache) or a local dir"},
    )
    data: str = field(
        default="{data}/fer2013/fer2013.csv",
        metadata={"help": "FER2013: the Kaggle fer2013.csv, or a folder with train/<class>/ and test/<class>/ images"},
    )
    out_dir: str = field(
        default="{home}/models/face-emotion",
        metadata={"help": "artifact directory ({home}: ATTUNE_HOME, where the worker's models.toml entry looks)"},
    )
    image_size: int = field(default=224, metadata={"help": "faces are resized to this square (the base's size)"})
    head_lr: float = field(default=5e-4, metadata={"help": "stage 1 (head only, backbone frozen): learning rate"})
    head_epochs: float = field(default=2.0, metadata={"help": "stage 1: passes over train"})
    full_lr: float = field(default=2e-5, metadata={"help": "stage 2 (every layer): learning rate"})
    full_epochs: float = field(default=3.0, metadata={"help": "stage 2: passes over train"})
    max_steps: int = field(default=-1, metadata={"help": "stop each stage after this many steps (-1: use epochs)"})
    batch_size: int = field(default=32, metadata={"help": "training batch size"})
    eval_batch_size: int = field(default=64, metadata={"help": "batch size for evaluation and prediction"})
    warmup: float = field(default=0.1, metadata={"help": "warm-up of each stage, as a fraction of its steps"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    mirror: bool = field(default=True, metadata={"help": "mirror training faces left-right at random"})
    train_limit: int | None = field(default=None, metadata={"help": "use only the first N training faces"})
    val_limit: int | None = field(default=None, metadata={"help": "select on only the first N val faces"})
    test_limit: int | None = field(default=None, metadata={"help": "report on only the first N test faces"})
    selection_fraction: float = field(
        default=0.1,
        metadata={"help": "stratified slice of train that picks checkpoints when the data has no val split"},
    )
    eval_steps: int = field(default=0, metadata={"help": "evaluate and checkpoint every N steps (0: every epoch)"})
    logging_steps: int = field(default=25, metadata={"help": "log the training loss every N steps"})
    seed: int = field(default=42, metadata={"help": "seed for every RNG, the split, the data order and mirroring"})
    progress: bool = field(default=True, metadata={"help": "tqdm progress bars"})
    threads: int = field(default=0, metadata={"help": "torch CPU threads (0: torch's default)"})


class Faces(torch.utils.data.Dataset):
    """Decoded faces and their labels; the collator turns a batch into pixel values."""

    def __init__(self, faces: list[fer2013.Face], mirror: bool = False, seed: int = 0) -> None:
        self.faces, self.mirror, self.rng = faces, mirror, random.Random(seed)

    def __len__(self) -> int:
        return len(self.faces)

    def __getitem__(self, index: int) -> dict[str, Any]:
        face = self.faces[index]
        image = face.image
        if self.mirror and self.rng.random() < 0.5:
            from PIL import ImageOps

            image = ImageOps.mirror(image)
        return {"image": image, "labels": face.label}


class ProcessFaces:
    """The data collator: the checkpoint's image processor over a batch of faces."""

    def __init__(self, processor: Any) -> None:
        self.processor = processor

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        pixels = self.processor(images=[row["image"] for row in rows], return_tensors="pt")["pixel_values"]
        return {"pixel_values": pixels, "labels": torch.tensor([row["labels"] for row in rows])}


class _StageRun:
    """The run as one stage logs to it: steps continue the previous stage's, splits carry the stage's name."""

    def __init__(self, run: Run, stage: str, offset: int) -> None:
        self.run, self.stage, self.offset = run, stage, offset

    def log(self, split: str, step: int, **values: float) -> None:
        self.run.log(f"{self.stage}-{split}", step + self.offset, **values)


def run(config: Config) -> Path:
    data_path = Path(expand_placeholders(config.data))
    files, folder_digest = fer2013.fingerprint_files(data_path)
    splits = fer2013.load(data_path, {"train": config.train_limit, "val": config.val_limit, "test": config.test_limit})
    out = Path(expand_placeholders(config.out_dir))
    run = Run.start(out, config, files, config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    model, processor = load_base(config)

    train, selection = splits["train"], splits.get("val")
    if not selection:
        fit_rows, held_rows = holdout_split(
            [f.label for f in train], config.selection_fraction, config.seed, stratify=True
        )
        train, selection = [train[i] for i in fit_rows], [train[i] for i in held_rows]
    train_set = Faces(train, mirror=config.mirror, seed=config.seed)
    selection_set = Faces(selection)

    trainable = set_backbone_trainable(model, False)
    trainer = _fit(
        config, out, run, model, train_set, selection_set, processor, "head", config.head_lr, config.head_epochs, 0
    )
    head_steps = trainer.state.global_step
    set_backbone_trainable(model, True)
    trainer = _fit(
        config,
        out,
        run,
        model,
        train_set,
        selection_set,
        processor,
        "full",
        config.full_lr,
        config.full_epochs,
        head_steps,
    )

    test = splits["test"]
    output = trainer.predict(Faces(test))
    truth, predicted = np.asarray(output.label_ids), np.asarray(output.predictions).argmax(axis=1)
    scores = single_label_scores(truth, predicted, LABELS)
    run.log("report", head_steps + trainer.state.global_step, accuracy=scores["accuracy"], macro_f1=scores["macro_f1"])

    trainer.save_model(str(out))
    processor.save_pretrained(str(out))
    (out / "training_args.bin").unlink(missing_ok=True)
    shutil.rmtree(out / CHECKPOINTS_DIR, ignore_errors=True)
    (out / "classification_report.txt").write_text(scores["report"], encoding="utf-8")
    plot_confusion_matrix(
        truth,
        predicted,
        LABELS,
        out / "confusion_matrix.png",
        title=f"face-emotion on FER2013 test ({len(test)} faces)",
    )
    summary = {
        "data_layout": fer2013.layout(data_path),
        "data_folder_sha256": folder_digest,
        "report_split": "test",
        "report_rows": len(test),
        "accuracy": scores["accuracy"],
        "macro_f1": scores["macro_f1"],
        "per_label": scores["per_label"],
        "founding_macro_f1": list(FOUNDING_MACRO_F1),
        "train_rows": len(train),
        "selection_rows": len(selection),
        "head_only_trainable_parameters": trainable,
        "head_steps": head_steps,
        "full_steps": trainer.state.global_step,
        "best_selection_macro_f1": trainer.state.best_metric,
    }
    return finish_with_results(run, out, summary, _model_card(config, summary, scores["report"]))


def load_base(config: Config) -> tuple[ViTForImageClassification, Any]:
    source = expand_placeholders(config.model)
    try:
        processor = AutoImageProcessor.from_pretrained(
            source, size={"height": config.image_size, "width": config.image_size}
        )
        model = ViTForImageClassification.from_pretrained(
            source,
            num_labels=len(LABELS),
            id2label=dict(enumerate(LABELS)),
            label2id={label: i for i, label in enumerate(LABELS)},
            ignore_mismatched_sizes=True,
        )
    except OSError as error:
        raise MissingWeights(
            f"base model {source!r} is unavailable here (no local directory, hub unreachable or offline); "
            f"download it on a machine with access (`HF_HUB_OFFLINE=0 hf download {source}`) or pass "
            "--set model=/path/to/it"
        ) from error
    if model.config.image_size != config.image_size:
        raise ConfigError(
            f"image_size {config.image_size} does not match the base's {model.config.image_size} "
            "(its position embeddings are sized for it)"
        )
    return model, processor


def set_backbone_trainable(model: ViTForImageClassification, trainable: bool) -> int:
    """Freeze (stage 1) or thaw (stage 2) everything but the head; returns how many parameters will train."""
    for parameter in model.vit.parameters():
        parameter.requires_grad = trainable
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _fit(
    config: Config,
    out: Path,
    run: Run,
    model: ViTForImageClassification,
    train: Faces,
    selection: Faces,
    processor: Any,
    stage: str,
    lr: float,
    epochs: float,
    step_offset: int,
) -> Trainer:
    args = selection_arguments(
        out / CHECKPOINTS_DIR / stage, config, lr=lr, epochs=epochs, remove_unused_columns=False
    )  # the collator needs the images
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=selection,
        data_collator=ProcessFaces(processor),
        compute_metrics=single_label_selection_metrics(LABELS),
        callbacks=[RunMetricsCallback(_StageRun(run, stage, step_offset))],  # type: ignore[arg-type]
    )
    trainer.train()
    return trainer


def _model_card(config: Config, summary: dict[str, Any], report: str) -> str:
    low, high = FOUNDING_MACRO_F1
    return f"""# face-emotion classifier

Reads the emotion of the face in a chat message's photo: {", ".join(LABELS)} (FER2013's classes).

- Base: `{config.model}` with a new 7-class head (`ViTForImageClassification`), {config.image_size}x{config.image_size}.
- Two stages (the founding EmotiBot recipe): head only, backbone frozen, lr {config.head_lr}, {config.head_epochs:g}
  epochs ({summary["head_steps"]} steps); then every layer, lr {config.full_lr}, {config.full_epochs:g} epochs
  ({summary["full_steps"]} steps). Batch {config.batch_size}, warm-up {config.warmup}, weight decay
  {config.weight_decay}, random mirroring {config.mirror}, seed {config.seed}, max steps per stage {config.max_steps}.
- Data: FER2013 ({summary["data_layout"]} layout), {summary["train_rows"]} training faces; {summary["selection_rows"]}
  faces picked each stage's best checkpoint by macro-F1. Research use only (the Kaggle challenge's terms).
- Reported on the test split ({summary["report_rows"]} faces), never trained on:
  accuracy {summary["accuracy"]:.4f}, macro-F1 {summary["macro_f1"]:.4f}. The founding project reports
  macro-F1 {low}-{high} for this recipe on a GPU. Full config and data hashes: `run_manifest.json`.

## Limitations
FER2013 is 48x48 grey, mostly frontal faces scraped from the web, with noisy labels and few
"disgust" examples; a webcam photo is read whole (no face detection or cropping here), so a small or
turned face is read less reliably. A face is not a feeling: Attune fuses this reading with the
text's and never uses it alone, nor for any decision about a person.

## Classification report (test)
```
{report}```
"""
