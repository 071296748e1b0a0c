"""A GGUF re-quantized once by llama.cpp itself, for the llama.cpp engine (``options.llama_cpp_quant``).

Why: the packaged SmolLM2 GGUF is Q4_1, a type for which llama.cpp's CPU backend has no repacked
GEMM kernel, so a decode step of 16 sessions costs almost 16 single-session steps. Q4_0 weights
are repacked at load for AVX2/NEON matrix-matrix kernels: on the 2-core machine one step of 16
rows then costs about 6 single steps instead of 10-12, and one row is faster too
(``docs/benchmarks.md``). The re-quantization is llama.cpp's own ``llama_model_quantize`` (what
``llama-quantize --allow-requantize`` runs), a few seconds for a 135M model; it changes the
weights slightly (a second rounding), which the benchmark's quality column measures.

Written under ``<home>/cache/gguf-quant/`` keyed by the source's content and the type, atomically,
so a second worker reuses the first one's file and a killed worker leaves no half-written one.
"""

from __future__ import annotations

import ctypes
import logging
import os
from pathlib import Path

from worker.models.base import ModelUnavailable
from worker.models.gguf import content_hash

log = logging.getLogger(__name__)

# The types this module writes, by llama.cpp's names (``LLAMA_FTYPE_MOSTLY_<NAME>``). The token
# embedding (tied to the output head in SmolLM2) keeps llama.cpp's default choice for each type.
QUANT_TYPES = ("q4_0", "q8_0", "f16")


def check_quant_option(name: str, quant: object) -> None:
    """models.toml validation: ValueError for a type this module does not write."""
    if quant is not None and quant not in QUANT_TYPES:
        raise ValueError(
            f"models.toml: model {name!r} has unknown llama_cpp_quant {quant!r} (known: {', '.join(QUANT_TYPES)})"
        )


def requantized_gguf(source: Path, quant: str, cache_root: Path, threads: int = 1) -> Path:
    """``source`` re-quantized to ``quant`` by llama.cpp, written on first use and reused after."""
    if quant not in QUANT_TYPES:
        raise ValueError(f"unknown quantization {quant!r} (known: {', '.join(QUANT_TYPES)})")
    import llama_cpp

    cache_root.mkdir(parents=True, exist_ok=True)
    target = cache_root / f"{source.stem}-{content_hash(source, cache_root)[:16]}.{quant}.gguf"
    if target.is_file():
        return target
    staging = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{quant.upper()}")
    params.allow_requantize = True
    params.nthread = threads
    try:
        status = llama_cpp.llama_model_quantize(str(source).encode(), str(staging).encode(), ctypes.byref(params))
        if status != 0:
            raise ModelUnavailable(f"llama.cpp could not re-quantize {source} to {quant} (status {status})")
        staging.replace(target)
    finally:
        staging.unlink(missing_ok=True)
    log.info("re-quantized %s to %s for llama.cpp into %s", source.name, quant, target)
    return target
