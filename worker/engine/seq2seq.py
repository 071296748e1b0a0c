"""The continuous batching engine for encoder-decoder models (T5, Flan-T5): same loop, other forward passes.

A newcomer's prefill runs the encoder over its prompt once, then the decoder's first step
(the decoder start token, plus the tokens of a reply a dead worker had begun). From then on
the request is a row of the batch like any causal one: each step feeds every row its newest
token through the decoder only, and the rows share the step loop, the per-row sampling rules,
the detokenizer, cancel, busy and finish reasons of ``BatchEngine``.

The batch state has three parts, kept row-aligned: the decoder's self-attention cache (a
``KVBatch``: left-padded, one column more each step), the cross-attention keys and values the
decoder computed from each row's encoder output at prefill (another ``KVBatch``, whose mask is
the encoder mask), and the encoder outputs themselves, padded like the cross-attention columns
(the decoder reads them only for their mask shape once the cross-attention cache is filled).
Left padding is exact for T5: its relative position bias depends on column differences only,
which padding on the left never changes, and padded columns are masked out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from transformers import DynamicCache, EncoderDecoderCache
from transformers.modeling_outputs import BaseModelOutput

from worker.engine.batch_engine import BatchEngine, RequestStream
from worker.engine.kv_batch import KVBatch, _left_pad
from worker.engine.sampling import SamplingParams
from worker.engine.step_loop import Sequence


class EncoderDecoderBatch:
    """The running rows' decoder cache, cross-attention cache and encoder outputs."""

    def __init__(self) -> None:
        self.decoder = KVBatch()
        self.cross = KVBatch()
        self.encoder_states: torch.Tensor | None = None  # (rows, cross columns, d_model), left-padded

    @property
    def rows(self) -> int:
        return self.decoder.rows

    def append_row(self, cache: EncoderDecoderCache, encoder_states: torch.Tensor) -> None:
        """Add one prefilled request: its batch-1 cache and encoder output (1, source length, d_model)."""
        previous_columns = self.cross.columns
        self.decoder.append_row(cache.self_attention_cache, cache.self_attention_cache.get_seq_length())
        self.cross.append_row(cache.cross_attention_cache, encoder_states.shape[1])
        width = self.cross.columns
        mine = (
            encoder_states
            if self.encoder_states is None
            else _left_pad(self.encoder_states, width - previous_columns, 1)
        )
        theirs = _left_pad(encoder_states, width - encoder_states.shape[1], 1)
        self.encoder_states = theirs if self.encoder_states is None else torch.cat([mine, theirs])

    def extend_mask(self) -> torch.Tensor:
        return self.decoder.extend_mask()

    @property
    def cache(self) -> EncoderDecoderCache:
        # A filled cross-attention cache marks every layer updated: the decoder reuses its keys and values.
        return EncoderDecoderCache(self.decoder.cache, self.cross.cache)

    def keep_rows(self, rows: list[int]) -> None:
        if not rows:
            self.decoder.keep_rows(rows)
            self.cross.keep_rows(rows)
            self.encoder_states = None
            return
        assert self.encoder_states is not None
        if rows == list(range(self.rows)):
            return
        self.decoder.keep_rows(rows)
        self.cross.keep_rows(rows)  # also drops the leading columns only padding used
        index = torch.tensor(rows, device=self.encoder_states.device)
        kept = self.encoder_states.index_select(0, index)
        self.encoder_states = kept[:, kept.shape[1] - self.cross.columns :]


class Seq2SeqBatchEngine(BatchEngine):
    """``BatchEngine`` for ``AutoModelForSeq2SeqLM`` models; ``prompt_ids`` are the encoder's input."""

    def _prepare(self) -> None:
        self.decoder_start_id = int(self.model.config.decoder_start_token_id)
        self._encoder = self.model.get_encoder()
        self._decoder_prefixes: dict[str, tuple[int, ...]] = {}

    def submit(
        self, request_id: str, prompt_ids: list[int], params: SamplingParams, decoder_prefix: Iterable[int] = ()
    ) -> RequestStream:
        """As ``BatchEngine.submit``; ``decoder_prefix`` is reply text already streamed (forced, not sampled)."""
        prefix = tuple(decoder_prefix)
        if prefix:
            self._decoder_prefixes[request_id] = prefix
        try:
            return super().submit(request_id, prompt_ids, params)
        except Exception:
            self._decoder_prefixes.pop(request_id, None)
            raise

    def _new_batch(self) -> EncoderDecoderBatch:
        return EncoderDecoderBatch()

    def _prefill(self, sequence: Sequence) -> tuple[torch.Tensor, tuple[Any, ...]]:
        input_ids = torch.tensor([sequence.prompt_ids], device=self.device)
        attention_mask = torch.ones_like(input_ids)
        encoder_states = self._encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        prefix = self._decoder_prefixes.pop(sequence.request_id, ())
        decoder_input_ids = torch.tensor([[self.decoder_start_id, *prefix]], device=self.device)
        config = self.model.config
        output = self.model(
            encoder_outputs=BaseModelOutput(last_hidden_state=encoder_states),
            attention_mask=attention_mask,
            decoder_input_ids=decoder_input_ids,
            cache=EncoderDecoderCache(DynamicCache(config=config), DynamicCache(config=config)),
            use_cache=True,
        )
        return output.logits[0, -1].float(), (output.cache, encoder_states)

    def _forward_running(self) -> torch.Tensor:
        batch: EncoderDecoderBatch = self._kv
        decoder_mask = batch.extend_mask()
        input_ids = torch.tensor([[s.generated[-1]] for s in self._running], device=self.device)
        output = self.model(
            encoder_outputs=BaseModelOutput(last_hidden_state=batch.encoder_states),
            attention_mask=batch.cross.attention_mask,
            decoder_input_ids=input_ids,
            decoder_attention_mask=decoder_mask,
            cache=batch.cache,
            use_cache=True,
        )
        return output.logits[:, -1].float()

    def _finish(self, sequence: Sequence, reason: str) -> None:
        self._decoder_prefixes.pop(sequence.request_id, None)  # a request cancelled before its prefill
        super()._finish(sequence, reason)

    def _fail(self, sequence: Sequence, error: Exception) -> None:
        self._decoder_prefixes.pop(sequence.request_id, None)
        super()._fail(sequence, error)
