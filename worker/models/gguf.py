"""GGUF weights, converted once into a plain HF checkpoint under ``<home>/cache/gguf/``.

transformers can read a GGUF file directly, but it de-quantizes every tensor and parses the
vocabulary on each load (tens of seconds). The first load therefore writes an ordinary
``save_pretrained`` directory keyed by the file's content hash; later loads read that, and a
changed GGUF file gets a new directory instead of stale weights. A model served by llama.cpp
reads the GGUF itself and needs only the tokenizer: ``tokenizer_checkpoint`` saves just that.
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


def content_hash(path: Path, cache_root: Path) -> str:
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


def gguf_file_path(source_dir: str | Path, gguf_file: str) -> Path:
    gguf_path = Path(source_dir) / gguf_file
    if not gguf_path.is_file():
        raise ModelUnavailable(f"GGUF file {gguf_path} does not exist")
    return gguf_path


def _cache_target(source_dir: str | Path, gguf_file: str, cache_root: Path) -> tuple[Path, Path]:
    gguf_path = gguf_file_path(source_dir, gguf_file)
    cache_root.mkdir(parents=True, exist_ok=True)
    return gguf_path, cache_root / f"{gguf_path.stem}-{content_hash(gguf_path, cache_root)[:16]}"


def converted_checkpoint(source_dir: str | Path, gguf_file: str, cache_root: Path) -> Path:
    """The HF checkpoint directory for ``source_dir/gguf_file``, converting it on first use.

    Keyed by the file's content, so every model built on the same GGUF shares one copy."""
    gguf_path, target = _cache_target(source_dir, gguf_file, cache_root)
    if (target / _DONE_MARKER).is_file():
        log.info("using converted GGUF checkpoint %s", target)
        return target
    _convert(gguf_path, target)
    return target


def tokenizer_checkpoint(source_dir: str | Path, gguf_file: str, cache_root: Path) -> Path:
    """A HF directory holding the GGUF's tokenizer (what llama.cpp serving needs, without the weights):
    the converted checkpoint when there is one, else the tokenizer alone, saved once."""
    gguf_path, target = _cache_target(source_dir, gguf_file, cache_root)
    if (target / _DONE_MARKER).is_file():
        return target
    tokenizer_dir = target.with_name(f"{target.name}-tokenizer")
    if (tokenizer_dir / _DONE_MARKER).is_file():
        return tokenizer_dir
    from transformers import AutoTokenizer

    staging = _staging(tokenizer_dir)
    try:
        AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name).save_pretrained(staging)
        _publish(staging, tokenizer_dir, {"source": str(gguf_path), "tokenizer_only": True})
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return tokenizer_dir


def _staging(target: Path) -> Path:
    """A private directory to build ``target`` in, renamed at the end, so a crash or a second worker
    doing the same at the same time never leaves a half-written directory behind."""
    staging = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    return staging


def _publish(staging: Path, target: Path, marker: dict) -> None:
    (staging / _DONE_MARKER).write_text(json.dumps(marker))
    try:
        staging.rename(target)
    except OSError:
        if not (target / _DONE_MARKER).is_file():
            raise
        log.info("another process finished %s first", target.name)


def _convert(gguf_path: Path, target: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    log.info("converting %s into %s (first load only; this takes a while)", gguf_path, target)
    staging = _staging(target)
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
        _publish(staging, target, {"source": str(gguf_path), "seconds": round(seconds, 1)})
        log.info("converted %s in %.1fs", gguf_path.name, seconds)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
