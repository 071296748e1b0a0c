"""What the classifier kinds read from a training run's artifact directory, without loading the model."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def read_json(directory: Path, name: str) -> Any:
    """A JSON file of the artifact, or None when it has none."""
    path = directory / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def artifact_version(directory: Path) -> str:
    """The run's ``run_id`` (run_manifest.json), else a hash of the weights, else "unbuilt"."""
    manifest = read_json(directory, "run_manifest.json")
    if manifest and manifest.get("run_id"):
        return str(manifest["run_id"])
    weights = directory / "model.safetensors"
    if weights.is_file():
        return hashlib.sha256(weights.read_bytes()).hexdigest()[:16]
    return "unbuilt"


def module_bytes(model: Any) -> int:
    """Memory held by a torch module's parameters and buffers (0 when not loaded)."""
    if model is None:
        return 0
    return sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
