"""A PEFT LoRA adapter exported once as a GGUF LoRA adapter, for llama.cpp to apply over its GGUF base.

The file is what llama.cpp's ``convert_lora_to_gguf.py`` writes: ``general.type = adapter``,
``adapter.type = lora``, ``adapter.lora.alpha``, and for each adapted linear layer the tensors
``<gguf name>.weight.lora_a`` (r x in) and ``.lora_b`` (out x r), named through gguf-py's tensor
map. llama.cpp's converter stores a llama model's q/k projections with their rows permuted
(its rotary embedding pairs neighbouring dimensions, Hugging Face pairs the two halves of each
head), so the LoRA B of ``q_proj``/``k_proj`` gets the same permutation, or the adapter would
add its update to the wrong dimensions. llama.cpp scales the update by alpha / r, as PEFT does.

Written under ``<home>/cache/gguf-lora/`` keyed by the adapter's and the base's content, so a
retrained adapter gets a new file and a second worker reuses the first one's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path

from worker.models.base import ModelUnavailable
from worker.models.gguf import content_hash

log = logging.getLogger(__name__)

_ADAPTER_FILE = "adapter_model.safetensors"
_PEFT_KEY = re.compile(r"^base_model\.model\.(?P<module>.+)\.lora_(?P<part>[AB])\.weight$")
_PERMUTED = {"q_proj": "head_count", "k_proj": "head_count_kv"}


def exported_lora(adapter_dir: str | Path, base_gguf: Path, cache_root: Path) -> Path:
    """The GGUF LoRA file for the PEFT adapter in ``adapter_dir`` over ``base_gguf``, exporting it on first use."""
    adapter_dir = Path(adapter_dir)
    config_path, weights_path = adapter_dir / "adapter_config.json", adapter_dir / _ADAPTER_FILE
    if not (config_path.is_file() and weights_path.is_file()):
        raise ModelUnavailable(f"{adapter_dir} holds no PEFT adapter ({config_path.name} and {_ADAPTER_FILE})")
    cache_root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    for path in (config_path, weights_path, base_gguf):
        digest.update(content_hash(path, cache_root).encode())
    target = cache_root / f"{adapter_dir.name}-{digest.hexdigest()[:16]}.gguf"
    if target.is_file():
        return target
    staging = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        _write(json.loads(config_path.read_text()), weights_path, base_gguf, staging)
        staging.replace(target)
    finally:
        staging.unlink(missing_ok=True)
    log.info("exported the LoRA adapter %s for llama.cpp into %s", adapter_dir, target)
    return target


def _base_metadata(base_gguf: Path) -> dict[str, object]:
    import gguf

    reader = gguf.GGUFReader(base_gguf)

    def value(key: str):
        field = reader.fields.get(key)
        return None if field is None else field.contents()

    arch = value("general.architecture")
    return {
        "arch": arch,
        **{
            name: value(f"{arch}.{name}") for name in ("block_count", "attention.head_count", "attention.head_count_kv")
        },
    }


def _permute(weights, heads: int):
    """llama.cpp's ``LlamaModel.permute`` on the rows of ``weights`` (out x r)."""
    rows = weights.shape[0]
    return weights.reshape(heads, 2, rows // heads // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def _write(config: dict, weights_path: Path, base_gguf: Path, target: Path) -> None:
    import gguf
    from safetensors.numpy import load_file

    if config.get("peft_type") != "LORA" or config.get("use_dora") or config.get("use_rslora"):
        raise ModelUnavailable("only plain LoRA adapters (no DoRA, no rsLoRA) can be exported for llama.cpp")
    if config.get("modules_to_save"):
        raise ModelUnavailable("an adapter with modules_to_save cannot be exported for llama.cpp")
    base = _base_metadata(base_gguf)
    if base["arch"] != "llama":
        raise ModelUnavailable(f"LoRA export supports llama-architecture GGUF bases, not {base['arch']!r}")
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, int(base["block_count"]))
    heads = {"head_count": int(base["attention.head_count"]), "head_count_kv": int(base["attention.head_count_kv"])}
    writer = gguf.GGUFWriter(target, arch="llama")
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(config["lora_alpha"]))
    for key, tensor in sorted(load_file(weights_path).items()):
        match = _PEFT_KEY.match(key)
        if match is None:
            raise ModelUnavailable(f"unexpected tensor {key!r} in the adapter")
        module = match["module"]
        gguf_name = names.get_name(f"{module}.weight", try_suffixes=(".weight",))
        if gguf_name is None:
            raise ModelUnavailable(f"llama.cpp has no tensor for {module!r}")
        tensor = tensor.astype("float32")
        projection = module.rsplit(".", 1)[-1]
        if match["part"] == "B" and projection in _PERMUTED:
            tensor = _permute(tensor, heads[_PERMUTED[projection]])
        writer.add_tensor(f"{gguf_name}.lora_{match['part'].lower()}", tensor)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
