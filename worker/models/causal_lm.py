"""Causal LMs (plain, GGUF, 4-bit NF4, PEFT adapters) served through the continuous batching engine.

``load_pretrained`` is the one loading path for kinds ``causal_lm`` and ``peft_causal_lm`` (and
the encoder-decoders of kind ``seq2seq``, ``worker.models.seq2seq``): a hub id or a local
directory, optionally a GGUF file converted once into the cache, optionally quantized with
bitsandbytes, optionally with a LoRA adapter on top. ``CausalLM`` turns chat requests into
prompts with the tokenizer's chat template and streams the engine's deltas.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import importlib.util
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from attune.contract import EmotionReading
from worker.models.base import GenerationRequest, LoadContext, ModelSpec, ModelUnavailable, StreamChunk

log = logging.getLogger(__name__)

_DTYPES = ("float32", "bfloat16", "float16")


def artifact_tokenizer(directory: Path, name: str) -> Any | None:
    """The tokenizer a training run saved in ``directory``, or None where it left it out.

    A shipped artifact leaves the base's own tokenizer out; its caller then uses the base's (adding
    any tokens training added, in training's order).
    """
    if not (directory / "tokenizer_config.json").is_file():
        return None
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(directory)
    except (OSError, ValueError) as error:
        raise ModelUnavailable(f"{name}: cannot load the tokenizer from {directory}: {error}") from error


def load_pretrained(spec: ModelSpec, context: LoadContext) -> tuple[Any, Any]:
    """Load ``spec``'s model (eval mode, no gradients) and tokenizer; ModelUnavailable says why not."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as error:
        raise ModelUnavailable(
            f"the worker extras are not installed ({error.name}): pip install 'attune[worker]'"
        ) from error
    started = time.perf_counter()
    device = _usable_device(spec, context)
    _configure_threads(spec, device)
    if spec.kind == "peft_causal_lm" or (spec.kind == "seq2seq" and spec.adapter):
        model, tokenizer_source = _load_with_adapter(spec, context, device)
    else:
        if not spec.weights:
            raise ModelUnavailable(f"{spec.name} has no weights configured")
        tokenizer_source = _weights_source(spec.weights, spec, context)
        model = _load_weights(tokenizer_source, spec, device)
    model.eval()
    model.requires_grad_(False)
    tokenizer = _load_tokenizer(tokenizer_source)
    log.info(
        "loaded %s (%s, quantization %s) on %s in %.1fs",
        spec.name,
        spec.kind,
        spec.quantization,
        device,
        time.perf_counter() - started,
    )
    return model, tokenizer


def _usable_device(spec: ModelSpec, context: LoadContext) -> str:
    import torch

    if "cuda" in (spec.device, context.device) and not torch.cuda.is_available():
        raise ModelUnavailable(f"{spec.name} needs a CUDA GPU and this machine has none")
    return context.device


def _configure_threads(spec: ModelSpec, device: str) -> None:
    import torch

    if device != "cpu":
        return
    from worker.models.llama_cpp_serving import cpu_threads

    # Intra-op threads are process-wide; use every core this process may run on unless told otherwise
    # (the entry's num_threads, or OMP_NUM_THREADS: on a busy machine extra threads spin and stall).
    threads = cpu_threads(spec)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def checked_reference(reference: str, what: str) -> str:
    """A local path must exist; anything else is taken as a hub id."""
    path = Path(reference).expanduser()
    if path.is_absolute() or reference.startswith((".", "~")):
        if not path.exists():
            raise ModelUnavailable(f"the {what} directory {path} does not exist")
        return str(path)
    return reference


def _weights_source(reference: str, spec: ModelSpec, context: LoadContext) -> str:
    reference = checked_reference(reference, "weights")
    gguf_file = spec.options.get("gguf_file")
    if not gguf_file:
        return reference
    from worker.models.gguf import converted_checkpoint

    return str(converted_checkpoint(reference, gguf_file, context.home / "cache" / "gguf"))


def _torch_dtype(spec: ModelSpec, device: str):
    import torch

    name = spec.options.get("dtype")
    if name is None:
        name = "bfloat16" if device == "cuda" or spec.quantization == "nf4" else "float32"
    if name not in _DTYPES:
        raise ModelUnavailable(f"{spec.name}: dtype {name!r} is not one of {', '.join(_DTYPES)}")
    return getattr(torch, name)


def _quantization_config(spec: ModelSpec):
    if spec.quantization == "none":
        return None
    if spec.quantization not in ("nf4", "int8"):
        raise ModelUnavailable(f"{spec.name}: unknown quantization {spec.quantization!r} (none, nf4 or int8)")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ModelUnavailable(f"{spec.name} uses {spec.quantization} quantization: pip install bitsandbytes")
    import torch
    from transformers import BitsAndBytesConfig

    if spec.quantization == "int8":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )


def _load_weights(source: str, spec: ModelSpec, device: str):
    import transformers

    # Kind seq2seq: an encoder-decoder (T5, Flan-T5); every other kind here is decoder-only.
    auto_class = transformers.AutoModelForSeq2SeqLM if spec.kind == "seq2seq" else transformers.AutoModelForCausalLM
    quantization = _quantization_config(spec)
    kwargs: dict[str, Any] = {"dtype": _torch_dtype(spec, device)}
    if quantization is not None:
        kwargs.update(quantization_config=quantization, device_map={"": device})
    try:
        model = auto_class.from_pretrained(source, **kwargs)
    except ImportError as error:
        raise ModelUnavailable(f"{spec.name}: a package its weights need is missing: {error}") from error
    except (OSError, ValueError) as error:
        raise ModelUnavailable(f"{spec.name}: cannot load weights from {source}: {error}") from error
    return model if quantization is not None else model.to(device)


def _load_with_adapter(spec: ModelSpec, context: LoadContext, device: str) -> tuple[Any, str]:
    """Base model plus PEFT adapter; returns the model and where its tokenizer lives."""
    if not spec.adapter:
        raise ModelUnavailable(f"{spec.name} is a {spec.kind} without an adapter")
    try:
        from peft import PeftConfig, PeftModel
    except ImportError as error:
        raise ModelUnavailable(f"{spec.name} needs the peft package: pip install peft") from error
    adapter = checked_reference(spec.adapter, "adapter")
    try:
        peft_config = PeftConfig.from_pretrained(adapter)
    except (OSError, ValueError) as error:
        raise ModelUnavailable(f"{spec.name}: cannot read the adapter {adapter}: {error}") from error
    base_reference = spec.weights or peft_config.base_model_name_or_path
    if not base_reference:
        raise ModelUnavailable(f"{spec.name}: the adapter names no base model and the registry gives no weights")
    base_source = _weights_source(base_reference, spec, context)
    base = _load_weights(base_source, spec, device)
    model = PeftModel.from_pretrained(base, adapter, is_trainable=False)
    # An adapter trained with a chat template ships the tokenizer that carries it.
    has_tokenizer = Path(adapter, "tokenizer_config.json").is_file()
    return model, adapter if has_tokenizer else base_source


def _load_tokenizer(source: str):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as error:
        raise ModelUnavailable(f"cannot load the tokenizer from {source}: {error}") from error


def emotion_instruction(emotion: EmotionReading) -> str:
    """The system-prompt sentence that conditions a reply on the user's detected emotion."""
    score = emotion.scores.get(emotion.label)
    strength = f" ({score:.2f})" if score is not None else ""
    return f"The person seems to feel {emotion.label}{strength}; respond with warmth that fits that feeling."


class CausalLM:
    """A ChatModel for kinds ``causal_lm`` and ``peft_causal_lm`` (and, through ``Seq2SeqLM``, ``seq2seq``)."""

    def __init__(self, spec: ModelSpec, context: LoadContext) -> None:
        self.spec = spec
        self.context = context
        self._model: Any = None
        self._tokenizer: Any = None
        self._engine: Any = None
        self._version: str | None = None
        self._load_lock = threading.Lock()

    @property
    def version(self) -> str:
        if self._version is None:
            self._version = self._fingerprint()
        return self._version

    def _fingerprint(self) -> str:
        spec = self.spec
        parts = [
            spec.kind,
            spec.weights or "",
            spec.adapter or "",
            spec.quantization,
            json.dumps(spec.options, sort_keys=True, default=str),
            json.dumps(spec.generation, sort_keys=True, default=str),
        ]
        for reference in (spec.weights, spec.adapter):
            path = Path(reference) if reference else None
            if path is not None and path.is_dir():
                parts += [f"{f.name}:{f.stat().st_mtime_ns}" for f in sorted(path.iterdir()) if f.is_file()]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]

    @property
    def loaded(self) -> bool:
        return self._engine is not None

    def load(self) -> None:
        from worker.models.llama_cpp_serving import load_llama_cpp_engine, uses_llama_cpp

        with self._load_lock:
            if self._engine is not None:
                return
            if uses_llama_cpp(self.spec, self.context):
                self._engine, self._tokenizer = load_llama_cpp_engine(self.spec, self.context)
                self._version = None
                return
            model, tokenizer = self._load_weights()
            self._engine = self._new_engine(
                model,
                tokenizer,
                max_batch_size=int(self.spec.options.get("max_batch_size", 16)),
                max_queued=int(self.spec.options.get("max_queued", 64)),
                device=self.context.device,
            )
            self._model, self._tokenizer = model, tokenizer
            self._version = None  # weights may have changed on disk since the last load

    def _load_weights(self) -> tuple[Any, Any]:
        """The network and tokenizer the engine serves; kinds with extra parts load them here too."""
        return load_pretrained(self.spec, self.context)

    def _new_engine(self, model: Any, tokenizer: Any, **settings: Any) -> Any:
        from worker.engine import BatchEngine

        return BatchEngine(model, tokenizer, **settings)

    def submit(self, engine: Any, request: GenerationRequest, sampling: Any) -> Any:
        """Queue the request's prompt (a resumed reply's text already at its end) on the engine."""
        return engine.submit(request.request_id, self.prompt_ids(request, sampling.max_new_tokens), sampling)

    def unload(self) -> None:
        with self._load_lock:
            engine, self._engine = self._engine, None
            self._model = self._tokenizer = None
        from worker.models.base import release_engine

        release_engine(engine, self.context.device)

    def memory_bytes(self) -> int:
        model = self._model
        if model is None:
            engine = self._engine
            return engine.memory_bytes() if hasattr(engine, "memory_bytes") else 0
        tensors = [*model.parameters(), *model.buffers()]
        return sum(t.numel() * t.element_size() for t in tensors)

    def messages(self, request: GenerationRequest) -> list[dict[str, str]]:
        """The chat to render: one system turn (configured prompt + emotion sentence) then the history."""
        turns = [{"role": turn.role, "content": turn.content} for turn in request.history]
        system_parts = [request.system_prompt or self.spec.generation.get("system_prompt")]
        if turns and turns[0]["role"] == "system":
            system_parts.append(turns.pop(0)["content"])
        if request.user_emotion is not None:
            system_parts.append(emotion_instruction(request.user_emotion))
        system = " ".join(part for part in system_parts if part)
        return ([{"role": "system", "content": system}] if system else []) + turns

    def prompt_ids(self, request: GenerationRequest, max_new_tokens: int) -> list[int]:
        """Token ids of the rendered chat, dropping the oldest turns until the reply fits the context."""
        messages = self.messages(request)
        context_limit = int(
            self.spec.options.get("max_context_tokens")
            or getattr(self._engine, "context_tokens", 0)  # llama.cpp: the cells each sequence holds
            or getattr(self._model.config, "max_position_embeddings", 0)
            or 1 << 30
        )
        # A reply a dead worker had begun: the model continues right after its text.
        prefix = self.prefix_ids(request)
        while True:
            ids = self._render(messages) + prefix
            first_turn = 1 if messages and messages[0]["role"] == "system" else 0
            if len(ids) + max_new_tokens <= context_limit or len(messages) - first_turn <= 1:
                return ids
            del messages[first_turn]

    def prefix_ids(self, request: GenerationRequest) -> list[int]:
        return self._tokenizer(request.prefix, add_special_tokens=False).input_ids if request.prefix else []

    def _render(self, messages: list[dict[str, str]]) -> list[int]:
        tokenizer = self._tokenizer
        if tokenizer.chat_template:
            text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            # The template already writes BOS and role markers.
            return tokenizer(text, add_special_tokens=False).input_ids
        # A base model without a chat template: a plain transcript ending where the reply starts.
        text = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"
        return tokenizer(text).input_ids

    def sampling_params(self, request: GenerationRequest):
        """The request's settings (the worker resolved them from the registry); with a repetition
        rule on, the model's earlier replies in the history count as already said."""
        from worker.engine import SamplingParams

        params = SamplingParams.from_decoding(request.decoding)
        if params.guards_repetition and self._tokenizer is not None:
            params = dataclasses.replace(params, said_before=self.said_before(request))
        return params

    def said_before(self, request: GenerationRequest) -> tuple[tuple[int, ...], ...]:
        """Token ids of the assistant's earlier replies (and of a resumed reply's prefix)."""
        texts = [turn.content for turn in request.history if turn.role == "assistant" and turn.content]
        if request.prefix:
            texts.append(request.prefix)
        return tuple(tuple(self._tokenizer(text, add_special_tokens=False).input_ids) for text in texts)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamChunk]:
        if self._engine is None:
            await asyncio.to_thread(self.load)
        engine = self._engine
        sampling = self.sampling_params(request)
        if request.prefix:  # the tokens a dead worker already produced count against the budget
            spent = len(self.prefix_ids(request))
            sampling = dataclasses.replace(sampling, max_new_tokens=max(1, sampling.max_new_tokens - spent))
        outputs = self.submit(engine, request, sampling)
        try:
            async for output in outputs:
                yield StreamChunk(
                    text=output.text,
                    finish_reason=output.finish_reason,
                    prompt_tokens=output.prompt_tokens,
                    completion_tokens=output.completion_tokens,
                )
        finally:
            if not outputs.finished:  # the consumer stopped listening: free the slot
                engine.cancel(request.request_id)

    def cancel(self, request_id: str) -> None:
        engine = self._engine
        if engine is not None:
            engine.cancel(request_id)
