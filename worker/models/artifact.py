"""What the classifier kinds share: reading a training run's artifact directory without loading the model,
and ``ArtifactModel``, the base of the kinds served from one (where it lives, its version, its memory)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from worker.models.base import LoadContext, ModelSpec


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


class ArtifactModel:
    """A model served from one training run's directory: ``spec.weights``, else ``<home>/models/<name>``."""

    default_batch_size = 32

    def __init__(self, spec: ModelSpec, context: LoadContext) -> None:
        self.spec = spec
        self.context = context
        self.artifact_dir = Path(spec.weights) if spec.weights else context.home / "models" / spec.name
        self.batch_size = int(spec.options.get("batch_size", self.default_batch_size))
        self._model: Any = None
        self._version: str | None = None

    @property
    def version(self) -> str:
        if self._version is None:
            self._version = artifact_version(self.artifact_dir)
        return self._version

    def memory_bytes(self) -> int:
        return module_bytes(self._model)
