"""``attune prepare``: build, once, the default models the service needs on its first run.

Before the service starts, the journal-mood classifier is trained with its ``quick`` config
(MiniLM fine-tuned for one epoch: about 7 minutes on a 2-core CPU) and the retrieval responder's
index is built by its own recipe. The fine-grained text-emotion classifier takes longer (one
epoch over GoEmotions: about 15 minutes on both cores), so ``attune serve`` builds it *after*
the service is up, in a child process at the lowest CPU priority and on one thread
(``start_background_builds``); until it lands the worker reads each chat turn's emotion with the
six journal moods, and it switches on the next turn after (``worker/emotion.py``).

Each artifact is built in a side directory and moved into ``<home>/models/<name>`` only when
complete, so an interrupted first run never leaves a half-built model that looks finished;
running again resumes from the last checkpoint.

    python -m training.prepare text-emotion --home var [--set key=value ...]   # one background build
"""

from __future__ import annotations

import argparse
import fcntl
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from training.common.config import load_config
from training.common.paths import configs_dir

# Minutes of wall time for the quick configs on a 2-core CPU, in the foreground on both cores
# (measurements in docs/training.md).
QUICK_CLASSIFIERS = {
    "journal-mood": ("training.recipes.journal_mood", 7),
}
# Built while the service runs: minutes in the foreground on both cores. In the background (one
# thread, nice 19) it took 24 minutes while a full test run shared the machine.
BACKGROUND_CLASSIFIERS = {
    "text-emotion": ("training.recipes.text_emotion", 15),
}
BACKGROUND_MINUTES = 25


def ensure_default_artifacts(home: Path, progress: bool = True, include_background: bool = False) -> None:
    """Build whichever of ``<home>/models/{journal-mood,retrieval}`` is missing, and text-emotion
    too when ``include_background`` (``attune prepare``: a deployment builds everything up front)."""
    models = Path(home) / "models"
    classifiers = dict(QUICK_CLASSIFIERS)
    if include_background:
        classifiers.update(BACKGROUND_CLASSIFIERS)
    for name, (module_name, minutes) in classifiers.items():
        if is_built(models / name):
            continue
        print(f"first run: training the {name} classifier, about {minutes} minutes on a 2-core CPU "
              f"(once; it is saved in {models / name})", flush=True)
        build_quick_classifier(module_name, name, models / name, progress)
    if importlib.util.find_spec("training.recipes.retrieval") is not None:
        from training.recipes.retrieval import ensure_index

        ensure_index(Path(home), progress)


def is_built(target: Path) -> bool:
    """Whether ``target`` holds a classifier artifact (builds are renamed into place only when complete)."""
    return (target / "labels.json").is_file()


def start_background_builds(home: Path, overrides: Sequence[str] = ()) -> list[subprocess.Popen]:
    """Start one low-priority child per missing background classifier; the caller stops them on exit."""
    children = []
    for name in BACKGROUND_CLASSIFIERS:
        if is_built(Path(home) / "models" / name):
            continue
        log_path = Path(home) / "logs" / f"build-{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        print(f"building the {name} classifier in the background (about {BACKGROUND_MINUTES} minutes at low priority; "
              f"log: {log_path}); until it is ready, chat turns are read with the six journal moods", flush=True)
        command = [sys.executable, "-m", "training.prepare", name, "--home", str(home)]
        command += [argument for override in overrides for argument in ("--set", override)]
        with log_path.open("ab") as log:
            children.append(subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, "OMP_NUM_THREADS": "1"},
                # Its own session, so the terminal's Ctrl-C reaches only the service, which then stops it.
                start_new_session=True))
    return children


def stop_background_builds(children: Sequence[subprocess.Popen], timeout_s: float = 10.0) -> None:
    """Terminate unfinished builds (the next start resumes from their last checkpoint)."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            child.kill()


def build_quick_classifier(module_name: str, name: str, target: Path, progress: bool,
                           overrides: Sequence[str] = ()) -> Path:
    recipe = importlib.import_module(module_name)
    building = target.with_name(f".{target.name}.building")
    resume = any((building / "checkpoints").glob("checkpoint-*"))
    config = load_config(recipe.Config, configs_dir(name) / "quick.toml",
                         [f"out_dir={building}", f"progress={str(progress).lower()}", f"resume={str(resume).lower()}",
                          *overrides])
    recipe.run(config)
    if target.exists():
        shutil.rmtree(target)
    building.rename(target)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.prepare", description=__doc__.split("\n")[0])
    parser.add_argument("name", choices=sorted(BACKGROUND_CLASSIFIERS))
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a field of the quick config")
    args = parser.parse_args(argv)
    models = args.home / "models"
    models.mkdir(parents=True, exist_ok=True)
    lock = (models / f".{args.name}.lock").open("w")  # held until this process exits
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"{args.name} is already being built by another process", flush=True)
        return 0
    target = models / args.name
    if is_built(target):  # another builder finished while this one started
        print(f"{args.name} is already built: {target}", flush=True)
        return 0
    os.nice(19)  # the service's chat comes first
    module_name, _ = BACKGROUND_CLASSIFIERS[args.name]
    build_quick_classifier(module_name, args.name, target, progress=False, overrides=args.overrides)
    print(f"{args.name} is ready: {target}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
