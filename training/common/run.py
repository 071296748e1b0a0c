"""One training run's bookkeeping: seeds, ``metrics.jsonl``, ``run_manifest.json``, loss curves, model card.

    run = Run.start(out_dir, config, data_files=[...], seed=config.seed)
    run.log("train", step, loss=0.71, lr=2e-5)
    run.finish({"eval_macro_f1": 0.88})

The manifest is what makes an artifact reproducible: the exact config, the git commit, the
sha256 of every data file, package versions, device and wall time. Its ``run_id`` is what the
worker reports as the model's version.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import random
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.common.paths import REPO_ROOT

METRICS_FILE = "metrics.jsonl"
MANIFEST_FILE = "run_manifest.json"
CURVES_FILE = "loss_curves.png"
MODEL_CARD_FILE = "README.md"

_REPORTED_PACKAGES = (
    "torch",
    "transformers",
    "peft",
    "accelerate",
    "bitsandbytes",
    "sentence-transformers",
    "scikit-learn",
    "numpy",
)


@dataclass
class Run:
    out_dir: Path
    config: Any
    data_files: list[Path]
    seed: int
    run_id: str
    started_at: float = field(default_factory=time.time)

    @classmethod
    def start(cls, out_dir: Path, config: Any, data_files: list[Path], seed: int, resume: bool = False) -> Run:
        """Seed every RNG, create ``out_dir`` and start a fresh ``metrics.jsonl`` (kept when resuming)."""
        seed_everything(seed)
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        metrics = out_dir / METRICS_FILE
        if metrics.exists() and not resume:
            metrics.unlink()
        started = dt.datetime.now(dt.UTC)
        fingerprint = hashlib.sha256(json.dumps(_jsonable(config), sort_keys=True).encode()).hexdigest()[:8]
        run_id = f"{started:%Y%m%dT%H%M%SZ}-{fingerprint}"
        return cls(out_dir=out_dir, config=config, data_files=[Path(p) for p in data_files], seed=seed, run_id=run_id)

    @property
    def metrics_path(self) -> Path:
        return self.out_dir / METRICS_FILE

    def log(self, split: str, step: int, **values: float) -> None:
        """Append ``{"split", "step", "time", **values}`` as one line of ``metrics.jsonl``."""
        record = {"split": split, "step": int(step), "time": round(time.time() - self.started_at, 3)}
        record.update({key: float(value) for key, value in values.items()})
        with self.metrics_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def finish(self, summary: dict[str, Any]) -> None:
        """Write ``run_manifest.json`` and ``loss_curves.png``."""
        finished = time.time()
        manifest = {
            "run_id": self.run_id,
            "config_class": f"{type(self.config).__module__}.{type(self.config).__qualname__}",
            "config": _jsonable(self.config),
            "seed": self.seed,
            "git": git_state(),
            "data_files": [file_fingerprint(path) for path in self.data_files],
            "packages": package_versions(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "device": device_description(),
            "started_at": dt.datetime.fromtimestamp(self.started_at, dt.UTC).isoformat(),
            "finished_at": dt.datetime.fromtimestamp(finished, dt.UTC).isoformat(),
            "wall_time_s": round(finished - self.started_at, 2),
            "summary": _jsonable(summary),
        }
        (self.out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        plot_curves(self.metrics_path, self.out_dir / CURVES_FILE)

    def write_model_card(self, text: str) -> None:
        (self.out_dir / MODEL_CARD_FILE).write_text(text.rstrip() + "\n", encoding="utf-8")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:
        pass
    try:
        import torch

        torch.manual_seed(seed)  # also seeds every CUDA device
    except ImportError:
        pass


def read_metrics(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def plot_curves(metrics_path: Path, png_path: Path) -> None:
    """Losses per split on the left, every other logged metric on the right (when there is one)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    for record in read_metrics(metrics_path):
        for key, value in record.items():
            if key not in ("split", "step", "time") and isinstance(value, (int, float)):
                series[(record["split"], key)].append((record["step"], value))
    losses = {k: v for k, v in series.items() if "loss" in k[1]}
    others = {k: v for k, v in series.items() if "loss" not in k[1] and not _is_bookkeeping(k[1])}
    panels = [("loss", losses)] + ([("metrics", others)] if others else [])
    figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
    for axis, (title, group) in zip(axes[0], panels):
        for (split, key), points in sorted(group.items()):
            steps, values = zip(*points)
            axis.plot(steps, values, marker="o" if len(points) < 20 else None, label=f"{split} {key}")
        axis.set_title(title)
        axis.set_xlabel("step")
        if group:
            axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(png_path, dpi=100)
    plt.close(figure)


def _is_bookkeeping(key: str) -> bool:
    """Optimizer state and throughput: logged, but not what a quality plot should show."""
    return key in ("lr", "learning_rate", "grad_norm", "epoch", "total_flos") or key.endswith(("runtime", "per_second"))


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], check=False, cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(status) if status is not None else None}


def file_fingerprint(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"path": _relative_to_repo(Path(path)), "sha256": digest.hexdigest(), "bytes": Path(path).stat().st_size}


def package_versions() -> dict[str, str]:
    versions = {}
    for name in _REPORTED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def device_description() -> str:
    try:
        import torch
    except ImportError:
        return f"cpu ({os.cpu_count()} cores)"
    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    return f"cpu ({os.cpu_count()} cores, torch threads {torch.get_num_threads()})"


def _relative_to_repo(path: Path) -> str:
    resolved = path.resolve()
    return str(resolved.relative_to(REPO_ROOT)) if resolved.is_relative_to(REPO_ROOT) else str(resolved)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "item"):  # numpy / torch scalars
        return value.item()
    return str(value)
