"""Serving a causal LM's GGUF with llama.cpp instead of PyTorch (``options.engine = "llama_cpp"``).

The entry's GGUF is loaded as it is (no de-quantized copy); a PEFT adapter is exported once to
a GGUF LoRA adapter and applied by llama.cpp. Only the tokenizer comes from Hugging Face, so
prompts and streamed text are exactly the PyTorch path's. Without the llama-cpp-python wheel
(a fresh machine, CI) or on a CUDA worker, the entry is served by the PyTorch engine instead.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import Any

from worker.models.base import LoadContext, ModelSpec, ModelUnavailable

log = logging.getLogger(__name__)

ENGINES = ("torch", "llama_cpp")
LLAMA_CPP_KINDS = ("causal_lm", "peft_causal_lm")
DEFAULT_CONTEXT_TOKENS = 2048  # per sequence (a 4000-character message and a reply fit); reserved up front


def cpu_threads(spec: ModelSpec) -> int:
    """The entry's ``num_threads``, else OMP_NUM_THREADS, else every core this process may run on."""
    return int(spec.options.get("num_threads") or os.environ.get("OMP_NUM_THREADS") or len(os.sched_getaffinity(0)))


def check_engine_option(name: str, kind: str, options: dict[str, Any]) -> None:
    """models.toml validation: ValueError for an unknown engine or one this entry cannot use."""
    engine = options.get("engine", "torch")
    if engine not in ENGINES:
        raise ValueError(f"models.toml: model {name!r} has unknown engine {engine!r} (known: {', '.join(ENGINES)})")
    if engine == "llama_cpp" and (kind not in LLAMA_CPP_KINDS or not options.get("gguf_file")):
        raise ValueError(
            f"models.toml: model {name!r}: engine 'llama_cpp' needs kind {' or '.join(LLAMA_CPP_KINDS)} "
            "and options.gguf_file"
        )
    from worker.models.gguf_quantize import check_quant_option

    check_quant_option(name, options.get("llama_cpp_quant"))


def uses_llama_cpp(spec: ModelSpec, context: LoadContext) -> bool:
    if spec.options.get("engine", "torch") != "llama_cpp":
        return False
    if importlib.util.find_spec("llama_cpp") is None:
        log.warning("%s asks for llama.cpp but llama-cpp-python is not installed: serving it with PyTorch", spec.name)
        return False
    if context.device != "cpu":
        log.warning(
            "%s asks for llama.cpp, built here for the CPU, on a %s worker: serving it with PyTorch",
            spec.name,
            context.device,
        )
        return False
    return True


def prepared_files(spec: ModelSpec, context: LoadContext) -> tuple[Path, Path, Path | None]:
    """(GGUF, tokenizer directory, GGUF LoRA or None), building the cached ones on first use.

    With ``options.llama_cpp_quant`` the GGUF is the entry's file re-quantized once by llama.cpp
    (``worker.models.gguf_quantize``)."""
    from worker.models.causal_lm import checked_reference
    from worker.models.gguf import gguf_file_path, tokenizer_checkpoint

    if not spec.weights:
        raise ModelUnavailable(f"{spec.name} has no weights configured")
    weights = checked_reference(spec.weights, "weights")
    gguf_file = spec.options["gguf_file"]
    gguf_path = gguf_file_path(weights, gguf_file)
    tokenizer_source = tokenizer_checkpoint(weights, gguf_file, context.home / "cache" / "gguf")
    lora = None
    if spec.kind == "peft_causal_lm":
        if not spec.adapter:
            raise ModelUnavailable(f"{spec.name} is a peft_causal_lm without an adapter")
        from worker.models.gguf_lora import exported_lora

        adapter = Path(checked_reference(spec.adapter, "adapter"))
        lora = exported_lora(adapter, gguf_path, context.home / "cache" / "gguf-lora")
        if (adapter / "tokenizer_config.json").is_file():  # an adapter trained with its own chat template
            tokenizer_source = adapter
    if quant := spec.options.get("llama_cpp_quant"):
        from worker.models.gguf_quantize import requantized_gguf

        # The LoRA was exported against the source file's metadata; it applies to any quantization of it.
        gguf_path = requantized_gguf(gguf_path, quant, context.home / "cache" / "gguf-quant", cpu_threads(spec))
    return gguf_path, tokenizer_source, lora


def load_llama_cpp_engine(spec: ModelSpec, context: LoadContext) -> tuple[Any, Any]:
    """(LlamaCppEngine, tokenizer) for ``spec``; ModelUnavailable says why not."""
    from transformers import AutoTokenizer

    from worker.engine.llama_cpp_engine import LlamaCppEngine

    gguf_path, tokenizer_source, lora = prepared_files(spec, context)
    try:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_source)
    except (OSError, ValueError) as error:
        raise ModelUnavailable(f"cannot load the tokenizer from {tokenizer_source}: {error}") from error
    engine = LlamaCppEngine(
        gguf_path,
        tokenizer,
        max_batch_size=int(spec.options.get("max_batch_size", 16)),
        max_queued=int(spec.options.get("max_queued", 64)),
        context_tokens=int(spec.options.get("max_context_tokens") or DEFAULT_CONTEXT_TOKENS),
        threads=cpu_threads(spec),
        lora_path=lora,
    )
    log.info(
        "serving %s with llama.cpp (%d threads%s)", spec.name, cpu_threads(spec), ", LoRA " + lora.name if lora else ""
    )
    return engine, tokenizer
