"""Recipe ``journal-mood``: tag a journal entry with one of 6 moods (the founding MoodJournalAI plan).

A base encoder (MiniLM by default; the founding choice is roberta-base) is fine-tuned with
``AutoModelForSequenceClassification`` and the HF Trainer on the dair-ai emotion train file.
A stratified slice of that file picks the best checkpoint by macro-F1; the 2,000-row val file
is never trained on and is what we report: accuracy, macro-F1, ``classification_report.txt``
and ``confusion_matrix.png``.

    attune train journal-mood --config minilm
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from training.common.classification_metrics import (
    plot_confusion_matrix,
    single_label_scores,
    single_label_selection_metrics,
)
from training.common.run import Run
from training.common.text_classification import (
    ClassifierConfig,
    classification_loss,
    encode,
    encode_split,
    finish_with_results,
    fit,
    holdout_split,
    load_base,
    predict_logits,
    save_artifact,
)
from training.data import dair

DEFAULT_CONFIG = "minilm"
LABELS = dair.LABELS


@dataclass
class Config(ClassifierConfig):
    out_dir: Path = field(default=Path("var/models/journal-mood"), metadata={"help": "artifact directory"})


def run(config: Config) -> Path:
    train_rows = dair.load_split("train", config.train_limit)
    report_rows = dair.load_split("val", config.report_limit)
    run = Run.start(
        config.out_dir, config, [dair.split_path("train"), dair.split_path("val")], config.seed, resume=config.resume
    )
    model, tokenizer = load_base(config, LABELS, multi_label=False)

    targets = [LABELS.index(row.label) for row in train_rows]
    fit_rows, selection_rows = holdout_split(targets, config.selection_fraction, config.seed, stratify=True)
    texts = [row.text for row in train_rows]
    train_set, selection_set = encode_split(tokenizer, texts, targets, fit_rows, selection_rows, config.max_length)
    trainer = fit(
        config,
        run,
        model,
        tokenizer,
        train_set,
        selection_set,
        single_label_selection_metrics(LABELS),
        best_metric="macro_f1",
        loss=classification_loss(multi_label=False),
    )

    report_targets = [LABELS.index(row.label) for row in report_rows]
    report_set = encode(tokenizer, [row.text for row in report_rows], report_targets, config.max_length)
    logits, report_truth = predict_logits(trainer, report_set)
    predicted = logits.argmax(axis=1)
    scores = single_label_scores(report_truth, predicted, LABELS)
    run.log("report", trainer.state.global_step, accuracy=scores["accuracy"], macro_f1=scores["macro_f1"])

    save_artifact(config, trainer, tokenizer, LABELS, multi_label=False)
    out = config.out_dir
    (out / "classification_report.txt").write_text(scores["report"], encoding="utf-8")
    plot_confusion_matrix(
        report_truth,
        predicted,
        LABELS,
        out / "confusion_matrix.png",
        title=f"journal-mood on dair val ({len(report_rows)} rows)",
    )
    summary = {
        "report_split": "dair_emotion/val",
        "report_rows": len(report_rows),
        "accuracy": scores["accuracy"],
        "macro_f1": scores["macro_f1"],
        "per_label": scores["per_label"],
        "selection_rows": len(selection_rows),
        "train_rows": len(fit_rows),
        "best_selection_macro_f1": trainer.state.best_metric,
        "steps": trainer.state.global_step,
    }
    return finish_with_results(run, out, summary, _model_card(config, summary, scores["report"]))


def _model_card(config: Config, summary: dict, report: str) -> str:
    return f"""# journal-mood classifier

Tags a journal entry with one of 6 moods: {", ".join(LABELS)}.

- Base encoder: `{config.model}`, fine-tuned end to end (`AutoModelForSequenceClassification`, cross-entropy).
- Training data: dair-ai "emotion" (CARER, Saravia et al. 2018) train file, {summary["train_rows"]} rows;
  {summary["selection_rows"]} rows of the same file (stratified) picked the best checkpoint by macro-F1.
  Educational and research use only (see data/SOURCES.md).
- Reported on: the dair val file ({summary["report_rows"]} rows), never trained on:
  accuracy {summary["accuracy"]:.4f}, macro-F1 {summary["macro_f1"]:.4f}.
- Settings: max length {config.max_length}, lr {config.lr}, batch {config.batch_size}, epochs {config.epochs},
  max steps {config.max_steps}, seed {config.seed}. Full config and data hashes: `run_manifest.json`.

## Limitations
The corpus is short, lowercased English tweets-like sentences, labelled from hashtags; journal
entries that are long, mixed or sarcastic will be tagged less reliably, and "surprise" and
"love" have few training examples. Do not use it to make decisions about a person.

## Classification report (dair val)
```
{report}```
"""
