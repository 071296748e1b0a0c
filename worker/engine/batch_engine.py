"""A continuous batching engine: one background thread decodes every running request together.

Each iteration of the step loop (1) drops cancelled requests, (2) admits waiting requests
into free slots — prefilling each newcomer alone and appending its KV cache to the batch as a
new left-padded row — and (3) runs ONE forward pass that advances every running row by one
token. A request leaves the batch the step it finishes (stop token, length, cancel), so a
long reply never holds a short one back and a newcomer waits at most one step to start.

The asyncio side never blocks: ``submit`` only enqueues, and the loop thread hands each text
delta to the consumer's event loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import DynamicCache

from worker.engine.detokenize import IncrementalDetokenizer
from worker.engine.kv_batch import KVBatch
from worker.engine.sampling import RepetitionGuard, SamplingParams, choose_next_token, new_generator, sentence_end_ids
from worker.models.base import ModelBusy

log = logging.getLogger(__name__)

# End-of-turn markers of the common chat templates (ChatML, Llama 3, Phi, Gemma, Llama 2).
CHAT_END_TOKENS = ("<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "<|endoftext|>", "<|end|>", "<end_of_turn>", "</s>")


class GenerationFailed(RuntimeError):
    """The model raised while producing this request; the engine itself keeps serving others."""


@dataclass(frozen=True)
class EngineOutput:
    """A text delta; the last output of a request has ``finish_reason`` set (stop | length | cancelled)."""

    text: str = ""
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    token_ids: tuple[int, ...] = ()  # on the last output: every generated id, the stop token included


@dataclass
class EngineStats:
    prefills: int = 0
    decode_steps: int = 0
    decoded_tokens: int = 0  # rows advanced, summed over decode steps
    peak_batch: int = 0


class RequestStream:
    """The asyncio end of one request: ``async for output in stream`` until a finish_reason arrives."""

    def __init__(self, request_id: str, loop: asyncio.AbstractEventLoop) -> None:
        self.request_id = request_id
        self.finished = False
        self._loop = loop
        self._queue: asyncio.Queue[EngineOutput | BaseException] = asyncio.Queue()

    def deliver(self, item: EngineOutput | BaseException) -> bool:
        """Called from the engine thread; False when the consumer's event loop is gone."""
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:
            return False
        return True

    def __aiter__(self) -> RequestStream:
        return self

    async def __anext__(self) -> EngineOutput:
        if self.finished:
            raise StopAsyncIteration
        item = await self._queue.get()
        if isinstance(item, BaseException):
            self.finished = True
            raise item
        self.finished = item.finish_reason is not None
        return item


@dataclass(eq=False)
class _Sequence:
    request_id: str
    prompt_ids: list[int]
    params: SamplingParams
    stream: RequestStream
    detokenizer: IncrementalDetokenizer
    generator: torch.Generator | None
    guard: RepetitionGuard | None = None  # this row's repetition penalty / no-repeat n-gram state
    generated: list[int] = field(default_factory=list)

    @property
    def last_position(self) -> int:
        """Position of the newest generated token, the one the next decode step feeds."""
        return len(self.prompt_ids) + len(self.generated) - 1


def _as_ids(value: int | Iterable[int] | None) -> set[int]:
    if value is None:
        return set()
    if isinstance(value, int):
        return {value}
    return set(value)


def default_stop_token_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    """EOS of the model and tokenizer plus any chat end-of-turn token the vocabulary has."""
    generation_config = getattr(model, "generation_config", None)
    ids = _as_ids(getattr(generation_config, "eos_token_id", None)) | _as_ids(tokenizer.eos_token_id)
    vocab = tokenizer.get_vocab()
    ids |= {vocab[token] for token in CHAT_END_TOKENS if token in vocab}
    return frozenset(ids)


class BatchEngine:
    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        max_batch_size: int = 16,
        max_queued: int = 64,
        device: str = "cpu",
        stop_token_ids: Iterable[int] | None = None,
    ) -> None:
        if max_batch_size < 1 or max_queued < 0:
            raise ValueError("max_batch_size must be >= 1 and max_queued >= 0")
        self.model = model
        self.tokenizer = tokenizer
        self.max_batch_size = max_batch_size
        self.max_queued = max_queued
        self.device = torch.device(device)
        self.stop_token_ids = (
            frozenset(stop_token_ids) if stop_token_ids is not None else default_stop_token_ids(model, tokenizer)
        )
        self.stats = EngineStats()
        self._sentence_end_ids: frozenset[int] | None = None  # computed on first use of an end-of-turn rule
        self._lock = threading.Condition(threading.RLock())
        self._waiting: deque[_Sequence] = deque()
        self._running: list[_Sequence] = []  # row i of the KV batch is _running[i]
        self._kv = self._new_batch()
        self._cancelled: set[str] = set()
        self._unfinished: set[str] = set()  # submitted and not yet finished, waiting or running
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="batch-engine", daemon=True)
        self._thread.start()

    @property
    def unfinished(self) -> int:
        with self._lock:
            return len(self._unfinished)

    @property
    def running(self) -> int:
        """Rows in the current decode batch (read without locking: for monitoring only)."""
        return len(self._running)

    def submit(self, request_id: str, prompt_ids: list[int], params: SamplingParams) -> RequestStream:
        """Queue a request from inside a coroutine; raises ModelBusy when batch and queue are full."""
        if not prompt_ids:
            raise ValueError("the prompt has no tokens")
        stream = RequestStream(request_id, asyncio.get_running_loop())
        sequence = _Sequence(
            request_id=request_id,
            prompt_ids=list(prompt_ids),
            params=params,
            stream=stream,
            detokenizer=IncrementalDetokenizer(self.tokenizer),
            generator=new_generator(params, self.device),
            guard=RepetitionGuard.for_params(params, self.stop_token_ids, self._sentence_ends(params)),
        )
        with self._lock:
            if self._stopping:
                raise GenerationFailed("the engine is shut down")
            if request_id in self._unfinished:
                raise ValueError(f"request {request_id} is already being generated")
            if len(self._unfinished) >= self.max_batch_size + self.max_queued:
                raise ModelBusy(
                    f"{len(self._unfinished)} requests are already running or queued "
                    f"(limit {self.max_batch_size} + {self.max_queued}); retry shortly"
                )
            self._unfinished.add(request_id)
            self._waiting.append(sequence)
            self._lock.notify()
        return stream

    def _sentence_ends(self, params: SamplingParams) -> frozenset[int] | None:
        if params.end_of_turn_after <= 0:
            return None
        if self._sentence_end_ids is None:
            self._sentence_end_ids = sentence_end_ids(self.tokenizer)
        return self._sentence_end_ids

    def cancel(self, request_id: str) -> None:
        """Stop a request; its slot is freed at the start of the next step. Unknown ids are ignored."""
        with self._lock:
            if request_id in self._unfinished:
                self._cancelled.add(request_id)
                self._lock.notify()

    def shutdown(self, timeout: float = 30.0) -> None:
        """Finish every pending request as cancelled and stop the loop thread."""
        with self._lock:
            self._stopping = True
            self._lock.notify()
        self._thread.join(timeout)

    # --- the loop thread -------------------------------------------------------------------

    def _run(self) -> None:
        with torch.inference_mode():
            while (work := self._next_work()) is not None:
                cancelled, newcomers = work
                try:
                    self._step(cancelled, newcomers)
                except Exception as error:  # a bug here must not kill the thread that serves everyone
                    log.exception("batch step failed; failing %d running requests", len(self._running))
                    self._fail_running(error)
        for sequence in [*self._running, *self._waiting]:
            self._finish(sequence, "cancelled")
        self._running, self._kv = [], self._new_batch()
        self._waiting.clear()

    def _next_work(self) -> tuple[set[str], list[_Sequence]] | None:
        with self._lock:
            while not (self._stopping or self._waiting or self._running):
                self._lock.wait()
            if self._stopping:
                return None
            cancelled, self._cancelled = self._cancelled, set()
            for sequence in [s for s in self._waiting if s.request_id in cancelled]:
                self._waiting.remove(sequence)
                self._finish(sequence, "cancelled")
            free_slots = self.max_batch_size - len(self._running)
            newcomers = [self._waiting.popleft() for _ in range(min(free_slots, len(self._waiting)))]
        return cancelled, newcomers

    def _step(self, cancelled: set[str], newcomers: list[_Sequence]) -> None:
        if cancelled:
            self._retire(lambda sequence: "cancelled" if sequence.request_id in cancelled else None)
        for sequence in newcomers:
            self._admit(sequence)
        if self._running:
            self._decode()

    def _admit(self, sequence: _Sequence) -> None:
        try:
            logits, row = self._prefill(sequence)
            token = choose_next_token(logits, sequence.params, sequence.generator, sequence.guard)
        except Exception as error:
            log.exception("prefill failed for request %s", sequence.request_id)
            self._fail(sequence, error)
            return
        self.stats.prefills += 1
        if reason := self._accept(sequence, token):
            self._finish(sequence, reason)
            return
        self._kv.append_row(*row)
        self._running.append(sequence)
        self.stats.peak_batch = max(self.stats.peak_batch, len(self._running))

    # The model-specific parts; the encoder-decoder engine (worker.engine.seq2seq) overrides them.

    def _new_batch(self) -> Any:
        return KVBatch()

    def _prefill(self, sequence: _Sequence) -> tuple[torch.Tensor, tuple[Any, ...]]:
        """A newcomer's forward pass alone: its next-token logits (vocab,) and the arguments of the
        batch's ``append_row`` that add it as a row."""
        input_ids = torch.tensor([sequence.prompt_ids], device=self.device)
        output = self.model(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            past_key_values=DynamicCache(config=self.model.config),
            use_cache=True,
            logits_to_keep=1,
        )
        return output.logits[0, -1].float(), (output.past_key_values, len(sequence.prompt_ids))

    def _forward_running(self) -> torch.Tensor:
        """One forward pass that feeds every running row its newest token: next-token logits (rows, vocab)."""
        attention_mask = self._kv.extend_mask()
        input_ids = torch.tensor([[s.generated[-1]] for s in self._running], device=self.device)
        position_ids = torch.tensor([[s.last_position] for s in self._running], device=self.device)
        output = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=self._kv.cache,
            use_cache=True,
            logits_to_keep=1,
        )
        return output.logits[:, -1].float()

    def _decode(self) -> None:
        logits = self._forward_running()
        self.stats.decode_steps += 1
        self.stats.decoded_tokens += len(self._running)
        # Each row with its own settings: temperature, nucleus, repetition penalty, banned n-grams.
        chosen = {
            id(s): choose_next_token(logits[row], s.params, s.generator, s.guard) for row, s in enumerate(self._running)
        }
        self._retire(lambda sequence: self._accept(sequence, chosen[id(sequence)]))

    def _retire(self, finish_reason_of: Callable[[_Sequence], str | None]) -> None:
        """Finish the running rows for which ``finish_reason_of`` names a reason; keep the rest."""
        kept_rows: list[int] = []
        finished: list[tuple[_Sequence, str]] = []
        for row, sequence in enumerate(self._running):
            if reason := finish_reason_of(sequence):
                finished.append((sequence, reason))
            else:
                kept_rows.append(row)
        self._kv.keep_rows(kept_rows)
        self._running = [self._running[row] for row in kept_rows]
        # Only announce the ends once the slots are free, so a consumer that resubmits finds room.
        for sequence, reason in finished:
            self._finish(sequence, reason)

    def _accept(self, sequence: _Sequence, token: int) -> str | None:
        """Record a generated token and stream its text; return why the sequence ends, if it does."""
        sequence.generated.append(token)
        if token in self.stop_token_ids:
            return "stop"
        if sequence.guard is not None:
            sequence.guard.observe(token)
        text = sequence.detokenizer.push(token)
        if text and not sequence.stream.deliver(EngineOutput(text=text)):
            return "cancelled"  # nobody is listening any more
        if len(sequence.generated) >= sequence.params.max_new_tokens:
            return "length"
        return None

    def _finish(self, sequence: _Sequence, reason: str) -> None:
        with self._lock:
            self._unfinished.discard(sequence.request_id)
        sequence.stream.deliver(
            EngineOutput(
                text=sequence.detokenizer.flush(),
                finish_reason=reason,
                prompt_tokens=len(sequence.prompt_ids),
                completion_tokens=len(sequence.generated),
                token_ids=tuple(sequence.generated),
            )
        )

    def _fail(self, sequence: _Sequence, error: Exception) -> None:
        with self._lock:
            self._unfinished.discard(sequence.request_id)
        sequence.stream.deliver(GenerationFailed(f"generation failed: {type(error).__name__}: {error}"))

    def _fail_running(self, error: Exception) -> None:
        for sequence in self._running:
            self._fail(sequence, error)
        self._running, self._kv = [], self._new_batch()
