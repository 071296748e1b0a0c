"""``EmoDecoderModel``: the ChatModel of kind ``emodecoder``, serving a run of ``attune train emodecoder``.

``spec.weights`` is the run's output directory (default ``<home>/models/emodecoder``) holding
``emo_decoder.pt`` (adapter weights, architecture, base reference, generation defaults) and
``tokenizer/``. The reply is conditioned on the ED emotion nearest the user's classified
emotion and decoded by the continuous batching ``EmoDecoderEngine`` (``worker.engine.emodecoder``,
started on ``load()``, shut down on ``unload()``): every request being answered is a row of one
forward pass per step, with its own conditioning emotion. The reply streams as text deltas and
the last chunk carries ``emo_alignment_score`` = cos(g_in, EMA of the reply's emotion).

``spec.options``: ``ema_alpha``, ``default_emotion`` (when the user's emotion maps to none of
ED's 32, e.g. "neutral") override the checkpoint's; ``max_batch_size`` (rows decoded together,
default 16) and ``max_queued`` (requests waiting for a row, default 64) bound the engine, past
which a request is refused with ``ModelBusy``, as for the causal LMs. The decoding settings
(temperature, top-k, top-p, ...) are the request's, resolved by the registry; the checkpoint's
are only a record. torch and transformers are imported on ``load()`` only.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from attune.contract import EmotionReading
from attune.packages import PackageMissing, expand_packages
from worker.models.base import GenerationRequest, LoadContext, ModelSpec, ModelUnavailable, StreamChunk
from worker.models.emotion_map import DIRECT, affinity

CHECKPOINT_FILE = "emo_decoder.pt"
TOKENIZER_DIR = "tokenizer"
CHECKPOINT_FORMAT = 1
BUILD_COMMAND = "attune train emodecoder --config smollm2"
DEFAULT_EMOTION = "content"


def resolve_base_path(reference: str) -> str:
    """``{pkg:NAME}`` becomes the installed package's directory (found without importing it)."""
    try:
        return expand_packages(reference)
    except PackageMissing as exc:
        raise ModelUnavailable(f"the base model: {exc}") from exc


def load_base(weights: str, gguf_file: str | None, home: Path, device: str) -> tuple[Any, Any]:
    """The frozen base ``*ForCausalLM`` (float32, eval, no gradients) and its tokenizer.

    Through the worker's one loading path, so a GGUF base is converted once into
    ``<home>/cache/gguf/`` and reused by training and serving alike.
    """
    from worker.models.causal_lm import load_pretrained

    spec = ModelSpec(
        name="emodecoder-base",
        kind="causal_lm",
        weights=resolve_base_path(weights),
        options={"gguf_file": gguf_file, "dtype": "float32"} if gguf_file else {"dtype": "float32"},
    )
    return load_pretrained(spec, LoadContext(home=Path(home), device=device))


def chat_prompt_ids(
    tokenizer: Any, history: Sequence[tuple[str, str]], system_prompt: str | None, max_tokens: int | None = None
) -> list[int]:
    """``(role, text)`` turns through the chat template, ready for the assistant's reply.

    Past ``max_tokens`` the oldest turns are dropped, then (one turn left) the oldest tokens.
    """
    history = list(history)
    while True:
        messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
            {"role": role, "content": text} for role, text in history
        ]
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if max_tokens is None or len(ids) <= max_tokens:
            return ids
        if len(history) <= 1:
            return ids[-max_tokens:]
        history = history[1:]


def ed_emotion_for(reading: EmotionReading | None, emotions: Sequence[str], default: str) -> str:
    """The ED emotion that best fits a classifier's reading; ``default`` when nothing maps.

    Ties (a label names several ED emotions at full weight) go to the one the label names first,
    so "sadness" conditions on "sad" rather than "lonely".
    """
    if reading is None:
        return default
    scores = reading.scores or {reading.label: 1.0}
    fit = affinity(scores)
    best = max((fit.get(emotion, 0.0) for emotion in emotions), default=0.0)
    if best <= 0:
        return default
    named = [
        target
        for label in sorted(scores, key=scores.__getitem__, reverse=True)
        for target in DIRECT.get(label.lower(), ())
    ]
    return next(emotion for emotion in (*named, *emotions) if emotion in emotions and fit.get(emotion) == best)


class EmoDecoderModel:
    """ChatModel of kind ``emodecoder``."""

    def __init__(self, spec: ModelSpec, context: LoadContext) -> None:
        self.spec = spec
        self.home = context.home
        self.device = context.device
        self.directory = Path(spec.weights) if spec.weights else context.home / "models" / "emodecoder"
        self._model: Any = None
        self._tokenizer: Any = None
        self._engine: Any = None
        self._generation: dict[str, Any] = {}
        self._run_id: str | None = None
        self._load_lock = threading.Lock()

    @property
    def version(self) -> str:
        if self._run_id:
            return self._run_id
        manifest = self.directory / "run_manifest.json"
        if manifest.is_file():
            return str(json.loads(manifest.read_text(encoding="utf-8"))["run_id"])
        return "unbuilt"

    def load(self) -> None:
        with self._load_lock:
            if self._model is not None:
                return
            import torch

            from worker.engine.emodecoder import EmoDecoderEngine
            from worker.models.causal_lm import artifact_tokenizer
            from worker.models.emodecoder.architecture import EmoDecoder, EmoDecoderConfig

            checkpoint_path = self.directory / CHECKPOINT_FILE
            if not checkpoint_path.is_file():
                raise ModelUnavailable(
                    f"no EmoDecoder checkpoint at {checkpoint_path}; build it with: "
                    f"{BUILD_COMMAND} --out {self.directory}"
                )
            checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
            if checkpoint.get("format") != CHECKPOINT_FORMAT:
                raise ModelUnavailable(
                    f"{checkpoint_path} has format {checkpoint.get('format')}, this worker reads "
                    f"{CHECKPOINT_FORMAT}; rebuild it with: {BUILD_COMMAND} --out {self.directory}"
                )
            base, base_tokenizer = load_base(
                checkpoint["base"]["weights"], checkpoint["base"]["gguf_file"], self.home, self.device
            )
            model = EmoDecoder(base, EmoDecoderConfig.from_dict(checkpoint["architecture"]))
            model.load_trainable_state_dict(checkpoint["state_dict"])
            tokenizer = artifact_tokenizer(self.directory / TOKENIZER_DIR, self.spec.name)
            tokenizer = base_tokenizer if tokenizer is None else tokenizer  # the recipe adds no tokens
            model = model.to(self.device).eval()
            generation = dict(checkpoint["generation"])
            self._engine = EmoDecoderEngine(
                model,
                tokenizer,
                ema_alpha=float(self.spec.options.get("ema_alpha", generation["ema_alpha"])),
                max_batch_size=int(self.spec.options.get("max_batch_size", 16)),
                max_queued=int(self.spec.options.get("max_queued", 64)),
            )
            self._generation = generation
            self._run_id = str(checkpoint["run_id"])
            self._model, self._tokenizer = model, tokenizer

    def unload(self) -> None:
        with self._load_lock:
            engine, self._engine = self._engine, None
            self._model = self._tokenizer = None
        from worker.models.base import release_engine

        release_engine(engine, self.device)

    def memory_bytes(self) -> int:
        if self._model is None:
            return 0
        tensors = [*self._model.parameters(), *self._model.buffers()]
        return sum(t.numel() * t.element_size() for t in tensors)

    def cancel(self, request_id: str) -> None:
        engine = self._engine
        if engine is not None:
            engine.cancel(request_id)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamChunk]:
        if self._engine is None:
            await asyncio.to_thread(self.load)
        engine, model, tokenizer, defaults = self._engine, self._model, self._tokenizer, self._generation
        if engine is None or model is None:
            raise ModelUnavailable(f"{self.spec.name} was unloaded")
        from worker.engine.sampling import SamplingParams

        emotion = ed_emotion_for(
            request.user_emotion, model.config.emotions, str(self.spec.options.get("default_emotion", DEFAULT_EMOTION))
        )
        turns = [(turn.role, turn.content) for turn in request.history if turn.role in ("user", "assistant")]
        prompt_ids = chat_prompt_ids(
            tokenizer,
            turns[-int(defaults["history_turns"]) :],
            request.system_prompt or defaults["system_prompt"],
            int(defaults["max_prompt_tokens"]),
        )
        prefix_ids = tokenizer(request.prefix, add_special_tokens=False)["input_ids"] if request.prefix else []
        said_before = [
            tuple(tokenizer(text, add_special_tokens=False)["input_ids"])
            for role, text in turns
            if role == "assistant" and text
        ]
        if prefix_ids:
            said_before.append(tuple(prefix_ids))
        params = SamplingParams.from_decoding(request.decoding, said_before=tuple(said_before))
        outputs = engine.submit(
            request.request_id,
            prompt_ids,
            params,
            emotion_id=model.emotion_index(emotion),
            reply_prefix_ids=prefix_ids,
        )
        try:
            async for output in outputs:
                if output.finish_reason is None:
                    yield StreamChunk(text=output.text)
                    continue
                alignment = output.extras["emo_alignment_score"]
                yield StreamChunk(
                    text=output.text,
                    finish_reason=output.finish_reason,
                    prompt_tokens=output.prompt_tokens,
                    completion_tokens=output.completion_tokens,
                    extras={
                        "emotion": output.extras["emotion"],
                        "emo_alignment_score": round(alignment, 4) if alignment is not None else None,
                    },
                )
        finally:
            if not outputs.finished:  # the consumer stopped listening: free the row within one step
                engine.cancel(request.request_id)
