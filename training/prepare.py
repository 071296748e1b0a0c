"""``attune prepare``: build, once, the default models the service needs on its first run.

The journal-mood classifier is trained with its ``quick`` config (MiniLM fine-tuned for one
epoch: about 8 minutes on a 2-core CPU) and the retrieval responder's index is built by its own
recipe. The fine-grained text-emotion classifier is not: nothing that trains in minutes on a
CPU learns GoEmotions' 28 labels usefully (a fifth of an epoch scored macro-F1 0.04), so until
``attune train text-emotion`` has been run the worker reads each chat turn's emotion with the
six journal moods instead. Each artifact is built in a side directory and moved into
``<home>/models/<name>`` only when complete, so an interrupted first run never leaves a
half-built model that looks finished; running again resumes from the last checkpoint.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
from pathlib import Path

from training.common.config import load_config
from training.common.paths import configs_dir

# Minutes: the quick configs' single-thread CPU time, a fair guide to wall time on an idle
# 2-core CPU (measurements in docs/training.md).
QUICK_CLASSIFIERS = {
    "journal-mood": ("training.recipes.journal_mood", 8),
}


def ensure_default_artifacts(home: Path, progress: bool = True) -> None:
    """Build whichever of ``<home>/models/{journal-mood,retrieval}`` is missing."""
    models = Path(home) / "models"
    for name, (module_name, minutes) in QUICK_CLASSIFIERS.items():
        if (models / name / "labels.json").is_file():
            continue
        print(f"first run: training the {name} classifier, about {minutes} minutes on a 2-core CPU "
              f"(once; it is saved in {models / name})", flush=True)
        build_quick_classifier(module_name, name, models / name, progress)
    if importlib.util.find_spec("training.recipes.retrieval") is not None:
        from training.recipes.retrieval import ensure_index

        ensure_index(Path(home), progress)


def build_quick_classifier(module_name: str, name: str, target: Path, progress: bool) -> Path:
    recipe = importlib.import_module(module_name)
    building = target.with_name(f".{target.name}.building")
    resume = any((building / "checkpoints").glob("checkpoint-*"))
    config = load_config(recipe.Config, configs_dir(name) / "quick.toml",
                         [f"out_dir={building}", f"progress={str(progress).lower()}", f"resume={str(resume).lower()}"])
    recipe.run(config)
    if target.exists():
        shutil.rmtree(target)
    building.rename(target)
    return target
