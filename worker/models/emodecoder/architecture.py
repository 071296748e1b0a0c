"""EmoDecoder: a frozen causal LM whose decoder blocks are followed by trainable ``EmoAdapter``s.

    tokens ─ embed ─ block₀ ─ EmoAdapter ─ block₁ ─ EmoAdapter ─ … ─ norm ─ lm_head ─ logits
                                  ▲                    ▲                 └─ emotion_readout ─ per-token emotion
    emotion id ─ embedding ─ ConditionalPooling(prompt embeddings) ─ g_in ─┘

Each adapter mixes two self-attention branches with a sigmoid gate G:
semantic attention over the hidden states, and emotional attention whose queries and keys
are emotion projections of the hidden states, the queries shifted by the conditioning ``g_in``
(so a token attends to earlier tokens whose emotion matches the one asked for). The adapter's
output projection starts at zero: an untrained EmoDecoder is exactly its base model.

``g_in`` pools the prompt; ``g_out`` pools the per-token emotion read from the reply positions.
Only the adapters, the emotion embedding, the pooling and the readout train.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from worker.models.pooling import masked_mean


@dataclass(frozen=True)
class EmoDecoderConfig:
    emotions: tuple[str, ...]
    adapter_every: int = 1  # an adapter after every k-th frozen block (k=1: after each)
    adapter_dim: int = 64  # width of the adapters' attention branches
    adapter_heads: int = 4
    emo_dim: int = 32  # size of the emotion space g_in / g_out live in
    gate_bias: float = 0.0  # initial gate logit: 0 starts G at 0.5

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["emotions"] = list(self.emotions)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EmoDecoderConfig:
        return cls(**{**values, "emotions": tuple(values["emotions"])})


@dataclass
class AdapterCache:
    """Keys and values an adapter has seen so far, ``(batch, heads, time, head_dim)`` each."""

    semantic_keys: torch.Tensor | None = None
    semantic_values: torch.Tensor | None = None
    emotion_keys: torch.Tensor | None = None
    emotion_values: torch.Tensor | None = None


@dataclass
class DecodeState:
    """Everything incremental decoding keeps between steps."""

    base_cache: Any  # transformers Cache for the frozen blocks
    adapter_caches: dict[int, AdapterCache] = field(default_factory=dict)
    padding_mask: torch.Tensor | None = None  # (batch, time so far)

    @property
    def length(self) -> int:
        return 0 if self.padding_mask is None else self.padding_mask.size(1)


@dataclass
class EmoDecoderOutput:
    logits: torch.Tensor  # (batch, time, vocab)
    token_emotion: torch.Tensor  # (batch, time, emo_dim): the emotion read at each position
    gates: list[torch.Tensor]  # one (batch, time, 1) per adapter; empty without adapters


def make_masks(padding_mask: torch.Tensor, query_length: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The additive causal + padding attention mask, ``(batch, 1, query_length, key_length)``.

    ``padding_mask`` is ``(batch, key_length)``, true/1 for real tokens, covering the cached past
    and the ``query_length`` new positions at its end. Query ``i`` may attend to key ``j`` when
    ``j`` is not padding and not in its future.
    """
    batch, key_length = padding_mask.shape
    past = key_length - query_length
    query_positions = torch.arange(past, key_length, device=padding_mask.device)[:, None]
    key_positions = torch.arange(key_length, device=padding_mask.device)[None, :]
    allowed = (key_positions <= query_positions)[None, None] & padding_mask.bool()[:, None, None, :]
    # finfo.min rather than -inf: a row with nothing allowed (a padding query) gives a uniform
    # softmax instead of NaNs that would leak into the gradients.
    mask = torch.zeros(batch, 1, query_length, key_length, dtype=dtype, device=padding_mask.device)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)


class ConditionalPooling(nn.Module):
    """Attention pooling over the positions a mask selects, its query given by a condition vector."""

    def __init__(self, condition_dim: int, input_dim: int, out_dim: int) -> None:
        super().__init__()
        self.query = nn.Linear(condition_dim, out_dim)
        self.key = nn.Linear(input_dim, out_dim)
        self.value = nn.Linear(input_dim, out_dim)

    def forward(self, sequence: torch.Tensor, mask: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        query = self.query(condition).unsqueeze(1)  # (batch, 1, out)
        scores = (query * self.key(sequence)).sum(-1) / math.sqrt(query.size(-1))  # (batch, time)
        scores = scores.masked_fill(~mask.bool(), torch.finfo(scores.dtype).min)
        weights = F.softmax(scores, dim=-1).unsqueeze(-1)
        return (weights * self.value(sequence)).sum(dim=1)


def _attend(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, heads: int, mask: torch.Tensor
) -> torch.Tensor:
    """Multi-head scaled dot-product attention of ``(batch, heads, q, d)`` queries, merged to ``(batch, q, heads·d)``."""
    attended = F.scaled_dot_product_attention(query, key, value, attn_mask=mask.to(query.dtype))
    batch, _, length, head_dim = attended.shape
    return attended.transpose(1, 2).reshape(batch, length, heads * head_dim)


class EmoAdapter(nn.Module):
    """Semantic and emotional self-attention mixed by a sigmoid gate, added back to the hidden state."""

    def __init__(self, hidden_size: int, config: EmoDecoderConfig) -> None:
        super().__init__()
        if config.adapter_dim % config.adapter_heads:
            raise ValueError("adapter_dim must be a multiple of adapter_heads")
        self.heads = config.adapter_heads
        self.norm = nn.RMSNorm(hidden_size, eps=1e-6)
        self.semantic_qkv = nn.Linear(hidden_size, 3 * config.adapter_dim, bias=False)
        self.emotion_projection = nn.Linear(hidden_size, config.emo_dim)
        self.emotion_query = nn.Linear(config.emo_dim, config.adapter_dim, bias=False)
        self.emotion_key = nn.Linear(config.emo_dim, config.adapter_dim, bias=False)
        self.emotion_value = nn.Linear(hidden_size, config.adapter_dim, bias=False)
        self.gate = nn.Linear(hidden_size + config.emo_dim, 1)
        self.output = nn.Linear(config.adapter_dim, hidden_size, bias=False)
        nn.init.zeros_(self.output.weight)
        nn.init.constant_(self.gate.bias, config.gate_bias)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        return x.view(batch, length, self.heads, width // self.heads).transpose(1, 2)

    def forward(
        self, hidden: torch.Tensor, g_in: torch.Tensor, mask: torch.Tensor, cache: AdapterCache | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``hidden`` (batch, time, hidden) → (new hidden, gate (batch, time, 1))."""
        x = self.norm(hidden)
        condition = g_in.unsqueeze(1).expand(-1, x.size(1), -1)
        q_sem, k_sem, v_sem = (self._heads(t) for t in self.semantic_qkv(x).chunk(3, dim=-1))
        emotion = torch.tanh(self.emotion_projection(x))
        q_emo = self._heads(self.emotion_query(emotion + condition))
        k_emo = self._heads(self.emotion_key(emotion))
        v_emo = self._heads(self.emotion_value(x))
        if cache is not None:
            k_sem, v_sem, k_emo, v_emo = self._extend(cache, k_sem, v_sem, k_emo, v_emo)
        semantic = _attend(q_sem, k_sem, v_sem, self.heads, mask)
        emotional = _attend(q_emo, k_emo, v_emo, self.heads, mask)
        gate = torch.sigmoid(self.gate(torch.cat([x, condition], dim=-1)))
        mixed = (1 - gate) * semantic + gate * emotional
        return hidden + self.output(mixed), gate

    @staticmethod
    def _extend(cache: AdapterCache, *new: torch.Tensor) -> tuple[torch.Tensor, ...]:
        names = ("semantic_keys", "semantic_values", "emotion_keys", "emotion_values")
        extended = []
        for name, tensor in zip(names, new):
            past = getattr(cache, name)
            full = tensor if past is None else torch.cat([past, tensor], dim=2)
            setattr(cache, name, full)
            extended.append(full)
        return tuple(extended)


class EmoDecoder(nn.Module):
    """A frozen Llama-architecture ``*ForCausalLM`` with EmoAdapters between its decoder blocks."""

    def __init__(self, base: nn.Module, config: EmoDecoderConfig) -> None:
        super().__init__()
        self.base = base
        self.config = config
        base.requires_grad_(False)
        base.eval()
        hidden_size = base.config.hidden_size
        layer_count = len(base.model.layers)
        self.adapter_layers = [i for i in range(layer_count) if (i + 1) % config.adapter_every == 0]
        self.adapters = nn.ModuleDict({str(i): EmoAdapter(hidden_size, config) for i in self.adapter_layers})
        self.emotion_embedding = nn.Embedding(len(config.emotions), config.emo_dim)
        self.input_pooling = ConditionalPooling(config.emo_dim, hidden_size, config.emo_dim)
        self.g_in_projection = nn.Linear(2 * config.emo_dim, config.emo_dim)
        self.emotion_readout = nn.Linear(hidden_size, config.emo_dim)

    def train(self, mode: bool = True) -> EmoDecoder:
        super().train(mode)
        self.base.eval()  # the frozen base never uses dropout
        return self

    @property
    def device(self) -> torch.device:
        return self.emotion_embedding.weight.device

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """Everything but the base: what ``emo_decoder.pt`` stores."""
        return {name: tensor for name, tensor in self.state_dict().items() if not name.startswith("base.")}

    def load_trainable_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        missing, unexpected = self.load_state_dict(state, strict=False)
        missing = [name for name in missing if not name.startswith("base.")]
        if missing or unexpected:
            raise ValueError(f"checkpoint does not fit this EmoDecoder: missing {missing}, unexpected {unexpected}")

    def emotion_index(self, emotion: str) -> int:
        return self.config.emotions.index(emotion)

    def condition(self, input_ids: torch.Tensor, prompt_mask: torch.Tensor, emotion_ids: torch.Tensor) -> torch.Tensor:
        """g_in (batch, emo_dim): the conditioning emotion's embedding and the prompt pooled around it."""
        emotion = self.emotion_embedding(emotion_ids)
        prompt = self.base.model.embed_tokens(input_ids)
        pooled = self.input_pooling(prompt, prompt_mask, emotion)
        return self.g_in_projection(torch.cat([emotion, pooled], dim=-1))

    def new_decode_state(self) -> DecodeState:
        from transformers import DynamicCache

        return DecodeState(base_cache=DynamicCache(config=self.base.config))

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        g_in: torch.Tensor | None,
        state: DecodeState | None = None,
        use_adapters: bool = True,
        position_ids: torch.Tensor | None = None,
    ) -> EmoDecoderOutput:
        """Run ``input_ids`` (batch, time) through the blocks; with ``state``, continue from its caches.

        ``attention_mask`` (batch, time) marks real tokens. Without ``position_ids`` every row's
        positions count from the start of the state (padding on the right, as in training); rows
        left-padded in a shared state (``worker.engine.emodecoder``) pass their own (batch, time).
        ``use_adapters=False`` is the frozen base alone (the distillation teacher; ``g_in`` unused).
        """
        past = state.length if state is not None else 0
        padding = (
            attention_mask
            if state is None or state.padding_mask is None
            else torch.cat([state.padding_mask, attention_mask], dim=1)
        )
        if state is not None:
            state.padding_mask = padding
        hidden = self.base.model.embed_tokens(input_ids)
        mask = make_masks(padding, input_ids.size(1), hidden.dtype)
        positions = (
            torch.arange(past, past + input_ids.size(1), device=input_ids.device).unsqueeze(0)
            if position_ids is None
            else position_ids
        )
        rotary = self.base.model.rotary_emb(hidden, position_ids=positions)
        gates = []
        for index, block in enumerate(self.base.model.layers):
            out = block(
                hidden,
                attention_mask=mask,
                position_ids=positions,
                position_embeddings=rotary,
                past_key_values=state.base_cache if state is not None else None,
                use_cache=state is not None,
            )
            hidden = out[0] if isinstance(out, tuple) else out
            if use_adapters and index in self.adapter_layers:
                cache = state.adapter_caches.setdefault(index, AdapterCache()) if state is not None else None
                hidden, gate = self.adapters[str(index)](hidden, g_in, mask, cache)
                gates.append(gate)
        hidden = self.base.model.norm(hidden)
        return EmoDecoderOutput(
            logits=self.base.lm_head(hidden), token_emotion=self.emotion_readout(hidden), gates=gates
        )

    def g_out(self, output: EmoDecoderOutput, reply_mask: torch.Tensor) -> torch.Tensor:
        """The reply's emotion (batch, emo_dim): the per-token emotion averaged over the reply positions."""
        return masked_mean(output.token_emotion, reply_mask)
