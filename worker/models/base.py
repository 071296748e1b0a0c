"""The one interface every servable model implements, and the registry entry that describes it.

Nothing here imports torch: the heavy libraries are imported inside each kind's loading
module, on first ``load()``, so listing models or running the API never pays for them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from attune.contract import ChatTurn, EmotionReading


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
    kind: str  # causal_lm | peft_causal_lm | qwen_heads | emodecoder | retrieval | classifier | openai
    weights: str | None = None  # hub id or local directory (relative paths resolve from the registry file)
    adapter: str | None = None  # PEFT adapter: hub id or local directory
    quantization: str = "none"  # none | nf4 | int8
    device: str = "auto"  # auto | cpu | cuda
    description: str = ""
    chat: bool = True  # answers chat turns (classifiers do not)
    generation: dict[str, Any] = field(default_factory=dict)  # temperature, top_p, max_new_tokens, system_prompt, ...
    options: dict[str, Any] = field(default_factory=dict)  # kind-specific settings
    setup: str = ""  # what it needs that a fresh install lacks, and the command that provides it


@dataclass(frozen=True)
class LoadContext:
    """What a model class is constructed with, besides its spec: ``Cls(spec, context)``."""

    home: Path  # ATTUNE_HOME: built artifacts under models/, converted weights under cache/
    device: str = "cpu"  # resolved: "cpu" or "cuda"


@dataclass
class GenerationRequest:
    request_id: str
    history: list[ChatTurn]
    temperature: float = 0.7
    top_p: float = 0.9
    top_k: int = 0
    max_new_tokens: int = 256
    seed: int | None = None
    user_emotion: EmotionReading | None = None  # what the user's message was classified as
    system_prompt: str | None = None
    # Reply text already streamed by a worker that died: continue after it where the kind can.
    prefix: str = ""


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


@runtime_checkable
class Classifier(Protocol):
    spec: ModelSpec
    labels: list[str]

    @property
    def version(self) -> str: ...

    def load(self) -> None: ...

    def unload(self) -> None: ...

    def memory_bytes(self) -> int: ...

    def classify(self, texts: list[str]) -> list[EmotionReading]:
        """Many texts in one call (batched forward passes); blocking, run it off the event loop."""
        ...
