"""A continuous batching engine on llama.cpp: many chat sessions in one ``llama_decode`` per step.

One ``llama_context`` holds ``max_batch_size`` sequences, each with its own KV cells (llama.cpp's
split cache, ``kv_unified`` off: every sequence gets ``context_tokens`` cells and attends only
to them). Each step fills one ``llama_batch`` with the last token of every running sequence
plus the whole prompt of every request joining this step, asks for logits only where a next
token is chosen (a running row, the last prompt token of a newcomer), and decodes it once. A
finished or cancelled sequence's cells are removed (``llama_memory_seq_rm``) and its id goes
back to the free list the same step.

Sampling, the repetition rules, stop tokens, streaming deltas, cancel and ``ModelBusy`` are
the step loop's (``worker.engine.step_loop``), shared with the PyTorch ``BatchEngine``: each
row's logits become a zero-copy tensor handed to the same ``choose_next_token``. The prompt is
tokenized, and the reply detokenized, by the Hugging Face tokenizer of the same GGUF, so both
engines see the same token ids.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from worker.engine.sampling import SamplingParams, choose_next_token
from worker.engine.step_loop import Sequence, StepEngine, default_stop_token_ids
from worker.models.base import ModelUnavailable

log = logging.getLogger(__name__)


class LlamaCppEngine(StepEngine):
    thread_name = "llama-cpp-engine"

    def __init__(
        self,
        gguf_path: str | Path,
        tokenizer: Any,
        max_batch_size: int = 16,
        max_queued: int = 64,
        context_tokens: int = 2048,
        threads: int = 1,
        lora_path: str | Path | None = None,
        stop_token_ids: Iterable[int] | None = None,
    ) -> None:
        import llama_cpp
        from llama_cpp import _logger

        _logger.set_verbose(False)  # llama.cpp prints every load detail to stderr otherwise
        self._lib = lib = llama_cpp
        self.context_tokens = context_tokens
        lib.llama_backend_init()
        model_params = lib.llama_model_default_params()
        self._model = lib.llama_model_load_from_file(str(gguf_path).encode(), model_params)
        if not self._model:
            raise ModelUnavailable(f"llama.cpp cannot load {gguf_path}")
        self._adapter = None
        self.lora_path = Path(lora_path) if lora_path is not None else None
        self._ctx = None
        self._batch = None
        try:
            self._open_context(max_batch_size, context_tokens, threads)
            if self.lora_path is not None:
                self._set_lora(self.lora_path)
        except BaseException:
            self._free()
            raise
        vocab = lib.llama_model_get_vocab(self._model)
        self.n_vocab = lib.llama_vocab_n_tokens(vocab)
        stops = set(stop_token_ids) if stop_token_ids is not None else set(default_stop_token_ids(None, tokenizer))
        if stop_token_ids is None:
            stops |= {t for t in (lib.llama_vocab_eos(vocab), lib.llama_vocab_eot(vocab)) if t >= 0}
        super().__init__(tokenizer, frozenset(stops), max_batch_size, max_queued, "cpu")
        self._free_slots = list(range(max_batch_size - 1, -1, -1))
        self._start()

    def _open_context(self, sequences: int, context_tokens: int, threads: int) -> None:
        lib = self._lib
        params = lib.llama_context_default_params()
        params.n_seq_max = sequences
        params.n_ctx = sequences * context_tokens
        # One step can carry every running row plus the prompts of every newcomer.
        self._batch_capacity = sequences * context_tokens
        params.n_batch = self._batch_capacity
        params.n_ubatch = min(512, self._batch_capacity)
        params.n_threads = params.n_threads_batch = threads
        params.kv_unified = False
        # As the high-level ``Llama`` does: then greedy replies match it token for token (flash
        # attention sums in another order, which flips near-ties).
        params.flash_attn_type = lib.LLAMA_FLASH_ATTN_TYPE_DISABLED
        params.no_perf = True
        self._ctx = lib.llama_init_from_model(self._model, params)
        if not self._ctx:
            raise ModelUnavailable(f"llama.cpp cannot create a context of {params.n_ctx} cells")
        self._memory = lib.llama_get_memory(self._ctx)
        self._batch = lib.llama_batch_init(self._batch_capacity, 0, 1)

    def _set_lora(self, path: Path) -> None:
        lib = self._lib
        self._adapter = lib.llama_adapter_lora_init(self._model, str(path).encode())
        if not self._adapter:
            raise ModelUnavailable(f"llama.cpp cannot load the LoRA adapter {path}")
        adapters = (lib.llama_adapter_lora_p_ctypes * 1)(self._adapter)
        scales = (ctypes.c_float * 1)(1.0)
        if lib.llama_set_adapters_lora(self._ctx, adapters, 1, scales) != 0:
            raise ModelUnavailable(f"llama.cpp cannot apply the LoRA adapter {path}")

    def memory_bytes(self) -> int:
        """Weights plus the KV cells reserved for every sequence (f16 keys and values)."""
        lib, model = self._lib, self._model
        head_dim = lib.llama_model_n_embd(model) // lib.llama_model_n_head(model)
        per_token = lib.llama_model_n_layer(model) * 2 * lib.llama_model_n_head_kv(model) * head_dim * 2
        return int(lib.llama_model_size(model)) + self.max_batch_size * self.context_tokens * per_token

    def shutdown(self, timeout: float = 30.0) -> None:
        super().shutdown(timeout)
        if not self._thread.is_alive():
            self._free()

    def _free(self) -> None:
        lib = self._lib
        if self._batch is not None:
            lib.llama_batch_free(self._batch)
            self._batch = None
        if self._ctx:
            lib.llama_free(self._ctx)
            self._ctx = None
        if self._adapter:
            lib.llama_adapter_lora_free(self._adapter)
            self._adapter = None
        if self._model:
            lib.llama_model_free(self._model)
            self._model = None

    def _check_prompt(self, prompt_ids: list[int], params: SamplingParams) -> None:
        if len(prompt_ids) >= self.context_tokens:
            raise ValueError(
                f"the prompt has {len(prompt_ids)} tokens; this model's sequences hold "
                f"{self.context_tokens} (options.max_context_tokens)"
            )

    # --- the loop thread -------------------------------------------------------------------

    def _step(self, cancelled: set[str], newcomers: list[Sequence]) -> None:
        if cancelled:
            self._retire(lambda sequence: "cancelled" if sequence.request_id in cancelled else None)
        rows = len(self._running)
        for row, sequence in enumerate(self._running):
            self._put(row, sequence.generated[-1], sequence.last_position, sequence.slot, True)
        joining: list[tuple[Sequence, int]] = []  # (newcomer, batch index of its last prompt token)
        size = rows
        for sequence in newcomers:
            sequence.slot = self._free_slots.pop()
            last = len(sequence.prompt_ids) - 1
            for position, token in enumerate(sequence.prompt_ids):
                self._put(size + position, token, position, sequence.slot, position == last)
            size += last + 1
            joining.append((sequence, size - 1))
        self._batch.n_tokens = size
        try:
            status = self._lib.llama_decode(self._ctx, self._batch)
            if status != 0:
                raise RuntimeError(f"llama_decode returned {status}")
        except Exception as error:
            for sequence, _ in joining:
                self._fail(sequence, error)
            raise  # the step loop fails the running rows and resets the context
        if rows:
            self.stats.decode_steps += 1
            self.stats.decoded_tokens += rows
            # Each row with its own settings: temperature, nucleus, repetition penalty, banned n-grams.
            chosen = {id(s): self._choose(row, s) for row, s in enumerate(self._running)}
            self._retire(lambda sequence: self._accept(sequence, chosen[id(sequence)]))
        for sequence, index in joining:
            if reason := self._accept(sequence, self._choose(index, sequence)):
                self.stats.prefills += 1
                self._release(sequence)
                self._finish(sequence, reason)
            else:
                self._joined(sequence)

    def _put(self, index: int, token: int, position: int, slot: int, wants_logits: bool) -> None:
        batch = self._batch
        batch.token[index] = token
        batch.pos[index] = position
        batch.n_seq_id[index] = 1
        batch.seq_id[index][0] = slot
        batch.logits[index] = wants_logits

    def _choose(self, index: int, sequence: Sequence) -> int:
        pointer = self._lib.llama_get_logits_ith(self._ctx, index)
        logits = torch.from_numpy(np.ctypeslib.as_array(pointer, shape=(self.n_vocab,)))
        return choose_next_token(logits, sequence.params, sequence.generator, sequence.guard)

    def _accept(self, sequence: Sequence, token: int) -> str | None:
        reason = super()._accept(sequence, token)
        if reason is None and len(sequence.prompt_ids) + len(sequence.generated) >= self.context_tokens:
            return "length"  # the sequence's cells are full
        return reason

    def _release(self, sequence: Sequence) -> None:
        self._lib.llama_memory_seq_rm(self._memory, sequence.slot, -1, -1)
        self._free_slots.append(sequence.slot)
        sequence.slot = -1

    def _keep_rows(self, kept_rows: list[int], dropped: list[Sequence]) -> None:
        for sequence in dropped:
            self._release(sequence)

    def _reset(self) -> None:
        if self._ctx:
            self._lib.llama_memory_clear(self._memory, True)
        self._free_slots = list(range(self.max_batch_size - 1, -1, -1))
