"""GGUF weights, converted once into a plain HF checkpoint under ``<home>/cache/gguf/``.

transformers can read a GGUF file directly, but it de-quantizes every tensor and parses the
vocabulary on each load (tens of seconds). The first load therefore writes an ordinary
``save_pretrained`` directory keyed by the file's content hash; later loads read that, and a
changed GGUF file gets a new directory instead of stale weights.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path

from worker.models.base import ModelUnavailable

log = logging.getLogger(__name__)

_HASH_CHUNK = 8 << 20
_DONE_MARKER = "conversion.json"


def _content_hash(path: Path, cache_root: Path) -> str:
    """sha256 of the file, remembered per (path, size, mtime) so multi-GB files are hashed once."""
    stat = path.stat()
    memo_path = cache_root / "hashes.json"
    memo: dict[str, dict] = json.loads(memo_path.read_text()) if memo_path.is_file() else {}
    key = str(path.resolve())
    entry = memo.get(key)
    if entry and entry["size"] == stat.st_size and entry["mtime_ns"] == stat.st_mtime_ns:
        return entry["sha256"]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    memo[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest.hexdigest()}
    tmp = memo_path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(memo, indent=1))
    tmp.replace(memo_path)
    return digest.hexdigest()


def converted_checkpoint(source_dir: str | Path, gguf_file: str, cache_root: Path) -> Path:
    """The HF checkpoint directory for ``source_dir/gguf_file``, converting it on first use.

    Keyed by the file's content, so every model built on the same GGUF shares one copy."""
    gguf_path = Path(source_dir) / gguf_file
    if not gguf_path.is_file():
        raise ModelUnavailable(f"GGUF file {gguf_path} does not exist")
    cache_root.mkdir(parents=True, exist_ok=True)
    target = cache_root / f"{gguf_path.stem}-{_content_hash(gguf_path, cache_root)[:16]}"
    if (target / _DONE_MARKER).is_file():
        log.info("using converted GGUF checkpoint %s", target)
        return target
    _convert(gguf_path, target)
    return target


def _convert(gguf_path: Path, target: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    log.info("converting %s into %s (first load only; this takes a while)", gguf_path, target)
    # Convert into a private directory and rename at the end, so a crash or a second worker
    # converting at the same time never leaves a half-written checkpoint behind.
    staging = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        gguf_model = AutoModelForCausalLM.from_pretrained(
            gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32
        )
        log.info("de-quantized GGUF tensors in %.1fs", time.perf_counter() - started)
        # The GGUF-loaded config carries a gguf quantization_config that a plain checkpoint
        # must not have, so the model is rebuilt from a clean copy of the config.
        config_dict = gguf_model.config.to_dict()
        config_dict.pop("quantization_config", None)
        config = type(gguf_model.config).from_dict(config_dict)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(gguf_model.state_dict())
        model.generation_config = gguf_model.generation_config
        del gguf_model
        model.save_pretrained(staging)
        AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name).save_pretrained(staging)
        seconds = time.perf_counter() - started
        (staging / _DONE_MARKER).write_text(json.dumps({"source": str(gguf_path), "seconds": round(seconds, 1)}))
        try:
            staging.rename(target)
        except OSError:
            if not (target / _DONE_MARKER).is_file():
                raise
            log.info("another process finished converting %s first", gguf_path.name)
        log.info("converted %s in %.1fs", gguf_path.name, seconds)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
