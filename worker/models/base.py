"""The one interface every servable model implements, and the registry entry that describes it.

Nothing here imports torch: the heavy libraries are imported inside each kind's loading
module, on first ``load()``, so listing models or running the API never pays for them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from attune.contract import ChatTurn, EmotionReading, SafetyVerdict


class ModelUnavailable(RuntimeError):
    """Weights missing, CUDA required, a package not installed: a reason a person can act on."""


class ModelBusy(RuntimeError):
    """The model's batch and queue are full; the caller should retry later."""


class GenerationFailed(RuntimeError):
    """Generation stopped for a reason with its own error code (a remote endpoint's 401, 429, ...).

    ``code`` travels to the client in the ``error`` frame; ``message`` is for a person and must
    never contain a secret.
    """

    def __init__(self, code: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.retry_after_s = code, message, retry_after_s


@dataclass(frozen=True)
class ModelSpec:
    """One entry of ``models.toml``."""

    name: str
    kind: str  # causal_lm | peft_causal_lm | seq2seq | qwen_heads | emodecoder | retrieval | classifier | image_emotion | openai
    weights: str | None = None  # hub id or local directory (relative paths resolve from the registry file)
    adapter: str | None = None  # PEFT adapter: hub id or local directory
    quantization: str = "none"  # none | nf4 | int8
    device: str = "auto"  # auto | cpu | cuda
    description: str = ""
    chat: bool = True  # answers chat turns (classifiers do not)
    generation: dict[str, Any] = field(default_factory=dict)  # temperature, top_p, max_new_tokens, system_prompt, ...
    options: dict[str, Any] = field(default_factory=dict)  # kind-specific settings
    setup: str = ""  # what it needs that a fresh install lacks, and the command that provides it


class ReplyCheck(Protocol):
    """The part of the worker's SafetyFilter a model uses to check its own drafts."""

    def check_reply(self, text: str) -> SafetyVerdict: ...


@dataclass(frozen=True)
class LoadContext:
    """What a model class is constructed with, besides its spec: ``Cls(spec, context)``."""

    home: Path  # ATTUNE_HOME: built artifacts under models/, converted weights under cache/
    device: str = "cpu"  # resolved: "cpu" or "cuda"
    reply_check: ReplyCheck | None = None  # the worker's safety filter; None: drafts are not checked


@dataclass(frozen=True)
class Decoding:
    """How a reply is decoded, fully resolved. The defaults here are the project's only defaults:
    ``worker.registry.resolve_decoding`` takes each setting from the job's params, else the model's
    ``generation`` table in models.toml, else these; engines and models use what they get as is.

    Nothing here is "unset" (``None`` means unset only in the request and in models.toml), except
    ``seed``, where None means "not reproducible". ``top_k`` 0, ``repetition_penalty`` 1.0 and
    ``no_repeat_ngram_size`` 0 are off, as in transformers and llama.cpp.
    """

    temperature: float = 0.7  # 0 means greedy
    top_p: float = 0.9
    top_k: int = 0  # 0: no top-k cut
    max_new_tokens: int = 256
    repetition_penalty: float = 1.0  # > 1 discourages tokens the reply (and earlier replies) already used
    no_repeat_ngram_size: int = 0  # > 0: no n-gram of this size appears twice in the reply or earlier replies
    # After ``end_of_turn_after`` reply tokens (0: off) the end-of-turn token's logit grows by
    # |logit| * (end_of_turn_factor ** k - 1) at step k past it: transformers' exponential decay
    # length penalty, so a small model that rambles still ends its turn, at a point it finds natural.
    end_of_turn_after: int = 0
    end_of_turn_factor: float = 1.0
    # The end-of-turn token cannot be chosen before this many reply tokens (0: off): transformers'
    # ``min_new_tokens``, for a model whose replies end too early ("That's great!").
    min_new_tokens: int = 0
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.temperature <= 2:
            raise ValueError(f"temperature must be in [0, 2], got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.repetition_penalty <= 0:
            raise ValueError(f"repetition_penalty must be > 0, got {self.repetition_penalty}")
        if self.no_repeat_ngram_size < 0:
            raise ValueError(f"no_repeat_ngram_size must be >= 0, got {self.no_repeat_ngram_size}")
        if self.end_of_turn_after < 0 or self.end_of_turn_factor < 1:
            raise ValueError("end_of_turn_after must be >= 0 and end_of_turn_factor >= 1")
        if not 0 <= self.min_new_tokens < self.max_new_tokens:
            raise ValueError(f"min_new_tokens must be in [0, max_new_tokens), got {self.min_new_tokens}")


DECODING_FIELDS = tuple(Decoding.__dataclass_fields__)
_DEFAULT = Decoding()


@dataclass
class GenerationRequest:
    request_id: str
    history: list[ChatTurn]
    temperature: float = _DEFAULT.temperature
    top_p: float = _DEFAULT.top_p
    top_k: int = _DEFAULT.top_k
    max_new_tokens: int = _DEFAULT.max_new_tokens
    seed: int | None = None
    repetition_penalty: float = _DEFAULT.repetition_penalty
    no_repeat_ngram_size: int = _DEFAULT.no_repeat_ngram_size
    end_of_turn_after: int = _DEFAULT.end_of_turn_after
    end_of_turn_factor: float = _DEFAULT.end_of_turn_factor
    min_new_tokens: int = _DEFAULT.min_new_tokens
    user_emotion: EmotionReading | None = None  # what the user's message was classified as
    system_prompt: str | None = None
    # Reply text already streamed by a worker that died: continue after it where the kind can.
    prefix: str = ""

    @property
    def decoding(self) -> Decoding:
        return Decoding(**{name: getattr(self, name) for name in DECODING_FIELDS})


@dataclass
class StreamChunk:
    """A piece of the reply. The last chunk has ``finish_reason`` set (and may carry no text)."""

    text: str = ""
    finish_reason: str | None = None  # stop | length | cancelled
    prompt_tokens: int = 0
    completion_tokens: int = 0
    extras: dict[str, Any] = field(default_factory=dict)  # e.g. emotion/strategy picked, emo_alignment_score


@runtime_checkable
class ChatModel(Protocol):
    spec: ModelSpec

    @property
    def version(self) -> str:
        """Changes whenever the weights change; part of the response-cache key."""
        ...

    def load(self) -> None: ...

    def unload(self) -> None: ...

    def memory_bytes(self) -> int: ...

    def stream(self, request: GenerationRequest) -> AsyncIterator[StreamChunk]:
        """Yield the reply as it is produced; stop within one decoding step of ``cancel``."""
        ...

    def cancel(self, request_id: str) -> None: ...


class LabelModel(Protocol):
    """What both classifier protocols share: a spec, its labels, a version, load/unload and memory."""

    spec: ModelSpec
    labels: list[str]

    @property
    def version(self) -> str: ...

    def load(self) -> None: ...

    def unload(self) -> None: ...

    def memory_bytes(self) -> int: ...


@runtime_checkable
class Classifier(LabelModel, Protocol):
    def classify(self, texts: list[str]) -> list[EmotionReading]:
        """Many texts in one call (batched forward passes); blocking, run it off the event loop."""
        ...


@runtime_checkable
class ImageClassifier(LabelModel, Protocol):
    """Reads photos: decode (in memory, never stored) then classify many in one call."""

    def decode_image(self, data: bytes) -> Any:
        """The decoded image; raises ValueError with a reason a person can read."""
        ...

    def classify_images(self, images: list[Any]) -> list[EmotionReading]:
        """Many decoded images in one call (batched forward passes); blocking, run it off the event loop."""
        ...


def release_engine(engine: Any, device: str) -> None:
    """Stop an unloaded model's engine (every reply still running ends "cancelled") and free its memory."""
    if engine is None:
        return
    engine.shutdown()
    del engine
    import gc

    gc.collect()
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()
