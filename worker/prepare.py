"""First-run preparation on the worker side: convert the default chat model's GGUF once (or, when
llama.cpp serves it, cache its tokenizer and export its LoRA), before the first message, so nobody
waits a minute for their first reply."""

from __future__ import annotations

import time

from worker.config import WorkerSettings
from worker.models.base import ModelUnavailable
from worker.registry import Registry, availability


def warm_default_chat_model(settings: WorkerSettings) -> None:
    registry = Registry.from_file(settings.models_file, settings.home)
    spec = registry.specs.get(registry.default_chat)
    if spec is None or not spec.options.get("gguf_file") or availability(spec):
        return
    from worker.models.gguf import converted_checkpoint
    from worker.models.llama_cpp_serving import prepared_files, uses_llama_cpp

    started = time.perf_counter()
    try:
        if uses_llama_cpp(spec, registry.context):
            print(f"Preparing the default chat model {spec.name!r} for llama.cpp (tokenizer, LoRA export)...")
            prepared_files(spec, registry.context)
        else:
            print(
                f"Preparing the default chat model {spec.name!r} (converts its GGUF once, about a minute the first time)..."
            )
            converted_checkpoint(spec.weights, spec.options["gguf_file"], registry.context.home / "cache" / "gguf")
    except ModelUnavailable as exc:
        print(f"  {spec.name} will be unavailable: {exc}")
        return
    print(f"  ready in {time.perf_counter() - started:.0f}s")
