"""qwen-empathetic: a QLoRA causal LM with an EmotionHead and a StrategyHead.

    L = λ_LM·NLL + λ_emo·CE(EmotionHead, 32 ED emotions) + λ_strat·CE(StrategyHead, 8 ESConv strategies)
        + λ_safe·KL(model ‖ frozen base)

- Base in 4-bit NF4 with double quantization (``prepare_model_for_kbit_training``), LoRA r 16,
  alpha 32, dropout 0.05; the style tokens (``<emo:afraid>``, ``<strat:reflection>``…) are added
  to the tokenizer and their embedding rows are trained and saved with the adapter.
- Every reply target starts with its style tokens: EmpatheticDialogues replies with the
  conversation's emotion, ESConv supporter replies with the seeker's emotion (mapped onto ED's
  labels) and the turn's strategy. At serving time the heads pick these tokens and the model
  continues after them.
- Head labels: ED conversations give emotion labels, ESConv supporter turns strategy labels.
  The heads see the masked mean of the last hidden states over two views: the conversation
  (the prompt: planning the reply) and, for the ``style_dropout`` share of examples trained
  without style tokens, the reply itself (judging a draft, as the reflection controller does).
  The reply view needs those unstyled examples because a styled reply's hidden states can read
  the style tokens before them, and the reflection controller must judge the text alone.
- The KL term runs the frozen base (the same model with its adapters disabled) on the batch,
  only when λ_safe > 0, and compares next-token distributions over the reply tokens.

Artifact: adapter dir + tokenizer with the style tokens + ``heads.pt`` + ``head_labels.json``,
loadable by the worker's ``qwen_heads`` kind (``worker/models/qwen_heads.py``).
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import Trainer, TrainerCallback

from training.common.paths import expand_placeholders
from training.common.run import Run
from training.data import empathetic, esconv
from training.losses.qwen import (
    IGNORE_INDEX,
    LossWeights,
    emotion_loss,
    kl_to_reference,
    multi_objective,
    strategy_loss,
)
from training.recipes import psychotherapist as sft
from worker.models.heads import HeadLabels, Heads, PooledHead, conversation_start, end_of_turn_ids

DEFAULT_CONFIG = "qwen2.5-3b"

STRATEGY_SLUGS = {
    "Question": "question",
    "Restatement or Paraphrasing": "restatement",
    "Reflection of feelings": "reflection",
    "Self-disclosure": "self-disclosure",
    "Affirmation and Reassurance": "affirmation",
    "Providing Suggestions": "suggestion",
    "Information": "information",
    "Others": "other",
}

# ESConv's seeker emotion types, as the ED emotion whose style token opens the reply.
ESCONV_TO_ED_EMOTION = {
    "anxiety": "anxious",
    "depression": "sad",
    "sadness": "sad",
    "anger": "angry",
    "fear": "afraid",
    "shame": "ashamed",
    "disgust": "disgusted",
    "nervousness": "apprehensive",
    "guilt": "guilty",
    "jealousy": "jealous",
    "pain": "devastated",
}


@dataclass
class Config(sft.Config):
    base_model: str = field(
        default="Qwen/Qwen2.5-3B-Instruct",
        metadata={"help": "hub id, local model dir or .gguf file of the base causal LM"},
    )
    quantization: str = field(default="nf4", metadata={"help": "none | nf4 (4-bit NF4, double quant)"})
    lambda_lm: float = field(default=1.0, metadata={"help": "weight of the reply NLL"})
    lambda_emotion: float = field(default=0.2, metadata={"help": "weight of the EmotionHead CE"})
    lambda_strategy: float = field(default=0.2, metadata={"help": "weight of the StrategyHead CE"})
    lambda_safety: float = field(default=0.0, metadata={"help": "weight of KL(model ‖ frozen base); 0 skips it"})
    style_dropout: float = field(default=0.3, metadata={"help": "share of examples trained without style tokens"})
    head_dropout: float = field(default=0.1, metadata={"help": "dropout before each head's linear layer"})
    train_style_tokens: bool = field(
        default=True,
        metadata={
            "help": "train the style tokens' embedding rows (false: keep them at the mean embedding of their words, "
            "so with lora_layers the backward pass still stops at the top blocks)"
        },
    )
    head_fit_examples: int = field(
        default=0,
        metadata={
            "help": "after the LM: refit each head as an L2 logistic regression on the adapted model's pooled states "
            "of up to N train examples per head (0: keep the heads as the joint loss trained them)"
        },
    )
    head_c: float = field(
        default=0.0,
        metadata={
            "help": "inverse L2 strength of that logistic regression (0: chosen by 3-fold CV on the fit rows, "
            "folds split by conversation)"
        },
    )
    head_layer: int = field(
        default=-1,
        metadata={"help": "the hidden_states index the planning heads pool (0: embeddings, -1: the last block)"},
    )
    heads_only: bool = field(
        default=False,
        metadata={
            "help": "skip LM training: load the adapter already in out_dir and only refit the heads (head_fit_examples)"
        },
    )
    out_dir: str = field(default="{home}/models/qwen-empathetic", metadata={"help": "artifact directory"})

    @property
    def loss_weights(self) -> LossWeights:
        return LossWeights(self.lambda_lm, self.lambda_emotion, self.lambda_strategy, self.lambda_safety)


def head_labels() -> HeadLabels:
    return HeadLabels(
        emotions=list(empathetic.EMOTIONS),
        strategies=list(esconv.STRATEGIES),
        emotion_tokens=[f"<emo:{emotion}>" for emotion in empathetic.EMOTIONS],
        strategy_tokens=[f"<strat:{STRATEGY_SLUGS[strategy]}>" for strategy in esconv.STRATEGIES],
    )


class LMWithHeads(nn.Module):
    """The PEFT model and both heads as one module, so the Trainer's optimizer sees every trainable weight."""

    # The LM was placed by its loader (device_map, possibly 4-bit); these flags keep the Trainer
    # from moving it again, and the heads are put beside it in __init__.
    is_parallelizable = True
    model_parallel = True

    def __init__(self, lm: nn.Module, heads: Heads) -> None:
        super().__init__()
        self.lm = lm
        self.heads = heads
        device = next(lm.parameters()).device
        self.emotion_head = heads.emotion.to(device)
        self.strategy_head = heads.strategy.to(device)


class HeadsTrainer(Trainer):
    """The multi-objective loss; everything else is the stock Trainer."""

    def __init__(self, *args: Any, loss_weights: LossWeights, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loss_weights = loss_weights
        self.loss_parts: dict[str, list[float]] = {}

    def compute_loss(
        self,
        model: LMWithHeads,
        inputs: dict[str, torch.Tensor],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> Any:
        outputs = model.lm(
            input_ids=inputs["input_ids"],
            attention_mask=inputs["attention_mask"],
            labels=inputs["labels"],
            output_hidden_states=True,
        )
        hidden = outputs.hidden_states
        context_mask = inputs["context_mask"].bool()
        reply_mask = inputs["reply_mask"].bool() & ~inputs["styled"].bool().unsqueeze(1)
        has_reply_view = reply_mask.any(dim=1)
        emotion_labels, strategy_labels = inputs["emotion_label"], inputs["strategy_label"]

        def two_views(head: nn.Module, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            logits = torch.cat([head(hidden, context_mask), head(hidden, reply_mask)])
            reply_labels = torch.where(has_reply_view, labels, torch.full_like(labels, IGNORE_INDEX))
            return logits, torch.cat([labels, reply_labels])

        emo = emotion_loss(*two_views(model.emotion_head, emotion_labels)) if self.loss_weights.emotion else None
        strat = strategy_loss(*two_views(model.strategy_head, strategy_labels)) if self.loss_weights.strategy else None
        kl = None
        if self.loss_weights.safety:
            with torch.no_grad(), model.lm.disable_adapter():
                reference = model.lm(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).logits
            # logits at t predict token t+1: score the positions whose next token is reply text.
            kl = kl_to_reference(outputs.logits[:, :-1], reference[:, :-1], inputs["reply_mask"][:, 1:].bool())
        zero = outputs.loss.new_zeros(())
        loss = multi_objective(
            outputs.loss, emo if emo is not None else zero, strat if strat is not None else zero, kl, self.loss_weights
        )
        if model.training:
            for name, value in (("lm_loss", outputs.loss), ("emotion_loss", emo), ("strategy_loss", strat), ("kl", kl)):
                if value is not None:
                    self.loss_parts.setdefault(name, []).append(float(value.detach()))
        return (loss, outputs) if return_outputs else loss


class LossPartsCallback(TrainerCallback):
    """Each train log also records the mean of every loss term since the previous log."""

    def __init__(self, trainer: HeadsTrainer, run: Run) -> None:
        self.trainer = trainer
        self.run = run

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kwargs: Any) -> None:
        parts = self.trainer.loss_parts
        if logs and "loss" in logs and parts:
            self.run.log("train_terms", state.global_step, **{k: sum(v) / len(v) for k, v in parts.items() if v})
            parts.clear()


def style_emotion(example: sft.ReplyExample) -> str | None:
    if example.emotion is not None:
        return example.emotion
    return ESCONV_TO_ED_EMOTION.get(example.dialogue_emotion or "")


def encode_examples(
    examples: list[sft.ReplyExample], tokenizer: Any, labels: HeadLabels, config: Config, seed: int
) -> list[dict[str, Any]]:
    """Token ids, LM labels, head labels and the masks the heads and the KL term pool over."""
    rng = random.Random(seed)
    end_of_turn = end_of_turn_ids(tokenizer)
    features = []
    for example in examples:
        styled = rng.random() >= config.style_dropout
        prefix = labels.style_prefix(style_emotion(example), example.strategy) if styled else ""
        encoded = sft.encode_reply(
            tokenizer, config.system_prompt, example.history, example.reply, config.max_length, prefix=prefix
        )
        if encoded is None:
            continue
        length, reply_start = len(encoded.input_ids), encoded.prompt_length + encoded.prefix_length
        features.append(
            {
                "input_ids": encoded.input_ids,
                "labels": sft.lm_labels(encoded),
                "context_mask": _context_mask(encoded, length, end_of_turn),
                "reply_mask": [0] * reply_start + [1] * (length - reply_start),
                "styled": int(styled),
                "emotion_label": labels.emotions.index(example.emotion) if example.emotion else IGNORE_INDEX,
                "strategy_label": labels.strategies.index(example.strategy) if example.strategy else IGNORE_INDEX,
            }
        )
    return features


def _context_mask(encoded: sft.EncodedReply, length: int, end_of_turn: frozenset[int]) -> list[int]:
    """The conversation before the reply, without the system turn every example shares."""
    start = conversation_start(encoded.input_ids[: encoded.prompt_length], end_of_turn)
    return [0] * start + [1] * (encoded.prompt_length - start) + [0] * (length - encoded.prompt_length)


def add_style_tokens(model: Any, tokenizer: Any, labels: HeadLabels) -> list[int]:
    """Add the style tokens (growing the embeddings only when the vocabulary has no spare rows).

    Each new row starts as the mean embedding of the words it names (``<emo:afraid>`` of " afraid",
    ``<strat:self-disclosure>`` of " self disclosure"), so the model reads a style token as its
    meaning from the first step, and still does when the rows are not trained.
    """
    tokenizer.add_tokens(labels.style_tokens, special_tokens=False)
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    ids = tokenizer.convert_tokens_to_ids(labels.style_tokens)
    embeddings = model.get_input_embeddings().weight
    with torch.no_grad():
        for token, token_id in zip(labels.style_tokens, ids, strict=True):
            words = " " + token.strip("<>").split(":", 1)[1].replace("-", " ")
            word_ids = tokenizer(words, add_special_tokens=False)["input_ids"]
            if word_ids:
                embeddings[token_id] = embeddings[word_ids].float().mean(dim=0).to(embeddings.dtype)
    return ids


def freeze_style_tokens(model: nn.Module) -> None:
    """Keep the style rows (saved with the adapter) at their initial value: no gradient reaches the input."""
    for name, parameter in model.named_parameters():
        if "trainable_tokens" in name:
            parameter.requires_grad_(False)


def _forward_views(
    model: LMWithHeads, features: list[dict[str, Any]], pad_token_id: int, batch_size: int
) -> Iterator[tuple[dict[str, torch.Tensor], tuple[torch.Tensor, ...], dict[str, torch.Tensor]]]:
    """Each batch, its hidden states (every layer) and the masks of both views: the conversation
    (planning) and the unstyled reply (reflection)."""
    model.eval()
    device = next(model.lm.parameters()).device
    for start in range(0, len(features), batch_size):
        batch = {k: v.to(device) for k, v in sft.pad_batch(features[start : start + batch_size], pad_token_id).items()}
        hidden = model.lm(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True
        ).hidden_states
        yield (
            batch,
            hidden,
            {
                "context": batch["context_mask"].bool(),
                "reply": batch["reply_mask"].bool() & ~batch["styled"].bool().unsqueeze(1),
            },
        )


@torch.no_grad()
def head_accuracy(
    model: LMWithHeads, features: list[dict[str, Any]], pad_token_id: int, batch_size: int
) -> dict[str, float]:
    """Accuracy of each head on the conversation view (planning) and the unstyled reply view (reflection)."""
    hits: dict[str, list[bool]] = {}
    (plan_emotion, plan_strategy), (reply_emotion, reply_strategy) = model.heads.planning, model.heads.reflection
    for batch, hidden, views in _forward_views(model, features, pad_token_id, batch_size):
        for head_name, view_heads, labels in (
            ("emotion", {"context": plan_emotion, "reply": reply_emotion}, batch["emotion_label"]),
            ("strategy", {"context": plan_strategy, "reply": reply_strategy}, batch["strategy_label"]),
        ):
            for view, mask in views.items():
                scored = (labels != IGNORE_INDEX) & mask.any(dim=1)
                predicted = view_heads[view](hidden, mask).argmax(dim=-1)
                hits.setdefault(f"{head_name}_{view}_acc", []).extend((predicted == labels)[scored].tolist())
    return {name: sum(values) / len(values) for name, values in hits.items() if values}


@torch.no_grad()
def pooled_states(
    model: LMWithHeads,
    features: list[dict[str, Any]],
    pad_token_id: int,
    batch_size: int,
    pooling: dict[str, PooledHead],
) -> dict[str, dict[str, torch.Tensor]]:
    """Per view ("context", "reply"): what ``pooling[view]`` pools (its layer, masked mean, as served),
    both label vectors and each row's conversation ("group", from ``head_fit_features``)."""
    views: dict[str, dict[str, list[torch.Tensor]]] = {view: {} for view in pooling}
    for batch, hidden, masks in _forward_views(model, features, pad_token_id, batch_size):
        for view, mask in masks.items():
            keep = mask.any(dim=1)
            columns = {
                "states": pooling[view].pooled(hidden, mask),
                "emotion": batch["emotion_label"],
                "strategy": batch["strategy_label"],
                "group": batch["group"],
            }
            for name, column in columns.items():
                views[view].setdefault(name, []).append(column[keep].cpu())
    return {view: {name: torch.cat(parts) for name, parts in columns.items()} for view, columns in views.items()}


def fit_heads(
    model: LMWithHeads, features: list[dict[str, Any]], pad_token_id: int, batch_size: int, c: float, layer: int
) -> dict[str, float]:
    """Stage 2: each head becomes a standardised L2 logistic regression (scikit-learn) on pooled states.

    At a CPU-sized run the joint loss moves a fresh linear head too little (its 0.2 weight on a
    4e-4 learning rate); the LM is frozen here, so one forward pass per example is all it costs.
    The planning heads are fitted on the conversation view at hidden-state index ``layer``, the
    reflection heads (added here) on the reply view at the last layer: one regression over both
    views, as the joint loss trains them, was a compromise between two different inputs. The
    scaling is folded into each linear layer, so serving is unchanged.
    """
    heads = model.heads
    if heads.reply_emotion is None:
        heads.add_reflection_heads()
    assert heads.reply_emotion is not None and heads.reply_strategy is not None
    heads.emotion.layer = heads.strategy.layer = layer
    heads.reply_emotion.layer = heads.reply_strategy.layer = -1
    pooled = pooled_states(
        model,
        features,
        pad_token_id,
        batch_size,
        {"context": heads.emotion, "reply": heads.reply_emotion},  # each pair shares a layer
    )
    counts: dict[str, float] = {}
    for name, head, view, column in (
        ("emotion", heads.emotion, "context", "emotion"),
        ("strategy", heads.strategy, "context", "strategy"),
        ("reply_emotion", heads.reply_emotion, "reply", "emotion"),
        ("reply_strategy", heads.reply_strategy, "reply", "strategy"),
    ):
        counts.update(_fit_head(head, name, pooled[view], column, c))
    return counts


def _fit_head(head: nn.Module, name: str, pooled: dict[str, torch.Tensor], column: str, c: float) -> dict[str, float]:
    """One head as a logistic regression on ``pooled`` (C by grouped 3-fold CV unless ``c`` > 0)."""
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.model_selection import GroupKFold
    from sklearn.preprocessing import StandardScaler

    labels = pooled[column].numpy()
    scored = labels != IGNORE_INDEX
    states, labels, groups = pooled["states"].numpy()[scored], labels[scored], pooled["group"].numpy()[scored]
    counts: dict[str, float] = {f"{name}_fit_rows": int(scored.sum())}
    if len(set(labels.tolist())) < 2:
        return counts
    scaler = StandardScaler().fit(states)
    if c <= 0 and len(set(groups.tolist())) < 3:
        c = 1.0  # too few conversations to cross-validate (tiny smoke runs)
    if c > 0:
        regression: Any = LogisticRegression(C=c, max_iter=2000)
    else:
        # Rows of one conversation share its emotion: folds that split a conversation reward memorising it.
        folds = list(GroupKFold(3).split(states, labels, groups))
        regression = LogisticRegressionCV(Cs=[0.01, 0.03, 0.1, 0.3, 1.0], cv=folds, max_iter=2000)
    regression.fit(scaler.transform(states), labels)
    counts[f"{name}_c"] = float(c if c > 0 else regression.C_[0])
    linear = head.classifier
    weight = torch.zeros_like(linear.weight)
    bias = torch.full_like(linear.bias, -30.0)  # a label never seen in the fit is never predicted
    classes = torch.as_tensor(regression.classes_, dtype=torch.long)
    coef = torch.as_tensor(regression.coef_, dtype=weight.dtype) / torch.as_tensor(scaler.scale_, dtype=weight.dtype)
    weight[classes] = coef.to(weight.device)
    bias[classes] = (
        torch.as_tensor(regression.intercept_, dtype=weight.dtype)
        - coef @ torch.as_tensor(scaler.mean_, dtype=weight.dtype)
    ).to(bias.device)
    with torch.no_grad():
        linear.weight.copy_(weight)
        linear.bias.copy_(bias)
    return counts


def head_fit_features(config: Config, tokenizer: Any, labels: HeadLabels) -> list[dict[str, Any]]:
    """Unstyled train examples, at most ``head_fit_examples`` with each kind of label, conversations spread out."""
    examples = sft.load_examples(config, "train")
    random.Random(config.seed + 2).shuffle(examples)
    with_emotion = [e for e in examples if e.emotion is not None][: config.head_fit_examples]
    with_strategy = [e for e in examples if e.strategy is not None and e.emotion is None][: config.head_fit_examples]
    unstyled = Config(**{**asdict(config), "style_dropout": 1.0})
    features: list[dict[str, Any]] = []
    conversations: dict[str, int] = {}
    for example in with_emotion + with_strategy:
        for feature in encode_examples([example], tokenizer, labels, unstyled, config.seed + 3):
            # The replies of one conversation must not be split across the CV folds that choose C.
            feature["group"] = conversations.setdefault(example.conversation, len(conversations))
            features.append(feature)
    return features


def evaluate(trainer: HeadsTrainer, run: Run, features: list[dict[str, Any]], pad_token_id: int) -> dict[str, float]:
    """Validation loss (logged by the Trainer's callback) and head accuracies (logged here as ``eval_heads``)."""
    loss = trainer.evaluate()["eval_loss"]
    accuracies = head_accuracy(trainer.model, features, pad_token_id, trainer.args.per_device_eval_batch_size)
    run.log("eval_heads", trainer.state.global_step, **accuracies)
    return {"loss": loss, **accuracies}


def run(config: Config) -> Path:
    out_dir = Path(expand_placeholders(config.out_dir))
    if config.heads_only:
        return _refit_heads(config, out_dir)
    from training.common.hf import RunMetricsCallback

    training_run = Run.start(out_dir, config, data_files=sft.data_files(), seed=config.seed)
    model, tokenizer = sft.load_base(config.base_model, config.quantization)
    labels = head_labels()
    style_ids = add_style_tokens(model, tokenizer, labels)
    train_features = encode_examples(sft.load_examples(config, "train"), tokenizer, labels, config, config.seed)
    valid_features = encode_examples(sft.load_examples(config, "valid"), tokenizer, labels, config, config.seed + 1)

    heads = Heads.create(model.config.get_text_config().hidden_size, labels, dropout=config.head_dropout)
    heads.emotion.layer = heads.strategy.layer = config.head_layer
    lm = sft.attach_lora(model, config, trainable_token_ids=style_ids)
    if not config.train_style_tokens:
        freeze_style_tokens(lm)
    wrapped = LMWithHeads(lm, heads)
    trainer = HeadsTrainer(
        model=wrapped,
        args=sft.training_arguments(config, out_dir, len(train_features), label_names=["labels"]),
        train_dataset=train_features,
        eval_dataset=valid_features,
        data_collator=lambda features: sft.pad_batch(features, tokenizer.pad_token_id),
        callbacks=[RunMetricsCallback(training_run)],
        loss_weights=config.loss_weights,
    )
    trainer.add_callback(LossPartsCallback(trainer, training_run))

    initial = evaluate(trainer, training_run, valid_features, tokenizer.pad_token_id)
    result = trainer.train()
    final = evaluate(trainer, training_run, valid_features, tokenizer.pad_token_id)
    summary: dict[str, Any] = {
        "train_examples": len(train_features),
        "valid_examples": len(valid_features),
        "train_loss": result.training_loss,
        "steps": result.global_step,
        "initial": initial,
        "final": final,
        "loss_weights": asdict(config.loss_weights),
    }
    if config.head_fit_examples > 0:
        summary.update(
            _fit_and_score_heads(config, wrapped, tokenizer, labels, valid_features, training_run, result.global_step)
        )

    # The style rows are in the adapter (trainable tokens); the resized full embedding need not be.
    wrapped.lm.save_pretrained(out_dir, save_embedding_layers=False)
    sft.cast_adapter(out_dir, config.adapter_dtype)
    tokenizer.save_pretrained(out_dir)
    heads.save(out_dir)
    shutil.rmtree(out_dir / "trainer", ignore_errors=True)  # the Trainer's scratch dir; nothing is checkpointed
    training_run.finish(summary)
    training_run.write_model_card(_model_card(config, summary))
    return out_dir


def _fit_and_score_heads(
    config: Config,
    wrapped: LMWithHeads,
    tokenizer: Any,
    labels: HeadLabels,
    valid_features: list[dict[str, Any]],
    training_run: Run,
    step: int,
) -> dict[str, Any]:
    fit_features = head_fit_features(config, tokenizer, labels)
    counts = fit_heads(
        wrapped, fit_features, tokenizer.pad_token_id, config.batch_size, config.head_c, config.head_layer
    )
    counts["layer"] = config.head_layer
    refitted = head_accuracy(wrapped, valid_features, tokenizer.pad_token_id, config.batch_size)
    training_run.log("eval_heads_refit", step, **refitted)
    return {"heads_refit": {"c": config.head_c, **counts, **refitted}}


def _refit_heads(config: Config, out_dir: Path) -> Path:
    """``heads_only``: the adapter in ``out_dir`` stays; the heads are refitted and saved over the old ones."""
    import json

    from peft import PeftModel

    from worker.models.causal_lm import artifact_tokenizer

    manifest_path = out_dir / "run_manifest.json"
    earlier = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else None
    training_run = Run.start(out_dir, config, data_files=sft.data_files(), seed=config.seed, resume=True)
    base, base_tokenizer = sft.load_base(config.base_model, config.quantization)
    old_heads = Heads.load(out_dir)
    tokenizer = artifact_tokenizer(out_dir, "qwen-empathetic")
    if tokenizer is None:  # a shipped artifact (artifacts/): the base's tokenizer plus the style tokens, as served
        tokenizer = base_tokenizer
        tokenizer.add_tokens(old_heads.labels.style_tokens, special_tokens=False)
    if len(tokenizer) > base.get_input_embeddings().weight.shape[0]:
        base.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    wrapped = LMWithHeads(PeftModel.from_pretrained(base, str(out_dir), is_trainable=False), old_heads)
    labels = wrapped.heads.labels
    valid_features = encode_examples(sft.load_examples(config, "valid"), tokenizer, labels, config, config.seed + 1)
    before = head_accuracy(wrapped, valid_features, tokenizer.pad_token_id, config.batch_size)
    step = int(earlier["summary"].get("steps", 0)) if earlier else 0
    summary = dict(earlier["summary"]) if earlier else {}
    summary.update(_fit_and_score_heads(config, wrapped, tokenizer, labels, valid_features, training_run, step))
    summary["heads_refit"]["before"] = before
    summary["lm_run_id"] = (earlier["summary"].get("lm_run_id") or earlier["run_id"]) if earlier else None
    wrapped.heads.save(out_dir)
    training_run.finish(summary)
    training_run.write_model_card(_model_card(config, summary))
    return out_dir


def _model_card(config: Config, summary: dict[str, Any]) -> str:
    final = summary["final"]
    accuracies = "\n".join(
        f"  - {name}: {summary['initial'].get(name, float('nan')):.3f} -> {value:.3f}"
        for name, value in final.items()
        if name != "loss"
    )
    weights = config.loss_weights
    return f"""# qwen-empathetic (QLoRA adapter + EmotionHead + StrategyHead)

Base `{config.base_model}` ({config.quantization}); LoRA r {config.lora_r}, alpha {config.lora_alpha},
dropout {config.lora_dropout}; style tokens {"trained as" if config.train_style_tokens else "kept at the mean embedding of their words, stored as"} embedding rows of the adapter.
Loss weights: LM {weights.lm}, emotion {weights.emotion}, strategy {weights.strategy}, KL {weights.safety}.

- train examples: {summary["train_examples"]}, validation examples: {summary["valid_examples"]}, steps {summary["steps"]}
- validation loss: {summary["initial"]["loss"]:.4f} -> {final["loss"]:.4f}
- head accuracy on validation (before -> after):
{accuracies}

{_refit_line(summary)}
Serve with a registry entry of kind `qwen_heads`: `weights` = the base, `adapter` = this directory.
Data licenses: ESConv CC BY-NC 4.0 (research only); EmpatheticDialogues CC BY-NC 4.0.
"""


def _refit_line(summary: dict[str, Any]) -> str:
    refit = summary.get("heads_refit")
    if not refit:
        return ""
    scores = ", ".join(f"{name} {value:.3f}" for name, value in refit.items() if name.endswith("_acc"))
    planning = f" (planning: the conversation view at hidden-state layer {refit['layer']})" if "layer" in refit else ""
    reflection = (
        f"; reflection heads on the reply view, last layer (C {refit['reply_emotion_c']} / {refit.get('reply_strategy_c')})"
        if "reply_emotion_c" in refit
        else ""
    )
    return (
        f"- heads refitted as L2 logistic regressions (C {refit.get('emotion_c')} / {refit.get('strategy_c')}) on {refit.get('emotion_fit_rows', 0)} "
        f"emotion and {refit.get('strategy_fit_rows', 0)} strategy rows of pooled states{planning}{reflection}: {scores}\n"
    )
