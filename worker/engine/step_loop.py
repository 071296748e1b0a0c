"""What every continuous batching engine shares, whatever runs the forward pass.

One background thread runs the step loop: each iteration takes the cancelled ids and the
waiting requests that fit into free slots, and hands them to the engine's ``_step``, which
advances every running request by one token. The scheduling (``ModelBusy`` over the limit,
cancel within one step, a slot freed the step its request finishes), the per-row sampling
state, the streaming of text deltas through the incremental detokenizer and the bridge to
asyncio (``call_soon_threadsafe``) live here once; an engine only says how to prefill, decode
and free the rows of its own cache (``BatchEngine``: a PyTorch KV batch; ``LlamaCppEngine``:
llama.cpp sequences; ``EmoDecoderEngine``: the EmoDecoder's base and adapter caches).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import torch

from worker.engine.detokenize import IncrementalDetokenizer
from worker.engine.sampling import RepetitionGuard, SamplingParams, new_generator, sentence_end_ids
from worker.models.base import GenerationFailed, ModelBusy

log = logging.getLogger(__name__)

# End-of-turn markers of the common chat templates (ChatML, Llama 3, Phi, Gemma, Llama 2).
CHAT_END_TOKENS = ("<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "<|endoftext|>", "<|end|>", "<end_of_turn>", "</s>")


@dataclass(frozen=True)
class EngineOutput:
    """A text delta; the last output of a request has ``finish_reason`` set (stop | length | cancelled)."""

    text: str = ""
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    token_ids: tuple[int, ...] = ()  # on the last output: every generated id, the stop token included
    extras: Mapping[str, Any] = field(default_factory=dict)  # on the last output: what a kind reports besides text


@dataclass
class EngineStats:
    prefills: int = 0
    decode_steps: int = 0
    decoded_tokens: int = 0  # rows advanced, summed over decode steps
    peak_batch: int = 0


Output = TypeVar("Output")


class RequestStream(Generic[Output]):
    """The asyncio end of one request: ``async for output in stream`` until a finish_reason arrives.

    The one thread-to-asyncio bridge of the worker: the engines' step threads ``deliver`` outputs,
    or the exception that ends the request, from their thread.
    """

    def __init__(self, request_id: str, loop: asyncio.AbstractEventLoop) -> None:
        self.request_id = request_id
        self.finished = False
        self._loop = loop
        self._queue: asyncio.Queue[Output | BaseException] = asyncio.Queue()

    def deliver(self, item: Output | BaseException) -> bool:
        """Called from the engine thread; False when the consumer's event loop is gone."""
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:
            return False
        return True

    def __aiter__(self) -> RequestStream[Output]:
        return self

    async def __anext__(self) -> Output:
        if self.finished:
            raise StopAsyncIteration
        item = await self._queue.get()
        if isinstance(item, BaseException):
            self.finished = True
            raise item
        self.finished = item.finish_reason is not None
        return item


@dataclass(eq=False)
class Sequence:
    """One request inside an engine: its prompt, sampling state and what it generated so far."""

    request_id: str
    prompt_ids: list[int]
    params: SamplingParams
    stream: RequestStream
    detokenizer: IncrementalDetokenizer
    generator: torch.Generator | None
    guard: RepetitionGuard | None = None  # this row's repetition penalty / no-repeat n-gram state
    generated: list[int] = field(default_factory=list)
    slot: int = -1  # the engine's own row handle (llama.cpp: the sequence id)

    @property
    def last_position(self) -> int:
        """Position of the newest generated token, the one the next decode step feeds."""
        return len(self.prompt_ids) + len(self.generated) - 1


S = TypeVar("S", bound=Sequence)


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


class StepEngine:
    """The step loop and its bookkeeping; subclasses implement ``_step``, ``_keep_rows`` and ``_reset``."""

    thread_name = "step-engine"

    def __init__(
        self,
        tokenizer: Any,
        stop_token_ids: frozenset[int],
        max_batch_size: int = 16,
        max_queued: int = 64,
        device: str | torch.device = "cpu",
    ) -> None:
        if max_batch_size < 1 or max_queued < 0:
            raise ValueError("max_batch_size must be >= 1 and max_queued >= 0")
        self.tokenizer = tokenizer
        self.max_batch_size = max_batch_size
        self.max_queued = max_queued
        self.device = torch.device(device)
        self.stop_token_ids = frozenset(stop_token_ids)
        self.stats = EngineStats()
        self._sentence_end_ids: frozenset[int] | None = None  # computed on first use of an end-of-turn rule
        self._lock = threading.Condition(threading.RLock())
        self._waiting: deque[Sequence] = deque()
        self._running: list[Sequence] = []  # row i of the engine's cache is _running[i]
        self._cancelled: set[str] = set()
        self._unfinished: set[str] = set()  # submitted and not yet finished, waiting or running
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)

    def _start(self) -> None:
        """Subclasses call this at the end of ``__init__``, once the model is ready."""
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
        return self._enqueue(self._new_sequence(Sequence, request_id, prompt_ids, params))

    def _new_sequence(
        self, kind: type[S], request_id: str, prompt_ids: list[int], params: SamplingParams, **fields: Any
    ) -> S:
        """A checked request of ``kind`` (``Sequence`` or an engine's subclass with more ``fields``)."""
        if not prompt_ids:
            raise ValueError("the prompt has no tokens")
        self._check_prompt(prompt_ids, params)
        return kind(
            request_id=request_id,
            prompt_ids=list(prompt_ids),
            params=params,
            stream=RequestStream(request_id, asyncio.get_running_loop()),
            detokenizer=IncrementalDetokenizer(self.tokenizer),
            generator=new_generator(params, self.device),
            guard=RepetitionGuard.for_params(params, self.stop_token_ids, self._sentence_ends(params)),
            **fields,
        )

    def _enqueue(self, sequence: Sequence) -> RequestStream:
        """Queue ``sequence``; raises ModelBusy when batch and queue are full."""
        request_id = sequence.request_id
        with self._lock:
            if self._stopping:
                raise GenerationFailed("model_unavailable", "The model is being unloaded; send the message again.")
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
        return sequence.stream

    def _check_prompt(self, prompt_ids: list[int], params: SamplingParams) -> None:
        """Raise ValueError for a request this engine can never serve (its cache has a hard size)."""

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

    def _loop_context(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def _run(self) -> None:
        with self._loop_context():
            while (work := self._next_work()) is not None:
                cancelled, newcomers = work
                try:
                    self._step(cancelled, newcomers)
                except Exception as error:  # a bug here must not kill the thread that serves everyone
                    log.exception("batch step failed; failing %d running requests", len(self._running))
                    self._fail_running(error)
        for sequence in [*self._running, *self._waiting]:
            self._finish(sequence, "cancelled")
        self._running = []
        self._reset()
        self._waiting.clear()

    def _next_work(self) -> tuple[set[str], list[Sequence]] | None:
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

    def _step(self, cancelled: set[str], newcomers: list[Sequence]) -> None:
        """Drop the cancelled rows, admit the newcomers and advance every running row by one token."""
        raise NotImplementedError

    def _keep_rows(self, kept_rows: list[int], dropped: list[Sequence]) -> None:
        """Free the cache of the rows that left; ``kept_rows`` are the old indices of those that stay."""
        raise NotImplementedError

    def _reset(self) -> None:
        """Forget every row (after a failed step, or at shutdown)."""
        raise NotImplementedError

    def _retire(self, finish_reason_of: Callable[[Sequence], str | None]) -> None:
        """Finish the running rows for which ``finish_reason_of`` names a reason; keep the rest."""
        kept_rows: list[int] = []
        finished: list[tuple[Sequence, str]] = []
        for row, sequence in enumerate(self._running):
            if reason := finish_reason_of(sequence):
                finished.append((sequence, reason))
            else:
                kept_rows.append(row)
        if finished:
            self._keep_rows(kept_rows, [sequence for sequence, _ in finished])
            self._running = [self._running[row] for row in kept_rows]
        # Only announce the ends once the slots are free, so a consumer that resubmits finds room.
        for sequence, reason in finished:
            self._finish(sequence, reason)

    def _joined(self, sequence: Sequence) -> None:
        self.stats.prefills += 1
        self._running.append(sequence)
        self.stats.peak_batch = max(self.stats.peak_batch, len(self._running))

    def _accept(self, sequence: Sequence, token: int) -> str | None:
        """Record a generated token and stream its text; return why the sequence ends, if it does."""
        return self._record(sequence, token) or self._emit(sequence, token)

    def _record(self, sequence: Sequence, token: int) -> str | None:
        """The first half of ``_accept``: note the chosen token; "stop" when it ends the reply."""
        sequence.generated.append(token)
        if token in self.stop_token_ids:
            return "stop"
        if sequence.guard is not None:
            sequence.guard.observe(token)
        return None

    def _emit(self, sequence: Sequence, token: int) -> str | None:
        """The second half of ``_accept``: stream the text of a recorded token; "length" at the limit."""
        text = sequence.detokenizer.push(token)
        if text and not sequence.stream.deliver(EngineOutput(text=text)):
            return "cancelled"  # nobody is listening any more
        if len(sequence.generated) >= sequence.params.max_new_tokens:
            return "length"
        return None

    def _finish(self, sequence: Sequence, reason: str) -> None:
        with self._lock:
            self._unfinished.discard(sequence.request_id)
        sequence.stream.deliver(self._final_output(sequence, reason))

    def _final_output(self, sequence: Sequence, reason: str) -> EngineOutput:
        """The last output of a request: the detokenizer's remaining text, the reason and the counts."""
        return EngineOutput(
            text=sequence.detokenizer.flush(),
            finish_reason=reason,
            prompt_tokens=len(sequence.prompt_ids),
            completion_tokens=len(sequence.generated),
            token_ids=tuple(sequence.generated),
        )

    def _fail(self, sequence: Sequence, error: Exception) -> None:
        with self._lock:
            self._unfinished.discard(sequence.request_id)
        sequence.stream.deliver(
            GenerationFailed(
                "generation_failed",
                f"The model failed while writing this reply ({type(error).__name__}); send it again.",
            )
        )

    def _fail_running(self, error: Exception) -> None:
        for sequence in self._running:
            self._fail(sequence, error)
        self._running = []
        self._reset()
