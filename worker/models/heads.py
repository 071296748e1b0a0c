"""EmotionHead and StrategyHead: small classifiers on a causal LM's pooled hidden states.

Both the qwen-empathetic recipe (which trains them) and the ``qwen_heads`` serving kind (which
plans and reflects with them) use this module, so the artifact layout is defined once:

    <artifact>/heads.pt          state dicts of the heads, the hidden size and the layer each reads
    <artifact>/head_labels.json  label lists and the style token of every label

There is one pair for planning (reading the conversation before the reply) and, optionally, a
second pair for reflection (reading the reply). Artifacts written before the split have only the
first pair, which then serves both.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from worker.models.pooling import masked_mean

HEADS_FILE = "heads.pt"
LABELS_FILE = "head_labels.json"


def conversation_start(token_ids: list[int], end_of_turn_ids: set[int] | frozenset[int]) -> int:
    """Where the conversation begins: after the first end-of-turn token (the system turn's), else 0.

    The planning view pools from here, not from 0: every prompt opens with the same system turn,
    which would otherwise be a large, constant share of the mean the heads read. (The ChatML
    templates of SmolLM2 and Qwen2.5 always open with a system turn, a default one if none is given.)
    """
    for position, token_id in enumerate(token_ids):
        if token_id in end_of_turn_ids:
            return position + 1
    return 0


def end_of_turn_ids(tokenizer: Any) -> frozenset[int]:
    """The tokens that end a chat turn (``<|im_end|>`` in ChatML templates, else EOS)."""
    ids = {tokenizer.eos_token_id}
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if isinstance(im_end, int) and im_end != tokenizer.unk_token_id:
        ids.add(im_end)
    return frozenset(i for i in ids if i is not None)


class PooledHead(nn.Module):
    """Dropout and a linear layer over the masked mean of one layer's hidden states.

    ``layer`` indexes the model's ``hidden_states`` (0: the embeddings, -1: the last block).
    """

    def __init__(self, hidden_size: int, num_labels: int, dropout: float = 0.1, layer: int = -1) -> None:
        super().__init__()
        self.layer = layer
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_size, num_labels)

    def pooled(self, hidden_states: Sequence[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        return masked_mean(hidden_states[self.layer].float(), mask)

    def forward(self, hidden_states: Sequence[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.pooled(hidden_states, mask)))


class EmotionHead(PooledHead):
    """The user's emotion, over the 32 EmpatheticDialogues emotions."""


class StrategyHead(PooledHead):
    """The support strategy of the reply, over the 8 ESConv strategies."""


@dataclass(frozen=True)
class HeadLabels:
    emotions: list[str]
    strategies: list[str]
    emotion_tokens: list[str]  # emotion_tokens[i] is the style token of emotions[i], e.g. "<emo:afraid>"
    strategy_tokens: list[str]  # e.g. "<strat:reflection>"

    @property
    def style_tokens(self) -> list[str]:
        return [*self.emotion_tokens, *self.strategy_tokens]

    def style_prefix(self, emotion: str | None, strategy: str | None) -> str:
        """The style tokens that open a reply with this emotion and strategy (either may be unknown)."""
        parts = []
        if emotion is not None:
            parts.append(self.emotion_tokens[self.emotions.index(emotion)])
        if strategy is not None:
            parts.append(self.strategy_tokens[self.strategies.index(strategy)])
        return "".join(parts)


@dataclass
class Heads:
    emotion: EmotionHead  # planning: the conversation before the reply
    strategy: StrategyHead
    labels: HeadLabels
    reply_emotion: EmotionHead | None = None  # reflection: the reply; None: the planning heads read it too
    reply_strategy: StrategyHead | None = None

    @classmethod
    def create(cls, hidden_size: int, labels: HeadLabels, dropout: float = 0.1) -> Heads:
        return cls(
            emotion=EmotionHead(hidden_size, len(labels.emotions), dropout),
            strategy=StrategyHead(hidden_size, len(labels.strategies), dropout),
            labels=labels,
        )

    def add_reflection_heads(self) -> None:
        """A second pair for the reply view, starting as copies of the planning pair."""
        hidden_size, dropout = self.emotion.classifier.in_features, self.emotion.dropout.p
        self.reply_emotion = EmotionHead(hidden_size, len(self.labels.emotions), dropout, layer=self.emotion.layer)
        self.reply_strategy = StrategyHead(hidden_size, len(self.labels.strategies), dropout, layer=self.strategy.layer)
        self.reply_emotion.load_state_dict(self.emotion.state_dict())
        self.reply_strategy.load_state_dict(self.strategy.state_dict())
        self.reply_emotion.to(self.emotion.classifier.weight.device)
        self.reply_strategy.to(self.strategy.classifier.weight.device)

    @property
    def planning(self) -> tuple[EmotionHead, StrategyHead]:
        return (self.emotion, self.strategy)

    @property
    def reflection(self) -> tuple[EmotionHead, StrategyHead]:
        return (self.reply_emotion or self.emotion, self.reply_strategy or self.strategy)

    def modules(self) -> list[nn.Module]:
        return [m for m in (self.emotion, self.strategy, self.reply_emotion, self.reply_strategy) if m is not None]

    def to(self, device: torch.device | str) -> Heads:
        for module in self.modules():
            module.to(device)
        return self

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        named = {name: getattr(self, name) for name in _HEAD_NAMES if getattr(self, name) is not None}
        torch.save(
            {
                "hidden_size": self.emotion.classifier.in_features,
                "layers": {name: head.layer for name, head in named.items()},
                **{name: {k: v.detach().cpu() for k, v in head.state_dict().items()} for name, head in named.items()},
            },
            directory / HEADS_FILE,
        )
        (directory / LABELS_FILE).write_text(json.dumps(asdict(self.labels), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, device: torch.device | str = "cpu") -> Heads:
        """Read ``heads.pt`` and ``head_labels.json``; the heads come back in eval mode."""
        directory = Path(directory)
        labels = HeadLabels(**json.loads((directory / LABELS_FILE).read_text(encoding="utf-8")))
        state = torch.load(directory / HEADS_FILE, map_location="cpu", weights_only=True)
        heads = cls.create(int(state["hidden_size"]), labels)
        if "reply_emotion" in state:
            heads.add_reflection_heads()
        layers = state.get("layers", {})  # older files: every head read the last layer
        for name in _HEAD_NAMES:
            head = getattr(heads, name)
            if head is not None:
                head.load_state_dict(state[name])
                head.layer = int(layers.get(name, -1))
                head.eval()
        return heads.to(device)


_HEAD_NAMES = ("emotion", "strategy", "reply_emotion", "reply_strategy")


def has_heads(directory: Path) -> bool:
    return (Path(directory) / HEADS_FILE).is_file() and (Path(directory) / LABELS_FILE).is_file()
