"""The model registry: what ``models.toml`` lists, what can load here, and what is loaded now.

Models load on first use (in a thread, one load per model at a time), stay loaded while
used, and are unloaded after ``keep_alive_s`` idle or when loading another would exceed
the memory budget (least recently used first). A model that cannot load is reported
``unavailable`` with its reason, or ``building`` with its progress while ``attune serve``'s
first-run builder makes its artifact; it never takes the worker down.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import importlib.util
import logging
import os
import time
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from attune import build_progress
from attune.contract import ChatTurn, DecodingParams, EmotionReading, ModelStatus
from attune.observability import MODEL_LOAD_SECONDS, MODEL_MEMORY_BYTES
from attune.packages import PACKAGE_PLACEHOLDER, PackageMissing, expand_packages
from worker.models.base import (
    DECODING_FIELDS,
    ChatModel,
    Classifier,
    Decoding,
    GenerationRequest,
    ImageClassifier,
    LoadContext,
    ModelSpec,
    ModelUnavailable,
    ReplyCheck,
)
from worker.models.llama_cpp_serving import check_engine_option

log = logging.getLogger(__name__)

# kind -> "module:Class"; imported only when a model of that kind is first loaded.
KINDS: dict[str, str] = {
    "causal_lm": "worker.models.causal_lm:CausalLM",
    "peft_causal_lm": "worker.models.causal_lm:CausalLM",
    "seq2seq": "worker.models.seq2seq:Seq2SeqLM",
    "qwen_heads": "worker.models.qwen_heads:QwenHeadsModel",
    "emodecoder": "worker.models.emodecoder.serving:EmoDecoderModel",
    "retrieval": "worker.models.retrieval:RetrievalResponder",
    "classifier": "worker.models.classifier:TextClassifier",
    "image_emotion": "worker.models.image_classifier:ImageEmotionClassifier",
    "openai": "worker.models.openai_compat:OpenAICompatModel",
    "echo": "worker.models.echo:EchoModel",  # zero-cost and deterministic: tests and load runs only
}
CHAT_KINDS = {"causal_lm", "peft_causal_lm", "seq2seq", "qwen_heads", "emodecoder", "retrieval", "openai", "echo"}
GIB = 1024**3


@dataclass
class Registry:
    specs: dict[str, ModelSpec]
    default_chat: str
    context: LoadContext
    source: Path

    @classmethod
    def from_file(cls, path: Path, home: Path, device: str = "cpu") -> Registry:
        parsed = parse_models_file(path.read_text())
        home = home.resolve()
        specs = {name: _spec(name, entry, home, path.parent) for name, entry in parsed.models.items()}
        default_chat = parsed.default_chat or next((n for n, s in specs.items() if s.chat), "")
        return cls(specs=specs, default_chat=default_chat, context=LoadContext(home=home, device=device), source=path)


class ModelEntry(BaseModel):
    """One ``[models.NAME]`` table as written; a key it does not know is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    weights: str | None = None
    adapter: str | None = None
    quantization: Literal["none", "nf4", "int8"] = "none"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    description: str = ""
    chat: bool | None = None  # default: whether the kind answers chat turns
    generation: dict[str, Any] = Field(default_factory=dict)  # checked against Decoding in _spec
    options: dict[str, Any] = Field(default_factory=dict)  # kind-specific, checked by the kind
    setup: str = ""


class ModelsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_chat: str = ""
    models: dict[str, ModelEntry] = Field(default_factory=dict)


def parse_models_file(text: str) -> ModelsFile:
    """models.toml, validated; errors name the model and the key (``models.smollm2.wieghts``)."""
    try:
        return ModelsFile.model_validate(tomllib.loads(text))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}" for problem in error.errors()
        )
        raise ValueError(f"models.toml: {problems}") from None


# Keys of a model's `generation = {...}` besides the decoding settings.
GENERATION_EXTRAS = {"system_prompt"}


def resolve_decoding(spec: ModelSpec, params: DecodingParams | None = None) -> Decoding:
    """The one place decoding settings are decided, each on its own: the request's own params,
    else the model's ``generation`` table in models.toml, else ``Decoding``'s project defaults.

    ``None`` (or a key left out) is "unset" and falls through; any value, 0 included, is a choice
    (``top_k`` 0: no top-k cut). What comes back is complete: engines and models add no defaults.
    """
    chosen: dict[str, Any] = {}
    for name in DECODING_FIELDS:
        value = getattr(params, name, None) if params is not None else None
        if value is None:
            value = spec.generation.get(name)
        if value is not None:
            chosen[name] = value
    return Decoding(**chosen)


def generation_request(
    spec: ModelSpec,
    request_id: str,
    history: list[ChatTurn],
    params: DecodingParams | None = None,
    user_emotion: EmotionReading | None = None,
    prefix: str = "",
) -> GenerationRequest:
    """The request a model gets for one reply: history, resolved decoding, the model's system prompt."""
    decoding = resolve_decoding(spec, params)
    return GenerationRequest(
        request_id=request_id,
        history=list(history),
        user_emotion=user_emotion,
        system_prompt=spec.generation.get("system_prompt"),
        prefix=prefix,
        **{name: getattr(decoding, name) for name in DECODING_FIELDS},
    )


def _spec(name: str, entry: ModelEntry, home: Path, base_dir: Path) -> ModelSpec:
    kind = entry.kind
    if kind not in KINDS:
        raise ValueError(f"models.toml: model {name!r} has unknown kind {kind!r} (known: {', '.join(sorted(KINDS))})")
    generation = dict(entry.generation)
    unknown = set(generation) - set(DECODING_FIELDS) - GENERATION_EXTRAS
    if unknown:
        raise ValueError(
            f"models.toml: model {name!r} has unknown generation settings {sorted(unknown)} "
            f"(known: {', '.join(sorted({*DECODING_FIELDS, *GENERATION_EXTRAS}))})"
        )
    options = dict(entry.options)
    check_engine_option(name, kind, options)
    spec = ModelSpec(
        name=name,
        kind=kind,
        weights=_resolve(entry.weights, home, base_dir),
        adapter=_resolve(entry.adapter, home, base_dir),
        quantization=entry.quantization,
        device=entry.device,
        description=entry.description,
        chat=kind in CHAT_KINDS if entry.chat is None else entry.chat,
        generation=generation,
        options=options,
        setup=entry.setup,
    )
    try:
        resolve_decoding(spec)
    except (TypeError, ValueError) as error:
        raise ValueError(f"models.toml: model {name!r}: {error}") from error
    return spec


def _resolve(value: str | None, home: Path, base_dir: Path) -> str | None:
    """Expand ``{home}``, ``{pkg:NAME}`` and ``${ENV}``; relative local paths resolve from models.toml."""
    if not value:
        return None
    if "{home}" in value:
        value = value.replace("{home}", str(home))
    if "{pkg:" in value:
        try:
            value = expand_packages(value)
        except PackageMissing:
            return f"missing-package:{PACKAGE_PLACEHOLDER.search(value).group(1)}"  # type: ignore[union-attr]
    value = os.path.expandvars(value)
    if value.startswith((".", "/")):
        return str((base_dir / value).resolve()) if value.startswith(".") else value
    return value  # a hub id


def is_local(ref: str) -> bool:
    return ref.startswith("/") or ref.startswith("missing-package:")


def availability(spec: ModelSpec) -> str | None:
    """Why this model cannot load here (followed by the entry's ``setup`` line), or None.

    Cheap: never imports torch or reads weights.
    """
    reason = _missing(spec)
    return f"{reason}. {spec.setup}" if reason and spec.setup else reason


def _missing(spec: ModelSpec) -> str | None:
    module = KINDS[spec.kind].split(":")[0]
    if _module_missing(module):
        return f"the code for kind {spec.kind!r} is not installed"
    for label, ref in (("weights", spec.weights), ("adapter", spec.adapter)):
        if ref is None:
            continue
        if ref.startswith("missing-package:"):
            return f"{label}: install the package {ref.split(':', 1)[1]!r}"
        if is_local(ref):
            if not Path(ref).exists():  # the entry's setup line, when it has one, says how to build them
                build = build_progress.read(Path(ref))
                if build is not None:
                    return build.describe()
                hint = "" if spec.setup else "; build them with `attune prepare` or `attune train`"
                return f"{label} not found at {ref}{hint}"
        elif not _in_hub_cache(ref, "adapter_config.json" if label == "adapter" else "config.json"):
            return f"{label} {ref!r} are not in the local Hugging Face cache and the hub is offline"
    if spec.quantization == "nf4" and importlib.util.find_spec("bitsandbytes") is None:
        return "4-bit NF4 needs the bitsandbytes package"
    if spec.kind == "openai":
        key_env = spec.options.get("api_key_env", "OPENAI_API_KEY")
        if spec.options.get("requires_key", True) and not os.environ.get(key_env):
            return f"set {key_env} to use this remote model"
    return None


def build_of(spec: ModelSpec) -> build_progress.BuildProgress | None:
    """The first-run build making this model's missing local weights or adapter, if one is running."""
    for ref in (spec.weights, spec.adapter):
        if ref is not None and ref.startswith("/") and not Path(ref).exists():
            build = build_progress.read(Path(ref))
            if build is not None:
                return build
    return None


def _module_missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except ModuleNotFoundError:
        return True


PROBE_TTL_S = 10.0


class _Probe:
    """Availability and version per model, re-checked at most every PROBE_TTL_S (they walk the disk)."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[float, str | None, str]] = {}

    def __call__(self, spec: ModelSpec) -> tuple[str | None, str]:
        if build_of(spec) is not None:  # probed afresh while it builds, so it is available the moment it lands
            self._seen.pop(spec.name, None)
            return availability(spec), spec_version(spec)
        cached = self._seen.get(spec.name)
        if cached and time.monotonic() - cached[0] < PROBE_TTL_S:
            return cached[1], cached[2]
        reason, version = availability(spec), spec_version(spec)
        self._seen[spec.name] = (time.monotonic(), reason, version)
        return reason, version


def _in_hub_cache(repo_id: str, filename: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    found = try_to_load_from_cache(repo_id, filename)
    return isinstance(found, str)


def spec_version(spec: ModelSpec) -> str:
    """Changes whenever the weights or the settings that shape replies change."""
    digest = hashlib.sha256(
        repr(
            (
                spec.kind,
                spec.weights,
                spec.adapter,
                spec.quantization,
                sorted(spec.options.items()),
                sorted(spec.generation.items()),
            )
        ).encode()
    )
    for ref in (spec.weights, spec.adapter):
        if ref and is_local(ref) and Path(ref).exists():
            digest.update(_tree_fingerprint(Path(ref)).encode())
    return digest.hexdigest()[:16]


def _tree_fingerprint(path: Path) -> str:
    if path.is_file():
        stat = path.stat()
        return f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}"
    parts = []
    for file in sorted(path.rglob("*"))[:2000]:
        if file.is_file():
            stat = file.stat()
            parts.append(f"{file.relative_to(path)}:{stat.st_size}:{int(stat.st_mtime)}")
    return "|".join(parts)


def estimated_bytes(spec: ModelSpec) -> int:
    """Size on disk of local weights: the budget's guess before a model is loaded."""
    total = 0
    for ref in (spec.weights, spec.adapter):
        if ref and is_local(ref) and Path(ref).exists():
            path = Path(ref)
            files = [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]
            total += sum(
                f.stat().st_size for f in files if f.suffix in {".safetensors", ".bin", ".pt", ".gguf", ".npy"}
            )
    return total


@dataclass
class _Slot:
    instance: ChatModel | Classifier | ImageClassifier | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_used: float = 0.0
    error: str | None = None
    in_use: int = 0


class ModelManager:
    """Owns the loaded instances: load on demand, keep alive, evict under the budget."""

    def __init__(self, registry: Registry, keep_alive_s: float, memory_budget_gb: float) -> None:
        self.registry = registry
        self.keep_alive_s = keep_alive_s
        self.budget_bytes = int(memory_budget_gb * GIB)
        self._slots: dict[str, _Slot] = {name: _Slot() for name in registry.specs}
        self._probe = _Probe()
        self.load_seconds: dict[str, float] = {}
        # One load at a time: transformers' loading patches process-wide state (meta-device
        # init), so two models loading in parallel threads corrupt each other; and the memory
        # budget is only honest if room is made for one model at a time.
        self._loading = asyncio.Lock()

    def check_drafts_with(self, reply_check: ReplyCheck) -> None:
        """Models loaded from now on that check their own drafts (qwen_heads' reflection) use this
        check, the worker's SafetyFilter, instead of none."""
        self.registry.context = replace(self.registry.context, reply_check=reply_check)

    def spec(self, name: str) -> ModelSpec:
        if name not in self.registry.specs:
            raise ModelUnavailable(f"no model named {name!r} in {self.registry.source.name}")
        return self.registry.specs[name]

    async def get(self, name: str) -> ChatModel | Classifier | ImageClassifier:
        """The loaded model, loading it first if needed; marks it used."""
        spec = self.spec(name)
        slot = self._slots[name]
        async with slot.lock:
            if slot.instance is None:
                reason = availability(spec)
                if reason:
                    slot.error = reason
                    raise ModelUnavailable(reason)
                async with self._loading:
                    await self._make_room(estimated_bytes(spec), keep=name)
                    started = time.perf_counter()
                    try:
                        slot.instance = await asyncio.to_thread(self._construct_and_load, spec)
                    except ModelUnavailable as exc:
                        slot.error = str(exc)
                        raise
                    except Exception as exc:
                        log.exception("loading model %s failed", name)
                        slot.error = f"failed to load: {type(exc).__name__}: {exc}"
                        raise ModelUnavailable(slot.error) from exc
                slot.error = None
                self.load_seconds[name] = time.perf_counter() - started
                MODEL_LOAD_SECONDS.labels(model=name).observe(self.load_seconds[name])
                MODEL_MEMORY_BYTES.labels(model=name).set(self._memory(name))
                log.info("loaded model %s in %.1fs", name, self.load_seconds[name])
            slot.last_used = time.monotonic()
            return slot.instance

    def _construct_and_load(self, spec: ModelSpec) -> ChatModel | Classifier | ImageClassifier:
        module_name, _, class_name = KINDS[spec.kind].partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        instance = cls(spec, self.registry.context)
        instance.load()
        return instance

    def touch(self, name: str) -> None:
        self._slots[name].last_used = time.monotonic()

    async def unload(self, name: str) -> bool:
        slot = self._slots.get(name)
        if slot is None:
            return False
        async with slot.lock:
            if slot.instance is None:
                return False
            instance, slot.instance = slot.instance, None
        await asyncio.to_thread(instance.unload)
        MODEL_MEMORY_BYTES.labels(model=name).set(0)
        log.info("unloaded model %s", name)
        return True

    async def unload_idle(self, busy: set[str]) -> None:
        horizon = time.monotonic() - self.keep_alive_s
        for name, slot in self._slots.items():
            if slot.instance is not None and name not in busy and slot.last_used < horizon:
                await self.unload(name)

    async def _make_room(self, needed: int, keep: str) -> None:
        loaded = sorted(
            ((slot.last_used, name) for name, slot in self._slots.items() if slot.instance is not None and name != keep)
        )
        used = sum(self._memory(name) for _, name in loaded)
        for _, name in loaded:
            if used + needed <= self.budget_bytes:
                break
            used -= self._memory(name)
            await self.unload(name)

    def _memory(self, name: str) -> int:
        instance = self._slots[name].instance
        try:
            return int(instance.memory_bytes()) if instance is not None else 0
        except Exception:  # a model that cannot measure itself counts as its size on disk
            return estimated_bytes(self.registry.specs[name])

    def version(self, name: str) -> str:
        return self._probe(self.spec(name))[1]

    def loaded(self) -> list[str]:
        return [name for name, slot in self._slots.items() if slot.instance is not None]

    def statuses(self) -> list[ModelStatus]:
        out = []
        for name, spec in self.registry.specs.items():
            slot = self._slots[name]
            unavailable, version = self._probe(spec)
            reason = None if slot.instance is not None else (unavailable or slot.error)
            state = (
                "loaded"
                if slot.instance is not None
                else ("loading" if slot.lock.locked() else ("unavailable" if reason else "available"))
            )
            build = build_of(spec) if state == "unavailable" else None
            if build is not None:  # fresher than the probe's reason, which is cached
                state, reason = "building", build.describe()
            out.append(
                ModelStatus(
                    name=name,
                    kind=spec.kind,
                    state=state,
                    reason=reason,
                    version=version,
                    memory_bytes=self._memory(name) if slot.instance is not None else None,
                    default=name == self.registry.default_chat,
                    chat=spec.chat,
                    description=spec.description or None,
                    progress=round(build.fraction, 3) if build else None,
                    eta_s=round(build.eta_s()) if build else None,
                )
            )
        return out
