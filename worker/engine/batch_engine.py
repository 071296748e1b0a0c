"""A continuous batching engine on PyTorch: one forward pass advances every running request.

Each iteration of the step loop (``worker.engine.step_loop``) (1) drops cancelled requests,
(2) admits waiting requests into free slots — prefilling each newcomer alone and appending its
KV cache to the batch as a new left-padded row — and (3) runs ONE forward pass that advances
every running row by one token. A request leaves the batch the step it finishes (stop token,
length, cancel), so a long reply never holds a short one back and a newcomer waits at most
one step to start.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import torch
from transformers import DynamicCache

from worker.engine.kv_batch import KVBatch
from worker.engine.sampling import choose_next_token
from worker.engine.step_loop import (
    CHAT_END_TOKENS,
    EngineOutput,
    EngineStats,
    RequestStream,
    Sequence,
    StepEngine,
    default_stop_token_ids,
)

__all__ = ["CHAT_END_TOKENS", "BatchEngine", "EngineOutput", "EngineStats", "RequestStream", "default_stop_token_ids"]

log = logging.getLogger(__name__)


class BatchEngine(StepEngine):
    thread_name = "batch-engine"

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        max_batch_size: int = 16,
        max_queued: int = 64,
        device: str = "cpu",
        stop_token_ids: Iterable[int] | None = None,
    ) -> None:
        stops = frozenset(stop_token_ids) if stop_token_ids is not None else default_stop_token_ids(model, tokenizer)
        super().__init__(tokenizer, stops, max_batch_size, max_queued, device)
        self.model = model
        self._prepare()
        self._kv = self._new_batch()
        self._start()

    def _prepare(self) -> None:
        """Subclasses set here what the loop thread reads (``self.model`` is set; the thread is not started)."""

    def _loop_context(self):
        return torch.inference_mode()

    def _step(self, cancelled: set[str], newcomers: list[Sequence]) -> None:
        if cancelled:
            self._retire(lambda sequence: "cancelled" if sequence.request_id in cancelled else None)
        for sequence in newcomers:
            self._admit(sequence)
        if self._running:
            self._decode()

    def _admit(self, sequence: Sequence) -> None:
        try:
            logits, row = self._prefill(sequence)
            token = choose_next_token(logits, sequence.params, sequence.generator, sequence.guard)
        except Exception as error:
            log.exception("prefill failed for request %s", sequence.request_id)
            self._fail(sequence, error)
            return
        if reason := self._first_token(sequence, token):
            self.stats.prefills += 1
            self._finish(sequence, reason)
            return
        self._kv.append_row(*row)
        self._joined(sequence)

    def _first_token(self, sequence: Sequence, token: int) -> str | None:
        """A newcomer's first token, chosen from its prefill: streamed at once here."""
        return self._accept(sequence, token)

    # The model-specific parts; the encoder-decoder engine (worker.engine.seq2seq) overrides them.

    def _new_batch(self) -> Any:
        return KVBatch()

    def _prefill(self, sequence: Sequence) -> tuple[torch.Tensor, tuple[Any, ...]]:
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

    def _keep_rows(self, kept_rows: list[int], dropped: list[Sequence]) -> None:
        self._kv.keep_rows(kept_rows)

    def _reset(self) -> None:
        self._kv = self._new_batch()
