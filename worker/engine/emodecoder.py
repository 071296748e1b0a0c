"""The continuous batching engine for the EmoDecoder: the step loop of every engine, its own forward pass.

Each request is a row of one batch, as in ``BatchEngine``: a newcomer is prefilled alone (its
prompt, then the reply text a dead worker had already streamed, which is not emitted again),
and from then on ONE forward pass per step feeds every row its newest token. What differs is
what a row carries and when its token is emitted:

- its own conditioning ``g_in`` (the request's emotion and prompt, pooled once at prefill), so
  rows asking for different emotions share the forward pass;
- its own ``EmotionEMA`` of the emotion read at each reply position (the resumed prefix counts
  towards it) and the alignment cos(g_in, EMA) that follows;
- the EmoDecoder's state left-padded per row: the frozen blocks' KV cache is a ``KVBatch``, each
  adapter's ``AdapterCache`` is padded, kept and trimmed alongside it, and every row's position
  is passed explicitly (padding never shifts a row's rotary positions).

A chosen token is emitted (its text streamed, the length limit checked) once the forward pass
that feeds it has read its emotion, so the alignment a reply finishes with covers every token
it streamed, exactly as the single-request loop this engine replaced. The stop token ends a
reply without being fed or counted. The last output's ``extras`` carry ``emotion`` (the
conditioning emotion's name) and ``emo_alignment_score`` (unrounded; None when nothing was
emitted).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch

from worker.engine.batch_engine import BatchEngine
from worker.engine.kv_batch import KVBatch, _left_pad
from worker.engine.sampling import SamplingParams, choose_next_token
from worker.engine.step_loop import EngineOutput, RequestStream, Sequence
from worker.models.emodecoder.architecture import AdapterCache, DecodeState, EmoDecoder
from worker.models.emodecoder.inference import EmotionEMA, emo_alignment_score

_ADAPTER_TENSORS = tuple(f.name for f in dataclasses.fields(AdapterCache))


@dataclass(eq=False)
class EmoSequence(Sequence):
    """A request of the EmoDecoder: ``prompt_ids`` is the prompt then the resumed reply prefix."""

    prompt_length: int = 0  # the prompt alone: what g_in pools and what prompt_tokens reports
    emotion_id: int = 0
    ema: EmotionEMA | None = None
    g_in: torch.Tensor | None = None  # (1, emo_dim), set at prefill
    alignment: float | None = None  # cos(g_in, EMA) after the last emitted token
    emitted: int = 0  # tokens streamed; ``generated`` may hold one more, chosen and not yet fed


class EmoDecodeBatch:
    """The running rows' base KV cache (a ``KVBatch``) and adapter caches, row- and column-aligned."""

    def __init__(self) -> None:
        self.base = KVBatch()
        self.adapters: dict[int, AdapterCache] = {}

    @property
    def rows(self) -> int:
        return self.base.rows

    def append_row(self, state: DecodeState) -> None:
        """Add one freshly prefilled request (a batch-1 ``DecodeState``) as the last row."""
        length, previous = state.length, self.base.columns
        first = self.base.cache is None
        self.base.append_row(state.base_cache, length)
        if first:
            self.adapters = state.adapter_caches
            return
        width = self.base.columns
        for index, mine in self.adapters.items():
            theirs = state.adapter_caches[index]
            for name in _ADAPTER_TENSORS:
                grown = _left_pad(getattr(mine, name), width - previous, -2)
                setattr(mine, name, torch.cat([grown, _left_pad(getattr(theirs, name), width - length, -2)]))

    def keep_rows(self, rows: list[int]) -> None:
        """Drop every row not listed, then the leading columns only padding still uses."""
        if not rows:
            self.base.keep_rows(rows)
            self.adapters = {}
            return
        if rows == list(range(self.rows)):
            return
        self.base.keep_rows(rows)
        columns = self.base.columns
        index = torch.tensor(rows, device=self.base.attention_mask.device)
        for cache in self.adapters.values():
            for name in _ADAPTER_TENSORS:
                kept = getattr(cache, name).index_select(0, index)
                setattr(cache, name, kept[..., kept.shape[-2] - columns :, :])

    def forward(self, model: EmoDecoder, input_ids: torch.Tensor, position_ids: torch.Tensor, g_in: torch.Tensor):
        """Feed one new token per row (``input_ids`` (rows, 1)); the caches and the mask grow by one column."""
        state = DecodeState(
            base_cache=self.base.cache, adapter_caches=self.adapters, padding_mask=self.base.attention_mask
        )
        output = model(input_ids, torch.ones_like(input_ids), g_in, state=state, position_ids=position_ids)
        self.base.attention_mask = state.padding_mask
        return output


class EmoDecoderEngine(BatchEngine):
    thread_name = "emodecoder-engine"

    def __init__(
        self,
        model: EmoDecoder,
        tokenizer: Any,
        ema_alpha: float,
        max_batch_size: int = 16,
        max_queued: int = 64,
        stop_token_ids: Iterable[int] | None = None,
    ) -> None:
        # The EmoDecoder's reply ends at the tokenizer's EOS (what its recipe trains it to write).
        stops = frozenset(stop_token_ids) if stop_token_ids is not None else frozenset({tokenizer.eos_token_id})
        EmotionEMA(ema_alpha)  # refuses an alpha outside (0, 1] here rather than on the first request
        self.ema_alpha = ema_alpha
        super().__init__(model, tokenizer, max_batch_size, max_queued, model.device, stops)

    def submit(  # type: ignore[override]
        self,
        request_id: str,
        prompt_ids: list[int],
        params: SamplingParams,
        *,
        emotion_id: int,
        reply_prefix_ids: Iterable[int] = (),
    ) -> RequestStream:
        """Queue a reply conditioned on ``emotion_id``; raises ModelBusy when batch and queue are full.

        ``reply_prefix_ids`` is reply text already streamed (a resumed job): prefilled after the
        prompt and counted in the emotion average, never emitted again (the caller lists it in
        ``params.said_before``).
        """
        if not 0 <= emotion_id < len(self.model.config.emotions):
            raise ValueError(f"emotion id {emotion_id} is not one of the model's {len(self.model.config.emotions)}")
        sequence = self._new_sequence(
            EmoSequence,
            request_id,
            [*prompt_ids, *reply_prefix_ids],
            params,
            prompt_length=len(prompt_ids),
            emotion_id=emotion_id,
            ema=EmotionEMA(self.ema_alpha),
        )
        return self._enqueue(sequence)

    def _sentence_ends(self, params: SamplingParams) -> frozenset[int] | None:
        # The EmoDecoder has always applied the end-of-turn rule as transformers does, at any token.
        return None

    def _new_batch(self) -> EmoDecodeBatch:
        return EmoDecodeBatch()

    def _first_token(self, sequence: Sequence, token: int) -> str | None:
        # Emitted by the next decode step, once the forward pass that feeds it has read its emotion.
        return self._record(sequence, token)

    def _prefill(self, sequence: EmoSequence) -> tuple[torch.Tensor, tuple[DecodeState]]:
        """A newcomer alone: g_in, the EMA over the resumed prefix, and its first next-token logits (vocab,)."""
        model = self.model
        input_ids = torch.tensor([sequence.prompt_ids], dtype=torch.long, device=self.device)
        prompt_mask = torch.arange(input_ids.size(1), device=self.device).unsqueeze(0) < sequence.prompt_length
        sequence.g_in = model.condition(input_ids, prompt_mask, torch.tensor([sequence.emotion_id], device=self.device))
        state = model.new_decode_state()
        output = model(input_ids, torch.ones_like(input_ids), sequence.g_in, state=state)
        for position in range(sequence.prompt_length, input_ids.size(1)):
            sequence.ema.update(output.token_emotion[0, position])
        return output.logits[0, -1].float(), (state,)

    def _decode(self) -> None:
        rows: list[EmoSequence] = self._running  # type: ignore[assignment]
        input_ids = torch.tensor([[s.generated[-1]] for s in rows], device=self.device)
        position_ids = torch.tensor([[s.last_position] for s in rows], device=self.device)
        g_in = torch.cat([s.g_in for s in rows])
        output = self._kv.forward(self.model, input_ids, position_ids, g_in)
        logits, emotion = output.logits[:, -1].float(), output.token_emotion[:, -1]
        self.stats.decode_steps += 1
        self.stats.decoded_tokens += len(rows)
        reasons: dict[int, str | None] = {}
        for row, sequence in enumerate(rows):
            # The emotion read at the fed token's position is the reply's emotion so far, including it.
            smoothed = sequence.ema.update(emotion[row])
            sequence.alignment = emo_alignment_score(sequence.g_in[0], smoothed)
            sequence.emitted += 1
            reason = self._emit(sequence, sequence.generated[-1])
            if reason is None:
                token = choose_next_token(logits[row], sequence.params, sequence.generator, sequence.guard)
                reason = self._record(sequence, token)
            reasons[id(sequence)] = reason
        self._retire(lambda sequence: reasons[id(sequence)])

    def _final_output(self, sequence: EmoSequence, reason: str) -> EngineOutput:  # type: ignore[override]
        # A token chosen but not yet fed when the request was cancelled was never streamed.
        ids = sequence.generated[: sequence.emitted]
        if reason == "stop":
            ids.append(sequence.generated[-1])
        return dataclasses.replace(
            super()._final_output(sequence, reason),
            prompt_tokens=sequence.prompt_length,
            completion_tokens=sequence.emitted,
            token_ids=tuple(ids),
            extras={
                "emotion": self.model.config.emotions[sequence.emotion_id],
                "emo_alignment_score": sequence.alignment,
            },
        )
