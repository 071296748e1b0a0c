"""``attune prepare``: build, once, the default models the service needs on its first run.

``attune prepare`` builds them all up front (a deployment). ``attune serve`` does not wait for
them: the page opens as soon as the default chat model can answer, and one child process at the
lowest CPU priority builds, in turn, the journal-mood classifier (MiniLM fine-tuned for one
epoch with its ``quick`` config: about 7 minutes on a 2-core CPU), the retrieval responder's
index (about 7 minutes) and the fine-grained text-emotion classifier (one epoch over GoEmotions:
about 15 minutes on both cores, on one thread here). Until each lands, what needs it waits:
journal entries stay ``pending`` and are tagged when journal-mood is there, chat turns are read
with the six journal moods (or none) until text-emotion is (``worker/emotion.py``), the retrieval
model is listed as building. Each build writes its progress beside the artifact
(``attune/build_progress.py``), which the worker reports as ``building — 43 %, about 4 min left``.

Each artifact is built in a side directory and moved into ``<home>/models/<name>`` only when
complete, so an interrupted first run never leaves a half-built model that looks finished;
running again resumes from the last checkpoint.

    python -m training.prepare journal-mood retrieval text-emotion --home var [--set key=value ...]
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
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from attune import build_progress
from training.common.config import load_config
from training.common.paths import configs_dir

# Minutes of wall time for the quick configs on a 2-core CPU, in the foreground on both cores
# (measurements in docs/training.md).
QUICK_CLASSIFIERS = {
    "journal-mood": ("training.recipes.journal_mood", 7),
}
# Built while the service runs: minutes in the foreground on both cores. In the background (one
# thread, nice 19) it took 24 minutes while a full test run shared the machine.
RETRIEVAL = "retrieval"
BACKGROUND_CLASSIFIERS = {
    "text-emotion": ("training.recipes.text_emotion", 15),
}
BACKGROUND_MINUTES = 25
RETRIEVAL_MINUTES = 7
# What ``attune serve`` builds behind the open page, in this order (the quick ones first), and the
# torch threads each may use (text-emotion takes one core, leaving the other to the chat).
FIRST_RUN_BUILDS = ("journal-mood", "retrieval", "text-emotion")
BUILD_THREADS = {"text-emotion": 1}


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
        print(
            f"first run: training the {name} classifier, about {minutes} minutes on a 2-core CPU "
            f"(once; it is saved in {models / name})",
            flush=True,
        )
        build_quick_classifier(module_name, name, models / name, progress)
    if importlib.util.find_spec("training.recipes.retrieval") is not None:
        from training.recipes.retrieval import ensure_index

        ensure_index(Path(home), progress)


def is_built(target: Path) -> bool:
    """Whether ``target`` holds a classifier artifact (builds are renamed into place only when complete)."""
    return (target / "labels.json").is_file()


def missing_builds(home: Path, names: Sequence[str] = FIRST_RUN_BUILDS) -> list[str]:
    return [name for name in names if not _built(Path(home), name)]


def _built(home: Path, name: str) -> bool:
    if name == RETRIEVAL:
        return (home / "models" / name / "index.json").is_file()
    return is_built(home / "models" / name)


def start_background_builds(
    home: Path, overrides: Sequence[str] = (), names: Sequence[str] = FIRST_RUN_BUILDS
) -> list[subprocess.Popen]:
    """Start one low-priority child that builds the missing ``names`` in turn; the caller stops it on exit.

    ``overrides`` change fields of the classifiers' quick configs (tests make them tiny)."""
    missing = missing_builds(home, names)
    if not missing:
        return []
    log_path = Path(home) / "logs" / "builds.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    minutes = sum(_minutes(name) for name in missing)
    print(
        f"first run: {', '.join(missing)} will be built in the background, one after another (about {minutes} minutes "
        f"in all, at low priority; progress in the model picker, on the admin's Models page and in `attune models`; "
        f"log: {log_path})",
        flush=True,
    )
    command = [sys.executable, "-m", "training.prepare", *missing, "--home", str(home)]
    command += [argument for override in overrides for argument in ("--set", override)]
    with log_path.open("ab") as log:
        return [
            subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Its own session, so the terminal's Ctrl-C reaches only the service, which then stops it.
                start_new_session=True,
            )
        ]


def announce_builds(home: Path, names: Sequence[str], child: subprocess.Popen, poll_s: float = 5.0) -> threading.Thread:
    """In the terminal, one line as each background build starts and one as it lands (the log has the rest)."""

    def follow() -> None:
        for name in names:
            target = Path(home) / "models" / name
            started = None
            while not _built(Path(home), name):
                if child.poll() is not None:
                    if child.returncode:
                        print(
                            f"the background build stopped (exit {child.returncode}); see {Path(home) / 'logs' / 'builds.log'}",
                            flush=True,
                        )
                    return
                if started is None and build_progress.read(target) is not None:
                    started = time.monotonic()
                    print(f"building {name} in the background (about {_minutes(name)} minutes)", flush=True)
                time.sleep(poll_s)
            took = f" in {(time.monotonic() - started) / 60:.0f} min" if started is not None else ""
            print(f"{name} is ready{took}", flush=True)

    thread = threading.Thread(target=follow, name="announce-builds", daemon=True)
    thread.start()
    return thread


def _minutes(name: str) -> int:
    if name == RETRIEVAL:
        return RETRIEVAL_MINUTES
    return BACKGROUND_MINUTES if name in BACKGROUND_CLASSIFIERS else QUICK_CLASSIFIERS[name][1]


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


def build_quick_classifier(
    module_name: str, name: str, target: Path, progress: bool, overrides: Sequence[str] = ()
) -> Path:
    recipe = importlib.import_module(module_name)
    building = target.with_name(f".{target.name}.building")
    resume = any((building / "checkpoints").glob("checkpoint-*"))
    config = load_config(
        recipe.Config,
        configs_dir(name) / "quick.toml",
        [f"out_dir={building}", f"progress={str(progress).lower()}", f"resume={str(resume).lower()}", *overrides],
    )
    recipe.run(config)
    if target.exists():
        shutil.rmtree(target)
    building.rename(target)
    return target


def build_in_background(home: Path, name: str, overrides: Sequence[str] = ()) -> None:
    """Build ``name`` unless another process is building it or has built it, reporting progress."""
    models = home / "models"
    models.mkdir(parents=True, exist_ok=True)
    lock = (models / f".{name}.lock").open("w")
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"{name} is already being built by another process", flush=True)
            return
        if _built(home, name):  # another builder finished while this one started
            print(f"{name} is already built: {models / name}", flush=True)
            return
        os.nice(19)  # the service's chat comes first (the niceness is capped at 19)
        print(f"building {name} (about {_minutes(name)} minutes)", flush=True)
        with build_progress.tracking(models / name, expected_s=60.0 * _minutes(name)):
            if name == RETRIEVAL:
                from training.recipes.retrieval import ensure_index

                ensure_index(home, progress=False)
            else:
                module_name, _ = {**QUICK_CLASSIFIERS, **BACKGROUND_CLASSIFIERS}[name]
                threads = [f"threads={BUILD_THREADS[name]}"] if name in BUILD_THREADS else []
                build_quick_classifier(
                    module_name, name, models / name, progress=False, overrides=[*threads, *overrides]
                )
        print(f"{name} is ready: {models / name}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.prepare", description=__doc__.split("\n")[0])
    parser.add_argument(
        "names",
        nargs="+",
        choices=FIRST_RUN_BUILDS,
        metavar="NAME",
        help=f"what to build, in this order: any of {', '.join(FIRST_RUN_BUILDS)}",
    )
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a field of the classifiers' quick configs",
    )
    args = parser.parse_args(argv)
    queue_behind(args.home, args.names)
    for name in args.names:
        build_in_background(args.home, name, args.overrides)
    return 0


def queue_behind(home: Path, names: Sequence[str]) -> None:
    """Each build after the first is reported as waiting its turn, with the time until it is done,
    so a queued model reads "building — 0 %, about 14 min left (waiting for journal-mood)", not
    "not found; build it"."""
    ahead = 0.0
    for previous, name in zip([None, *names], names, strict=False):
        ahead += 60.0 * _minutes(name)
        if previous is not None and not _built(home, name):
            build_progress.Reporter(home / "models" / name, expected_s=ahead, step=f"waiting for {previous}")


if __name__ == "__main__":
    sys.exit(main())
