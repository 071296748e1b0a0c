"""LoRA fine-tune of Flan-T5 as EmotiBot's responder: the adapter the worker's ``seq2seq`` kind serves.

Data: every EmpatheticDialogues listener turn as the reply to the speaker turn before it (and,
with ``use_esconv``, every ESConv supporter turn as the reply to the seeker's), each source the
founding prompt ``emotibot_prompt(emotion, message)`` (``worker.models.seq2seq``: the one the
worker builds at serving time), the emotion being ED's label of the conversation or ESConv's
``emotion_type`` of the dialogue.

Splits: ``dev`` is carved from the train conversations (a seeded sample of ``dev_fraction``, by
conversation, never by turn): its loss is logged during training. The reported ROUGE-L F and
corpus BLEU-4 (sacrebleu) are measured on ``valid`` (ED's validation conversations and ESConv's
held-out 10%), which the recipe never trains or selects on, with replies decoded greedily by
``model.generate``.

The artifact is a PEFT adapter directory (plus the tokenizer, ``metrics.jsonl``,
``run_manifest.json``, ``held_out_replies.jsonl``, the loss curves and a model card): what a
registry entry of kind ``seq2seq`` loads with ``weights`` = the base and ``adapter`` = this directory.
"""

from __future__ import annotations

import json
import math
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch

from training.common.paths import MissingWeights, expand_placeholders
from training.common.run import Run
from training.data import empathetic, esconv
from training.eval.text_metrics import corpus_bleu, mean_rouge_l
from training.recipes import psychotherapist as sft
from worker.models.seq2seq import EMOTIBOT_PROMPT, emotibot_prompt

DEFAULT_CONFIG = "flan-t5-base"
IGNORE_INDEX = -100
REPLIES_FILE = "held_out_replies.jsonl"
T = TypeVar("T")


@dataclass
class Config:
    base_model: str = field(
        default="google/flan-t5-base",
        metadata={"help": "hub id or local directory of the encoder-decoder base ({home} and {pkg:NAME} expand)"},
    )
    lora_r: int = field(default=8, metadata={"help": "LoRA rank (EmotiBot: 8)"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha (EmotiBot: 32)"})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout"})
    target_modules: list[str] = field(
        default_factory=lambda: ["q", "v"],
        metadata={"help": "T5 attention projections that get LoRA adapters (EmotiBot: q and v)"},
    )
    prompt_template: str = field(
        default=EMOTIBOT_PROMPT,
        metadata={
            "help": "the encoder's input, with {emotion} and {text}; a different one must also be set as the "
            "registry entry's options.prompt_template"
        },
    )
    use_esconv: bool = field(default=False, metadata={"help": "add ESConv supporter turns to EmpatheticDialogues"})
    empathetic_limit: int | None = field(default=None, metadata={"help": "ED train conversations (None: all)"})
    esconv_limit: int | None = field(default=None, metadata={"help": "ESConv train dialogues (None: all)"})
    dev_fraction: float = field(
        default=0.05,
        metadata={"help": "share of the train conversations carved out as dev (eval loss during training)"},
    )
    valid_limit: int | None = field(
        default=None, metadata={"help": "held-out conversations/dialogues per dataset for ROUGE-L and BLEU (None: all)"}
    )
    max_source_length: int = field(default=256, metadata={"help": "encoder tokens per example"})
    max_target_length: int = field(default=64, metadata={"help": "reply tokens per example (and generated)"})
    lr: float = field(default=5e-4, metadata={"help": "peak learning rate"})
    epochs: float = field(default=3.0, metadata={"help": "passes over the training examples"})
    max_steps: int = field(default=-1, metadata={"help": "optimizer steps; overrides epochs when > 0"})
    batch_size: int = field(default=16, metadata={"help": "examples per device step"})
    grad_accum: int = field(default=1, metadata={"help": "gradient accumulation steps"})
    warmup_steps: int = field(default=100, metadata={"help": "linear warm-up steps"})
    logging_steps: int = field(default=50, metadata={"help": "log the train loss every N steps"})
    eval_steps: int = field(default=500, metadata={"help": "dev loss every N steps"})
    num_beams: int = field(default=1, metadata={"help": "beams when generating the held-out replies (1: greedy)"})
    eval_batch_size: int = field(default=32, metadata={"help": "held-out examples per generate call"})
    group_by_length: bool = field(default=False, metadata={"help": "batch examples of similar length together"})
    save_steps: int = field(
        default=0,
        metadata={"help": "Trainer checkpoints every N steps into out_dir/trainer, removed at the end (0: none)"},
    )
    out_dir: str = field(default="{home}/models/emotibot", metadata={"help": "artifact directory"})
    seed: int = field(default=13, metadata={"help": "seed for the dev carve, data order, LoRA init and dropout"})


@dataclass(frozen=True)
class Pair:
    """One reply and what the encoder reads for it."""

    dataset: str  # "ed" | "esconv"
    source: str  # the founding prompt: emotion + the person's message
    target: str


def pairs(examples: list[sft.ReplyExample], dataset: str, template: str) -> list[Pair]:
    """Each reply to the message right before it, that message framed by the founding prompt."""
    out = []
    for example in examples:
        emotion = example.emotion or example.dialogue_emotion or ""
        out.append(Pair(dataset, emotibot_prompt(emotion, example.history[-1]["content"], template), example.reply))
    return out


def carve_dev(items: list[T], fraction: float, seed: int) -> tuple[list[T], list[T]]:
    """(train, dev): a seeded sample of whole conversations (at least one when there are two) becomes dev."""
    if not 0 <= fraction < 1:
        raise ValueError(f"dev_fraction must be in [0, 1), got {fraction}")
    count = min(len(items) - 1, max(1, round(len(items) * fraction))) if fraction else 0
    dev = set(random.Random(seed).sample(range(len(items)), max(0, count)))
    return [x for i, x in enumerate(items) if i not in dev], [x for i, x in enumerate(items) if i in dev]


def load_pairs(config: Config) -> dict[str, list[Pair]]:
    """The train, dev and held-out (valid) pairs."""
    template = config.prompt_template
    train_ed, dev_ed = carve_dev(
        empathetic.load_conversations("train", config.empathetic_limit), config.dev_fraction, config.seed
    )
    splits = {
        "train": pairs(sft.empathetic_examples(train_ed, 1), "ed", template),
        "dev": pairs(sft.empathetic_examples(dev_ed, 1), "ed", template),
        "valid": pairs(
            sft.empathetic_examples(empathetic.load_conversations("valid", config.valid_limit), 1), "ed", template
        ),
    }
    if config.use_esconv:
        train_es, dev_es = carve_dev(
            esconv.load_dialogues("train", config.esconv_limit), config.dev_fraction, config.seed
        )
        splits["train"] += pairs(sft.esconv_examples(train_es, 1), "esconv", template)
        splits["dev"] += pairs(sft.esconv_examples(dev_es, 1), "esconv", template)
        splits["valid"] += pairs(
            sft.esconv_examples(esconv.load_dialogues("valid", config.valid_limit), 1), "esconv", template
        )
    return splits


def encode(pairs_: list[Pair], tokenizer: Any, config: Config) -> list[dict[str, list[int]]]:
    sources = tokenizer([p.source for p in pairs_], truncation=True, max_length=config.max_source_length)
    targets = tokenizer(text_target=[p.target for p in pairs_], truncation=True, max_length=config.max_target_length)
    return [{"input_ids": s, "labels": t} for s, t in zip(sources["input_ids"], targets["input_ids"])]


def collate(features: list[dict[str, list[int]]], pad_token_id: int) -> dict[str, torch.Tensor]:
    """Right-pad sources with the pad id and labels with -100 (T5 shifts labels into decoder inputs itself)."""

    def padded(key: str, fill: int) -> torch.Tensor:
        width = max(len(f[key]) for f in features)
        return torch.tensor([f[key] + [fill] * (width - len(f[key])) for f in features])

    input_ids = padded("input_ids", pad_token_id)
    mask = torch.tensor(
        [[1] * len(f["input_ids"]) + [0] * (input_ids.shape[1] - len(f["input_ids"])) for f in features]
    )
    return {"input_ids": input_ids, "attention_mask": mask, "labels": padded("labels", IGNORE_INDEX)}


def load_base(config: Config) -> tuple[Any, Any]:
    """The base and its tokenizer through the worker's loader (the path kind ``seq2seq`` serves with)."""
    from training.common.paths import attune_home
    from worker.models.base import LoadContext, ModelSpec, ModelUnavailable
    from worker.models.causal_lm import load_pretrained

    device = "cuda" if torch.cuda.is_available() else "cpu"
    spec = ModelSpec(
        name="training-base",
        kind="seq2seq",
        weights=expand_placeholders(config.base_model),
        device=device,
        options={"num_threads": torch.get_num_threads()},
    )
    try:
        return load_pretrained(spec, LoadContext(home=attune_home(), device=device))
    except ModelUnavailable as error:
        raise MissingWeights(
            f"{error}. On a machine that can reach the hub: `HF_HUB_OFFLINE=0 hf download "
            f"{config.base_model}`, or pass --set base_model=/path/to/it"
        ) from error


def attach_lora(model: Any, config: Config) -> Any:
    from peft import LoraConfig, TaskType, get_peft_model

    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.target_modules),
        task_type=TaskType.SEQ_2_SEQ_LM,
    )
    return get_peft_model(model, lora)


def generate_replies(model: Any, tokenizer: Any, held_out: list[Pair], config: Config) -> list[str]:
    """Greedy (or beam) replies to the held-out sources, in order, shortest sources batched together."""
    model.eval()
    order = sorted(range(len(held_out)), key=lambda i: len(held_out[i].source))
    replies: list[str] = [""] * len(held_out)
    device = next(model.parameters()).device
    for start in range(0, len(order), config.eval_batch_size):
        batch = order[start : start + config.eval_batch_size]
        inputs = tokenizer(
            [held_out[i].source for i in batch],
            truncation=True,
            max_length=config.max_source_length,
            padding=True,
            return_tensors="pt",
        ).to(device)
        with torch.inference_mode():
            output = model.generate(
                **inputs, max_new_tokens=config.max_target_length, num_beams=config.num_beams, do_sample=False
            )
        for i, text in zip(batch, tokenizer.batch_decode(output, skip_special_tokens=True)):
            replies[i] = text.strip()
    return replies


def score(held_out: list[Pair], replies: list[str]) -> dict[str, float]:
    """ROUGE-L F and corpus BLEU-4 over all held-out pairs, and per dataset."""
    scores: dict[str, float] = {}
    groups = {"": list(range(len(held_out)))}
    for dataset in sorted({p.dataset for p in held_out}):
        groups[f"{dataset}_"] = [i for i, p in enumerate(held_out) if p.dataset == dataset]
    for prefix, indices in groups.items():
        hypotheses, references = [replies[i] for i in indices], [held_out[i].target for i in indices]
        scores[f"{prefix}rouge_l"] = mean_rouge_l(hypotheses, references)
        scores[f"{prefix}bleu"] = corpus_bleu(hypotheses, references)
    return scores


def data_files(config: Config) -> list[Path]:
    files = [empathetic.split_path("train"), empathetic.split_path("valid")]
    return files + ([esconv.DIALOGUES_FILE] if config.use_esconv else [])


def run(config: Config) -> Path:
    from transformers import Trainer

    from training.common.hf import RunMetricsCallback

    out_dir = Path(expand_placeholders(config.out_dir))
    training_run = Run.start(out_dir, config, data_files=data_files(config), seed=config.seed)
    model, tokenizer = load_base(config)
    splits = load_pairs(config)
    train_features, dev_features = encode(splits["train"], tokenizer, config), encode(splits["dev"], tokenizer, config)
    model = attach_lora(model, config)

    trainer = Trainer(
        model=model,
        args=sft.training_arguments(config, out_dir, len(train_features)),  # type: ignore[arg-type]
        train_dataset=train_features,
        eval_dataset=dev_features,
        data_collator=lambda features: collate(features, tokenizer.pad_token_id),
        callbacks=[RunMetricsCallback(training_run)],
    )
    initial = trainer.evaluate()
    result = trainer.train()
    final = trainer.evaluate()

    held_out = splits["valid"]
    replies = generate_replies(model, tokenizer, held_out, config)
    metrics = score(held_out, replies)
    training_run.log("valid", result.global_step, **metrics)
    with (out_dir / REPLIES_FILE).open("w", encoding="utf-8") as handle:
        for pair, reply in zip(held_out, replies):
            handle.write(
                json.dumps({"dataset": pair.dataset, "source": pair.source, "reference": pair.target, "reply": reply})
                + "\n"
            )

    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    shutil.rmtree(out_dir / "trainer", ignore_errors=True)  # the Trainer's scratch dir; nothing is checkpointed
    summary = {
        "train_examples": len(train_features),
        "dev_examples": len(dev_features),
        "held_out_examples": len(held_out),
        "train_loss": result.training_loss,
        "initial_dev_loss": initial["eval_loss"],
        "dev_loss": final["eval_loss"],
        "dev_perplexity": math.exp(min(final["eval_loss"], 50.0)),
        "steps": result.global_step,
        **{f"held_out_{name}": value for name, value in metrics.items()},
    }
    training_run.finish(summary)
    training_run.write_model_card(_model_card(config, summary))
    return out_dir


def _model_card(config: Config, summary: dict[str, Any]) -> str:
    data = "EmpatheticDialogues" + (" and ESConv" if config.use_esconv else "")
    return f"""# emotibot (Flan-T5 LoRA adapter)

LoRA (r {config.lora_r}, alpha {config.lora_alpha}, dropout {config.lora_dropout}, on {", ".join(config.target_modules)})
over `{config.base_model}`, fine-tuned on {data} replies. The encoder reads
`{config.prompt_template}`.

- train examples: {summary["train_examples"]}, dev (carved from train): {summary["dev_examples"]},
  held-out (valid, never trained on): {summary["held_out_examples"]}
- dev loss: {summary["initial_dev_loss"]:.4f} before, {summary["dev_loss"]:.4f} after, {summary["steps"]} optimizer steps
- held-out replies ({"greedy" if config.num_beams == 1 else f"{config.num_beams} beams"}): ROUGE-L F
  {summary["held_out_rouge_l"]:.3f}, BLEU-4 {summary["held_out_bleu"]:.2f} (sacrebleu); every reply is in `{REPLIES_FILE}`

Serve it with a registry entry of kind `seq2seq`, `weights` = the base, `adapter` = this directory.
Data licenses: EmpatheticDialogues CC BY-NC 4.0; ESConv CC BY-NC 4.0 (research only).
"""
